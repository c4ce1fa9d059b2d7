// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_zbud.c - what zbud promises beyond the zpool contract
 *
 * Placement (first buddy at the page start, last at its end), coalescing
 * of a freed buddy with the slack, best fit, the reclaim protocol's
 * retries and deferred free, and the density floor of one object per page.
 * Handles are addresses, so the page of an object is its handle rounded
 * down to the page size.
 */
#include "test_util.h"

#include <stdlib.h>

#define CHUNK 64u

static unsigned long page_of(unsigned long handle)
{
	return handle & ~(unsigned long)(ZPOOL_PAGE_SIZE - 1);
}

static uint64_t pool_pages(struct zpool *pool)
{
	struct zpool_stats st;

	zpool_get_stats(pool, &st);
	return st.pages;
}

static void test_first_last_placement(void **state)
{
	struct model m;
	unsigned long a, b;

	(void)state;
	model_init(&m, "zbud", 0, false);
	assert_int_equal(model_alloc(&m, 100), 0); /* 2 chunks */
	assert_int_equal(model_alloc(&m, 200), 0); /* 4 chunks */
	a = m.obj[0].handle;
	b = m.obj[1].handle;
	assert_int_equal(a, page_of(a));
	assert_int_equal(page_of(b), page_of(a));
	assert_int_equal(b, page_of(a) + ZPOOL_PAGE_SIZE - 4 * CHUNK);
	assert_int_equal(pool_pages(m.pool), 1);
	assert_int_equal(zpool_get_total_size(m.pool), ZPOOL_PAGE_SIZE);
	/* A buddied page takes nothing more: the third object opens a page. */
	assert_int_equal(model_alloc(&m, 64), 0);
	assert_int_not_equal(page_of(m.obj[2].handle), page_of(a));
	assert_int_equal(pool_pages(m.pool), 2);
	assert_pool_ok(m.pool);
	model_destroy(&m);
}

/* A freed first buddy and the slack form one region for the next object. */
static void test_coalescing(void **state)
{
	struct model m;
	unsigned long page;

	(void)state;
	model_init(&m, "zbud", 0, false);
	assert_int_equal(model_alloc(&m, 10 * CHUNK), 0);
	assert_int_equal(model_alloc(&m, 20 * CHUNK), 0);
	page = page_of(m.obj[0].handle);
	model_free(&m, 0);
	assert_pool_ok(m.pool);
	/* 44 chunks: the 10 freed plus the 34 of slack. */
	assert_int_equal(model_alloc(&m, 44 * CHUNK), 0);
	assert_int_equal(m.obj[2].handle, page);
	assert_int_equal(pool_pages(m.pool), 1);
	assert_object_intact(m.pool, &m.obj[1]);
	/* Free the last buddy: the first stays where it is. */
	model_free(&m, 1);
	assert_int_equal(model_alloc(&m, 20 * CHUNK), 0);
	assert_int_equal(m.obj[3].handle, page + ZPOOL_PAGE_SIZE - 20 * CHUNK);
	assert_pool_ok(m.pool);
	model_destroy(&m);
}

/* Best fit: the page with the least free space that still fits wins. */
static void test_best_fit(void **state)
{
	struct model m;
	unsigned long p1, p2, p3;

	(void)state;
	model_init(&m, "zbud", 0, false);
	assert_int_equal(model_alloc(&m, 44 * CHUNK), 0); /* P1: 20 free */
	assert_int_equal(model_alloc(&m, 54 * CHUNK), 0); /* P2: 10 free */
	assert_int_equal(model_alloc(&m, 24 * CHUNK), 0); /* P3: 40 free */
	p1 = page_of(m.obj[0].handle);
	p2 = page_of(m.obj[1].handle);
	p3 = page_of(m.obj[2].handle);
	assert_true(p1 != p2 && p2 != p3 && p1 != p3);
	assert_int_equal(pool_pages(m.pool), 3);

	assert_int_equal(model_alloc(&m, 8 * CHUNK), 0);
	assert_int_equal(page_of(m.obj[3].handle), p2);
	assert_int_equal(model_alloc(&m, 15 * CHUNK), 0);
	assert_int_equal(page_of(m.obj[4].handle), p1);
	assert_int_equal(model_alloc(&m, 30 * CHUNK), 0);
	assert_int_equal(page_of(m.obj[5].handle), p3);
	/* Exact fit: a last buddy ends at the page end and meets the first. */
	assert_int_equal(m.obj[3].handle, p2 + 54 * CHUNK + 2 * CHUNK);
	assert_int_equal(pool_pages(m.pool), 3);
	assert_pool_ok(m.pool);
	model_assert_intact(&m);
	model_destroy(&m);
}

