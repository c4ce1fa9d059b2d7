// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_z3fold.c - what z3fold promises beyond the zpool contract
 *
 * Three buddies a page after a one-chunk header, headless pages for the
 * largest objects, in-page compaction of the middle buddy (and none while
 * it is mapped), handles that stay valid when the middle buddy moves, and
 * the free space a page offers around its middle buddy. Handles are
 * indirect, so where an object is comes from mapping it.
 */
#include "test_util.h"

#include <stdint.h>

/* z3fold's geometry: 256 chunks of 16 bytes, the first for the header. */
#define CHUNK 16u
#define TOTAL (ZPOOL_PAGE_SIZE / CHUNK)

static uint64_t pool_pages(struct zpool *pool)
{
	struct zpool_stats st;

	zpool_get_stats(pool, &st);
	return st.pages;
}

/* Where object @i of @m is: its address, and the page and offset of it. */
static uintptr_t addr_of(struct model *m, int i)
{
	uintptr_t p = (uintptr_t)zpool_map_handle(m->pool, m->obj[i].handle, ZPOOL_MM_RO);

	zpool_unmap_handle(m->pool, m->obj[i].handle);
	return p;
}

static uintptr_t page_of(uintptr_t addr)
{
	return addr & ~(uintptr_t)(ZPOOL_PAGE_SIZE - 1);
}

static unsigned int offset_of(struct model *m, int i)
{
	return (unsigned int)(addr_of(m, i) & (ZPOOL_PAGE_SIZE - 1));
}

/* First after the header, last at the page end, middle right after first. */
static void test_three_buddies(void **state)
{
	struct model m;

	(void)state;
	model_init(&m, "z3fold", 0, false);
	assert_int_equal(model_alloc(&m, 16 * CHUNK - 7), 0); /* first */
	assert_int_equal(model_alloc(&m, 16 * CHUNK), 0);     /* last */
	assert_int_equal(model_alloc(&m, 16 * CHUNK), 0);     /* middle */
	assert_int_equal(pool_pages(m.pool), 1);
	assert_int_equal(offset_of(&m, 0), CHUNK);
	assert_int_equal(offset_of(&m, 1), ZPOOL_PAGE_SIZE - 16 * CHUNK);
	assert_int_equal(offset_of(&m, 2), CHUNK + 16 * CHUNK);
	assert_true(page_of(addr_of(&m, 1)) == page_of(addr_of(&m, 0)) &&
		    page_of(addr_of(&m, 2)) == page_of(addr_of(&m, 0)));
	/* Three handles are all a page has, whatever room is left. */
	assert_int_equal(model_alloc(&m, 64), 0);
	assert_int_equal(pool_pages(m.pool), 2);
	assert_pool_ok(m.pool);
	model_assert_intact(&m);
	model_destroy(&m);
}

/* Objects that cannot share a page get one without a header. */
static void test_headless(void **state)
{
	struct model m;

	(void)state;
	model_init(&m, "z3fold", 0, false);
	assert_int_equal(model_alloc(&m, (TOTAL - 2) * CHUNK), 0); /* fits beside the header */
	assert_int_equal(offset_of(&m, 0), CHUNK);
	assert_int_equal(model_alloc(&m, (TOTAL - 2) * CHUNK + 1), 0); /* headless */
	assert_int_equal(offset_of(&m, 1), 0);
	assert_int_equal(m.obj[1].handle & (ZPOOL_PAGE_SIZE - 1), 0);
	assert_int_equal(model_alloc(&m, ZPOOL_PAGE_SIZE), 0);
	assert_int_equal(offset_of(&m, 2), 0);
	assert_int_equal(pool_pages(m.pool), 3);
	/* The page with a header still has a chunk for a small object. */
	assert_int_equal(model_alloc(&m, CHUNK), 0);
	assert_int_equal(pool_pages(m.pool), 3);
	assert_pool_ok(m.pool);
	model_free(&m, 1);
	assert_int_equal(pool_pages(m.pool), 2);
	model_assert_intact(&m);
	model_destroy(&m);
}

/* Allocate first, last, then middle, each @chunks chunks, on one page. */
static void fill_three(struct model *m, unsigned int first, unsigned int last, unsigned int middle)
{
	assert_int_equal(model_alloc(m, first * CHUNK), 0);
	assert_int_equal(model_alloc(m, last * CHUNK), 0);
	assert_int_equal(model_alloc(m, middle * CHUNK), 0);
	assert_int_equal(pool_pages(m->pool), 1);
}

