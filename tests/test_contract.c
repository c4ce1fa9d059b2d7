// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_contract.c - the zpool contract, run against every registered backend
 *
 * Each test is written once and runs once per name zpool_types() returns,
 * so a new backend is held to the contract by registering it. The tests
 * check zpool_check() after the operations they make.
 */
#include "test_util.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#define TYPE(state) ((const char *)*(state))

static void test_registry(void **state)
{
	const char *names[16];
	size_t n = zpool_types(names, 16);
	bool zbud = false, malloc_seen = false;

	(void)state;
	assert_true(n >= 2 && n <= 16);
	for (size_t i = 0; i < n; i++) {
		assert_true(zpool_has_pool(names[i]));
		zbud |= strcmp(names[i], "zbud") == 0;
		malloc_seen |= strcmp(names[i], "malloc") == 0;
	}
	assert_true(zbud && malloc_seen);
	assert_int_equal(zpool_types(NULL, 0), n);
	assert_false(zpool_has_pool("no-such-backend"));
	assert_false(zpool_has_pool(NULL));
}

static void test_create_errors(void **state)
{
	struct zpool *pool = NULL;
	struct zpool_config cfg = { 0 };

	assert_int_equal(zpool_create_pool("no-such-backend", NULL, &pool), -ENOENT);
	assert_int_equal(zpool_create_pool(NULL, NULL, &pool), -EINVAL);
	assert_int_equal(test_create_pool(TYPE(state), NULL, NULL), -EINVAL);
	cfg.fail_page_alloc_prob = 1.5;
	assert_int_equal(test_create_pool(TYPE(state), &cfg, &pool), -EINVAL);
	cfg.fail_page_alloc_prob = -0.1;
	assert_int_equal(test_create_pool(TYPE(state), &cfg, &pool), -EINVAL);
	cfg.fail_page_alloc_prob = NAN;
	assert_int_equal(test_create_pool(TYPE(state), &cfg, &pool), -EINVAL);
	cfg.fail_page_alloc_prob = 0;
	cfg.max_pages = SIZE_MAX;
	assert_int_equal(test_create_pool(TYPE(state), &cfg, &pool), -EINVAL);
	assert_null(pool);

	assert_int_equal(test_create_pool(TYPE(state), NULL, &pool), 0);
	assert_string_equal(zpool_get_type(pool), TYPE(state));
	assert_int_equal(zpool_get_total_size(pool), 0);
	assert_pool_ok(pool);
	assert_int_equal(zpool_destroy_pool(pool), 0);
	assert_int_equal(zpool_destroy_pool(NULL), 0);
}

static void test_malloc_sizes(void **state)
{
	struct model m;
	unsigned long h = 0;

	model_init(&m, TYPE(state), 0, false);
	assert_int_equal(zpool_malloc(m.pool, 0, &h), -EINVAL);
	assert_int_equal(zpool_malloc(m.pool, ZPOOL_PAGE_SIZE + 1, &h), -EINVAL);
	assert_int_equal(zpool_malloc(m.pool, (size_t)-1, &h), -EINVAL);
	assert_int_equal(zpool_malloc(m.pool, 100, NULL), -EINVAL);
	assert_int_equal(h, 0);
	assert_int_equal(zpool_get_total_size(m.pool), 0);
	assert_pool_ok(m.pool);

	/* Every size at a chunk or size-class edge, and both extremes. */
	for (size_t size = 1; size <= ZPOOL_PAGE_SIZE; size += (size < 130 ? 1 : 61)) {
		assert_int_equal(model_alloc(&m, size), 0);
		assert_pool_ok(m.pool);
	}
	assert_int_equal(model_alloc(&m, ZPOOL_PAGE_SIZE), 0);
	model_assert_intact(&m);
	model_destroy(&m);
}

/* Interleaved allocations and frees never disturb other objects' bytes. */
static void test_round_trips(void **state)
{
	struct model m;
	unsigned int seed = 1;

	model_init(&m, TYPE(state), 0, false);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 300; i++)
			assert_int_equal(model_alloc(&m, 1 + rand_r(&seed) % ZPOOL_PAGE_SIZE), 0);
		for (int i = 0; i < m.nr; i++)
			if (m.obj[i].live && rand_r(&seed) % 2)
				model_free(&m, i);
		assert_pool_ok(m.pool);
		model_assert_intact(&m);
	}
	model_destroy(&m);
}

