// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_arena.c - the page arena on its own: capacity, the two-way
 * address/descriptor mapping, counters, fault injection and the debug
 * poisoning of free pages.
 */
#include "test_util.h"

#include "arena.h"

static void test_capacity_and_counters(void **state)
{
	struct zpool_config cfg = { .max_pages = 8 };
	struct arena_page *pg[9];
	struct arena a;

	(void)state;
	assert_int_equal(arena_init(&a, &cfg), 0);
	for (int i = 0; i < 8; i++) {
		pg[i] = arena_alloc_page(&a);
		assert_non_null(pg[i]);
		assert_true(pg[i]->flags & ARENA_PG_USED);
	}
	assert_null(arena_alloc_page(&a));
	assert_int_equal(atomic_load(&a.in_use), 8);
	assert_int_equal(atomic_load(&a.peak), 8);
	assert_int_equal(atomic_load(&a.failures), 1);
	assert_int_equal(atomic_load(&a.injected), 0);
	for (int i = 0; i < 8; i++)
		arena_free_page(&a, pg[i]);
	assert_int_equal(atomic_load(&a.in_use), 0);
	assert_int_equal(atomic_load(&a.peak), 8);
	assert_int_equal(atomic_load(&a.allocs), 8);
	/* Freed pages are reused: the capacity is there again. */
	for (int i = 0; i < 8; i++)
		assert_non_null(pg[i] = arena_alloc_page(&a));
	for (int i = 0; i < 8; i++)
		arena_free_page(&a, pg[i]);
	arena_destroy(&a);
}

static void test_address_descriptor_round_trip(void **state)
{
	struct zpool_config cfg = { .max_pages = 16 };
	struct arena_page *pg[16];
	struct arena a;

	(void)state;
	assert_int_equal(arena_init(&a, &cfg), 0);
	for (int i = 0; i < 16; i++) {
		unsigned long addr;

		pg[i] = arena_alloc_page(&a);
		addr = (unsigned long)arena_page_address(&a, pg[i]);
		assert_int_equal(addr % ZPOOL_PAGE_SIZE, 0);
		assert_ptr_equal(arena_page_of(&a, addr), pg[i]);
		assert_ptr_equal(arena_page_of(&a, addr + ZPOOL_PAGE_SIZE - 1), pg[i]);
		assert_ptr_equal(arena_lookup(&a, addr + 100), pg[i]);
		/* The whole page is the caller's. */
		memset((void *)addr, 0xa5, ZPOOL_PAGE_SIZE);
	}
	/* Outside the mapping, or on a free page: no descriptor. */
	assert_null(arena_lookup(&a, (unsigned long)a.base - 1));
	assert_null(arena_lookup(&a, (unsigned long)a.base + 16 * ZPOOL_PAGE_SIZE));
	arena_free_page(&a, pg[3]);
	assert_null(arena_lookup(&a, (unsigned long)arena_page_address(&a, pg[3])));
	for (int i = 0; i < 16; i++)
		if (i != 3)
			arena_free_page(&a, pg[i]);
	arena_destroy(&a);
}

static void test_fault_injection_counts(void **state)
{
	struct zpool_config cfg = { .max_pages = 64, .fail_page_alloc_every = 4 };
	struct arena_page *pg[64];
	int got = 0;
	struct arena a;

	(void)state;
	assert_int_equal(arena_init(&a, &cfg), 0);
	for (int i = 0; i < 20; i++) {
		struct arena_page *p = arena_alloc_page(&a);

		assert_true((p == NULL) == (i % 4 == 3));
		if (p)
			pg[got++] = p;
	}
	assert_int_equal(atomic_load(&a.injected), 5);
	assert_int_equal(atomic_load(&a.failures), 5);
	assert_int_equal(atomic_load(&a.in_use), 15);
	while (got)
		arena_free_page(&a, pg[--got]);
	arena_destroy(&a);
}

static void test_bad_config(void **state)
{
	struct zpool_config cfg = { .max_pages = 4, .fail_page_alloc_prob = 2.0 };
	struct arena a;

	(void)state;
	assert_int_equal(arena_init(&a, &cfg), -EINVAL);
	cfg.fail_page_alloc_prob = 0;
	cfg.max_pages = SIZE_MAX / 2;
	assert_int_equal(arena_init(&a, &cfg), -EINVAL);
}

static void free_page_twice(void *arg)
{
	struct zpool_config cfg = { .max_pages = 2 };
	struct arena a;
	struct arena_page *pg;

	(void)arg;
	(void)arena_init(&a, &cfg);
	pg = arena_alloc_page(&a);
	arena_free_page(&a, pg);
	arena_free_page(&a, pg);
}

static void free_page_on_a_list(void *arg)
{
	struct zpool_config cfg = { .max_pages = 2 };
	struct list_head lru;
	struct arena a;
	struct arena_page *pg;

	(void)arg;
	(void)arena_init(&a, &cfg);
	list_init(&lru);
	pg = arena_alloc_page(&a);
	list_add(&pg->lru, &lru);
	arena_free_page(&a, pg);
}

static void descriptor_of_free_page(void *arg)
{
	struct zpool_config cfg = { .max_pages = 2 };
	struct arena a;
	struct arena_page *pg;
	unsigned long addr;

	(void)arg;
	(void)arena_init(&a, &cfg);
	pg = arena_alloc_page(&a);
	addr = (unsigned long)arena_page_address(&a, pg);
	arena_free_page(&a, pg);
	(void)arena_page_of(&a, addr);
}

static void test_debug_checks(void **state)
{
	(void)state;
#ifdef NDEBUG
	skip();
#endif
	assert_dies(free_page_twice, NULL);
	assert_dies(free_page_on_a_list, NULL);
	assert_dies(descriptor_of_free_page, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capacity_and_counters),
		cmocka_unit_test(test_address_descriptor_round_trip),
		cmocka_unit_test(test_fault_injection_counts),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_debug_checks),
	};

	return cmocka_run_group_tests_name("arena", tests, NULL, NULL);
}
