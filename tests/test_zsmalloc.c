// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_zsmalloc.c - what zsmalloc promises beyond the zpool contract
 *
 * The class table (seen from outside: how many pages a zspage takes and
 * how many objects share it), objects that span two pages, handles that
 * stay valid while objects move, compaction down to the fewest zspages,
 * a mapped object that compaction leaves in place, compaction racing
 * allocation, maps and frees, and the debug checks on stale handles.
 */
#include "test_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#define MIN_SIZE  32u
#define DELTA	  16u
#define NR_SIZES  ((ZPOOL_PAGE_SIZE - MIN_SIZE) / DELTA + 1)
#define MAX_CHAIN 8u

struct shape {
	unsigned int pages;
	unsigned int objs;
};

static uint64_t pool_pages(struct zpool *pool)
{
	struct zpool_stats st;

	zpool_get_stats(pool, &st);
	return st.pages;
}

/* Per mille of a @pages-page zspage of @size objects left over at its end. */
static unsigned int waste_pm(unsigned int size, unsigned int pages)
{
	return (pages * ZPOOL_PAGE_SIZE % size) * 1000 / (pages * ZPOOL_PAGE_SIZE);
}

/* The shape a pool shows for @size: pages of its first zspage, objects until a second. */
static struct shape observe_shape(unsigned int size)
{
	struct zpool_config cfg = { .max_pages = 256 };
	static unsigned long h[MAX_CHAIN * ZPOOL_PAGE_SIZE / MIN_SIZE + 1];
	struct shape s = { 0, 0 };
	struct zpool *pool;
	unsigned int n = 0;

	assert_int_equal(zpool_create_pool("zsmalloc", &cfg, &pool), 0);
	assert_int_equal(zpool_malloc(pool, size, &h[n++]), 0);
	s.pages = (unsigned int)pool_pages(pool);
	while (pool_pages(pool) == s.pages) {
		assert_true(n < sizeof(h) / sizeof(h[0]));
		assert_int_equal(zpool_malloc(pool, size, &h[n++]), 0);
	}
	s.objs = n - 1;
	assert_pool_ok(pool);
	while (n)
		zpool_free(pool, h[--n]);
	assert_int_equal(zpool_destroy_pool(pool), 0);
	return s;
}

/*
 * Every class: its zspage is full to within one object, wastes less than
 * every shorter chain would (a longer chain must pay for itself), and
 * wastes within 2% of the best chain of 1..8 pages.
 */
static void test_class_table(void **state)
{
	unsigned int distinct = 0;
	struct shape prev = { 0, 0 };

	(void)state;
	for (unsigned int size = MIN_SIZE; size <= ZPOOL_PAGE_SIZE; size += DELTA) {
		struct shape s = observe_shape(size);
		unsigned int best = 1000;

		assert_true(s.pages >= 1 && s.pages <= MAX_CHAIN);
		assert_true(s.objs * size <= s.pages * ZPOOL_PAGE_SIZE);
		assert_true((s.objs + 1) * size > s.pages * ZPOOL_PAGE_SIZE);
		for (unsigned int k = 1; k <= MAX_CHAIN; k++) {
			if (k < s.pages && waste_pm(size, k) <= waste_pm(size, s.pages))
				fail_msg("size %u: %u pages chosen, but %u waste no more", size,
					 s.pages, k);
			if (waste_pm(size, k) < best)
				best = waste_pm(size, k);
		}
		if (waste_pm(size, s.pages) > best + 20)
			fail_msg("size %u: %u pages waste %u per mille, the best %u", size, s.pages,
				 waste_pm(size, s.pages), best);
		distinct += s.pages != prev.pages || s.objs != prev.objs;
		prev = s;
	}
	/* Merging leaves fewer classes than sizes. */
	assert_true(distinct < NR_SIZES);
}

static struct shape rule_shape(unsigned int class_size);

