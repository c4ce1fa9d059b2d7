// SPDX-License-Identifier: GPL-2.0-only
/*
 * pool.c - pool life cycle: create (and the creates the contract refuses),
 * destroy, and keeping empty pools for later inputs
 *
 * An input ends with its pool checked empty (0 objects, pages, bytes); the
 * next input asking for the same backend and capacity starts from it
 * instead of mapping and faulting in a new arena (up to FZ_SPARES per
 * harness). The model depends on no address, so an input runs the same on
 * a kept pool as on a new one, except that its pages come off the arena's
 * free list. Pools with fault injection are never kept: the injector's
 * counter and PRNG belong to one input. ZPOOL_FUZZ_FRESH_POOLS=1 turns
 * keeping off.
 */
#include "harness.h"

#include "emit_c.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Whether empty pools are kept across inputs (not if ZPOOL_FUZZ_FRESH_POOLS=1). */
static bool fz_keep_pools(void)
{
	static int keep = -1;

	if (keep < 0) {
		const char *e = getenv("ZPOOL_FUZZ_FRESH_POOLS");

		keep = !(e && *e && strcmp(e, "0") != 0);
	}
	return keep;
}

/* Take a kept pool matching @h's type and @max_pages, or NULL. */
static struct zpool *fz_take_spare(struct fz_harness *h, size_t max_pages)
{
	for (unsigned int i = 0; i < FZ_SPARES; i++) {
		struct fz_spare *sp = &h->spare[i];
		struct zpool *pool = sp->pool;

		if (pool && sp->max_pages == max_pages && strcmp(sp->type, h->type) == 0) {
			sp->pool = NULL;
			return pool;
		}
	}
	return NULL;
}

/* Destroy an empty pool: it must succeed. */
static void fz_destroy_empty(struct fz_harness *h, struct zpool *pool)
{
	int err;

	if (pool == h->pool)
		FZ_EMIT(destroy, h);
	err = zpool_destroy_pool(pool);
	if (pool == h->pool)
		FZ_EMIT(destroy_ret, h, err);

	if (err)
		fz_fail(h, -1, "destroy of an empty pool: expected 0 seen %d", err);
}

/*
 * Keep the empty pool for a later input; a pool already kept for the
 * same backend and size, or else the oldest kept one, is destroyed.
 */
static void fz_keep_pool(struct fz_harness *h)
{
	struct fz_spare *sp = NULL;

	for (unsigned int i = 0; i < FZ_SPARES && !sp; i++)
		if (!h->spare[i].pool || (h->spare[i].max_pages == h->cfg.max_pages &&
					  !strcmp(h->spare[i].type, h->type)))
			sp = &h->spare[i];
	if (!sp)
		sp = &h->spare[h->spare_next++ % FZ_SPARES];
	if (sp->pool)
		fz_destroy_empty(h, sp->pool);
	sp->pool = h->pool;
	sp->type = h->type;
	sp->max_pages = h->cfg.max_pages;
}

/*
 * Creates the contract refuses, tried when the fault byte asks for it:
 * a probability outside [0, 1] (or NaN), an unknown backend, NULL
 * arguments, an arena larger than the address space (-EINVAL); for zbud
 * also one larger than what mmap can give (-ENOMEM). Each must fail with
 * its code and leave nothing behind (LeakSanitizer reports a pool leaked by
 * a failed create). A create with the default configuration (NULL) is not
 * tried: its arena of ZPOOL_DEFAULT_MAX_PAGES pages costs milliseconds of
 * ASan shadow setup.
 */
static void fz_create_refused(struct fz_harness *h, uint8_t fault)
{
	static const double bad_prob[] = { -0.25, 1.5, NAN };
	struct zpool_config cfg = h->cfg;
	struct zpool *pool = NULL;
	int err;

	if (!zpool_has_pool(h->type) || zpool_has_pool("no-such-backend") || zpool_has_pool(NULL))
		fz_fail(h, -1, "zpool_has_pool: wrong answer for %s, an unknown name or NULL",
			h->type);
	cfg.fail_page_alloc_prob = bad_prob[(fault >> 3) % 3];
	err = zpool_create_pool(h->type, &cfg, &pool);
	if (err != -EINVAL || pool)
		fz_fail(h, -1, "create with fault probability %g: expected -EINVAL seen %d",
			cfg.fail_page_alloc_prob, err);
	err = zpool_create_pool("no-such-backend", &h->cfg, &pool);
	if (err != -ENOENT || pool)
		fz_fail(h, -1, "create of an unknown backend: expected -ENOENT seen %d", err);
	if (zpool_create_pool(NULL, &h->cfg, &pool) != -EINVAL || pool ||
	    zpool_create_pool(h->type, &h->cfg, NULL) != -EINVAL)
		fz_fail(h, -1, "create with a NULL type or pool pointer: expected -EINVAL");
	cfg = h->cfg;
	cfg.max_pages = SIZE_MAX;
	err = zpool_create_pool(h->type, &cfg, &pool);
	if (err != -EINVAL || pool)
		fz_fail(h, -1, "create with SIZE_MAX pages: expected -EINVAL seen %d", err);
	/*
	 * Half the address space passes the size check but cannot be mapped;
	 * the malloc backend maps nothing and accepts it.
	 */
	if (h->model->page_model) {
		cfg.max_pages = SIZE_MAX / ZPOOL_PAGE_SIZE / 2;
		err = zpool_create_pool(h->type, &cfg, &pool);
		if (err != -ENOMEM || pool)
			fz_fail(h, -1, "create with %zu pages: expected -ENOMEM seen %d",
				cfg.max_pages, err);
	}
	if (zpool_destroy_pool(NULL) != 0)
		fz_fail(h, -1, "destroy of NULL: expected 0");
}

