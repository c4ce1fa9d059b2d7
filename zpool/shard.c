// SPDX-License-Identifier: GPL-2.0-only
/*
 * shard.c - N pools of one backend behind one struct zpool
 *
 * One pool has one lock, so two threads allocating from it take turns: on
 * this project's 2-core machine a second thread brought zbud's alloc+free
 * throughput down to a sixth. zswap met the same contention and moved to
 * several zpools per pool, picked by hashing. A sharded pool does the same
 * for any backend: zpool_create_pool() with zpool_config.shards = N > 1
 * gives a struct zpool whose driver is zpool_shard_driver, and below it N
 * ordinary pools of the backend, the shards, each with its own lock, its
 * own arena (max_pages split between them) and its own counters.
 *
 * Which shard: each thread gets a home index, handed out round robin the
 * first time it allocates from any sharded pool, and allocates from shard
 * (index % N), so N threads started together land on N different shards.
 * A thread whose home shard is full (-ENOMEM) tries the other shards in
 * order, so a single thread can still fill the whole pool.
 *
 * The handle: the shard's index in bits ZPOOL_SHARD_SHIFT and up, the
 * shard's own handle below. Free, map and unmap go straight to the shard
 * the handle names, from any thread.
 *
 * Counters: allocs, frees and alloc_enomem are bumped on every
 * allocation, so they are the shards' own (zpool_malloc() on the shard
 * counts them) and summed when read. A failed allocation that moved on to
 * other shards is counted once, as the pool's caller saw it. The counters
 * of reclaim (shrink calls, evictions) are kept by the sharded pool
 * itself: reclaim is not a hot path, and its counts describe the calls
 * the user made.
 *
 * Reclaim: zpool_shrink() asks the shards for one page each, round robin,
 * until it has the pages asked for or every shard has failed; each call
 * starts one shard further than the previous one, so no shard is always
 * reclaimed first. A shard evicts through shard_evict(), which tags the
 * handle and calls the user's callback with the sharded pool, as if the
 * shard were not there.
 *
 * Locking: none of its own; each shard's backend locks as it always does.
 * The round-robin counters are atomics.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(unsigned long) == 8, "sharded handles need 64-bit handles");
_Static_assert(ZPOOL_MAX_SHARDS <= (1ul << (64 - ZPOOL_SHARD_SHIFT)),
	       "the shard index must fit above ZPOOL_SHARD_SHIFT");

#define SHARD_HANDLE_MASK ((1ul << ZPOOL_SHARD_SHIFT) - 1)

/**
 * struct shard - one shard: its pool, and what its evictions need
 * @zp: the shard's own pool
 * @outer: the sharded pool it belongs to
 * @index: its index, the tag of its handles
 */
struct shard {
	struct zpool *zp;
	struct zpool *outer;
	unsigned long index;
};

/**
 * struct shard_pool - the pool behind a sharded struct zpool
 * @nr: number of shards, 2..ZPOOL_MAX_SHARDS
 * @shrink_next: where the next zpool_shrink() starts
 * @shard: the shards
 */
struct shard_pool {
	unsigned int nr;
	atomic_uint shrink_next;
	struct shard shard[];
};

/* Home indices are handed to threads round robin, at their first use. */
static atomic_uint next_home;
static _Thread_local unsigned int thread_home; /* index + 1; 0 = none yet */
/* The last pool this thread allocated from and its home shard there. */
static _Thread_local const struct shard_pool *last_pool;
static _Thread_local unsigned int last_shard;

/*
 * The calling thread's home shard in @sp. The modulo is a division, as
 * dear as the rest of the call: a thread mostly allocates from one pool,
 * so the answer for the last pool is kept (any shard is a correct answer,
 * so one kept for a destroyed pool whose address was reused does no harm
 * as long as it is in range).
 */
static unsigned int home_shard(const struct shard_pool *sp)
{
	unsigned int home = thread_home;

	/* A new pool at a freed one's address may have fewer shards. */
	if (__builtin_expect(last_pool == sp && last_shard < sp->nr, 1))
		return last_shard;
	if (home == 0) {
		home = atomic_fetch_add_explicit(&next_home, 1, memory_order_relaxed) + 1;
		thread_home = home;
	}
	last_pool = sp;
	last_shard = (home - 1) % sp->nr;
	return last_shard;
}