static void test_map_modes(void **state)
{
	struct model m;
	unsigned long h;

	model_init(&m, TYPE(state), 0, false);
	assert_int_equal(model_alloc(&m, 777), 0);
	h = m.obj[0].handle;
	void *rw = zpool_map_handle(m.pool, h, ZPOOL_MM_RW);
	zpool_unmap_handle(m.pool, h);
	void *ro = zpool_map_handle(m.pool, h, ZPOOL_MM_RO);
	zpool_unmap_handle(m.pool, h);
	void *wo = zpool_map_handle(m.pool, h, ZPOOL_MM_WO);
	zpool_unmap_handle(m.pool, h);
	assert_ptr_equal(rw, ro);
	assert_ptr_equal(ro, wo);
	assert_object_intact(m.pool, &m.obj[0]);
	model_destroy(&m);
}

/* At capacity: -ENOMEM, nothing leaked, and the pool still works. */
static void test_enomem_at_capacity(void **state)
{
	struct model m;
	struct zpool_stats st;
	uint64_t total;
	/* 4 pages a shard: malloc's header keeps a page-sized object out of 1. */
	size_t pages = 4 * (test_shards ? test_shards : 1);
	int err = 0;

	model_init(&m, TYPE(state), pages, false);
	while (m.nr < 64 && (err = model_alloc(&m, ZPOOL_PAGE_SIZE)) == 0)
		;
	assert_int_equal(err, -ENOMEM);
	assert_true(m.nr >= 1 && (size_t)m.nr <= pages);
	total = zpool_get_total_size(m.pool);
	assert_true(total <= pages * ZPOOL_PAGE_SIZE);
	for (int i = 0; i < 5; i++) {
		unsigned long h;

		assert_int_equal(zpool_malloc(m.pool, ZPOOL_PAGE_SIZE, &h), -ENOMEM);
	}
	assert_int_equal(zpool_get_total_size(m.pool), total);
	zpool_get_stats(m.pool, &st);
	assert_int_equal(st.objects, (uint64_t)m.nr);
	assert_int_equal(st.alloc_enomem, 6);
	assert_int_equal(st.max_pages, pages);
	assert_true(st.page_alloc_failures >= 6);
	assert_int_equal(st.injected_failures, 0);
	assert_pool_ok(m.pool);

	model_free(&m, 0);
	assert_int_equal(model_alloc(&m, ZPOOL_PAGE_SIZE), 0);
	model_destroy(&m);
}

/* Fault injection fails exactly the Nth allocation, with nothing leaked. */
static void test_fault_every(void **state)
{
	struct zpool_config cfg = { .fail_page_alloc_every = 3 };
	struct zpool_stats st;
	struct zpool *pool;
	unsigned long h[9];
	int results[9];

	/* Each shard counts its own page allocations, and the next shard
	 * takes over a failed one: not every third call of the pool. */
	if (test_shards > 1)
		skip();

	assert_int_equal(test_create_pool(TYPE(state), &cfg, &pool), 0);
	for (int i = 0; i < 9; i++) {
		results[i] = zpool_malloc(pool, ZPOOL_PAGE_SIZE, &h[i]);
		assert_int_equal(results[i], (i % 3 == 2) ? -ENOMEM : 0);
		assert_pool_ok(pool);
	}
	zpool_get_stats(pool, &st);
	assert_int_equal(st.injected_failures, 3);
	assert_int_equal(st.objects, 6);
	for (int i = 0; i < 9; i++)
		if (results[i] == 0)
			zpool_free(pool, h[i]);
	assert_int_equal(zpool_get_total_size(pool), 0);
	assert_pool_ok(pool);
	assert_int_equal(zpool_destroy_pool(pool), 0);
}

