// SPDX-License-Identifier: GPL-2.0-only
/*
 * malloc.c - the baseline backend: every object from the C library's malloc
 *
 * The yardstick the other backends are measured against: each object is one
 * malloc() block holding a small header and the bytes, so its cost is the C
 * library's, and its density is whatever malloc's size classes make of
 * compressed-page sizes.
 *
 * It keeps the zpool contract like any other backend. Its memory is
 * accounted as malloc_usable_size() of each block (header included) and
 * capped at max_pages * ZPOOL_PAGE_SIZE bytes, so a full pool fails with
 * -ENOMEM and reclaim runs here as it does on arena backends. The live
 * objects sit on an LRU, newest at the head; mpool_shrink() evicts from
 * the tail with the same protocol as zbud: the object is taken off the LRU
 * and marked under reclaim under the lock, the evict callback runs without
 * it, and a free that lands meanwhile only marks the object freed, leaving
 * the release to reclaim. A "page" of reclaim is ZPOOL_PAGE_SIZE bytes of
 * accounted memory released, or the last objects of the pool.
 *
 * Locking: one mutex per pool protects the LRU, the object headers and the
 * fault injector; the byte total is an atomic, readable without it.
 */
#include "fault.h"
#include "internal.h"
#include "list.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>

#define MOBJ_LIVE  0x6d6f626au /* "mobj" */
#define MOBJ_FREED 0x66726565u /* "free" */

/* Evict attempts per page mpool_shrink() allows before -EAGAIN. */
#define MPOOL_SHRINK_RETRIES 8

/**
 * struct mobj - header of one object; the bytes follow it
 * @lru: links the object into the pool LRU unless under reclaim
 * @bytes: malloc_usable_size() of the whole block, as accounted
 * @magic: MOBJ_LIVE while the handle is live
 * @under_reclaim: reclaim owns the object and releases it
 * @data: the object's bytes; the handle is their address
 */
struct mobj {
	struct list_head lru;
	size_t bytes;
	unsigned int magic;
	bool under_reclaim;
	_Alignas(16) unsigned char data[];
};

/**
 * struct mpool - one malloc pool
 * @lock: protects @lru, @reclaim_nr, @fault and the object headers
 * @lru: live objects not under reclaim, newest first
 * @reclaim_nr: objects under reclaim
 * @fault: fault injection for object allocations
 * @cap: the byte cap, max_pages * ZPOOL_PAGE_SIZE
 * @total: bytes accounted; changed under @lock only, so mpool_check() gets
 *	its ordering from @lock; atomic, so readable without @lock by
 *	mpool_total_size() and mpool_stats(), which want the value only:
 *	every access is relaxed
 * @peak: highest value of @total
 * @allocs: allocations that succeeded
 * @failures: allocations that failed, over the cap or injected
 * @injected: of @failures, those injected
 *
 * @peak, @allocs, @failures and @injected are statistics, changed by
 * atomic read-modify-writes (none lost) and read lock-free for their value
 * only: relaxed.
 * @zpool: the zpool this pool serves
 */
struct mpool {
	pthread_mutex_t lock;
	struct list_head lru;
	size_t reclaim_nr;
	struct zpool_fault fault;
	uint64_t cap;
	atomic_uint_least64_t total;
	atomic_uint_least64_t peak;
	atomic_uint_least64_t allocs;
	atomic_uint_least64_t failures;
	atomic_uint_least64_t injected;
	struct zpool *zpool;
};

static struct mobj *handle_to_mobj(unsigned long handle)
{
	return container_of((unsigned char *)handle, struct mobj, data);
}

/*
 * In debug builds, check that the header of a freed handle says live. The
 * zpool layer has already refused handles that are not live in the pool
 * (zpool.c), so the header read here is a live block's, and a report means
 * the backend's own records are wrong. Pool lock held.
 */
