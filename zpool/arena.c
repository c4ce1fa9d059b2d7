// SPDX-License-Identifier: GPL-2.0-only
/*
 * arena.c - the page arena
 *
 * Pages are handed out first from the never-used tail of the mapping (so
 * creating a large arena touches nothing), then from a LIFO free list of
 * returned pages (so a recycled page is likely still in cache, as the
 * kernel's per-cpu lists make it).
 *
 * In debug builds a freed page is filled with ARENA_POISON and checked
 * still to be filled when it is handed out again: a write through a stale
 * handle shows up as a bug report naming the page. Under AddressSanitizer
 * a free page is also poisoned for ASan, which then reports the read or
 * write through a stale handle at the faulting instruction.
 */
#include "arena.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ASAN 1
#endif
#endif

#ifdef ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define arena_asan_poison(p, n)	  ASAN_POISON_MEMORY_REGION(p, n)
#define arena_asan_unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define arena_asan_poison(p, n)	  ((void)(p), (void)(n))
#define arena_asan_unpoison(p, n) ((void)(p), (void)(n))
#endif

#define ARENA_POISON 0x6b /* the kernel's POISON_FREE byte */

int arena_init(struct arena *a, const struct zpool_config *cfg)
{
	size_t n = cfg->max_pages ? cfg->max_pages : ZPOOL_DEFAULT_MAX_PAGES;
	int err;

	memset(a, 0, sizeof(*a));
	err = fault_init(&a->fault, cfg);
	if (err)
		return err;
	if (n > ZPOOL_MAX_PAGES)
		return -EINVAL;
	a->base = mmap(NULL, n * ZPOOL_PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (a->base == MAP_FAILED)
		return -ENOMEM;
	a->pages = calloc(n, sizeof(*a->pages));
	if (!a->pages) {
		munmap(a->base, n * ZPOOL_PAGE_SIZE);
		return -ENOMEM;
	}
	a->max_pages = n;
	list_init(&a->free_list);
	pthread_mutex_init(&a->lock, NULL);
	/* Until handed out, no byte of the mapping belongs to anyone. */
	arena_asan_poison(a->base, n * ZPOOL_PAGE_SIZE);
	return 0;
}

void arena_destroy(struct arena *a)
{
	arena_asan_unpoison(a->base, a->max_pages * ZPOOL_PAGE_SIZE);
	munmap(a->base, a->max_pages * ZPOOL_PAGE_SIZE);
	free(a->pages);
	pthread_mutex_destroy(&a->lock);
}

/* Take a page off the free list or the fresh tail; arena lock held. */
static struct arena_page *arena_take_page(struct arena *a, bool *recycled)
{
	struct arena_page *pg;

	if (!list_empty(&a->free_list)) {
		pg = list_first_entry(&a->free_list, struct arena_page, lru);
		list_del_init(&pg->lru);
		*recycled = true;
		return pg;
	}
	if (a->fresh < a->max_pages + ZPOOL_BUG(arena_capacity_off_by_one)) {
		*recycled = false;
		return &a->pages[a->fresh++];
	}
	return NULL;
}

#ifdef ZPOOL_DEBUG
/* A recycled page must still hold the poison written when it was freed. */
static void arena_check_poison(const struct arena *a, const struct arena_page *pg)
{
	static const unsigned char poison[ZPOOL_PAGE_SIZE] = { [0 ... ZPOOL_PAGE_SIZE - 1] =
								   ARENA_POISON };
	const unsigned char *p = arena_page_address(a, pg);

	if (memcmp(p, poison, ZPOOL_PAGE_SIZE) == 0)
		return;
	for (size_t i = 0; i < ZPOOL_PAGE_SIZE; i++)
		if (p[i] != ARENA_POISON)
			zpool_bug(
			    "arena: free page %zu written at offset %zu (byte %#x): use after free",
			    (size_t)(pg - a->pages), i, p[i]);
}
#endif

static void arena_lock(struct arena *a)
{
	if (!a->owner_locks)
		pthread_mutex_lock(&a->lock);
}

static void arena_unlock(struct arena *a)
{
	if (!a->owner_locks)
		pthread_mutex_unlock(&a->lock);
}

/*
 * Add @delta to a counter read lock-free, with the ordering @mo (relaxed
 * or release): with one writer at a time (the owner's lock held) a load
 * and a store, else an atomic add.
 */
static size_t arena_counter_add(const struct arena *a, atomic_size_t *c, size_t delta,
				memory_order mo)
{
	size_t v;

	if (!a->owner_locks)
		return atomic_fetch_add_explicit(c, delta, mo) + delta;
	v = atomic_load_explicit(c, memory_order_relaxed) + delta;
	atomic_store_explicit(c, v, mo);
	return v;
}

static void arena_count_alloc(struct arena *a)
{
	/* Release: publishes what the caller did before (arena.h, @in_use). */
	size_t used = arena_counter_add(a, &a->in_use, 1, memory_order_release);
	size_t peak = atomic_load_explicit(&a->peak, memory_order_relaxed);

	while (used > peak &&
	       !atomic_compare_exchange_weak_explicit(&a->peak, &peak, used, memory_order_relaxed,
						      memory_order_relaxed))
		;
	if (a->owner_locks)
		atomic_store_explicit(&a->allocs,
				      atomic_load_explicit(&a->allocs, memory_order_relaxed) + 1,
				      memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&a->allocs, 1, memory_order_relaxed);
}

struct arena_page *arena_alloc_page(struct arena *a)
{
	struct arena_page *pg = NULL;
	bool recycled = false;
	bool injected;

	arena_lock(a);
	injected = fault_enabled(&a->fault) && fault_should_fail(&a->fault);
	if (ZPOOL_BUG(arena_failure_leaks_page)) {
		/* The page is taken before the fate is decided and lost on failure. */
		pg = arena_take_page(a, &recycled);
		if (pg && injected) {
			arena_count_alloc(a);
			pg = NULL;
		}
	} else if (!injected) {
		pg = arena_take_page(a, &recycled);
	}
	arena_unlock(a);

	if (!pg) {
		atomic_fetch_add_explicit(&a->failures, 1, memory_order_relaxed);
		if (injected)
			atomic_fetch_add_explicit(&a->injected, 1, memory_order_relaxed);
		return NULL;
	}
	arena_asan_unpoison(arena_page_address(a, pg), ZPOOL_PAGE_SIZE);
#ifdef ZPOOL_DEBUG
	if (recycled)
		arena_check_poison(a, pg);
#endif
	(void)recycled;
	pg->flags = ARENA_PG_USED;
	list_init(&pg->lru);
	list_init(&pg->list);
	pg->priv[0] = pg->priv[1] = 0;
	pg->check_gen = 0;
	pg->check_marks = 0;
	arena_count_alloc(a);
	return pg;
}

void arena_free_page(struct arena *a, struct arena_page *pg)
{
	void *addr = arena_page_address(a, pg);

#ifdef ZPOOL_DEBUG
	if (!(pg->flags & ARENA_PG_USED))
		zpool_bug("arena: page %zu freed twice", (size_t)(pg - a->pages));
	if (!list_empty(&pg->lru) || !list_empty(&pg->list))
		zpool_bug("arena: page %zu freed while still on a backend list",
			  (size_t)(pg - a->pages));
	memset(addr, ARENA_POISON, ZPOOL_PAGE_SIZE);
#endif
	arena_asan_poison(addr, ZPOOL_PAGE_SIZE);
	pg->flags = 0;
	/*
	 * Uncounted before it is on the free list: otherwise an allocation
	 * could take it and count it first, and in_use (and peak) would
	 * pass max_pages for a moment. Relaxed: the backend frees pages
	 * under its own lock (arena.h, @in_use).
	 */
	arena_counter_add(a, &a->in_use, (size_t)-1, memory_order_relaxed);
	arena_lock(a);
	list_add(&pg->lru, &a->free_list);
	arena_unlock(a);
}