/* Two sizes of one merged class share a zspage; sizes of different shapes do not. */
static void test_merged_classes_share(void **state)
{
	unsigned int same = 0, other = 0;

	(void)state;
	for (unsigned int c = MIN_SIZE; c + DELTA <= ZPOOL_PAGE_SIZE && !(same && other);
	     c += DELTA) {
		struct shape a = rule_shape(c), b = rule_shape(c + DELTA);
		bool eq = a.pages == b.pages && a.objs == b.objs;

		if (eq && !same && a.objs > 1)
			same = c;
		if (!eq && !other)
			other = c;
	}
	assert_true(same && other);
	for (int pass = 0; pass < 2; pass++) {
		unsigned int c = pass ? other : same;
		struct zpool *pool;
		unsigned long h1, h2;

		assert_int_equal(zpool_create_pool("zsmalloc", NULL, &pool), 0);
		assert_int_equal(zpool_malloc(pool, c, &h1), 0);
		assert_int_equal(zpool_malloc(pool, c + DELTA, &h2), 0);
		assert_int_equal(pool_pages(pool),
				 pass ? rule_shape(c).pages + rule_shape(c + DELTA).pages
				      : rule_shape(c).pages);
		assert_pool_ok(pool);
		zpool_free(pool, h1);
		zpool_free(pool, h2);
		assert_int_equal(zpool_destroy_pool(pool), 0);
	}
}

/*
 * Size 3000 (class 3008) packs 4 objects in 3 pages: objects 1 and 2
 * cross a page boundary. Their bytes survive WO, RW and RO maps, also
 * with two of them mapped at once and unmapped out of order.
 */
static void test_spanning_objects(void **state)
{
	struct model m;
	unsigned char *p1, *p2;

	(void)state;
	assert_int_equal(observe_shape(3000).pages, 3);
	model_init(&m, "zsmalloc", 0, false);
	for (int i = 0; i < 4; i++)
		assert_int_equal(model_alloc(&m, 3000), 0);
	assert_int_equal(pool_pages(m.pool), 3);
	model_assert_intact(&m);

	/* RW: the old bytes come in, the change goes back, across the boundary. */
	p1 = zpool_map_handle(m.pool, m.obj[1].handle, ZPOOL_MM_RW);
	assert_int_equal(first_bad_byte(p1, &m.obj[1]), -1);
	p2 = zpool_map_handle(m.pool, m.obj[2].handle, ZPOOL_MM_RW);
	assert_int_equal(first_bad_byte(p2, &m.obj[2]), -1);
	assert_ptr_not_equal(p1, p2);
	m.obj[1].seed ^= 0x5a;
	m.obj[2].seed ^= 0xa5;
	for (size_t i = 0; i < 3000; i++) {
		p1[i] = pattern_byte(m.obj[1].seed, i);
		p2[i] = pattern_byte(m.obj[2].seed, i);
	}
	zpool_unmap_handle(m.pool, m.obj[1].handle); /* not the last mapped */
	zpool_unmap_handle(m.pool, m.obj[2].handle);
	model_assert_intact(&m);

	/* RO: a change to the copy is not written back. */
	p1 = zpool_map_handle(m.pool, m.obj[1].handle, ZPOOL_MM_RO);
	p1[0] ^= 0xff;
	zpool_unmap_handle(m.pool, m.obj[1].handle);
	model_assert_intact(&m);
	assert_pool_ok(m.pool);
	model_destroy(&m);
}

/* Allocate @n objects of sizes drawn by @seed, then free about @free_pct of them. */
static void fill_and_thin(struct model *m, int n, unsigned int free_pct, unsigned int *seed)
{
	for (int i = 0; i < n; i++)
		assert_int_equal(model_alloc(m, 1 + rand_r(seed) % ZPOOL_PAGE_SIZE), 0);
	for (int i = 0; i < m->nr; i++)
		if (m->obj[i].live && (unsigned int)rand_r(seed) % 100 < free_pct)
			model_free(m, i);
}

/* The shape of the class that holds @size: the test's own reading of the rule. */
static struct shape rule_shape(unsigned int class_size)
{
	unsigned int best = 1, best_w = 1000;

	for (unsigned int k = 1; k <= MAX_CHAIN; k++)
		if (waste_pm(class_size, k) + 20 <= best_w) {
			best = k;
			best_w = waste_pm(class_size, k);
		}
	return (struct shape){ best, best * ZPOOL_PAGE_SIZE / class_size };
}

/* The index of the merged class of @size: the largest size of its run of one shape. */
static unsigned int merged_class(unsigned int size)
{
	unsigned int c = size <= MIN_SIZE ? MIN_SIZE : (size + DELTA - 1) / DELTA * DELTA;
	struct shape s = rule_shape(c);

	while (c + DELTA <= ZPOOL_PAGE_SIZE) {
		struct shape up = rule_shape(c + DELTA);

		if (up.pages != s.pages || up.objs != s.objs)
			break;
		c += DELTA;
	}
	return c;
}

