// SPDX-License-Identifier: GPL-2.0-only
/*
 * onepage.c - one object per page: an out-of-tree backend, as a user brings one
 *
 * This folder is not compiled unless named at configure time:
 *
 *	cmake --preset default -DZPOOL_EXTRA_BACKENDS=$PWD/examples/onepage
 *	scripts/test.sh --extra-backend examples/onepage
 *
 * and the harness then holds it to everything it holds its own backends
 * to (docs/backend-contract.md). It is the smallest allocator that keeps
 * the whole contract: every object gets an arena page of its own, so the
 * handle is the page address and the object's size lives in the page
 * descriptor. What is left is what every backend must get right: the LRU
 * that zpool_shrink() evicts from, the under-reclaim flag that makes a
 * free racing reclaim leave the page to reclaim, and an invariant walker.
 *
 * Locking: one mutex per pool protects the LRU, the reclaim count and the
 * descriptor of every page of the pool. pages_nr is an atomic, changed
 * under the lock, readable without it. Lock order: pool lock -> arena lock.
 */
#include "arena.h"

#include <errno.h>
#include <stdlib.h>

/* Pages zpool_shrink() tries per page it is asked for. */
#define ONEPAGE_SHRINK_RETRIES 8
/* arena_page.priv[0]: the object's size; 0 once freed. */
#define PRIV_SIZE 0

/**
 * struct onepage_pool - one pool
 * @lock: protects @lru, @reclaim_nr and the descriptors of the pool's pages
 * @lru: pages not under reclaim, most recently allocated first
 * @reclaim_nr: pages under reclaim (on no list)
 * @check_gen: generation of the last onepage_check() pass
 * @pages_nr: pages of the pool, readable without @lock
 * @pages_in_flight: pages taken from the arena and not yet on @lru
 * @zpool: passed back to zpool_evict()
 * @arena: where the pages come from
 */
struct onepage_pool {
	pthread_mutex_t lock;
	struct list_head lru;
	size_t reclaim_nr;
	unsigned int check_gen;
	atomic_size_t pages_nr;
	atomic_size_t pages_in_flight;
	struct zpool *zpool;
	struct arena arena;
};

static bool under_reclaim(const struct arena_page *pg)
{
	return pg->flags & ARENA_PG_RECLAIM;
}

/*
 * Debug builds refuse a handle that is not a live object; a map of an
 * object freed while its page is under reclaim is allowed (the evict
 * callback may map before it learns its owner freed it). Pool lock held.
 */
static void check_live_handle(const struct onepage_pool *pool, unsigned long handle, bool is_map)
{
#ifdef ZPOOL_DEBUG
	struct arena_page *pg = arena_lookup(&pool->arena, handle);

	if (!pg || (handle & (ZPOOL_PAGE_SIZE - 1)))
		zpool_bug("onepage: %s of %#lx: not a page of the pool", is_map ? "map" : "free",
			  handle);
	if (!pg->priv[PRIV_SIZE] && !(is_map && under_reclaim(pg)))
		zpool_bug("onepage: %s of %#lx: freed already", is_map ? "map" : "free", handle);
#else
	(void)pool, (void)handle, (void)is_map;
#endif
}

/* Give a page back to the arena. Pool lock held; the page is on no list. */
static void release_page(struct onepage_pool *pool, struct arena_page *pg)
{
	arena_free_page(&pool->arena, pg);
	atomic_fetch_sub(&pool->pages_nr, 1);
}

static int onepage_create(struct zpool *zp, const struct zpool_config *cfg, void **out)
{
	struct onepage_pool *pool = calloc(1, sizeof(*pool));
	int err;

	if (!pool)
		return -ENOMEM;
	err = arena_init(&pool->arena, cfg);
	if (err) {
		free(pool);
		return err;
	}
	pthread_mutex_init(&pool->lock, NULL);
	list_init(&pool->lru);
	pool->zpool = zp;
	*out = pool;
	return 0;
}

static int onepage_destroy(void *p)
{
	struct onepage_pool *pool = p;

	if (atomic_load(&pool->pages_nr))
		return -EBUSY;
	arena_destroy(&pool->arena);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
	return 0;
}

/* A page per object, taken without the pool lock; the page joins the LRU head. */
static int onepage_alloc(void *p, size_t size, unsigned long *handle)
{
	struct onepage_pool *pool = p;
	struct arena_page *pg;

	atomic_fetch_add(&pool->pages_in_flight, 1);
	pg = arena_alloc_page(&pool->arena);
	if (!pg) {
		atomic_fetch_sub(&pool->pages_in_flight, 1);
		return -ENOMEM;
	}
	pthread_mutex_lock(&pool->lock);
	pg->priv[PRIV_SIZE] = (unsigned int)size;
	list_add(&pg->lru, &pool->lru);
	atomic_fetch_add(&pool->pages_nr, 1);
	atomic_fetch_sub(&pool->pages_in_flight, 1);
	*handle = (unsigned long)arena_page_address(&pool->arena, pg);
	pthread_mutex_unlock(&pool->lock);
	return 0;
}

/* Free the page, unless reclaim owns it: then reclaim frees it. */
static void onepage_free(void *p, unsigned long handle)
{
	struct onepage_pool *pool = p;
	struct arena_page *pg;

	pthread_mutex_lock(&pool->lock);
	check_live_handle(pool, handle, false);
	pg = arena_page_of(&pool->arena, handle);
	pg->priv[PRIV_SIZE] = 0;
	if (!under_reclaim(pg)) {
		list_del_init(&pg->lru);
		release_page(pool, pg);
	}
	pthread_mutex_unlock(&pool->lock);
}