/* The same seed fails the same allocations; another seed, others. */
static void test_fault_prob_reproducible(void **state)
{
	unsigned long long seeds[3] = { 42, 42, 7 };
	char pattern[3][200];

	for (int s = 0; s < 3; s++) {
		struct zpool_config cfg = { .fail_page_alloc_prob = 0.5, .seed = seeds[s] };
		struct zpool *pool;
		unsigned long h;

		assert_int_equal(test_create_pool(TYPE(state), &cfg, &pool), 0);
		for (int i = 0; i < 200; i++) {
			int err = zpool_malloc(pool, ZPOOL_PAGE_SIZE, &h);

			assert_true(err == 0 || err == -ENOMEM);
			pattern[s][i] = err ? 'x' : '.';
			if (!err)
				zpool_free(pool, h);
		}
		assert_pool_ok(pool);
		assert_int_equal(zpool_destroy_pool(pool), 0);
	}
	assert_memory_equal(pattern[0], pattern[1], 200);
	assert_memory_not_equal(pattern[0], pattern[2], 200);
	/* p = 0.5 over 200 draws: both outcomes occur. */
	assert_non_null(memchr(pattern[0], 'x', 200));
	assert_non_null(memchr(pattern[0], '.', 200));
}

static void test_destroy_busy(void **state)
{
	struct model m;

	model_init(&m, TYPE(state), 0, false);
	assert_int_equal(model_alloc(&m, 1000), 0);
	assert_int_equal(model_alloc(&m, 3000), 0);
	assert_int_equal(zpool_destroy_pool(m.pool), -EBUSY);
	/* Untouched: the bytes are there and the pool works. */
	assert_object_intact(m.pool, &m.obj[0]);
	assert_object_intact(m.pool, &m.obj[1]);
	assert_pool_ok(m.pool);
	assert_int_equal(model_alloc(&m, 10), 0);
	model_free(&m, 0);
	assert_int_equal(zpool_destroy_pool(m.pool), -EBUSY);
	model_destroy(&m);
}

static void test_shrink_einval(void **state)
{
	struct model m;
	unsigned int reclaimed = 99;

	model_init(&m, TYPE(state), 0, false);
	assert_int_equal(model_alloc(&m, 100), 0);
	/* No evict callback: nothing can be reclaimed. */
	assert_int_equal(zpool_shrink(m.pool, 1, &reclaimed), -EINVAL);
	assert_int_equal(reclaimed, 0);
	model_destroy(&m);

	model_init(&m, TYPE(state), 0, true);
	assert_int_equal(zpool_shrink(m.pool, 1, &reclaimed), -EINVAL); /* empty */
	assert_int_equal(model_alloc(&m, 100), 0);
	assert_int_equal(zpool_shrink(m.pool, 0, &reclaimed), -EINVAL);
	assert_int_equal(m.evict_calls, 0);
	assert_object_intact(m.pool, &m.obj[0]);
	model_destroy(&m);
}

/* Shrink evicts the coldest objects first, their bytes intact. */
static void test_shrink_evicts_oldest(void **state)
{
	struct model m;
	struct zpool_stats st;
	unsigned int reclaimed = 0;

	model_init(&m, TYPE(state), 0, true);
	for (int i = 0; i < 6; i++)
		assert_int_equal(model_alloc(&m, ZPOOL_PAGE_SIZE), 0);
	assert_int_equal(zpool_shrink(m.pool, 2, &reclaimed), 0);
	assert_int_equal(reclaimed, 2);
	assert_int_equal(m.evicted_nr, 2);
	assert_int_equal(m.evict_order[0], 0);
	assert_int_equal(m.evict_order[1], 1);
	assert_pool_ok(m.pool);
	for (int i = 2; i < 6; i++)
		assert_object_intact(m.pool, &m.obj[i]);
	zpool_get_stats(m.pool, &st);
	assert_int_equal(st.evictions, 2);
	assert_int_equal(st.objects, 4);
	assert_int_equal(st.pages_reclaimed, 2);

	/* More pages asked than held: all reclaimed, then -EINVAL. */
	assert_int_equal(zpool_shrink(m.pool, 100, &reclaimed), -EINVAL);
	assert_int_equal(reclaimed, 4);
	assert_int_equal(zpool_get_total_size(m.pool), 0);
	model_destroy(&m);
}

