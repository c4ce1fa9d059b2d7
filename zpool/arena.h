/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * arena.h - the page arena: userspace pages and their struct page
 *
 * The kernel hands an allocator whole pages and a descriptor for each. The
 * arena does the same from one page-aligned mapping of max_pages pages,
 * with a descriptor array beside it: arena_page_address() and
 * arena_page_of() convert in O(1), as page_address() and virt_to_page() do.
 *
 * Locking: the arena lock protects the free list and fault injection only.
 * While a page is allocated its descriptor belongs to the backend, which
 * serialises access to it with its own lock (and must hold that lock when
 * it frees the page). The counters are atomics, readable without a lock;
 * see struct arena for the ordering each gives.
 */
#ifndef ZPOOL_ARENA_H
#define ZPOOL_ARENA_H

#include "fault.h"
#include "internal.h"
#include "list.h"

#include <pthread.h>

/* Descriptor flags. */
#define ARENA_PG_USED	 (1u << 0) /* allocated to the backend */
#define ARENA_PG_RECLAIM (1u << 1) /* backend: the page is under reclaim */

/**
 * struct arena_page - the descriptor of one arena page ("struct page")
 * @flags: ARENA_PG_* bits
 * @lru: backend linkage, for its LRU; the arena's free list while free
 * @list: backend linkage, for its size-class lists
 * @priv: backend private words (zbud: the chunks of each buddy)
 * @check_gen: the backend check pass that last counted this page
 * @check_marks: scratch of that check pass (valid while @check_gen matches)
 */
struct arena_page {
	unsigned int flags;
	struct list_head lru;
	struct list_head list;
	unsigned int priv[2];
	unsigned int check_gen;
	unsigned int check_marks;
};

/**
 * struct arena - the pages of one pool and their descriptors
 * @in_use: pages handed out. Raised with release, so that a reader that
 *	loads it with acquire sees whatever the allocating thread wrote
 *	before it asked for the page (zsmalloc's pages_in_flight: its check
 *	needs every page counted here to be counted there). Lowered relaxed:
 *	backends free pages under their own lock, which a checker of the
 *	same pool holds.
 * @peak, @allocs, @failures, @injected: statistics, relaxed: their readers
 *	want each value only and infer nothing about other memory.
 *
 * The other fields: see the comments beside them.
 */
struct arena {
	unsigned char *base;
	struct arena_page *pages;
	size_t max_pages;
	size_t fresh;		    /* pages [fresh, max_pages) were never handed out */
	struct list_head free_list; /* pages handed out and returned since */
	bool owner_locks;	    /* see arena_set_owner_locks() */
	pthread_mutex_t lock;
	struct zpool_fault fault;
	atomic_size_t in_use;
	atomic_size_t peak;
	atomic_uint_least64_t allocs;
	atomic_uint_least64_t failures;
	atomic_uint_least64_t injected;
};

/**
 * arena_init() - map @cfg->max_pages pages (ZPOOL_DEFAULT_MAX_PAGES if 0)
 *
 * Return: 0, -EINVAL for a bad fault-injection setting, -ENOMEM.
 */
int arena_init(struct arena *a, const struct zpool_config *cfg);

/**
 * arena_set_owner_locks() - the owner serialises every call on @a
 *
 * For a backend that allocates and frees pages only under one lock of its
 * own: the arena then takes no lock and updates its counters without
 * atomic read-modify-writes (a single writer; readers still read them
 * lock-free). Saves two lock round trips per page on the backend's hot
 * path. Call right after arena_init().
 */
static inline void arena_set_owner_locks(struct arena *a)
{
	a->owner_locks = true;
}

/* arena_destroy() - unmap everything; pages still in use are lost. */
void arena_destroy(struct arena *a);

/**
 * arena_alloc_page() - take a page; takes the arena lock
 *
 * Return: the zeroed-flags descriptor of a page, or NULL at capacity or on
 * an injected failure (each counted).
 */
struct arena_page *arena_alloc_page(struct arena *a);

/* arena_free_page() - give a page back; takes the arena lock. */
void arena_free_page(struct arena *a, struct arena_page *pg);

/* arena_page_address() - the first byte of @pg's page ("page_address"). */
static inline void *arena_page_address(const struct arena *a, const struct arena_page *pg)
{
	return a->base + (size_t)(pg - a->pages) * ZPOOL_PAGE_SIZE;
}

/*
 * arena_lookup() - the descriptor of the page holding @addr ("virt_to_page"),
 * or NULL if @addr is outside the arena or on a page that is not allocated.
 */
static inline struct arena_page *arena_lookup(const struct arena *a, unsigned long addr)
{
	unsigned long base = (unsigned long)a->base;
	struct arena_page *pg;

	if (addr < base || addr - base >= a->max_pages * ZPOOL_PAGE_SIZE)
		return NULL;
	pg = &a->pages[(addr - base) / ZPOOL_PAGE_SIZE];
	return (pg->flags & ARENA_PG_USED) ? pg : NULL;
}

/*
 * arena_page_of() - the descriptor of the page holding @addr. In debug
 * builds an address outside the arena, or on a free page, is a bug.
 */
static inline struct arena_page *arena_page_of(const struct arena *a, unsigned long addr)
{
#ifdef ZPOOL_DEBUG
	struct arena_page *pg = arena_lookup(a, addr);

	if (!pg)
		zpool_bug("arena: address %#lx is not on an allocated page", addr);
	return pg;
#else
	return &a->pages[(addr - (unsigned long)a->base) / ZPOOL_PAGE_SIZE];
#endif
}

#endif /* ZPOOL_ARENA_H */