/*
 * Evict the LRU tail's object with no lock held: the page is marked under
 * reclaim first, so a free meanwhile (the callback's or the owner's) only
 * clears its size. Tries up to @retries pages.
 */
static int onepage_reclaim_page(struct onepage_pool *pool, unsigned int retries)
{
	struct arena_page *pg;
	unsigned long handle;

	pthread_mutex_lock(&pool->lock);
	for (unsigned int i = 0; i < retries; i++) {
		if (list_empty(&pool->lru)) {
			pthread_mutex_unlock(&pool->lock);
			return i ? -EAGAIN : -EINVAL;
		}
		pg = list_last_entry(&pool->lru, struct arena_page, lru);
		list_del_init(&pg->lru);
		pg->flags |= ARENA_PG_RECLAIM;
		pool->reclaim_nr++;
		handle = (unsigned long)arena_page_address(&pool->arena, pg);
		pthread_mutex_unlock(&pool->lock);

		zpool_evict(pool->zpool, handle);

		pthread_mutex_lock(&pool->lock);
		pg->flags &= ~ARENA_PG_RECLAIM;
		pool->reclaim_nr--;
		if (!pg->priv[PRIV_SIZE]) {
			release_page(pool, pg);
			pthread_mutex_unlock(&pool->lock);
			return 0;
		}
		list_add(&pg->lru, &pool->lru);
	}
	pthread_mutex_unlock(&pool->lock);
	return -EAGAIN;
}

static int onepage_shrink(void *p, unsigned int pages, unsigned int *reclaimed)
{
	unsigned int done = 0;
	int err = 0;

	while (done < pages && !(err = onepage_reclaim_page(p, ONEPAGE_SHRINK_RETRIES)))
		done++;
	*reclaimed = done;
	return err;
}

static void *onepage_map(void *p, unsigned long handle, enum zpool_mapmode mm)
{
#ifdef ZPOOL_DEBUG
	struct onepage_pool *pool = p;

	pthread_mutex_lock(&pool->lock);
	check_live_handle(pool, handle, true);
	pthread_mutex_unlock(&pool->lock);
#endif
	(void)p, (void)mm;
	return (void *)handle;
}

static void onepage_unmap(void *p, unsigned long handle)
{
	(void)p, (void)handle;
}

static uint64_t onepage_total_size(const void *p)
{
	const struct onepage_pool *pool = p;

	return (uint64_t)atomic_load(&pool->pages_nr) * ZPOOL_PAGE_SIZE;
}

/*
 * Every page on the LRU once, allocated, not under reclaim and holding an
 * object of 1..ZPOOL_PAGE_SIZE bytes; LRU pages plus pages under reclaim
 * make pages_nr, which agrees with the arena. Takes the pool lock.
 */
static int onepage_check(void *p, char *why, size_t len)
{
	struct onepage_pool *pool = p;
	size_t on_lru = 0, pages_nr, in_use, in_flight;
	struct list_head *pos;
	int err = 0;

	pthread_mutex_lock(&pool->lock);
	pool->check_gen++;
	list_for_each(pos, &pool->lru) {
		struct arena_page *pg = list_entry(pos, struct arena_page, lru);
		size_t nr = (size_t)(pg - pool->arena.pages);

		if (++on_lru > pool->arena.max_pages)
			err = zpool_why(why, len, "the LRU is longer than the arena");
		else if (!(pg->flags & ARENA_PG_USED))
			err = zpool_why(why, len, "page %zu on the LRU is free in the arena", nr);
		else if (under_reclaim(pg))
			err = zpool_why(why, len, "page %zu under reclaim is on the LRU", nr);
		else if (pg->check_gen == pool->check_gen)
			err = zpool_why(why, len, "page %zu is on the LRU twice", nr);
		else if (!pg->priv[PRIV_SIZE] || pg->priv[PRIV_SIZE] > ZPOOL_PAGE_SIZE)
			err = zpool_why(why, len, "page %zu holds an object of %u bytes", nr,
					pg->priv[PRIV_SIZE]);
		if (err)
			break;
		pg->check_gen = pool->check_gen;
	}
	pages_nr = atomic_load(&pool->pages_nr);
	in_use = atomic_load(&pool->arena.in_use);
	in_flight = atomic_load(&pool->pages_in_flight);
	if (!err && on_lru + pool->reclaim_nr != pages_nr)
		err =
		    zpool_why(why, len, "pages_nr is %zu but %zu on the LRU and %zu under reclaim",
			      pages_nr, on_lru, pool->reclaim_nr);
	if (!err && (in_use < pages_nr || in_use > pages_nr + in_flight))
		err = zpool_why(why, len, "pages_nr is %zu (%zu being added) but the arena has %zu",
				pages_nr, in_flight, in_use);
	pthread_mutex_unlock(&pool->lock);
	return err;
}

static void onepage_stats(const void *p, struct zpool_stats *st)
{
	const struct onepage_pool *pool = p;

	st->pages = atomic_load(&pool->pages_nr);
	st->peak_pages = atomic_load(&pool->arena.peak);
	st->max_pages = pool->arena.max_pages;
	st->page_allocs = atomic_load(&pool->arena.allocs);
	st->page_alloc_failures = atomic_load(&pool->arena.failures);
	st->injected_failures = atomic_load(&pool->arena.injected);
}

const struct zpool_driver onepage_zpool_driver = {
	.type = "onepage",
	.create = onepage_create,
	.destroy = onepage_destroy,
	.malloc = onepage_alloc,
	.free = onepage_free,
	.shrink = onepage_shrink,
	.map = onepage_map,
	.unmap = onepage_unmap,
	.total_size = onepage_total_size,
	.check = onepage_check,
	.stats = onepage_stats,
};