/* A refusing evict callback: -EAGAIN, every object intact. */
static void test_shrink_evict_fails(void **state)
{
	struct model m;
	struct zpool_stats st;
	unsigned int reclaimed = 99;
	uint64_t total;

	model_init(&m, TYPE(state), 0, true);
	for (int i = 0; i < 5; i++)
		assert_int_equal(model_alloc(&m, 1500), 0);
	total = zpool_get_total_size(m.pool);
	m.evict_fail = 1;
	assert_int_equal(zpool_shrink(m.pool, 1, &reclaimed), -EAGAIN);
	assert_int_equal(reclaimed, 0);
	assert_true(m.evict_calls >= 1);
	assert_int_equal(zpool_get_total_size(m.pool), total);
	for (int i = 0; i < 5; i++)
		assert_object_intact(m.pool, &m.obj[i]);
	assert_pool_ok(m.pool);
	zpool_get_stats(m.pool, &st);
	assert_int_equal(st.evict_failures, (uint64_t)m.evict_calls);
	assert_int_equal(st.shrink_eagain, 1);

	/* Once the callback agrees again, reclaim works. */
	m.evict_fail = 0;
	assert_int_equal(zpool_shrink(m.pool, 1, &reclaimed), 0);
	/* At least the page asked for: zsmalloc frees whole multi-page zspages. */
	assert_true(reclaimed >= 1);
	assert_true(zpool_get_total_size(m.pool) < total);
	model_destroy(&m);
}

/* Reclaim makes room: -ENOMEM, shrink, then the allocation succeeds. */
static void test_reclaim_makes_room(void **state)
{
	struct model m;
	int err = 0;

	model_init(&m, TYPE(state), 8, true);
	while (m.nr < 64 && (err = model_alloc(&m, 2500)) == 0)
		;
	assert_int_equal(err, -ENOMEM);
	assert_int_equal(zpool_shrink(m.pool, 1, NULL), 0);
	assert_int_equal(model_alloc(&m, 2500), 0);
	assert_pool_ok(m.pool);
	model_assert_intact(&m);
	model_destroy(&m);
}

/* The evict callback may free another object of the pool. */
static void test_evict_frees_another(void **state)
{
	struct model m;
	unsigned int reclaimed;

	model_init(&m, TYPE(state), 0, true);
	for (int i = 0; i < 4; i++)
		assert_int_equal(model_alloc(&m, 2000), 0);
	m.free_other_on = 0;
	m.free_other = 3;
	assert_int_equal(zpool_shrink(m.pool, 1, &reclaimed), 0);
	assert_false(m.obj[0].live);
	assert_false(m.obj[3].live);
	assert_pool_ok(m.pool);
	model_destroy(&m);
}

static void test_total_size_tracks_objects(void **state)
{
	struct model m;
	struct zpool_stats st;
	size_t payload = 0;

	model_init(&m, TYPE(state), 0, false);
	for (int i = 0; i < 200; i++) {
		size_t size = 1 + (size_t)(i * 397) % ZPOOL_PAGE_SIZE;

		assert_int_equal(model_alloc(&m, size), 0);
		payload += size;
		assert_true(zpool_get_total_size(m.pool) >= payload);
	}
	zpool_get_stats(m.pool, &st);
	assert_int_equal(st.objects, 200);
	assert_int_equal(st.allocs, 200);
	assert_int_equal(st.total_size, zpool_get_total_size(m.pool));
	assert_true(st.pages * ZPOOL_PAGE_SIZE >= st.total_size);
	assert_true(st.peak_pages >= st.pages);
	model_free_all(&m);
	zpool_get_stats(m.pool, &st);
	assert_int_equal(st.objects, 0);
	assert_int_equal(st.pages, 0);
	assert_int_equal(st.total_size, 0);
	assert_true(st.peak_pages > 0);
	model_destroy(&m);
}

struct churn_arg {
	struct zpool *pool;
	unsigned int seed;
	atomic_bool *stop;
};