static void check_live_handle(unsigned long handle)
{
	if (handle_to_mobj(handle)->magic != MOBJ_LIVE)
		zpool_bug("malloc: free of handle %#lx: its header does not say live", handle);
}

static void raise_peak(struct mpool *pool, uint64_t total)
{
	uint64_t peak = atomic_load_explicit(&pool->peak, memory_order_relaxed);

	while (total > peak &&
	       !atomic_compare_exchange_weak_explicit(&pool->peak, &peak, total,
						      memory_order_relaxed, memory_order_relaxed))
		;
}

/* Release an object's block and its accounting; the object is on no list. */
static void release_mobj(struct mpool *pool, struct mobj *obj)
{
	atomic_fetch_sub_explicit(&pool->total, obj->bytes, memory_order_relaxed);
	obj->magic = MOBJ_FREED;
	free(obj);
}

/**
 * mpool_create() - create a malloc pool
 * @zp: the zpool the pool serves
 * @cfg: byte cap (from max_pages) and fault injection
 * @out: set to the new pool
 *
 * Return: 0, -EINVAL for a bad fault-injection setting, -ENOMEM.
 */
static int mpool_create(struct zpool *zp, const struct zpool_config *cfg, void **out)
{
	struct mpool *pool = calloc(1, sizeof(*pool));
	size_t pages = cfg->max_pages ? cfg->max_pages : ZPOOL_DEFAULT_MAX_PAGES;
	int err;

	if (!pool)
		return -ENOMEM;
	err = fault_init(&pool->fault, cfg);
	if (err) {
		free(pool);
		return err;
	}
	pthread_mutex_init(&pool->lock, NULL);
	list_init(&pool->lru);
	pool->cap = (uint64_t)pages * ZPOOL_PAGE_SIZE;
	pool->zpool = zp;
	*out = pool;
	return 0;
}

/**
 * mpool_destroy() - destroy an empty malloc pool
 * @p: the pool
 *
 * Return: 0, or -EBUSY (pool untouched) while objects are live.
 */
static int mpool_destroy(void *p)
{
	struct mpool *pool = p;

	if (atomic_load_explicit(&pool->total, memory_order_relaxed))
		return -EBUSY;
	pthread_mutex_destroy(&pool->lock);
	free(pool);
	return 0;
}

/**
 * mpool_alloc() - allocate an object of @size bytes
 * @p: the pool
 * @size: 1..ZPOOL_PAGE_SIZE, checked by the zpool layer
 * @handle: set to the object's handle
 *
 * Takes the pool lock.
 *
 * Return: 0, or -ENOMEM when malloc fails, a failure is injected, or the
 * block would take the pool over its byte cap.
 */
static int mpool_alloc(void *p, size_t size, unsigned long *handle)
{
	struct mpool *pool = p;
	struct mobj *obj = NULL;
	bool injected = false, over_cap = false;
	uint64_t total;

	/* The baseline pays for the injector's lock only when injection is on. */
	if (fault_enabled(&pool->fault)) {
		pthread_mutex_lock(&pool->lock);
		injected = fault_should_fail(&pool->fault);
		pthread_mutex_unlock(&pool->lock);
	}
	if (!injected)
		obj = malloc(sizeof(*obj) + size);
	if (obj) {
		obj->bytes = malloc_usable_size(obj);
		obj->magic = MOBJ_LIVE;
		obj->under_reclaim = false;
		pthread_mutex_lock(&pool->lock);
		total = atomic_load_explicit(&pool->total, memory_order_relaxed) + obj->bytes;
		over_cap = total > pool->cap;
		if (!over_cap) {
			atomic_store_explicit(&pool->total, total, memory_order_relaxed);
			list_add(&obj->lru, &pool->lru);
		}
		pthread_mutex_unlock(&pool->lock);
		if (over_cap) {
			free(obj);
			obj = NULL;
		}
	}
	if (!obj) {
		atomic_fetch_add_explicit(&pool->failures, 1, memory_order_relaxed);
		if (injected)
			atomic_fetch_add_explicit(&pool->injected, 1, memory_order_relaxed);
		return -ENOMEM;
	}
	raise_peak(pool, total);
	atomic_fetch_add_explicit(&pool->allocs, 1, memory_order_relaxed);
	*handle = (unsigned long)obj->data;
	return 0;
}

