// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_zbud_check.c - zbud_check() against broken pools
 *
 * zbud_check() is the detector the fuzzers, the stress runs and the zoo
 * rely on, so each of its invariants is tested here by breaking exactly
 * that invariant in a real pool, expecting -EUCLEAN with the report that
 * names it, then repairing the pool and expecting a clean check again.
 *
 * The test includes zbud.c itself, so that it can reach the pool's lists,
 * bitmap and counters; its copy of the zbud driver is the one the registry
 * links (nothing else pulls the library's zbud object in).
 */
#include "test_util.h"

#include "../backends/zbud/zbud.c"

/* The state every case starts from: a buddied page and an unbuddied one. */
struct fixture {
	struct zpool *zp;
	struct zbud_pool *pool;
	unsigned long a, b, c;	    /* 16 chunks each: a and b share page p1 */
	struct arena_page *p1, *p2; /* p1 buddied, p2 on unbuddied[48] */
};

#define OBJ_SIZE 1000 /* 16 chunks */
#define P2_INDEX (NCHUNKS - 16)

static void setup(struct fixture *f, size_t max_pages)
{
	struct zpool_config cfg = { .max_pages = max_pages };

	assert_int_equal(zpool_create_pool("zbud", &cfg, &f->zp), 0);
	f->pool = f->zp->pool;
	assert_int_equal(zpool_malloc(f->zp, OBJ_SIZE, &f->a), 0);
	assert_int_equal(zpool_malloc(f->zp, OBJ_SIZE, &f->b), 0);
	f->p1 = arena_page_of(&f->pool->arena, f->a);
	assert_ptr_equal(arena_page_of(&f->pool->arena, f->b), f->p1);
	f->c = 0;
	f->p2 = NULL;
	if (max_pages != 1) { /* 0: the default capacity */
		assert_int_equal(zpool_malloc(f->zp, OBJ_SIZE, &f->c), 0);
		f->p2 = arena_page_of(&f->pool->arena, f->c);
		assert_false(list_empty(&f->pool->unbuddied[P2_INDEX]));
	}
	assert_pool_ok(f->zp);
}

static void teardown(struct fixture *f)
{
	assert_pool_ok(f->zp);
	zpool_free(f->zp, f->a);
	zpool_free(f->zp, f->b);
	if (f->c)
		zpool_free(f->zp, f->c);
	assert_int_equal(zpool_destroy_pool(f->zp), 0);
}

/* zpool_check() must fail with a report containing @expect. */
static void expect_broken(struct fixture *f, const char *expect)
{
	char why[256];

	assert_int_equal(zpool_check(f->zp, why, sizeof(why)), -EUCLEAN);
	if (!strstr(why, expect))
		fail_msg("zbud_check reported \"%s\", expected \"%s\"", why, expect);
}

static void test_bitmap(void **state)
{
	struct fixture f;

	(void)state;
	setup(&f, 0);
	f.pool->unbuddied_map |= 1ULL << 5;
	expect_broken(&f, "bitmap bit 5 is 1 but unbuddied[5] is empty");
	f.pool->unbuddied_map &= ~(1ULL << 5);
	f.pool->unbuddied_map &= ~(1ULL << P2_INDEX);
	expect_broken(&f, "bitmap bit 48 is 0 but unbuddied[48] is not empty");
	f.pool->unbuddied_map |= 1ULL << P2_INDEX;
	teardown(&f);
}

static void test_page_flags(void **state)
{
	struct fixture f;

	(void)state;
	setup(&f, 0);
	f.p2->flags &= ~ARENA_PG_USED;
	expect_broken(&f, "on a buddy list is free in the arena");
	f.p2->flags |= ARENA_PG_USED | ARENA_PG_RECLAIM;
	expect_broken(&f, "under reclaim is on a buddy list");
	f.p2->flags &= ~ARENA_PG_RECLAIM;
	teardown(&f);
}

static void test_chunk_counts(void **state)
{
	struct fixture f;

	(void)state;
	setup(&f, 0);
	set_buddy_chunks(f.p1, FIRST, 60);
	expect_broken(&f, "holds 60+16 chunks, more than 64");
	set_buddy_chunks(f.p1, FIRST, 16);
	set_buddy_chunks(f.p1, LAST, 0);
	expect_broken(&f, "on the buddied list holds 16+0 chunks");
	set_buddy_chunks(f.p1, LAST, 16);
	set_buddy_chunks(f.p2, LAST, 16);
	expect_broken(&f, "on unbuddied[48] holds 16+16 chunks");
	set_buddy_chunks(f.p2, LAST, 0);
	set_buddy_chunks(f.p2, FIRST, 17);
	expect_broken(&f, "with 47 free chunks is on unbuddied[48]");
	set_buddy_chunks(f.p2, FIRST, 16);
	teardown(&f);
}

/* A list that loops back on one page, instead of to its head. */
static void test_buddy_list_shape(void **state)
{
	struct fixture f;
	struct list_head *next;

	(void)state;
	setup(&f, 0);
	next = f.p2->list.next;
	f.p2->list.next = &f.p2->list;
	expect_broken(&f, "is on more than one buddy list");
	f.p2->list.next = next;
	teardown(&f);

	/* In a one-page arena the second visit is one page too many. */
	setup(&f, 1);
	next = f.p1->list.next;
	f.p1->list.next = &f.p1->list;
	expect_broken(&f, "a buddy list is longer than the arena");
	f.p1->list.next = next;
	teardown(&f);
}

static void test_lru(void **state)
{
	struct fixture f;
	struct list_head *next;

	(void)state;
	setup(&f, 0);
	next = f.p2->lru.next;
	f.p2->lru.next = &f.p2->lru;
	expect_broken(&f, "is on the LRU twice");
	f.p2->lru.next = next;

	/* Off its buddy list (bitmap kept in step), still on the LRU. */
	list_del_init(&f.p2->list);
	f.pool->unbuddied_map &= ~(1ULL << P2_INDEX);
	expect_broken(&f, "is on the LRU but on no buddy list");
	unbuddied_add(f.pool, f.p2);

	/* On its buddy list, off the LRU. */
	list_del_init(&f.p2->lru);
	expect_broken(&f, "2 pages on buddy lists but 1 on the LRU");
	list_add(&f.p2->lru, &f.pool->lru);
	teardown(&f);

	setup(&f, 1);
	next = f.p1->lru.next;
	f.p1->lru.next = &f.p1->lru;
	expect_broken(&f, "the LRU is longer than the arena");
	f.p1->lru.next = next;
	teardown(&f);
}

static void test_counters(void **state)
{
	struct fixture f;

	(void)state;
	setup(&f, 0);
	atomic_fetch_add(&f.pool->pages_nr, 1);
	expect_broken(&f, "pages_nr is 3 but 2 pages found and 0 under reclaim");
	atomic_fetch_sub(&f.pool->pages_nr, 1);
	f.pool->reclaim_nr++;
	expect_broken(&f, "pages_nr is 2 but 2 pages found and 1 under reclaim");
	f.pool->reclaim_nr--;
	atomic_fetch_add(&f.pool->arena.in_use, 1);
	expect_broken(&f, "pages_nr is 2 but the arena has 3 in use");
	atomic_fetch_sub(&f.pool->arena.in_use, 2);
	expect_broken(&f, "pages_nr is 2 but the arena has 1 in use");
	atomic_fetch_add(&f.pool->arena.in_use, 1);
	teardown(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bitmap),	     cmocka_unit_test(test_page_flags),
		cmocka_unit_test(test_chunk_counts), cmocka_unit_test(test_buddy_list_shape),
		cmocka_unit_test(test_lru),	     cmocka_unit_test(test_counters),
	};

	return cmocka_run_group_tests_name("zbud_check", tests, NULL, NULL);
}