/* Allocate and free in a loop, also through reclaim-sized pressure. */
static void *churn(void *p)
{
	struct churn_arg *a = p;
	unsigned long h[32] = { 0 };

	for (int n = 0; n < 20000 && !atomic_load(a->stop); n++) {
		int i = rand_r(&a->seed) % 32;

		if (h[i]) {
			zpool_free(a->pool, h[i]);
			h[i] = 0;
		} else if (zpool_malloc(a->pool, 1 + rand_r(&a->seed) % ZPOOL_PAGE_SIZE, &h[i])) {
			h[i] = 0;
		}
	}
	for (int i = 0; i < 32; i++)
		if (h[i])
			zpool_free(a->pool, h[i]);
	return NULL;
}

/* zpool_check() takes the pool lock: it holds while others allocate and free. */
static void test_check_concurrent(void **state)
{
	struct zpool_config cfg = { .max_pages = 48 };
	struct churn_arg args[3];
	pthread_t threads[3];
	atomic_bool stop = false;
	struct zpool *pool;
	char why[256];

	assert_int_equal(test_create_pool(TYPE(state), &cfg, &pool), 0);
	for (int t = 0; t < 3; t++) {
		args[t] = (struct churn_arg){ .pool = pool, .seed = 100u + t, .stop = &stop };
		assert_int_equal(pthread_create(&threads[t], NULL, churn, &args[t]), 0);
	}
	for (int n = 0; n < 3000; n++) {
		int err = zpool_check(pool, why, sizeof(why));

		if (err) {
			atomic_store(&stop, true);
			fail_msg("zpool_check during churn: %s", why);
		}
	}
	atomic_store(&stop, true);
	for (int t = 0; t < 3; t++)
		pthread_join(threads[t], NULL);
	assert_pool_ok(pool);
	assert_int_equal(zpool_get_total_size(pool), 0);
	assert_int_equal(zpool_destroy_pool(pool), 0);
}

/*
 * A page counted as reclaimed was given back: the pool's pages fall by at
 * least what zpool_shrink() reports, also when the callback refuses often
 * enough that a backend runs out of retries in the middle of a page.
 */
static void test_shrink_gives_pages_back(void **state)
{
	struct model m;
	struct zpool_stats before, after;
	unsigned int seed = 3, reclaimed, total = 0, eagain = 0;

	model_init(&m, TYPE(state), 0, true);
	for (int i = 0; i < 400; i++)
		assert_int_equal(model_alloc(&m, 40 + rand_r(&seed) % 1400), 0);
	for (int round = 0; round < 60; round++) {
		int err;

		/* Refuse 3 evictions of 4 in some rounds, none in others. */
		m.evict_refuse_every = round % 3 ? 4 : 0;
		zpool_get_stats(m.pool, &before);
		err = zpool_shrink(m.pool, 1 + round % 2, &reclaimed);
		zpool_get_stats(m.pool, &after);
		assert_true(err == 0 || err == -EAGAIN || err == -EINVAL);
		if (err == 0) /* zsmalloc frees whole zspages: maybe more */
			assert_true(reclaimed >= 1u + round % 2);
		eagain += err == -EAGAIN;
		if (before.pages - after.pages < reclaimed)
			fail_msg("round %d: shrink reported %u pages reclaimed (%d) but the pool "
				 "went from %llu to %llu pages",
				 round, reclaimed, err, (unsigned long long)before.pages,
				 (unsigned long long)after.pages);
		assert_int_equal(after.pages_reclaimed - before.pages_reclaimed, reclaimed);
		total += reclaimed;
		assert_pool_ok(m.pool);
	}
	assert_true(total > 0);
	(void)eagain;
	m.evict_refuse_every = 0;
	model_assert_intact(&m);
	model_destroy(&m);
}

static struct zpool *misuse_pool(void *type)
{
	struct zpool *pool;

	if (test_create_pool(type, NULL, &pool))
		_exit(4);
	return pool;
}

static void double_free(void *arg)
{
	struct zpool *pool = misuse_pool(arg);
	unsigned long h, keep;

	(void)zpool_malloc(pool, 100, &keep);
	(void)zpool_malloc(pool, 100, &h);
	zpool_free(pool, h);
	zpool_free(pool, h);
}

static void map_after_free(void *arg)
{
	struct zpool *pool = misuse_pool(arg);
	unsigned long h, keep;

	(void)zpool_malloc(pool, 100, &keep);
	(void)zpool_malloc(pool, 100, &h);
	zpool_free(pool, h);
	*(volatile char *)zpool_map_handle(pool, h, ZPOOL_MM_RO);
}