/**
 * mpool_free() - free the object behind @handle
 * @p: the pool
 * @handle: a live handle
 *
 * An object under reclaim is only marked: reclaim releases it. Takes the
 * pool lock.
 */
static void mpool_free(void *p, unsigned long handle)
{
	struct mpool *pool = p;
	struct mobj *obj = handle_to_mobj(handle);

	pthread_mutex_lock(&pool->lock);
	if (ZPOOL_DEBUG_ON)
		check_live_handle(handle);
	if (obj->under_reclaim) {
		obj->magic = MOBJ_FREED;
		pthread_mutex_unlock(&pool->lock);
		return;
	}
	list_del_init(&obj->lru);
	release_mobj(pool, obj);
	pthread_mutex_unlock(&pool->lock);
}

/**
 * mpool_reclaim_page() - evict the coldest objects until a page is freed
 * @pool: the pool
 * @retries: evict failures allowed before giving up
 *
 * Takes the LRU tail under the lock, marks it under reclaim and evicts it
 * without the lock; if the callback freed it, it is released, otherwise it
 * returns to the LRU head. Repeats until ZPOOL_PAGE_SIZE bytes are released
 * or the LRU runs out.
 *
 * A page is counted only when it was given back: ZPOOL_PAGE_SIZE bytes of
 * accounting released, which lowers the pages of the stats by at least one,
 * or the last objects of the pool, which lowers them to 0. Objects released
 * short of that stay released, but no page is claimed for them.
 *
 * Return: 0 when a page was given back; -EINVAL when the LRU was empty and
 * nothing was tried; -EAGAIN when the retries ran out, or the LRU did while
 * other reclaimers hold objects, before a page was given back.
 */
static int mpool_reclaim_page(struct mpool *pool, unsigned int retries)
{
	unsigned int failed = 0;
	uint64_t released = 0;
	struct mobj *obj;
	bool emptied;

	pthread_mutex_lock(&pool->lock);
	while (released < ZPOOL_PAGE_SIZE && failed < retries) {
		if (list_empty(&pool->lru))
			break;
		obj = list_last_entry(&pool->lru, struct mobj, lru);
		list_del_init(&obj->lru);
		obj->under_reclaim = true;
		pool->reclaim_nr++;
		pthread_mutex_unlock(&pool->lock);

		zpool_evict(pool->zpool, (unsigned long)obj->data);

		pthread_mutex_lock(&pool->lock);
		obj->under_reclaim = false;
		pool->reclaim_nr--;
		if (obj->magic == MOBJ_FREED) {
			released += obj->bytes;
			release_mobj(pool, obj);
		} else {
			list_add(&obj->lru, &pool->lru);
			failed++;
		}
	}
	emptied = list_empty(&pool->lru) && !pool->reclaim_nr;
	pthread_mutex_unlock(&pool->lock);
	if (released >= ZPOOL_PAGE_SIZE || (released && emptied))
		return 0;
	return failed || released ? -EAGAIN : -EINVAL;
}

/**
 * mpool_shrink() - reclaim up to @pages pages' worth of objects
 * @p: the pool
 * @pages: pages to reclaim
 * @reclaimed: set to the pages reclaimed
 *
 * Return: 0, or the first error of mpool_reclaim_page().
 */
static int mpool_shrink(void *p, unsigned int pages, unsigned int *reclaimed)
{
	unsigned int done = 0;
	int err = 0;

	while (done < pages) {
		err = mpool_reclaim_page(p, MPOOL_SHRINK_RETRIES);
		if (err)
			break;
		done++;
	}
	*reclaimed = done;
	return err;
}

