// SPDX-License-Identifier: GPL-2.0-only
/*
 * zpool.c - the registry of backends and the common layer of the zpool API
 *
 * Each public function checks what is the same for every backend, keeps the
 * backend-independent counters, and calls the backend through its driver.
 *
 * In debug builds the common layer also holds every backend to the handle
 * contract, in this one place, from the set of the pool's live handles
 * (live.h) and without reading the backend's memory:
 *  - a handle is added when the backend returns it from malloc (a backend
 *    returning 0 or a handle that is still live is a backend bug) and
 *    removed before the backend frees it, so that the backend may hand the
 *    same value out again as soon as its free returns;
 *  - free, map and unmap of a handle that is not live stop with a
 *    "zpool BUG:" report: a double free, a stale handle, or another pool's;
 *  - an evict callback that returned 0 must have freed its handle; the
 *    backend keeps the handle from being reused until zpool_evict()
 *    returns, so a handle still live then was not freed;
 *  - the evict callback may map and unmap the handle it was given even
 *    when its owner freed it meanwhile (it cannot know before it looked),
 *    and only that handle, on that thread, while the callback runs;
 *  - destroy must succeed exactly when no handle is live.
 */
#include "internal.h"
#include "live.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZPOOL_BACKEND(name) extern const struct zpool_driver name##_zpool_driver;
#include "backends.def"
#undef ZPOOL_BACKEND

static const struct zpool_driver *const zpool_drivers[] = {
#define ZPOOL_BACKEND(name) &name##_zpool_driver,
#include "backends.def"
#undef ZPOOL_BACKEND
};

#define ZPOOL_NR_DRIVERS (sizeof(zpool_drivers) / sizeof(zpool_drivers[0]))

static const struct zpool_driver *zpool_find_driver(const char *type)
{
	for (size_t i = 0; i < ZPOOL_NR_DRIVERS; i++)
		if (strcmp(zpool_drivers[i]->type, type) == 0)
			return zpool_drivers[i];
	return NULL;
}