static void unmap_after_free(void *arg)
{
	struct zpool *pool = misuse_pool(arg);
	unsigned long h, keep;

	(void)zpool_malloc(pool, 100, &keep);
	(void)zpool_malloc(pool, 100, &h);
	(void)zpool_map_handle(pool, h, ZPOOL_MM_RO);
	zpool_free(pool, h);
	zpool_unmap_handle(pool, h);
}

/*
 * Pool B is busy too, so that its backend would have something to corrupt.
 * The handle passed is A's second: a backend whose handles are small
 * integers counting up in every pool (zsmalloc's slot numbers) gives B's
 * first object the same value as A's first, and a value live in B is B's.
 */
static void free_into_other_pool(void *arg)
{
	struct zpool *a = misuse_pool(arg), *b = misuse_pool(arg);
	unsigned long ha[2], hb;

	(void)zpool_malloc(a, 100, &ha[0]);
	(void)zpool_malloc(a, 100, &ha[1]);
	(void)zpool_malloc(b, 100, &hb);
	zpool_free(b, ha[1]);
}

static void map_in_other_pool(void *arg)
{
	struct zpool *a = misuse_pool(arg), *b = misuse_pool(arg);
	unsigned long ha[2], hb;

	(void)zpool_malloc(a, 100, &ha[0]);
	(void)zpool_malloc(a, 100, &ha[1]);
	(void)zpool_malloc(b, 100, &hb);
	*(volatile char *)zpool_map_handle(b, ha[1], ZPOOL_MM_RO);
}

/* A value no backend returned, and that points nowhere readable. */
static void free_made_up_handle(void *arg)
{
	struct zpool *pool = misuse_pool(arg);
	unsigned long keep;

	(void)zpool_malloc(pool, 100, &keep);
	zpool_free(pool, 0x10);
}

static void free_handle_zero(void *arg)
{
	zpool_free(misuse_pool(arg), 0);
}

static void map_handle_zero(void *arg)
{
	*(volatile char *)zpool_map_handle(misuse_pool(arg), 0, ZPOOL_MM_RO);
}

static void unmap_handle_zero(void *arg)
{
	zpool_unmap_handle(misuse_pool(arg), 0);
}

/* An evict callback that says it freed the handle, and did not. */
static int evict_keeps_handle(struct zpool *pool, unsigned long handle, void *priv)
{
	(void)pool, (void)handle, (void)priv;
	return 0;
}

static void evict_returns_0_without_freeing(void *arg)
{
	static const struct zpool_ops ops = { .evict = evict_keeps_handle };
	struct zpool_config cfg = { .ops = &ops };
	struct zpool *pool;
	unsigned long h;

	if (test_create_pool(arg, &cfg, &pool))
		_exit(4);
	(void)zpool_malloc(pool, ZPOOL_PAGE_SIZE, &h);
	(void)zpool_shrink(pool, 1, NULL);
}

/*
 * An evict callback that plays an owner freeing an object while reclaim
 * runs: it frees its own handle, or (map_other) another live one, and then
 * maps and unmaps the handle it freed.
 */
struct racing_owner {
	unsigned long handles[2];
	bool map_other;
	int calls;
};

static int evict_after_owner_freed(struct zpool *pool, unsigned long handle, void *priv)
{
	struct racing_owner *r = priv;
	unsigned long other = handle == r->handles[0] ? r->handles[1] : r->handles[0];
	unsigned long victim = r->map_other ? other : handle;

	r->calls++;
	zpool_free(pool, victim);
	*(volatile char *)zpool_map_handle(pool, victim, ZPOOL_MM_RO);
	zpool_unmap_handle(pool, victim);
	if (r->map_other)
		zpool_free(pool, handle);
	return 0;
}

