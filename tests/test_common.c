// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_common.c - the zpool layer's own checks, against drivers broken on
 * purpose, and the live-handle set they rest on
 *
 * The contract tests (test_contract.c) run the real backends, which do not
 * return handle 0 or a live handle twice, or destroy a pool that holds
 * objects. The checks for those backend bugs are exercised here through a
 * toy driver whose faults the test switches on one at a time.
 */
#include "test_util.h"

#include "internal.h"
#include "live.h"

#include <stdlib.h>

/*****************
 * The live-handle set against a plain array
 *****************/

#define MODEL_HANDLES 4096

/* Handle @i of the model: page-aligned, chunk-aligned and small ones alike. */
static unsigned long model_handle(unsigned int i)
{
	if (i % 3 == 0)
		return (unsigned long)i << 12;
	return i % 3 == 1 ? (unsigned long)i << 6 : i;
}

/*
 * Random adds and removes, with handles drawn from a small range so that
 * they are reused, collide and form long probe runs; every answer of the
 * set is compared with a bitmap's.
 */
static void test_live_set_model(void **state)
{
	static bool live[MODEL_HANDLES];
	struct live_set s;
	unsigned int seed = 7;
	size_t nr = 0;

	(void)state;
	memset(live, 0, sizeof(live));
	live_init(&s);
	for (int n = 0; n < 200000; n++) {
		unsigned int i = 1 + (unsigned int)rand_r(&seed) % (MODEL_HANDLES - 1);
		unsigned long h = model_handle(i);
		int op = rand_r(&seed) % 3;

		if (op == 0) {
			assert_int_equal(live_add(&s, h), live[i] ? -EEXIST : 0);
			nr += !live[i];
			live[i] = true;
		} else if (op == 1) {
			assert_int_equal(live_remove(&s, h), live[i]);
			nr -= live[i];
			live[i] = false;
		} else {
			assert_int_equal(live_contains(&s, h), live[i]);
		}
	}
	assert_int_equal(live_count(&s), nr);
	for (unsigned int i = 1; i < MODEL_HANDLES; i++) {
		unsigned long h = model_handle(i);

		assert_int_equal(live_contains(&s, h), live[i]);
		if (live[i])
			assert_true(live_remove(&s, h));
	}
	assert_int_equal(live_count(&s), 0);
	live_destroy(&s);
}

/*****************
 * A toy driver with switchable faults
 *****************/

#define TOY_SLOTS 8

static struct toy {
	bool used[TOY_SLOTS];
	size_t nr;
	bool return_zero;	  /* malloc returns handle 0 */
	bool return_slot0_again;  /* malloc returns slot 0's handle, even if live */
	bool destroy_ignores_nr;  /* destroy succeeds with objects */
	bool destroy_always_busy; /* destroy refuses even when empty */
} toy;

static unsigned long toy_handle(size_t slot)
{
	return 0x1000 + slot * 0x10; /* never dereferenced */
}

static int toy_create(struct zpool *zp, const struct zpool_config *cfg, void **pool)
{
	(void)zp, (void)cfg;
	*pool = &toy;
	return 0;
}

static int toy_destroy(void *p)
{
	(void)p;
	if (toy.destroy_always_busy || (toy.nr && !toy.destroy_ignores_nr))
		return -EBUSY;
	return 0;
}

static int toy_malloc(void *p, size_t size, unsigned long *handle)
{
	(void)p, (void)size;
	if (toy.return_zero) {
		*handle = 0;
		return 0;
	}
	for (size_t i = 0; i < TOY_SLOTS; i++) {
		if (!toy.used[i] || (i == 0 && toy.return_slot0_again)) {
			toy.nr += !toy.used[i];
			toy.used[i] = true;
			*handle = toy_handle(i);
			return 0;
		}
	}
	return -ENOMEM;
}

static void toy_free(void *p, unsigned long handle)
{
	size_t i = (handle - toy_handle(0)) / 0x10;

	(void)p;
	toy.used[i] = false;
	toy.nr--;
}

static int toy_shrink(void *p, unsigned int pages, unsigned int *reclaimed)
{
	(void)p, (void)pages;
	*reclaimed = 0;
	return -EINVAL;
}

static void *toy_map(void *p, unsigned long handle, enum zpool_mapmode mm)
{
	(void)p, (void)mm;
	return (void *)handle;
}