/* A middle buddy left alone becomes the first buddy; its handle still works. */
static void test_lone_middle_becomes_first(void **state)
{
	struct model m;
	unsigned long handle;

	(void)state;
	model_init(&m, "z3fold", 0, false);
	fill_three(&m, 10, 10, 10);
	handle = m.obj[2].handle;
	assert_int_equal(offset_of(&m, 2), 11 * CHUNK);
	model_free(&m, 0);
	model_free(&m, 1);
	assert_int_equal(m.obj[2].handle, handle);
	assert_int_equal(offset_of(&m, 2), CHUNK);
	assert_object_intact(m.pool, &m.obj[2]);
	assert_pool_ok(m.pool);
	/* It is the first buddy now: a large object fits as the last. */
	assert_int_equal(model_alloc(&m, (TOTAL - 1 - 10) * CHUNK), 0);
	assert_int_equal(pool_pages(m.pool), 1);
	model_assert_intact(&m);
	model_destroy(&m);
}

/*
 * The middle buddy moves next to the buddy that is left, on either side,
 * and the first buddy stays where it is.
 */
static void test_middle_moves_to_its_neighbour(void **state)
{
	struct model m;

	(void)state;
	model_init(&m, "z3fold", 0, false);
	fill_three(&m, 20, 10, 10); /* middle at chunk 21 */
	model_free(&m, 0);
	/* Next to the last buddy. */
	assert_int_equal(offset_of(&m, 2), (TOTAL - 10 - 10) * CHUNK);
	assert_object_intact(m.pool, &m.obj[2]);
	assert_int_equal(model_alloc(&m, 5 * CHUNK), 0); /* first again, before it */
	assert_int_equal(offset_of(&m, 3), CHUNK);
	assert_int_equal(pool_pages(m.pool), 1);
	model_free(&m, 1);
	/* Next to the first buddy, which it must not touch: chunk 1 + 5. */
	assert_int_equal(offset_of(&m, 2), 6 * CHUNK);
	assert_pool_ok(m.pool);
	model_assert_intact(&m);
	model_destroy(&m);
}

/* A gap of fewer than BIG_CHUNK_GAP chunks is not worth a move. */
static void test_small_gap_stays(void **state)
{
	struct model m;

	(void)state;
	model_init(&m, "z3fold", 0, false);
	/* The middle at chunk 11, two chunks short of the last buddy. */
	fill_three(&m, 10, 10, TOTAL - 1 - 20 - 2);
	model_free(&m, 0);
	assert_int_equal(offset_of(&m, 2), 11 * CHUNK);
	assert_pool_ok(m.pool);
	model_assert_intact(&m);
	model_destroy(&m);
}

/* A mapped middle buddy is pinned: compaction waits, writes land. */
static void test_mapped_middle_stays(void **state)
{
	struct model m;
	unsigned char *p;

	(void)state;
	model_init(&m, "z3fold", 0, false);
	fill_three(&m, 10, 10, 10);
	p = zpool_map_handle(m.pool, m.obj[2].handle, ZPOOL_MM_RW);
	model_free(&m, 0);
	model_free(&m, 1);
	assert_pool_ok(m.pool);
	/* A new pattern through the mapping, as zswap writes while mapped. */
	m.obj[2].seed ^= 0x5a;
	for (size_t i = 0; i < m.obj[2].size; i++)
		p[i] = pattern_byte(m.obj[2].seed, i);
	zpool_unmap_handle(m.pool, m.obj[2].handle);
	assert_ptr_equal(addr_of(&m, 2), (uintptr_t)p);
	assert_object_intact(m.pool, &m.obj[2]);
	assert_pool_ok(m.pool);
	/* Unpinned: the next free on the page compacts it. */
	assert_int_equal(model_alloc(&m, 3 * CHUNK), 0);
	model_free(&m, 3);
	model_assert_intact(&m);
	model_destroy(&m);
}

/*
 * The room before a middle buddy ends at the header: a page offers exactly
 * what fits, so an object one chunk larger goes to a new page.
 */