static void evict_maps_another_freed_handle(void *arg)
{
	static const struct zpool_ops ops = { .evict = evict_after_owner_freed };
	struct racing_owner r = { .map_other = true };
	struct zpool_config cfg = { .ops = &ops, .priv = &r };
	struct zpool *pool;

	if (test_create_pool(arg, &cfg, &pool))
		_exit(4);
	(void)zpool_malloc(pool, ZPOOL_PAGE_SIZE, &r.handles[0]);
	(void)zpool_malloc(pool, ZPOOL_PAGE_SIZE, &r.handles[1]);
	(void)zpool_shrink(pool, 1, NULL);
}

/* Debug builds stop every misuse of a handle, on every backend. */
static void test_misuse_is_caught(void **state)
{
	if (!zpool_debug_checks())
		skip();
	assert_dies_with(double_free, *state, "zpool BUG: ");
	assert_dies_with(double_free, *state, ": free of handle 0x");
	assert_dies_with(map_after_free, *state, ": map of handle 0x");
	assert_dies_with(unmap_after_free, *state, ": unmap of handle 0x");
	assert_dies_with(free_into_other_pool, *state, "which is not live in this pool");
	assert_dies_with(map_in_other_pool, *state, "which is not live in this pool");
	assert_dies_with(free_made_up_handle, *state, "free of handle 0x10, which is not live");
	assert_dies_with(free_handle_zero, *state, "zpool BUG: ");
	assert_dies_with(free_handle_zero, *state, ": free of handle 0");
	assert_dies_with(map_handle_zero, *state, ": map of handle 0");
	assert_dies_with(unmap_handle_zero, *state, ": unmap of handle 0");
	assert_dies_with(evict_returns_0_without_freeing, *state,
			 "the evict callback returned 0 but handle 0x");
	assert_dies_with(evict_maps_another_freed_handle, *state, ": map of handle 0x");
}

/*
 * The evict callback may map its own handle after the owner freed it: the
 * backend keeps the bytes until the callback returns.
 */
static void test_evict_maps_own_freed_handle(void **state)
{
	static const struct zpool_ops ops = { .evict = evict_after_owner_freed };
	struct racing_owner r = { .map_other = false };
	struct zpool_config cfg = { .ops = &ops, .priv = &r };
	struct zpool *pool;
	unsigned int reclaimed = 0;

	assert_int_equal(test_create_pool(TYPE(state), &cfg, &pool), 0);
	assert_int_equal(zpool_malloc(pool, ZPOOL_PAGE_SIZE, &r.handles[0]), 0);
	assert_int_equal(zpool_shrink(pool, 1, &reclaimed), 0);
	assert_true(reclaimed >= 1);
	assert_int_equal(r.calls, 1);
	assert_int_equal(zpool_get_total_size(pool), 0);
	assert_pool_ok(pool);
	assert_int_equal(zpool_destroy_pool(pool), 0);
}

/* Sharded pools: bad shard counts, and the capacity split without loss. */
static void test_shard_config(void **state)
{
	struct zpool_config cfg = { .shards = ZPOOL_MAX_SHARDS + 1 };
	struct zpool_stats st;
	struct zpool *pool = NULL;
	unsigned long freed = 99;
	int err;

	assert_int_equal(zpool_create_pool(TYPE(state), &cfg, &pool), -EINVAL);
	cfg = (struct zpool_config){ .shards = 4, .max_pages = 3 };
	assert_int_equal(zpool_create_pool(TYPE(state), &cfg, &pool), -EINVAL);
	assert_null(pool);
	cfg.max_pages = 10;
	assert_int_equal(zpool_create_pool(TYPE(state), &cfg, &pool), 0);
	assert_string_equal(zpool_get_type(pool), TYPE(state));
	zpool_get_stats(pool, &st);
	assert_int_equal(st.max_pages, 10);
	err = zpool_compact(pool, &freed);
	assert_true(err == 0 || err == -EOPNOTSUPP);
	assert_int_equal(freed, 0);
	zpool_get_stats(pool, &st);
	assert_int_equal(st.compactions, err == 0);
	assert_int_equal(zpool_destroy_pool(pool), 0);
}

struct shard_thread_arg {
	struct model *m;
	int first, nr;
};

static void *alloc_some(void *p)
{
	struct shard_thread_arg *a = p;

	for (int i = 0; i < a->nr; i++)
		if (model_alloc(a->m, ZPOOL_PAGE_SIZE))
			return p;
	return NULL;
}