/* Sizes round up to whole chunks: 65 bytes take two. */
static void test_chunk_rounding(void **state)
{
	struct model m;

	(void)state;
	model_init(&m, "zbud", 0, false);
	assert_int_equal(model_alloc(&m, 62 * CHUNK), 0);
	assert_int_equal(model_alloc(&m, CHUNK + 1), 0); /* 2 chunks: fits exactly */
	assert_int_equal(page_of(m.obj[1].handle), page_of(m.obj[0].handle));
	assert_int_equal(m.obj[1].handle, page_of(m.obj[0].handle) + 62 * CHUNK);
	model_free(&m, 1);
	assert_int_equal(model_alloc(&m, 2 * CHUNK + 1), 0); /* 3 chunks: no fit */
	assert_int_not_equal(page_of(m.obj[2].handle), page_of(m.obj[0].handle));
	assert_pool_ok(m.pool);
	model_destroy(&m);
}

/* A page-sized object fits a page by itself: no metadata in the page. */
static void test_full_page_object(void **state)
{
	struct model m;

	(void)state;
	model_init(&m, "zbud", 2, false);
	assert_int_equal(model_alloc(&m, ZPOOL_PAGE_SIZE), 0);
	assert_int_equal(model_alloc(&m, ZPOOL_PAGE_SIZE), 0);
	assert_int_equal(m.obj[0].handle, page_of(m.obj[0].handle));
	assert_int_equal(pool_pages(m.pool), 2);
	assert_int_equal(model_alloc(&m, 1), -ENOMEM);
	assert_pool_ok(m.pool);
	model_destroy(&m);
}

/* Objects per page never drops below 1, whatever the sizes and frees. */
static void test_density_floor(void **state)
{
	struct model m;
	unsigned int seed = 12345;
	struct zpool_stats st;

	(void)state;
	model_init(&m, "zbud", 0, false);
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < 500; i++) {
			assert_int_equal(model_alloc(&m, 1 + rand_r(&seed) % ZPOOL_PAGE_SIZE), 0);
			zpool_get_stats(m.pool, &st);
			assert_true(st.objects >= st.pages);
		}
		for (int i = 0; i < m.nr; i++) {
			if (m.obj[i].live && rand_r(&seed) % 3 == 0) {
				model_free(&m, i);
				zpool_get_stats(m.pool, &st);
				assert_true(st.objects >= st.pages);
			}
		}
		assert_pool_ok(m.pool);
	}
	model_destroy(&m);
}

/* A refusing callback is asked once per page tried: 8 tries, then -EAGAIN. */
static void test_reclaim_retries(void **state)
{
	struct model m;
	unsigned int reclaimed = 1;

	(void)state;
	model_init(&m, "zbud", 0, true);
	for (int i = 0; i < 6; i++)
		assert_int_equal(model_alloc(&m, 1000), 0); /* 3 buddied pages */
	assert_int_equal(pool_pages(m.pool), 3);
	m.evict_fail = 1;
	assert_int_equal(zpool_shrink(m.pool, 1, &reclaimed), -EAGAIN);
	assert_int_equal(reclaimed, 0);
	/* The first buddy refuses, so the last is not asked. */
	assert_int_equal(m.evict_calls, 8);
	assert_int_equal(pool_pages(m.pool), 3);
	for (int i = 0; i < 6; i++)
		assert_object_intact(m.pool, &m.obj[i]);
	assert_pool_ok(m.pool);
	m.evict_fail = 0;
	model_destroy(&m);
}

/*
 * The evict callback of the first buddy frees the last buddy of the same
 * page: that free lands while the page is under reclaim, only clears the
 * buddy, and reclaim frees the page once; the callback of the last buddy
 * still comes and finds nothing to do.
 */