/**
 * mpool_map() - the object's bytes
 * @p: the pool
 * @handle: a live handle
 * @mm: unused: the block is always addressable
 *
 * Lock-free. (The zpool layer has checked the handle is live in debug
 * builds.)
 *
 * Return: the handle as a pointer.
 */
static void *mpool_map(void *p, unsigned long handle, enum zpool_mapmode mm)
{
	(void)p, (void)mm;
	return (void *)handle;
}

/* mpool_unmap() - nothing to undo. */
static void mpool_unmap(void *p, unsigned long handle)
{
	(void)p, (void)handle;
}

/* mpool_total_size() - bytes accounted; lock-free. */
static uint64_t mpool_total_size(const void *p)
{
	const struct mpool *pool = p;

	return atomic_load_explicit(&pool->total, memory_order_relaxed);
}

/**
 * mpool_check() - verify the LRU against the byte total
 * @p: the pool
 * @why: receives the first broken invariant
 * @len: size of @why
 *
 * Every object on the LRU is live and not under reclaim, and the bytes of
 * those objects plus the ones under reclaim add up to the total (checked
 * only when none is under reclaim, whose bytes are not on the list).
 * Takes the pool lock.
 *
 * Return: 0 or -EUCLEAN.
 */
static int mpool_check(void *p, char *why, size_t len)
{
	struct mpool *pool = p;
	uint64_t bytes = 0, total;
	struct list_head *pos;
	int err = 0;

	pthread_mutex_lock(&pool->lock);
	list_for_each(pos, &pool->lru) {
		struct mobj *obj = list_entry(pos, struct mobj, lru);

		if (obj->magic != MOBJ_LIVE || obj->under_reclaim) {
			err = zpool_why(why, len, "object %p on the LRU is %s", (void *)obj->data,
					obj->under_reclaim ? "under reclaim" : "not live");
			break;
		}
		bytes += obj->bytes;
	}
	total = atomic_load_explicit(&pool->total, memory_order_relaxed);
	if (!err && !pool->reclaim_nr && bytes != total)
		err =
		    zpool_why(why, len, "objects on the LRU hold %llu bytes but the total is %llu",
			      (unsigned long long)bytes, (unsigned long long)total);
	if (!err && total > pool->cap)
		err = zpool_why(why, len, "total %llu bytes is over the cap of %llu",
				(unsigned long long)total, (unsigned long long)pool->cap);
	pthread_mutex_unlock(&pool->lock);
	return err;
}

static uint64_t bytes_to_pages(uint64_t bytes)
{
	return (bytes + ZPOOL_PAGE_SIZE - 1) / ZPOOL_PAGE_SIZE;
}

/* mpool_stats() - pages are the byte counts rounded up to pages; lock-free. */
static void mpool_stats(const void *p, struct zpool_stats *st)
{
	const struct mpool *pool = p;

	st->pages = bytes_to_pages(atomic_load_explicit(&pool->total, memory_order_relaxed));
	st->peak_pages = bytes_to_pages(atomic_load_explicit(&pool->peak, memory_order_relaxed));
	st->max_pages = pool->cap / ZPOOL_PAGE_SIZE;
	st->page_allocs = atomic_load_explicit(&pool->allocs, memory_order_relaxed);
	st->page_alloc_failures = atomic_load_explicit(&pool->failures, memory_order_relaxed);
	st->injected_failures = atomic_load_explicit(&pool->injected, memory_order_relaxed);
}

const struct zpool_driver malloc_zpool_driver = {
	.type = "malloc",
	.create = mpool_create,
	.destroy = mpool_destroy,
	.malloc = mpool_alloc,
	.free = mpool_free,
	.shrink = mpool_shrink,
	.map = mpool_map,
	.unmap = mpool_unmap,
	.total_size = mpool_total_size,
	.check = mpool_check,
	.stats = mpool_stats,
};
