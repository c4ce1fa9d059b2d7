// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_malloc_check.c - the malloc backend's mpool_check() against broken
 * pools
 *
 * Each invariant of mpool_check() is broken in a real pool, the report
 * that names it expected, and the pool repaired. The test includes
 * malloc.c itself to reach the pool and the object headers; its copy of the
 * driver is the one the registry links.
 */
#include "test_util.h"

#include "../backends/malloc/malloc.c"

static void expect_broken(struct zpool *zp, const char *expect)
{
	char why[256];

	assert_int_equal(zpool_check(zp, why, sizeof(why)), -EUCLEAN);
	if (!strstr(why, expect))
		fail_msg("mpool_check reported \"%s\", expected \"%s\"", why, expect);
}

static void test_invariants(void **state)
{
	struct zpool_config cfg = { .max_pages = 4 };
	struct zpool *zp;
	struct mpool *pool;
	struct mobj *obj;
	unsigned long h[2];
	uint64_t cap;

	(void)state;
	assert_int_equal(zpool_create_pool("malloc", &cfg, &zp), 0);
	pool = zp->pool;
	for (int i = 0; i < 2; i++)
		assert_int_equal(zpool_malloc(zp, 500, &h[i]), 0);
	assert_pool_ok(zp);
	obj = handle_to_mobj(h[1]);

	obj->magic = MOBJ_FREED;
	expect_broken(zp, "on the LRU is not live");
	obj->magic = MOBJ_LIVE;
	obj->under_reclaim = true;
	expect_broken(zp, "on the LRU is under reclaim");
	obj->under_reclaim = false;

	atomic_fetch_add(&pool->total, 1);
	expect_broken(zp, "objects on the LRU hold");
	atomic_fetch_sub(&pool->total, 1);
	/* Bytes under reclaim are not on the list: the sum is not checked then. */
	pool->reclaim_nr++;
	atomic_fetch_add(&pool->total, 1);
	assert_pool_ok(zp);
	atomic_fetch_sub(&pool->total, 1);
	pool->reclaim_nr--;

	cap = pool->cap;
	pool->cap = 100;
	expect_broken(zp, "is over the cap of 100");
	pool->cap = cap;

	assert_pool_ok(zp);
	zpool_free(zp, h[0]);
	zpool_free(zp, h[1]);
	assert_int_equal(zpool_destroy_pool(zp), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invariants),
	};

	return cmocka_run_group_tests_name("malloc_check", tests, NULL, NULL);
}