static void toy_unmap(void *p, unsigned long handle)
{
	(void)p, (void)handle;
}

static uint64_t toy_total_size(const void *p)
{
	(void)p;
	return toy.nr * 16;
}

static int toy_check(void *p, char *why, size_t len)
{
	(void)p, (void)why, (void)len;
	return 0;
}

static void toy_stats(const void *p, struct zpool_stats *st)
{
	(void)p, (void)st;
}

static const struct zpool_driver toy_driver = {
	.type = "toy",
	.create = toy_create,
	.destroy = toy_destroy,
	.malloc = toy_malloc,
	.free = toy_free,
	.shrink = toy_shrink,
	.map = toy_map,
	.unmap = toy_unmap,
	.total_size = toy_total_size,
	.check = toy_check,
	.stats = toy_stats,
};

static struct zpool *toy_pool(void)
{
	struct zpool *pool;

	memset(&toy, 0, sizeof(toy));
	assert_int_equal(zpool_create_pool_driver(&toy_driver, NULL, &pool), 0);
	return pool;
}

/* The toy reuses the lowest free slot: handles come back at once. */
static void test_toy_reuse(void **state)
{
	struct zpool *pool = toy_pool();
	unsigned long h[TOY_SLOTS], again;

	(void)state;
	for (size_t i = 0; i < TOY_SLOTS; i++)
		assert_int_equal(zpool_malloc(pool, 10, &h[i]), 0);
	assert_int_equal(zpool_malloc(pool, 10, &again), -ENOMEM);
	for (int round = 0; round < 100; round++) {
		size_t i = (size_t)round % TOY_SLOTS;

		zpool_free(pool, h[i]);
		assert_int_equal(zpool_malloc(pool, 10, &again), 0);
		assert_int_equal(again, h[i]);
		(void)zpool_map_handle(pool, h[i], ZPOOL_MM_RO);
		zpool_unmap_handle(pool, h[i]);
	}
	for (size_t i = 0; i < TOY_SLOTS; i++)
		zpool_free(pool, h[i]);
	assert_int_equal(zpool_destroy_pool(pool), 0);
}

static void malloc_returns_zero(void *arg)
{
	struct zpool *pool = toy_pool();
	unsigned long h;

	(void)arg;
	toy.return_zero = true;
	(void)zpool_malloc(pool, 10, &h);
}

static void malloc_returns_live_handle(void *arg)
{
	struct zpool *pool = toy_pool();
	unsigned long a, b;

	(void)arg;
	(void)zpool_malloc(pool, 10, &a);
	toy.return_slot0_again = true;
	(void)zpool_malloc(pool, 10, &b);
}

static void destroy_with_live_handles(void *arg)
{
	struct zpool *pool = toy_pool();
	unsigned long h;

	(void)arg;
	(void)zpool_malloc(pool, 10, &h);
	toy.destroy_ignores_nr = true;
	(void)zpool_destroy_pool(pool);
}

static void destroy_busy_when_empty(void *arg)
{
	struct zpool *pool = toy_pool();
	unsigned long h;

	(void)arg;
	(void)zpool_malloc(pool, 10, &h);
	zpool_free(pool, h);
	toy.destroy_always_busy = true;
	(void)zpool_destroy_pool(pool);
}

/* Each check of the zpool layer on the backend stops the program. */
static void test_backend_bugs_are_caught(void **state)
{
	(void)state;
	if (!zpool_debug_checks())
		skip();
	assert_dies_with(malloc_returns_zero, NULL, "zpool BUG: toy: malloc returned handle 0");
	assert_dies_with(malloc_returns_live_handle, NULL,
			 "zpool BUG: toy: malloc returned handle 0x1000, which is still live");
	assert_dies_with(destroy_with_live_handles, NULL,
			 "zpool BUG: toy: destroy succeeded with 1 handles still live");
	assert_dies_with(destroy_busy_when_empty, NULL,
			 "zpool BUG: toy: destroy refused (-EBUSY) with no handle live");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_live_set_model),
		cmocka_unit_test(test_toy_reuse),
		cmocka_unit_test(test_backend_bugs_are_caught),
	};

	return cmocka_run_group_tests_name("common", tests, NULL, NULL);
}