static void test_room_before_middle(void **state)
{
	struct model m;

	(void)state;
	model_init(&m, "z3fold", 0, false);
	fill_three(&m, 5, 5, 5);
	model_free(&m, 0); /* the middle moves next to the last */
	assert_int_equal(offset_of(&m, 2), (TOTAL - 10) * CHUNK);
	/* TOTAL - 11 free chunks before it, not one more. */
	assert_int_equal(model_alloc(&m, (TOTAL - 10) * CHUNK), 0);
	assert_int_equal(pool_pages(m.pool), 2);
	assert_int_equal(model_alloc(&m, (TOTAL - 11) * CHUNK), 0);
	assert_int_equal(pool_pages(m.pool), 2);
	assert_int_equal(offset_of(&m, 4), CHUNK);
	assert_pool_ok(m.pool);
	model_assert_intact(&m);
	model_destroy(&m);
}

/*
 * Reclaim of a three-buddy page evicts first, middle, last; a refused
 * eviction leaves every page whole and on its lists.
 */
static void test_reclaim_three(void **state)
{
	struct model m;
	unsigned int reclaimed;
	int at = 0;

	(void)state;
	model_init(&m, "z3fold", 0, true);
	fill_three(&m, 10, 10, 10);
	assert_int_equal(model_alloc(&m, 4000), 0); /* headless */
	m.evict_fail = 1;
	assert_int_equal(zpool_shrink(m.pool, 1, &reclaimed), -EAGAIN);
	assert_pool_ok(m.pool);
	model_assert_intact(&m);
	m.evict_fail = 0;
	assert_int_equal(zpool_shrink(m.pool, 2, &reclaimed), 0);
	assert_int_equal(reclaimed, 2);
	assert_int_equal(m.evicted_nr, 4);
	while (m.evict_order[at] != 0)
		at++;
	assert_true(at <= 1);
	assert_int_equal(m.evict_order[at + 1], 2);
	assert_int_equal(m.evict_order[at + 2], 1);
	assert_int_equal(pool_pages(m.pool), 0);
	model_destroy(&m);
}

/* Freeing the object being evicted before the callback runs: deferred. */
static int evict_after_owner_free(struct zpool *pool, unsigned long handle, void *priv)
{
	struct model *m = priv;
	int i = model_find(m, handle);

	m->evict_calls++;
	if (i >= 0 && i == m->free_other_on) {
		/* Its owner got there first: nothing to write back. */
		model_free(m, i);
		return 0;
	}
	return model_evict(pool, handle, priv);
}

static void test_free_under_reclaim(void **state)
{
	static const struct zpool_ops ops = { .evict = evict_after_owner_free };
	struct zpool_config cfg = { .ops = &ops };
	struct model m;

	(void)state;
	model_init(&m, "z3fold", 0, false);
	assert_int_equal(zpool_destroy_pool(m.pool), 0);
	cfg.priv = &m;
	assert_int_equal(zpool_create_pool("z3fold", &cfg, &m.pool), 0);
	fill_three(&m, 10, 10, 10);
	assert_int_equal(model_alloc(&m, 4000), 0);
	m.free_other_on = 2; /* the middle buddy */
	assert_int_equal(zpool_shrink(m.pool, 1, NULL), 0);
	assert_int_equal(pool_pages(m.pool), 1);
	assert_pool_ok(m.pool);
	m.free_other_on = 3; /* the headless object */
	assert_int_equal(zpool_shrink(m.pool, 1, NULL), 0);
	assert_int_equal(pool_pages(m.pool), 0);
	model_destroy(&m);
}

/* Denser than zbud on sizes zbud pairs badly: three thirds of a page. */
static void test_density_beats_zbud(void **state)
{
	struct model z3, zb;

	(void)state;
	model_init(&z3, "z3fold", 0, false);
	model_init(&zb, "zbud", 0, false);
	for (int i = 0; i < 300; i++) {
		assert_int_equal(model_alloc(&z3, 1300), 0);
		assert_int_equal(model_alloc(&zb, 1300), 0);
	}
	assert_int_equal(pool_pages(z3.pool), 100);
	assert_int_equal(pool_pages(zb.pool), 150);
	assert_pool_ok(z3.pool);
	model_destroy(&z3);
	model_destroy(&zb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_three_buddies),
		cmocka_unit_test(test_headless),
		cmocka_unit_test(test_lone_middle_becomes_first),
		cmocka_unit_test(test_middle_moves_to_its_neighbour),
		cmocka_unit_test(test_small_gap_stays),
		cmocka_unit_test(test_mapped_middle_stays),
		cmocka_unit_test(test_room_before_middle),
		cmocka_unit_test(test_reclaim_three),
		cmocka_unit_test(test_free_under_reclaim),
		cmocka_unit_test(test_density_beats_zbud),
	};

	return cmocka_run_group_tests_name("z3fold", tests, NULL, NULL);
}
