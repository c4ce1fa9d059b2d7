// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_arena.c - the page arena on its own: capacity, the two-way
 * address/descriptor mapping, counters, fault injection and the debug
 * poisoning of free pages.
 */
#include "test_util.h"

#include "arena.h"

#include <stdint.h>

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifdef TEST_ASAN
#include <sanitizer/asan_interface.h>
#define test_asan_unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define test_asan_unpoison(p, n) ((void)(p), (void)(n))
#endif

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

/*
 * A write through a stale pointer that ASan does not see (from code built
 * without it, or by a device): the scan of a recycled page must report it.
 * ASan's own poisoning of the free page is lifted first, or ASan would
 * stop the write before the arena's check could see it.
 */
static void write_free_page_at(void *arg)
{
	size_t offset = (size_t)(uintptr_t)arg;
	struct zpool_config cfg = { .max_pages = 2 };
	struct arena a;
	struct arena_page *pg;
	unsigned char *p;

	(void)arena_init(&a, &cfg);
	pg = arena_alloc_page(&a);
	p = arena_page_address(&a, pg);
	arena_free_page(&a, pg);
	test_asan_unpoison(p, ZPOOL_PAGE_SIZE);
	p[offset] ^= 0x5a;
	(void)arena_alloc_page(&a); /* recycles the page: the scan runs */
}

static void test_debug_checks(void **state)
{
	static const size_t offsets[] = {
		0, 1, 100, 2048, ZPOOL_PAGE_SIZE - 2, ZPOOL_PAGE_SIZE - 1
	};
	char report[128];

	(void)state;
	if (!zpool_debug_checks())
		skip();
	assert_dies_with(free_page_twice, NULL, "zpool BUG: arena: page 0 freed twice");
	assert_dies_with(free_page_on_a_list, NULL,
			 "zpool BUG: arena: page 0 freed while still on a backend list");
	assert_dies_with(descriptor_of_free_page, NULL, "is not on an allocated page");
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		snprintf(report, sizeof(report),
			 "zpool BUG: arena: free page 0 written at offset %zu (byte 0x31)",
			 offsets[i]);
		assert_dies_with(write_free_page_at, (void *)(uintptr_t)offsets[i], report);
	}
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