static unsigned long tag_handle(const struct shard *s, unsigned long handle)
{
	return handle | s->index << ZPOOL_SHARD_SHIFT;
}

/* The shard that owns @handle; debug builds stop on a tag no shard has. */
static struct shard *handle_shard(struct shard_pool *sp, unsigned long handle)
{
	unsigned long index = handle >> ZPOOL_SHARD_SHIFT;

	if (ZPOOL_DEBUG_ON && index >= sp->nr)
		zpool_bug("shard: handle %#lx names shard %lu of %u", handle, index, sp->nr);
	return &sp->shard[index];
}

/* The shard's evict callback: the user's, with the sharded pool and handle. */
static int shard_evict(struct zpool *zp, unsigned long handle, void *priv)
{
	struct shard *s = priv;

	(void)zp;
	return zpool_evict(s->outer, tag_handle(s, handle));
}

static const struct zpool_ops shard_ops = { .evict = shard_evict };

static void destroy_shards(struct shard_pool *sp, unsigned int nr)
{
	while (nr--)
		if (zpool_destroy_pool(sp->shard[nr].zp))
			zpool_bug("shard: shard %u not empty at destroy", nr);
	free(sp);
}

/**
 * shard_create() - create the shards of @zp
 * @zp: the sharded pool: zp->type names the backend, zp->shards the count
 * @cfg: the user's configuration; max_pages is split, seeds offset
 * @out: set to the struct shard_pool
 *
 * Return: 0; -EINVAL if there are fewer pages than shards; or what
 * creating a shard returned.
 */
static int shard_create(struct zpool *zp, const struct zpool_config *cfg, void **out)
{
	size_t pages = cfg->max_pages ? cfg->max_pages : ZPOOL_DEFAULT_MAX_PAGES;
	unsigned int nr = zp->shards;
	struct shard_pool *sp;

	if (pages < nr)
		return -EINVAL;
	sp = calloc(1, sizeof(*sp) + nr * sizeof(sp->shard[0]));
	if (!sp)
		return -ENOMEM;
	sp->nr = nr;
	for (unsigned int i = 0; i < nr; i++) {
		struct shard *s = &sp->shard[i];
		struct zpool_config c = *cfg;
		int err;

		c.shards = 1;
		c.max_pages = pages / nr + (i < pages % nr);
		c.seed = cfg->seed + i;
		c.ops = zpool_can_evict(zp) ? &shard_ops : NULL;
		c.priv = s;
		s->outer = zp;
		s->index = i;
		err = zpool_create_pool(zp->type, &c, &s->zp);
		if (err) {
			destroy_shards(sp, i);
			return err;
		}
	}
	*out = sp;
	return 0;
}

/* Objects a shard holds, from its own counter. */
static uint64_t shard_objects(const struct shard *s)
{
	return zpool_objects(s->zp);
}

static int shard_destroy(void *p)
{
	struct shard_pool *sp = p;

	for (unsigned int i = 0; i < sp->nr; i++)
		if (shard_objects(&sp->shard[i]) || zpool_get_total_size(sp->shard[i].zp))
			return -EBUSY;
	destroy_shards(sp, sp->nr);
	return 0;
}

/*
 * The home shard first, then the others in turn. Each shard that refused
 * counted an -ENOMEM; the caller sees one call, so the counts are put
 * right: none if a shard served it, one (on the home shard) if none did.
 */
static int shard_malloc(void *p, size_t size, unsigned long *handle)
{
	struct shard_pool *sp = p;
	unsigned int home = home_shard(sp), i = home, refused = 0;
	unsigned long h;
	int err;

	for (;;) {
		struct shard *s = &sp->shard[i];

		err = zpool_malloc(s->zp, size, &h);
		if (err == 0) {
			if (ZPOOL_DEBUG_ON && h >> ZPOOL_SHARD_SHIFT)
				zpool_bug("shard: %s handle %#lx uses the shard bits", s->zp->type,
					  h);
			*handle = tag_handle(s, h);
			break;
		}
		if (err != -ENOMEM)
			return err;
		refused++;
		if (++i == sp->nr)
			i = 0;
		if (i == home)
			break;
	}
	/* Each shard that refused takes its count back, but the home shard on failure. */
	for (unsigned int k = err ? 1 : 0; k < refused; k++)
		atomic_fetch_sub_explicit(&sp->shard[(home + k) % sp->nr].zp->alloc_enomem, 1,
					  memory_order_relaxed);
	return err;
}