/* The fewest pages the live objects of @m need: whole zspages, class by class. */
static uint64_t fewest_pages(const struct model *m)
{
	static unsigned int live[ZPOOL_PAGE_SIZE + 1];
	uint64_t pages = 0;

	memset(live, 0, sizeof(live));
	for (int i = 0; i < m->nr; i++)
		if (m->obj[i].live)
			live[merged_class((unsigned int)m->obj[i].size)]++;
	for (unsigned int c = MIN_SIZE; c <= ZPOOL_PAGE_SIZE; c += DELTA) {
		struct shape s = rule_shape(c);

		pages += (live[c] + s.objs - 1) / s.objs * s.pages;
	}
	return pages;
}

/*
 * After 70% of the objects are freed at random, compaction leaves each
 * class with at most one partly used zspage: exactly the fewest pages.
 * Every handle still reaches its bytes.
 */
static void test_compaction_to_fewest_pages(void **state)
{
	struct model m;
	struct zpool_stats st;
	unsigned int seed = 7;
	unsigned long freed = 0;
	uint64_t before;

	(void)state;
	model_init(&m, "zsmalloc", 0, false);
	fill_and_thin(&m, 3000, 70, &seed);
	before = pool_pages(m.pool);
	assert_true(before > fewest_pages(&m));
	assert_int_equal(zpool_compact(m.pool, &freed), 0);
	assert_int_equal(pool_pages(m.pool), before - freed);
	assert_int_equal(pool_pages(m.pool), fewest_pages(&m));
	assert_pool_ok(m.pool);
	model_assert_intact(&m);
	zpool_get_stats(m.pool, &st);
	assert_int_equal(st.compactions, 1);
	assert_int_equal(st.pages_compacted, freed);

	/* Nothing left to do: a second pass frees nothing. */
	assert_int_equal(zpool_compact(m.pool, &freed), 0);
	assert_int_equal(freed, 0);
	/* New objects and frees after the moves work as before. */
	for (int i = 0; i < 200; i++)
		assert_int_equal(model_alloc(&m, 1 + rand_r(&seed) % ZPOOL_PAGE_SIZE), 0);
	model_destroy(&m);
}

/*
 * A mapped object does not move: compaction leaves its zspage alone while
 * it is mapped, and the pointer keeps its bytes. Unmapped, it moves.
 */
static void test_mapped_object_stays(void **state)
{
	struct model m;
	unsigned long freed;
	const unsigned char *p;

	(void)state;
	model_init(&m, "zsmalloc", 0, false);
	/* Class 1024: 4 objects a page, one-page zspages. */
	for (int i = 0; i < 8; i++)
		assert_int_equal(model_alloc(&m, 1024), 0);
	/* Two zspages with 2 objects each: one could be emptied into the other. */
	model_free(&m, 1);
	model_free(&m, 2);
	model_free(&m, 5);
	model_free(&m, 6);
	assert_int_equal(pool_pages(m.pool), 2);
	p = zpool_map_handle(m.pool, m.obj[0].handle, ZPOOL_MM_RO);
	const unsigned char *q = zpool_map_handle(m.pool, m.obj[4].handle, ZPOOL_MM_RO);
	assert_int_equal(zpool_compact(m.pool, &freed), 0);
	assert_int_equal(freed, 0); /* both zspages are pinned */
	assert_int_equal(first_bad_byte(p, &m.obj[0]), -1);
	assert_int_equal(first_bad_byte(q, &m.obj[4]), -1);
	zpool_unmap_handle(m.pool, m.obj[4].handle);
	assert_int_equal(zpool_compact(m.pool, &freed), 0);
	assert_int_equal(freed, 1); /* the unpinned one was emptied into the pinned one */
	assert_int_equal(first_bad_byte(p, &m.obj[0]), -1);
	zpool_unmap_handle(m.pool, m.obj[0].handle);
	assert_pool_ok(m.pool);
	model_assert_intact(&m);
	model_destroy(&m);
}

/* Backends that do not move objects say so. */
static void test_compact_unsupported(void **state)
{
	struct zpool *pool;
	unsigned long freed = 99;

	(void)state;
	assert_int_equal(zpool_create_pool("zbud", NULL, &pool), 0);
	assert_int_equal(zpool_compact(pool, &freed), -EOPNOTSUPP);
	assert_int_equal(freed, 0);
	assert_int_equal(zpool_destroy_pool(pool), 0);
}

