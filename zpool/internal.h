/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * internal.h - what the zpool layer shares with its backends
 *
 * A backend is a struct zpool_driver: the vtable behind the public
 * functions of zpool.h. The zpool layer checks arguments that every backend
 * would check alike (sizes, NULL handles), keeps the counters that do not
 * depend on the backend, and routes evictions through zpool_evict() so that
 * they are counted the same way everywhere.
 */
#ifndef ZPOOL_INTERNAL_H
#define ZPOOL_INTERNAL_H

#include <zpool/zpool.h>

#include "zoo.h"

#include <stdatomic.h>

/* The largest max_pages a pool accepts: its bytes must fit half the address space. */
#define ZPOOL_MAX_PAGES (SIZE_MAX / ZPOOL_PAGE_SIZE / 2)

/* Debug checks (poisoning, live-handle checks) are on unless NDEBUG. */
#if !defined(NDEBUG) && !defined(ZPOOL_DEBUG)
#define ZPOOL_DEBUG 1
#endif
/* The same as a constant, for debug checks in ordinary conditions. */
#ifdef ZPOOL_DEBUG
#define ZPOOL_DEBUG_ON 1
#else
#define ZPOOL_DEBUG_ON 0
#endif

struct live_set;

/**
 * struct zpool_driver - a backend
 * @type: the name users pass to zpool_create_pool()
 * @create: set *@pool to a new backend pool for @zp; 0 or -ENOMEM
 * @destroy: free the backend pool; -EBUSY (pool untouched) if it holds objects
 * @malloc: @size is already checked to be 1..ZPOOL_PAGE_SIZE
 * @free: free a live handle
 * @shrink: reclaim @pages pages, evicting through zpool_evict(); count a page
 *	in *@reclaimed only once it is given back (zpool_get_stats() pages fall)
 * @map: return the object's bytes
 * @unmap: end a map
 * @total_size: bytes held, lock-free
 * @check: 0, or -EUCLEAN with the first broken invariant written to @why
 * @stats: fill the page counters of @st (pages, peak_pages, max_pages,
 *	page_allocs, page_alloc_failures, injected_failures)
 * @compact: move objects to free pages, setting *@pages_freed; 0. NULL: the
 *	backend does not compact (zpool_compact() returns -EOPNOTSUPP)
 */
struct zpool_driver {
	const char *type;
	int (*create)(struct zpool *zp, const struct zpool_config *cfg, void **pool);
	int (*destroy)(void *pool);
	int (*malloc)(void *pool, size_t size, unsigned long *handle);
	void (*free)(void *pool, unsigned long handle);
	int (*shrink)(void *pool, unsigned int pages, unsigned int *reclaimed);
	void *(*map)(void *pool, unsigned long handle, enum zpool_mapmode mm);
	void (*unmap)(void *pool, unsigned long handle);
	uint64_t (*total_size)(const void *pool);
	int (*check)(void *pool, char *why, size_t len);
	void (*stats)(const void *pool, struct zpool_stats *st);
	int (*compact)(void *pool, unsigned long *pages_freed);
};

/* The cache line size the layout of shared structures is padded to. */
#define ZPOOL_CACHELINE 64

/*
 * The handle of a zpool: the driver, its pool, the common counters and, in
 * debug builds, the set of live handles (live.h).
 * A sharded pool (@shards > 1) has zpool_shard_driver as its driver and
 * one struct zpool per shard below it; its own allocs, frees and
 * alloc_enomem stay 0, the shards count those (see shard.c). Cache-line
 * aligned so that the counters of two shards never share a line.
 *
 * The counters are statistics: each is changed by one atomic
 * read-modify-write so that none is lost, and read by zpool_get_stats()
 * without a lock. No reader infers anything about other memory from their
 * values, so every access is relaxed, but for allocs and frees: live
 * objects are allocs - frees (one atomic add per call on the hot path, not
 * two), read in the order zpool_objects() needs.
 */
struct zpool {
	const struct zpool_driver *driver;
	void *pool;
	const char *type;
	unsigned int shards;
	const struct zpool_ops *ops;
	void *priv;
	struct live_set *live;
	_Alignas(ZPOOL_CACHELINE) atomic_uint_least64_t allocs;
	atomic_uint_least64_t frees;
	atomic_uint_least64_t alloc_enomem;
	atomic_uint_least64_t evictions;
	atomic_uint_least64_t evict_failures;
	atomic_uint_least64_t shrink_calls;
	atomic_uint_least64_t shrink_eagain;
	atomic_uint_least64_t pages_reclaimed;
	atomic_uint_least64_t compactions;
	atomic_uint_least64_t pages_compacted;
};

/*
 * zpool_shard_driver - N pools of one backend behind one struct zpool
 * (shard.c). Its create() reads the backend's name from zp->type.
 */
extern const struct zpool_driver zpool_shard_driver;

/*
 * zpool_create_pool_driver() - zpool_create_pool() for a driver that is not
 * registered by name (the tests' deliberately broken drivers).
 */
int zpool_create_pool_driver(const struct zpool_driver *driver, const struct zpool_config *cfg,
			     struct zpool **pool);

/* zpool_can_evict() - true if the pool was created with an evict callback. */
/**
 * zpool_objects() - live objects of @zp (not of a sharded pool), lock-free
 *
 * frees is read first, and an object is counted in allocs before it can
 * be freed, so the difference never goes below 0.
 */
static inline uint64_t zpool_objects(const struct zpool *zp)
{
	uint64_t frees = atomic_load_explicit(&zp->frees, memory_order_acquire);

	return atomic_load_explicit(&zp->allocs, memory_order_acquire) - frees;
}

static inline bool zpool_can_evict(const struct zpool *zp)
{
	return zp->ops && zp->ops->evict;
}

/**
 * zpool_evict() - call the user's evict callback for @handle
 * @zp: the pool
 * @handle: a handle the backend has protected against reuse
 *
 * Must be called without backend locks held. Until it returns, the backend
 * must keep @handle's bytes mappable and must not hand @handle out again,
 * even once it has been freed (by the callback, or by its owner racing
 * reclaim): the callback may still map it, and the debug checks read a
 * live @handle after a callback that returned 0 as a callback that broke
 * its contract.
 *
 * Return: the callback's result; 0 means the callback freed @handle.
 */
int zpool_evict(struct zpool *zp, unsigned long handle);

/**
 * zpool_bug() - report a broken invariant or a misuse, and abort
 *
 * The userspace BUG(): used by debug checks, so that a fuzzer or a stress
 * run stops at the first sign of trouble with a message saying what broke.
 */
_Noreturn void zpool_bug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* zpool_why() - write a broken invariant to @why (if any) and return -EUCLEAN. */
int zpool_why(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif /* ZPOOL_INTERNAL_H */
