/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * zpool.h - the public interface of zpool-harness
 *
 * A zpool is a pool of compressed-page sized objects managed by a named
 * backend ("zbud", "malloc", ...). Objects are addressed by opaque handles:
 * a handle must be mapped to reach the bytes and unmapped afterwards.
 * Memory comes from a per-pool page arena of max_pages 4 KiB pages (or, for
 * the malloc baseline, from malloc under the same byte cap); when it runs
 * out, zpool_malloc() fails with -ENOMEM and the user is expected to call
 * zpool_shrink(), which evicts objects from the cold end of the pool through
 * the user's evict callback.
 *
 * Every function that can fail returns 0 or a negative errno value.
 *
 * The handle contract, which debug builds (any build without NDEBUG; see
 * zpool_debug_checks()) enforce for every backend, stopping the program
 * with a "zpool BUG:" report on stderr and abort():
 *  - zpool_free(), zpool_map_handle() and zpool_unmap_handle() take only a
 *    handle that zpool_malloc() of the same pool returned and that was not
 *    freed since: a double free, a stale handle, handle 0 or another pool's
 *    handle is a bug;
 *  - an evict callback that returns 0 has freed its handle;
 *  - the evict callback may map and unmap the handle it was given even
 *    after its owner freed it: the bytes stay until the callback returns;
 *  - zpool_destroy_pool() succeeds exactly when no handle is live.
 * The checks read no memory of the backend's, so a bad handle is reported
 * before anything is touched through it. One limit: handles are plain
 * numbers, so another pool's handle passes when the same value is also
 * live in this pool (possible with backends whose handles are per-pool
 * slot numbers, such as zsmalloc's).
 */
#ifndef ZPOOL_ZPOOL_H
#define ZPOOL_ZPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The page size the arena hands out and the largest object a pool stores. */
#define ZPOOL_PAGE_SIZE 4096u
/* max_pages used when the configuration leaves it at 0. */
#define ZPOOL_DEFAULT_MAX_PAGES 65536u

/*
 * Sharded pools. With zpool_config.shards = N > 1, one struct zpool is N
 * pools of the backend ("shards"), as zswap keeps several zpools per pool
 * so that CPUs do not all queue on one pool lock. Each thread allocates
 * from its home shard (threads are given homes round robin on their first
 * allocation); when the home shard is full the others are tried in turn,
 * so one thread can still fill the whole pool. max_pages is split across
 * the shards (the first max_pages % N get one page more); fault injection
 * runs in each shard, shard i seeded with seed + i.
 *
 * A sharded pool's handle carries its shard's index in bits
 * ZPOOL_SHARD_SHIFT and up, and the backend's own handle below: every
 * backend's handles leave those bits clear (on x86-64 and arm64, user
 * addresses stay below 2^48). zpool_shrink() visits the shards round robin,
 * a page at a time, starting one shard further on each call, so reclaim is
 * spread fairly; each shard evicts from its own LRU, so the pool as a whole
 * evicts from the cold end of every shard, not in one global LRU order.
 * The allocation counters (objects, allocs, alloc_enomem) are kept per
 * shard and summed by zpool_get_stats(); so are the page counters
 * (peak_pages is the sum of the shards' peaks).
 */
#define ZPOOL_MAX_SHARDS  64u
#define ZPOOL_SHARD_SHIFT 56

enum zpool_mapmode { ZPOOL_MM_RW, ZPOOL_MM_RO, ZPOOL_MM_WO };

struct zpool;

struct zpool_ops {
	/*
	 * Called by zpool_shrink() without any backend lock held. On success
	 * it must have called zpool_free(pool, handle) and return 0; non-zero
	 * means the object could not be evicted and it stays intact. If the
	 * handle's owner freed it meanwhile, return 0 without freeing it again.
	 * A handle can reach evict before the zpool_malloc() that returned it
	 * has returned to its caller: the callback must then wait for that
	 * caller or refuse, never free the handle.
	 */
	int (*evict)(struct zpool *pool, unsigned long handle, void *priv);
};

struct zpool_config {			    /* zero-initialised = defaults */
	size_t max_pages;		    /* arena capacity (memory limit); 0 = 65536 */
	const struct zpool_ops *ops;	    /* NULL = the pool cannot shrink */
	void *priv;			    /* passed to evict */
	unsigned int fail_page_alloc_every; /* fail every Nth page allocation; 0 = off */
	double fail_page_alloc_prob;	    /* or fail with this probability ... */
	unsigned long long seed;	    /* ... drawn from a PRNG seeded with this */
	unsigned int shards;		    /* sub-pools, 0 or 1 = one; see ZPOOL_MAX_SHARDS */
};

/* Counters of one pool; see zpool_get_stats(). */
struct zpool_stats {
	uint64_t objects;	      /* live allocations */
	uint64_t total_size;	      /* bytes held, as zpool_get_total_size() */
	uint64_t pages;		      /* pages held (malloc: total_size in pages, rounded up) */
	uint64_t peak_pages;	      /* highest value pages has had */
	uint64_t max_pages;	      /* the pool's capacity */
	uint64_t allocs;	      /* successful zpool_malloc() calls */
	uint64_t alloc_enomem;	      /* zpool_malloc() calls that failed with -ENOMEM */
	uint64_t page_allocs;	      /* page (malloc: object) allocations that succeeded */
	uint64_t page_alloc_failures; /* ... that failed, capacity or injected */
	uint64_t injected_failures;   /* ... of those, injected by fault injection */
	uint64_t evictions;	      /* evict callbacks that returned 0 */
	uint64_t evict_failures;      /* evict callbacks that returned non-zero */
	uint64_t shrink_calls;	      /* zpool_shrink() calls */
	uint64_t shrink_eagain;	      /* ... that returned -EAGAIN */
	uint64_t pages_reclaimed;     /* pages reported reclaimed by zpool_shrink() */
	uint64_t compactions;	      /* zpool_compact() calls that ran */
	uint64_t pages_compacted;     /* pages they freed */
};

/**
 * zpool_create_pool() - create a pool of the named backend
 * @type: a registered backend name (see zpool_types())
 * @cfg: configuration, or NULL for all defaults
 * @pool: set to the new pool on success
 *
 * Return: 0; -ENOENT if @type is not registered; -EINVAL for a bad
 * configuration (NULL @type or @pool, a probability outside [0, 1],
 * max_pages whose bytes would exceed half the address space, more shards
 * than ZPOOL_MAX_SHARDS or than max_pages);
 * -ENOMEM if the pool's memory could not be set up.
 */
int zpool_create_pool(const char *type, const struct zpool_config *cfg, struct zpool **pool);

/**
 * zpool_destroy_pool() - destroy an empty pool
 * @pool: the pool; NULL is a no-op
 *
 * Destroying a pool that still holds allocations is a usage error: the pool
 * is left untouched and -EBUSY returned. Must not race any other call on
 * the pool. Debug builds stop if the backend destroys a pool with live
 * handles, or refuses with -EBUSY when none is live (it leaked).
 *
 * Return: 0 or -EBUSY.
 */
int zpool_destroy_pool(struct zpool *pool);

/* zpool_has_pool() - true if a backend named @type is registered. */
bool zpool_has_pool(const char *type);

/**
 * zpool_types() - list the registered backend names
 * @names: array filled with up to @max names (may be NULL when @max is 0)
 * @max: capacity of @names
 *
 * Return: the number of registered backends (may exceed @max).
 */
size_t zpool_types(const char **names, size_t max);

/* zpool_get_type() - the backend name @pool was created with. */
const char *zpool_get_type(const struct zpool *pool);

/**
 * zpool_malloc() - allocate an object
 * @pool: the pool
 * @size: object size in bytes, 1..ZPOOL_PAGE_SIZE
 * @handle: set to the object's non-zero handle on success
 *
 * Takes the backend's pool lock; never calls evict.
 *
 * Return: 0; -EINVAL for a size of 0 or above ZPOOL_PAGE_SIZE or a NULL
 * @handle; -ENOMEM when the pool is at capacity or a page allocation
 * failed (nothing is leaked: call zpool_shrink() and retry).
 */
int zpool_malloc(struct zpool *pool, size_t size, unsigned long *handle);

/**
 * zpool_free() - free an object
 * @pool: the pool
 * @handle: a handle from zpool_malloc(), freed exactly once
 *
 * Safe against concurrent frees of other handles and concurrent reclaim;
 * may be called from the evict callback. Debug builds stop with a
 * "zpool BUG:" report on a handle that is not live in @pool: 0, freed
 * already, stale, or another pool's.
 */
void zpool_free(struct zpool *pool, unsigned long handle);

/**
 * zpool_shrink() - evict objects from the cold end of the pool
 * @pool: the pool
 * @pages: number of pages to reclaim
 * @reclaimed: if not NULL, set to the number of pages reclaimed
 *
 * Calls the evict callback without backend locks held, so the callback may
 * call zpool_free() (it must, on success), zpool_map_handle() and
 * zpool_malloc().
 *
 * A backend that frees pages in groups (zsmalloc frees whole zspages of up
 * to 8 pages) may reclaim more than @pages: @reclaimed says how many. A
 * page counts in @reclaimed only once the pool has given it back: the
 * pages of zpool_get_stats() fall by at least @reclaimed (with no other
 * thread working on the pool). Objects evicted on the way to a page that
 * could not be completed stay evicted. Debug builds stop with a
 * "zpool BUG:" report when a callback returns 0 without freeing its handle.
 *
 * Return: 0 when at least @pages pages were reclaimed; -EINVAL when @pages is 0,
 * the pool has no evict callback or nothing to reclaim; -EAGAIN when the
 * evict callback refused so often that a page could not be freed within
 * the backend's retries (or other reclaimers hold what is left).
 */
int zpool_shrink(struct zpool *pool, unsigned int pages, unsigned int *reclaimed);

/**
 * zpool_compact() - move objects out of sparse pages and free those pages
 * @pool: the pool
 * @pages_freed: if not NULL, set to the number of pages given back
 *
 * For backends whose objects can move (zsmalloc). Safe against concurrent
 * calls of every other function on the pool: it takes the backend's pool
 * lock for short steps, never moves an object that is mapped, and never
 * calls evict. Handles stay valid; a pointer from zpool_map_handle() stays
 * valid until zpool_unmap_handle(), but a later map may return another.
 *
 * Return: 0 (also when nothing could be freed); -EOPNOTSUPP if the backend
 * does not compact (*@pages_freed is then 0).
 */
int zpool_compact(struct zpool *pool, unsigned long *pages_freed);

/**
 * zpool_map_handle() - reach an object's bytes
 * @pool: the pool
 * @handle: a live handle
 * @mm: how the caller will access the bytes
 *
 * The bytes are stable until zpool_unmap_handle(). Debug builds stop with a
 * "zpool BUG:" report on a handle that is not live in @pool (0, freed,
 * stale, another pool's), except the handle an evict callback running on
 * this thread was given, which it may map even after its owner freed it.
 *
 * Return: a pointer to the object's first byte; NULL for handle 0 in a
 * build without debug checks.
 */
void *zpool_map_handle(struct zpool *pool, unsigned long handle, enum zpool_mapmode mm);

/*
 * zpool_unmap_handle() - end the access begun by zpool_map_handle(); debug
 * builds check @handle as zpool_map_handle() does.
 */
void zpool_unmap_handle(struct zpool *pool, unsigned long handle);

/**
 * zpool_get_total_size() - bytes of memory the pool holds
 * @pool: the pool
 *
 * Lock-free: an atomic read, safe from any thread at any time.
 */
uint64_t zpool_get_total_size(const struct zpool *pool);

/**
 * zpool_check() - verify the backend's internal invariants
 * @pool: the pool
 * @why: if not NULL, receives the first broken invariant as text
 * @len: size of @why
 *
 * Takes the backend's pool lock.
 *
 * Return: 0 when every invariant holds, -EUCLEAN otherwise.
 */
int zpool_check(struct zpool *pool, char *why, size_t len);

/**
 * zpool_get_stats() - read the pool's counters
 * @pool: the pool
 * @stats: filled in
 *
 * Lock-free; the counters are each exact but not a snapshot of one instant
 * when other threads are working on the pool.
 */
void zpool_get_stats(const struct zpool *pool, struct zpool_stats *stats);

/*
 * zpool_debug_checks() - true if the library was built with the debug
 * checks (without NDEBUG): live-handle checks, the evict contract, free
 * page poisoning.
 */
bool zpool_debug_checks(void);

#ifdef __cplusplus
}
#endif

#endif /* ZPOOL_ZPOOL_H */