struct racer {
	struct zpool *pool;
	atomic_bool *stop;
	unsigned int seed;
	unsigned long errors;
};

/* Each object's bytes derive from its handle, so any thread can check any of its own. */
static unsigned char racer_byte(unsigned long handle, size_t i)
{
	return (unsigned char)(handle * 0x9e3779b1u + i * 13u + (i >> 7));
}

/* Allocate, write, verify (RO and RW maps) and free, in a loop. */
static void *racer_thread(void *arg)
{
	struct racer *r = arg;
	unsigned long h[48] = { 0 };
	size_t sz[48] = { 0 };

	for (int n = 0; n < 40000 && !atomic_load(r->stop); n++) {
		int i = rand_r(&r->seed) % 48;

		if (h[i]) {
			unsigned char *p =
			    zpool_map_handle(r->pool, h[i], (n & 1) ? ZPOOL_MM_RO : ZPOOL_MM_RW);

			for (size_t b = 0; b < sz[i]; b++)
				if (p[b] != racer_byte(h[i], b)) {
					r->errors++;
					break;
				}
			zpool_unmap_handle(r->pool, h[i]);
			if (rand_r(&r->seed) % 2) {
				zpool_free(r->pool, h[i]);
				h[i] = 0;
			}
		} else {
			/* Mostly sizes whose objects span pages. */
			sz[i] = 1500 + (size_t)(rand_r(&r->seed) % 2500);
			if (zpool_malloc(r->pool, sz[i], &h[i])) {
				h[i] = 0;
				continue;
			}
			unsigned char *p = zpool_map_handle(r->pool, h[i], ZPOOL_MM_WO);
			for (size_t b = 0; b < sz[i]; b++)
				p[b] = racer_byte(h[i], b);
			zpool_unmap_handle(r->pool, h[i]);
		}
	}
	for (int i = 0; i < 48; i++)
		if (h[i])
			zpool_free(r->pool, h[i]);
	return NULL;
}

/* Compaction in a loop while three threads allocate, map and free. */
static void test_compaction_races_map_and_free(void **state)
{
	struct zpool_config cfg = { .max_pages = 512 };
	struct racer r[3];
	pthread_t t[3];
	atomic_bool stop = false;
	struct zpool *pool;
	unsigned long freed, total = 0;
	char why[256];

	(void)state;
	assert_int_equal(zpool_create_pool("zsmalloc", &cfg, &pool), 0);
	for (int i = 0; i < 3; i++) {
		r[i] = (struct racer){ .pool = pool, .stop = &stop, .seed = 11u + (unsigned)i };
		assert_int_equal(pthread_create(&t[i], NULL, racer_thread, &r[i]), 0);
	}
	for (int n = 0; n < 2000; n++) {
		assert_int_equal(zpool_compact(pool, &freed), 0);
		total += freed;
		if (n % 50 == 0 && zpool_check(pool, why, sizeof(why))) {
			atomic_store(&stop, true);
			fail_msg("zpool_check during compaction: %s", why);
		}
	}
	atomic_store(&stop, true);
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(r[i].errors, 0);
	}
	assert_pool_ok(pool);
	assert_int_equal(zpool_get_total_size(pool), 0);
	assert_int_equal(zpool_destroy_pool(pool), 0);
	print_message("compaction freed %lu pages while the racers ran\n", total);
}

/*
 * The evict callback frees another object of the zspage under reclaim:
 * that object is not offered to evict again, and its handle is not handed
 * out to a new object until reclaim is done.
 */
static void test_free_during_reclaim(void **state)
{
	struct model m;
	unsigned int reclaimed;

	(void)state;
	model_init(&m, "zsmalloc", 0, true);
	for (int i = 0; i < 4; i++)
		assert_int_equal(model_alloc(&m, 1024), 0); /* one zspage */
	m.free_other_on = 0;
	m.free_other = 2;
	assert_int_equal(zpool_shrink(m.pool, 1, &reclaimed), 0);
	assert_int_equal(reclaimed, 1);
	assert_int_equal(m.evict_calls, 3); /* 0, 1, 3: not 2 */
	for (int i = 0; i < 4; i++)
		assert_false(m.obj[i].live);
	assert_int_equal(zpool_get_total_size(m.pool), 0);
	assert_pool_ok(m.pool);
	model_destroy(&m);
}