/*
 * Create the pool with @max_pages pages and the fault setting @fault:
 * fault % 8 == 7: fail every 2 + (fault >> 3) % 8th page allocation;
 * fault % 8 == 6: fail with probability (fault >> 3) / 32; fault % 8 == 5:
 * no injection, but try the refused creates of fz_create_refused() first.
 * Without injection a kept pool of the same backend and size may serve.
 * Either way the model starts from the pool's counters as they are (all 0
 * for a new pool) and from an empty pool.
 */
void fz_create(struct fz_harness *h, unsigned int max_pages, uint8_t fault)
{
	static const struct zpool_stats zero;
	bool fresh = false;
	int err;

	memset(&h->cfg, 0, sizeof(h->cfg));
	if (max_pages < fz_shards)
		max_pages = fz_shards; /* a page a shard at least */
	h->cfg.max_pages = max_pages;
	h->cfg.shards = fz_shards;
	h->cfg.ops = &h->ops;
	h->cfg.priv = h;
	if (fault % 8 == 7)
		h->cfg.fail_page_alloc_every = 2u + (fault >> 3) % 8u;
	else if (fault % 8 == 6)
		h->cfg.fail_page_alloc_prob = (fault >> 3) / 32.0;
	else if (fault % 8 == 5)
		fz_create_refused(h, fault);
	h->cfg.seed = fault;
	zm_reset(&h->zm);
	memset(&h->n, 0, sizeof(h->n));
	h->st_valid = false;
	h->pool = NULL;
	if (!h->cfg.fail_page_alloc_every && !h->cfg.fail_page_alloc_prob)
		h->pool = fz_take_spare(h, max_pages);
	if (!h->pool) {
		FZ_EMIT(create, h);
		err = zpool_create_pool(h->type, &h->cfg, &h->pool);
		if (err)
			fz_fail(h, -1, "create %s with %u pages: expected 0 seen %d", h->type,
				max_pages, err);
		fresh = true;
	}
	if (strcmp(zpool_get_type(h->pool), h->type) != 0)
		fz_fail(h, -1, "zpool_get_type: expected %s seen %s", h->type,
			zpool_get_type(h->pool));
	zpool_get_stats(h->pool, &h->base);
	h->st = h->base;
	h->st_valid = true;
	if (h->base.objects || h->base.pages || h->base.total_size)
		fz_fail(h, -1, "a %s pool holds %llu objects, %llu pages, %llu bytes",
			fresh ? "new" : "kept", (unsigned long long)h->base.objects,
			(unsigned long long)h->base.pages, (unsigned long long)h->base.total_size);
	if (fresh) {
		struct zpool_stats st = h->base;

		st.max_pages = 0;
		if (memcmp(&st, &zero, sizeof(st)) != 0)
			fz_fail(h, -1, "a new pool's counters are not all 0");
	}
	fz_check_counters(h);
}

/*
 * Destroy the pool: with live objects it must refuse with -EBUSY and leave
 * everything intact; empty, it must succeed, and a new pool of @max_pages
 * pages and fault setting @fault replaces it.
 */
void fz_recreate(struct fz_harness *h, unsigned int max_pages, uint8_t fault)
{
	int err;

	h->st_valid = false;
	FZ_EMIT(destroy, h);
	err = zpool_destroy_pool(h->pool);
	FZ_EMIT(destroy_ret, h, err);
	if (h->live) {
		if (err != -EBUSY)
			fz_fail(h, -1, "destroy with %u live objects: expected -EBUSY seen %d",
				h->live, err);
		for (int s = 0; s < FZ_SLOTS; s++)
			if (h->obj[s].state == FZ_LIVE)
				fz_verify(h, s, "after refused destroy");
		return;
	}
	if (err)
		fz_fail(h, -1, "destroy of an empty pool: expected 0 seen %d", err);
	h->pool = NULL;
	fz_create(h, max_pages, fault);
}

/*
 * The end of an input: compact what is left (objects may move), the full
 * check (every object's bytes), then free everything, verifying it; the
 * pool must end empty. Then destroy it (it must succeed), or keep it for a
 * later input if it has no fault injection.
 */
void fz_teardown(struct fz_harness *h)
{
	struct zpool_stats st;

	fz_compact(h);
	fz_check_full(h);
	for (int s = 0; s < FZ_SLOTS; s++) {
		if (h->obj[s].state == FZ_LIVE)
			fz_free(h, s);
		h->obj[s].state = FZ_EMPTY;
	}
	fz_check_full(h);
	st = h->st;
	if (st.total_size || st.pages || st.objects)
		fz_fail(h, -1, "empty pool: expected 0 bytes/pages/objects seen %llu/%llu/%llu",
			(unsigned long long)st.total_size, (unsigned long long)st.pages,
			(unsigned long long)st.objects);
	if (fz_keep_pools() && !h->cfg.fail_page_alloc_every && !h->cfg.fail_page_alloc_prob)
		fz_keep_pool(h);
	else
		fz_destroy_empty(h, h->pool);
	h->pool = NULL;
	FZ_EMIT(teardown_done, h);
}