static void shard_free(void *p, unsigned long handle)
{
	zpool_free(handle_shard(p, handle)->zp, handle & SHARD_HANDLE_MASK);
}

/*
 * One page from each shard in turn, skipping the shards that failed,
 * until @pages are reclaimed or every shard has failed. -EAGAIN if a shard
 * could not evict (its callback refused), else -EINVAL (nothing to take).
 */
static int shard_shrink(void *p, unsigned int pages, unsigned int *reclaimed)
{
	struct shard_pool *sp = p;
	uint64_t failed = 0, all = sp->nr == 64 ? ~0ull : (1ull << sp->nr) - 1;
	unsigned int i =
	    atomic_fetch_add_explicit(&sp->shrink_next, 1, memory_order_relaxed) % sp->nr;
	unsigned int done = 0;
	bool eagain = false;

	while (done < pages && failed != all) {
		if (!(failed & 1ull << i)) {
			struct zpool *zp = sp->shard[i].zp;
			unsigned int got = 0;
			int err = zp->driver->shrink(zp->pool, 1, &got);

			done += got;
			if (err) {
				failed |= 1ull << i;
				eagain |= err == -EAGAIN;
			}
		}
		if (++i == sp->nr)
			i = 0;
	}
	*reclaimed = done;
	if (done >= pages) /* a shard may free more than the page asked (zsmalloc) */
		return 0;
	return eagain ? -EAGAIN : -EINVAL;
}

/* Every shard compacts in turn; -EOPNOTSUPP if the backend does not compact. */
static int shard_compact(void *p, unsigned long *pages_freed)
{
	struct shard_pool *sp = p;
	unsigned long total = 0;

	for (unsigned int i = 0; i < sp->nr; i++) {
		struct zpool *zp = sp->shard[i].zp;
		unsigned long freed = 0;
		int err;

		if (!zp->driver->compact)
			return -EOPNOTSUPP;
		err = zp->driver->compact(zp->pool, &freed);
		total += freed;
		if (err) {
			*pages_freed = total;
			return err;
		}
	}
	*pages_freed = total;
	return 0;
}

static void *shard_map(void *p, unsigned long handle, enum zpool_mapmode mm)
{
	return zpool_map_handle(handle_shard(p, handle)->zp, handle & SHARD_HANDLE_MASK, mm);
}

static void shard_unmap(void *p, unsigned long handle)
{
	zpool_unmap_handle(handle_shard(p, handle)->zp, handle & SHARD_HANDLE_MASK);
}

static uint64_t shard_total_size(const void *p)
{
	const struct shard_pool *sp = p;
	uint64_t total = 0;

	for (unsigned int i = 0; i < sp->nr; i++)
		total += zpool_get_total_size(sp->shard[i].zp);
	return total;
}

/* Every shard's own check; the first broken one is named. */
static int shard_check(void *p, char *why, size_t len)
{
	struct shard_pool *sp = p;

	for (unsigned int i = 0; i < sp->nr; i++) {
		char inner[256];

		if (zpool_check(sp->shard[i].zp, inner, sizeof(inner)))
			return zpool_why(why, len, "shard %u of %u: %s", i, sp->nr, inner);
	}
	return 0;
}

/* The page and allocation counters, summed over the shards. */
static void shard_stats(const void *p, struct zpool_stats *st)
{
	const struct shard_pool *sp = p;

	for (unsigned int i = 0; i < sp->nr; i++) {
		struct zpool_stats s;

		zpool_get_stats(sp->shard[i].zp, &s);
		st->objects += s.objects;
		st->allocs += s.allocs;
		st->alloc_enomem += s.alloc_enomem;
		st->pages += s.pages;
		st->peak_pages += s.peak_pages;
		st->max_pages += s.max_pages;
		st->page_allocs += s.page_allocs;
		st->page_alloc_failures += s.page_alloc_failures;
		st->injected_failures += s.injected_failures;
	}
}

const struct zpool_driver zpool_shard_driver = {
	.type = "shard",
	.create = shard_create,
	.destroy = shard_destroy,
	.malloc = shard_malloc,
	.free = shard_free,
	.shrink = shard_shrink,
	.map = shard_map,
	.unmap = shard_unmap,
	.total_size = shard_total_size,
	.check = shard_check,
	.stats = shard_stats,
	.compact = shard_compact,
};