static void test_free_other_buddy_during_reclaim(void **state)
{
	struct model m;
	unsigned int reclaimed = 0;

	(void)state;
	model_init(&m, "zbud", 0, true);
	assert_int_equal(model_alloc(&m, 1000), 0);
	assert_int_equal(model_alloc(&m, 1000), 0);
	assert_int_equal(page_of(m.obj[0].handle), page_of(m.obj[1].handle));
	m.free_other_on = 0;
	m.free_other = 1;
	assert_int_equal(zpool_shrink(m.pool, 1, &reclaimed), 0);
	assert_int_equal(reclaimed, 1);
	assert_int_equal(m.evict_calls, 2);
	assert_int_equal(m.evicted_nr, 1);
	assert_int_equal(pool_pages(m.pool), 0);
	assert_pool_ok(m.pool);
	/* The page went back to the arena once: it can be used again. */
	assert_int_equal(model_alloc(&m, ZPOOL_PAGE_SIZE), 0);
	assert_pool_ok(m.pool);
	model_destroy(&m);
}

/* A page whose eviction fails goes back to the LRU head, not the tail. */
static void test_failed_page_goes_to_lru_head(void **state)
{
	struct model m;

	(void)state;
	model_init(&m, "zbud", 0, true);
	for (int i = 0; i < 3; i++)
		assert_int_equal(model_alloc(&m, ZPOOL_PAGE_SIZE), 0);
	/* Fail once: page 0 is tried, refused, and moves to the head. */
	m.evict_fail = 1;
	assert_int_equal(zpool_shrink(m.pool, 1, NULL), -EAGAIN);
	m.evict_fail = 0;
	assert_int_equal(zpool_shrink(m.pool, 1, NULL), 0);
	assert_int_equal(m.evicted_nr, 1);
	/* 8 failed tries cycled 0,1,2,0,1,2,0,1: the tail is now page 2. */
	assert_int_equal(m.evict_order[0], 2);
	assert_pool_ok(m.pool);
	model_destroy(&m);
}

/* The last buddy alone (first freed) is evicted through its own handle. */
static void test_reclaim_last_buddy_only(void **state)
{
	struct model m;

	(void)state;
	model_init(&m, "zbud", 0, true);
	assert_int_equal(model_alloc(&m, 300), 0);
	assert_int_equal(model_alloc(&m, 700), 0);
	model_free(&m, 0);
	assert_int_equal(zpool_shrink(m.pool, 1, NULL), 0);
	assert_int_equal(m.evicted_nr, 1);
	assert_int_equal(m.evict_order[0], 1);
	assert_int_equal(pool_pages(m.pool), 0);
	model_destroy(&m);
}

/* At capacity with one unbuddied page, a small object still fits in it. */
static void test_enomem_only_when_no_fit(void **state)
{
	struct model m;

	(void)state;
	model_init(&m, "zbud", 1, false);
	assert_int_equal(model_alloc(&m, 3000), 0);
	assert_int_equal(model_alloc(&m, 2000), -ENOMEM);
	assert_int_equal(model_alloc(&m, 1000), 0);
	assert_int_equal(model_alloc(&m, 1), -ENOMEM);
	assert_pool_ok(m.pool);
	model_destroy(&m);
}

static void write_freed_page(void *arg)
{
	struct zpool *pool;
	unsigned long h;

	(void)arg;
	(void)zpool_create_pool("zbud", NULL, &pool);
	(void)zpool_malloc(pool, 100, &h);
	zpool_free(pool, h);
	/* The page went back to the arena: a stale write must be caught. */
	*(volatile char *)h = 1;
	(void)zpool_malloc(pool, 100, &h);
}

static void free_last_buddy_twice(void *arg)
{
	struct zpool *pool;
	unsigned long first, last;

	(void)arg;
	(void)zpool_create_pool("zbud", NULL, &pool);
	(void)zpool_malloc(pool, 100, &first);
	(void)zpool_malloc(pool, 100, &last);
	zpool_free(pool, last);
	zpool_free(pool, last);
}

static void test_debug_checks(void **state)
{
	(void)state;
#ifdef NDEBUG
	skip();
#endif
	assert_dies(write_freed_page, NULL);
	assert_dies(free_last_buddy_twice, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_last_placement),
		cmocka_unit_test(test_coalescing),
		cmocka_unit_test(test_best_fit),
		cmocka_unit_test(test_chunk_rounding),
		cmocka_unit_test(test_full_page_object),
		cmocka_unit_test(test_density_floor),
		cmocka_unit_test(test_reclaim_retries),
		cmocka_unit_test(test_free_other_buddy_during_reclaim),
		cmocka_unit_test(test_failed_page_goes_to_lru_head),
		cmocka_unit_test(test_reclaim_last_buddy_only),
		cmocka_unit_test(test_enomem_only_when_no_fit),
		cmocka_unit_test(test_debug_checks),
	};

	return cmocka_run_group_tests_name("zbud", tests, NULL, NULL);
}