static inline void counter_inc(atomic_uint_least64_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static inline uint64_t counter_read(const atomic_uint_least64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/*
 * The handles whose evict callbacks run on this thread, innermost first,
 * each with its pool: the handles a callback may map after their owner
 * freed them. More than one when evictions nest: a sharded pool's shard
 * evicts through the sharded pool's callback (shard.c), and a callback
 * may shrink another pool.
 */
struct evicting {
	const struct zpool *zp;
	unsigned long handle;
	const struct evicting *outer;
};
static _Thread_local const struct evicting *evicting;

static void free_pool(struct zpool *zp)
{
	if (zp->live) {
		live_destroy(zp->live);
		free(zp->live);
	}
	free(zp);
}

/* Debug builds: stop on a map or unmap of a handle that may not be reached. */
static void check_mappable(struct zpool *zp, unsigned long handle, const char *what)
{
	if (ZPOOL_BUG(map_freed_unnoticed))
		return;
	if (live_contains(zp->live, handle))
		return;
	for (const struct evicting *e = evicting; e; e = e->outer)
		if (e->zp == zp && e->handle == handle)
			return;
	zpool_bug("%s: %s of handle %#lx, which is not live in this pool "
		  "(freed, stale, or another pool's)",
		  zp->type, what, handle);
}

bool zpool_has_pool(const char *type)
{
	return type && zpool_find_driver(type);
}

size_t zpool_types(const char **names, size_t max)
{
	for (size_t i = 0; i < ZPOOL_NR_DRIVERS && i < max; i++)
		names[i] = zpool_drivers[i]->type;
	return ZPOOL_NR_DRIVERS;
}

int zpool_create_pool(const char *type, const struct zpool_config *cfg, struct zpool **pool)
{
	const struct zpool_driver *driver;

	if (!type || !pool)
		return -EINVAL;
	driver = zpool_find_driver(type);
	if (!driver)
		return -ENOENT;
	return zpool_create_pool_driver(driver, cfg, pool);
}

int zpool_create_pool_driver(const struct zpool_driver *driver, const struct zpool_config *cfg,
			     struct zpool **pool)
{
	static const struct zpool_config defaults;
	struct zpool *zp;
	int err;

	if (!cfg)
		cfg = &defaults;
	if (cfg->max_pages > ZPOOL_MAX_PAGES || cfg->shards > ZPOOL_MAX_SHARDS)
		return -EINVAL;
	zp = aligned_alloc(ZPOOL_CACHELINE, sizeof(*zp));
	if (!zp)
		return -ENOMEM;
	memset(zp, 0, sizeof(*zp));
	zp->driver = cfg->shards > 1 ? &zpool_shard_driver : driver;
	zp->type = driver->type;
	zp->shards = cfg->shards > 1 ? cfg->shards : 0;
	zp->ops = cfg->ops;
	zp->priv = cfg->priv;
	if (ZPOOL_DEBUG_ON) {
		zp->live = malloc(sizeof(*zp->live));
		if (!zp->live) {
			free(zp);
			return -ENOMEM;
		}
		live_init(zp->live);
	}
	err = zp->driver->create(zp, cfg, &zp->pool);
	if (err) {
		free_pool(zp);
		return err;
	}
	*pool = zp;
	return 0;
}

int zpool_destroy_pool(struct zpool *zp)
{
	size_t live = 0;
	int err;

	if (!zp)
		return 0;
	if (ZPOOL_DEBUG_ON)
		live = live_count(zp->live);
	err = zp->driver->destroy(zp->pool);
	if (ZPOOL_DEBUG_ON && !err && live)
		zpool_bug("%s: destroy succeeded with %zu handles still live", zp->type, live);
	if (ZPOOL_DEBUG_ON && err == -EBUSY && !live)
		zpool_bug(
		    "%s: destroy refused (-EBUSY) with no handle live: the pool leaked memory",
		    zp->type);
	if (err)
		return err;
	free_pool(zp);
	return 0;
}

const char *zpool_get_type(const struct zpool *zp)
{
	return zp->type;
}

bool zpool_debug_checks(void)
{
	return ZPOOL_DEBUG_ON;
}

/*
 * Debug builds: record a handle the backend returned. If the set cannot
 * grow, the object is given back and the allocation fails, losing nothing.
 */
static int track_new_handle(struct zpool *zp, unsigned long handle)
{
	int err;

	if (!handle)
		zpool_bug("%s: malloc returned handle 0", zp->type);
	err = live_add(zp->live, handle);
	if (err == -EEXIST)
		zpool_bug("%s: malloc returned handle %#lx, which is still live", zp->type, handle);
	if (err)
		zp->driver->free(zp->pool, handle);
	return err;
}

int zpool_malloc(struct zpool *zp, size_t size, unsigned long *handle)
{
	unsigned long h = 0;
	int err;

	if (size == 0 || size > ZPOOL_PAGE_SIZE || !handle)
		return -EINVAL;
	err = zp->driver->malloc(zp->pool, size, &h);
	if (err == 0 && ZPOOL_DEBUG_ON)
		err = track_new_handle(zp, h);
	if (err == 0)
		*handle = h;
	if (zp->shards) /* the shard that served it counted it */
		return err;
	if (err == 0) {
		atomic_fetch_add_explicit(&zp->allocs, 1, memory_order_release);
	} else if (err == -ENOMEM) {
		counter_inc(&zp->alloc_enomem);
	}
	return err;
}

void zpool_free(struct zpool *zp, unsigned long handle)
{
	if (!handle) {
		if (ZPOOL_DEBUG_ON)
			zpool_bug("%s: free of handle 0", zp->type);
		return;
	}
	/* Forgotten before the backend frees it: it may be reissued at once. */
	if (ZPOOL_DEBUG_ON && !live_remove(zp->live, handle))
		zpool_bug("%s: free of handle %#lx, which is not live in this pool (freed "
			  "twice, stale, another pool's, or evicted before its zpool_malloc() "
			  "returned)",
			  zp->type, handle);
	zp->driver->free(zp->pool, handle);
	if (!zp->shards)
		atomic_fetch_add_explicit(&zp->frees, 1, memory_order_release);
}

int zpool_shrink(struct zpool *zp, unsigned int pages, unsigned int *reclaimed)
{
	unsigned int done = 0;
	int err;

	counter_inc(&zp->shrink_calls);
	if (pages == 0 || !zpool_can_evict(zp))
		err = -EINVAL;
	else
		err = zp->driver->shrink(zp->pool, pages, &done);
	if (err == -EAGAIN)
		counter_inc(&zp->shrink_eagain);
	atomic_fetch_add_explicit(&zp->pages_reclaimed, done, memory_order_relaxed);
	if (reclaimed)
		*reclaimed = done;
	return err;
}

int zpool_evict(struct zpool *zp, unsigned long handle)
{
	struct evicting self = { .zp = zp, .handle = handle, .outer = evicting };
	int ret;

	evicting = &self;
	ret = zp->ops->evict(zp, handle, zp->priv);
	evicting = self.outer;
	/* The backend keeps @handle from reuse until we return: live = not freed. */
	if (ZPOOL_DEBUG_ON && ret == 0 && live_contains(zp->live, handle))
		zpool_bug("%s: the evict callback returned 0 but handle %#lx is still live: "
			  "a callback that returns 0 must have freed it with zpool_free()",
			  zp->type, handle);
	counter_inc(ret == 0 ? &zp->evictions : &zp->evict_failures);
	return ret;
}

int zpool_compact(struct zpool *zp, unsigned long *pages_freed)
{
	unsigned long freed = 0;
	int err = -EOPNOTSUPP;

	if (zp->driver->compact)
		err = zp->driver->compact(zp->pool, &freed);
	if (err != -EOPNOTSUPP) { /* a sharded pool of a backend that does not compact */
		counter_inc(&zp->compactions);
		atomic_fetch_add_explicit(&zp->pages_compacted, freed, memory_order_relaxed);
	}
	if (pages_freed)
		*pages_freed = freed;
	return err;
}

void *zpool_map_handle(struct zpool *zp, unsigned long handle, enum zpool_mapmode mm)
{
	if (!handle) {
		if (ZPOOL_DEBUG_ON)
			zpool_bug("%s: map of handle 0", zp->type);
		return NULL;
	}
	if (ZPOOL_DEBUG_ON)
		check_mappable(zp, handle, "map");
	return zp->driver->map(zp->pool, handle, mm);
}

void zpool_unmap_handle(struct zpool *zp, unsigned long handle)
{
	if (!handle) {
		if (ZPOOL_DEBUG_ON)
			zpool_bug("%s: unmap of handle 0", zp->type);
		return;
	}
	if (ZPOOL_DEBUG_ON)
		check_mappable(zp, handle, "unmap");
	zp->driver->unmap(zp->pool, handle);
}

uint64_t zpool_get_total_size(const struct zpool *zp)
{
	return zp->driver->total_size(zp->pool);
}

int zpool_check(struct zpool *zp, char *why, size_t len)
{
	if (why && len)
		why[0] = '\0';
	return zp->driver->check(zp->pool, why, len);
}

void zpool_get_stats(const struct zpool *zp, struct zpool_stats *st)
{
	memset(st, 0, sizeof(*st));
	zp->driver->stats(zp->pool, st); /* a sharded pool's sums its shards' allocation counters */
	if (!zp->shards) {
		st->objects = zpool_objects(zp);
		st->allocs = counter_read(&zp->allocs);
		st->alloc_enomem = counter_read(&zp->alloc_enomem);
	}
	st->total_size = zp->driver->total_size(zp->pool);
	st->evictions = counter_read(&zp->evictions);
	st->evict_failures = counter_read(&zp->evict_failures);
	st->shrink_calls = counter_read(&zp->shrink_calls);
	st->shrink_eagain = counter_read(&zp->shrink_eagain);
	st->pages_reclaimed = counter_read(&zp->pages_reclaimed);
	st->compactions = counter_read(&zp->compactions);
	st->pages_compacted = counter_read(&zp->pages_compacted);
}

void zpool_bug(const char *fmt, ...)
{
	va_list ap;

	fputs("zpool BUG: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

int zpool_why(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (why && len) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return -EUCLEAN;
}