/*
 * Threads land on different shards (the handle says which), objects are
 * freed from other threads, and zpool_shrink() takes pages from the
 * shards in turn.
 */
static void test_shard_spread(void **state)
{
	unsigned int saved = test_shards, per_shard[2] = { 0, 0 }, reclaimed;
	struct model m;
	struct zpool_stats st;

	test_shards = 2;
	model_init(&m, TYPE(state), 0, true);
	for (int t = 0; t < 2; t++) {
		struct shard_thread_arg a = { &m, 0, 4 };
		pthread_t th;
		void *ret;

		assert_int_equal(pthread_create(&th, NULL, alloc_some, &a), 0);
		assert_int_equal(pthread_join(th, &ret), 0);
		assert_null(ret);
	}
	for (int i = 0; i < m.nr; i++) {
		unsigned long shard = m.obj[i].handle >> ZPOOL_SHARD_SHIFT;

		assert_true(shard < 2);
		per_shard[shard]++;
	}
	/* Two threads started one after the other have different homes. */
	assert_int_equal(per_shard[0], 4);
	assert_int_equal(per_shard[1], 4);
	assert_pool_ok(m.pool);
	zpool_get_stats(m.pool, &st);
	assert_int_equal(st.objects, 8);
	assert_int_equal(st.allocs, 8);

	assert_int_equal(zpool_shrink(m.pool, 4, &reclaimed), 0);
	assert_int_equal(reclaimed, 4);
	per_shard[0] = per_shard[1] = 0;
	for (int i = 0; i < m.evicted_nr; i++)
		per_shard[m.obj[m.evict_order[i]].handle >> ZPOOL_SHARD_SHIFT]++;
	assert_int_equal(per_shard[0], 2);
	assert_int_equal(per_shard[1], 2);
	zpool_get_stats(m.pool, &st);
	assert_int_equal(st.evictions, 4);
	assert_int_equal(st.objects, 4);
	model_destroy(&m);
	test_shards = saved;
}

static const struct CMUnitTest contract_tests[] = {
	cmocka_unit_test(test_registry),
	cmocka_unit_test(test_create_errors),
	cmocka_unit_test(test_malloc_sizes),
	cmocka_unit_test(test_round_trips),
	cmocka_unit_test(test_map_modes),
	cmocka_unit_test(test_enomem_at_capacity),
	cmocka_unit_test(test_fault_every),
	cmocka_unit_test(test_fault_prob_reproducible),
	cmocka_unit_test(test_destroy_busy),
	cmocka_unit_test(test_shrink_einval),
	cmocka_unit_test(test_shrink_evicts_oldest),
	cmocka_unit_test(test_shrink_evict_fails),
	cmocka_unit_test(test_reclaim_makes_room),
	cmocka_unit_test(test_evict_frees_another),
	cmocka_unit_test(test_total_size_tracks_objects),
	cmocka_unit_test(test_check_concurrent),
	cmocka_unit_test(test_shrink_gives_pages_back),
	cmocka_unit_test(test_misuse_is_caught),
	cmocka_unit_test(test_shard_config),
	cmocka_unit_test(test_shard_spread),
	cmocka_unit_test(test_evict_maps_own_freed_handle),
};

#define NR_TESTS (sizeof(contract_tests) / sizeof(contract_tests[0]))

int main(void)
{
	const char *names[16];
	size_t n = zpool_types(names, 16);
	int failed = 0;

	/* Every backend as one pool, then as a pool of 4 shards (see zpool.h). */
	for (size_t b = 0; b < n && b < 16; b++) {
		for (unsigned int shards = 0; shards <= 4; shards += 4) {
			struct CMUnitTest tests[NR_TESTS];
			char group[64];

			memcpy(tests, contract_tests, sizeof(tests));
			for (size_t t = 0; t < NR_TESTS; t++)
				tests[t].initial_state = (void *)names[b];
			snprintf(group, sizeof(group),
				 shards ? "contract/%s/shards:%u" : "contract/%s", names[b],
				 shards);
			test_shards = shards;
			failed += _cmocka_run_group_tests(group, tests, NR_TESTS, NULL, NULL);
		}
	}
	return failed ? 1 : 0;
}