struct late_map {
	unsigned long victim;
	int calls;
};

/*
 * Evict as the stress harness's owner race does: the object's owner frees
 * it just as reclaim offers it, the callback still reads it through the
 * handle it was given, and a new object is stored meanwhile, which must
 * not get that handle. The callback then returns 0 without a free: the
 * owner's free was the free.
 */
static int late_map_evict(struct zpool *pool, unsigned long handle, void *priv)
{
	struct late_map *lm = priv;
	unsigned long fresh;

	if (lm->calls++ == 0) {
		lm->victim = handle;
		zpool_free(pool, handle);
		(void)*(volatile const char *)zpool_map_handle(pool, handle, ZPOOL_MM_RO);
		zpool_unmap_handle(pool, handle);
		assert_int_equal(zpool_malloc(pool, 1024, &fresh), 0);
		assert_int_not_equal(fresh, handle);
		zpool_free(pool, fresh);
		return 0;
	}
	zpool_free(pool, handle);
	return 0;
}

/*
 * A handle freed while its zspage is under reclaim stays reserved until
 * reclaim is done: the callback may still map it, and no new object gets
 * it meanwhile.
 */
static void test_freed_handle_reserved_during_reclaim(void **state)
{
	struct late_map lm = { 0, 0 };
	const struct zpool_ops ops = { .evict = late_map_evict };
	struct zpool_config cfg = { .ops = &ops, .priv = &lm };
	struct zpool *pool;
	unsigned long h[4];
	unsigned int reclaimed;

	(void)state;
	assert_int_equal(zpool_create_pool("zsmalloc", &cfg, &pool), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(zpool_malloc(pool, 1024, &h[i]), 0); /* one zspage */
	assert_int_equal(zpool_shrink(pool, 1, &reclaimed), 0);
	assert_int_equal(lm.calls, 4);
	assert_int_equal(zpool_get_total_size(pool), 0);
	assert_pool_ok(pool);
	assert_int_equal(zpool_destroy_pool(pool), 0);
}

static void map_stale_handle(void *arg)
{
	struct zpool *pool;
	unsigned long h, h2;

	(void)arg;
	(void)zpool_create_pool("zsmalloc", NULL, &pool);
	(void)zpool_malloc(pool, 100, &h);
	zpool_free(pool, h);
	(void)zpool_malloc(pool, 100, &h2); /* takes the same slot */
	*(volatile char *)zpool_map_handle(pool, h, ZPOOL_MM_RO);
}

static void free_garbage_handle(void *arg)
{
	struct zpool *pool;
	unsigned long h;

	(void)arg;
	(void)zpool_create_pool("zsmalloc", NULL, &pool);
	(void)zpool_malloc(pool, 100, &h);
	zpool_free(pool, h + 1000);
}

static void too_many_spanning_maps(void *arg)
{
	struct zpool *pool;
	unsigned long h[12];

	(void)arg;
	(void)zpool_create_pool("zsmalloc", NULL, &pool);
	for (int i = 0; i < 12; i++)
		(void)zpool_malloc(pool, 3000, &h[i]);
	/* Objects 1, 2, 5, 6, 9, 10 of class 3008 span: six spanning maps at once. */
	for (int i = 0; i < 12; i++)
		(void)zpool_map_handle(pool, h[i], ZPOOL_MM_RO);
}

/* A handle whose slot was reused, a made-up handle, too many nested spanning maps. */
static void test_debug_checks(void **state)
{
	(void)state;
#ifdef NDEBUG
	skip();
#endif
	assert_dies(map_stale_handle, NULL);
	assert_dies(free_garbage_handle, NULL);
	assert_dies(too_many_spanning_maps, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_class_table),
		cmocka_unit_test(test_merged_classes_share),
		cmocka_unit_test(test_spanning_objects),
		cmocka_unit_test(test_compaction_to_fewest_pages),
		cmocka_unit_test(test_mapped_object_stays),
		cmocka_unit_test(test_compact_unsupported),
		cmocka_unit_test(test_compaction_races_map_and_free),
		cmocka_unit_test(test_free_during_reclaim),
		cmocka_unit_test(test_freed_handle_reserved_during_reclaim),
		cmocka_unit_test(test_debug_checks),
	};

	return cmocka_run_group_tests_name("zsmalloc", tests, NULL, NULL);
}
