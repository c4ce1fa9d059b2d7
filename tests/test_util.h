/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_util.h - what the unit tests share: pool set-up, a byte pattern that
 * names its object, a small object model with an evict callback, and a
 * death-test helper for the debug checks that abort.
 */
#ifndef ZPOOL_TEST_UTIL_H
#define ZPOOL_TEST_UTIL_H

#include <zpool/zpool.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define MAX_OBJS 4096

/*
 * The shards of every pool the tests create through test_create_pool()
 * and model_init(): test_contract.c runs the contract once per backend
 * unsharded (0) and once sharded.
 */
static unsigned int test_shards;

/* zpool_create_pool() with @cfg (NULL = defaults) and test_shards. */
static inline int test_create_pool(const char *type, const struct zpool_config *cfg,
				   struct zpool **pool)
{
	struct zpool_config c = { 0 };

	if (cfg)
		c = *cfg;
	c.shards = test_shards;
	return zpool_create_pool(type, &c, pool);
}

/* One object as the test believes it to be. */
struct tobj {
	unsigned long handle;
	size_t size;
	unsigned char seed;
	bool live;    /* in the pool */
	bool evicted; /* copied out by the evict callback */
};

/*
 * The test's model of a pool's contents. The evict callback copies an
 * object out (checking its bytes) and frees it, or fails as told.
 */
struct model {
	struct zpool *pool;
	struct tobj obj[MAX_OBJS];
	int nr;
	int evict_calls;
	int evict_fail;		   /* non-zero: the callback refuses */
	int evict_refuse_every;	   /* non-zero N: it agrees to one call in N only */
	int evict_order[MAX_OBJS]; /* object indexes in eviction order */
	int evicted_nr;
	/* if >= 0, the callback for this object first frees object free_other */
	int free_other_on;
	int free_other;
};

static inline unsigned char pattern_byte(unsigned char seed, size_t i)
{
	return (unsigned char)(seed * 31u + i * 7u + (i >> 8));
}

static inline void fill_object(struct zpool *pool, const struct tobj *o)
{
	unsigned char *p = zpool_map_handle(pool, o->handle, ZPOOL_MM_WO);

	for (size_t i = 0; i < o->size; i++)
		p[i] = pattern_byte(o->seed, i);
	zpool_unmap_handle(pool, o->handle);
}

/* Index of the first byte that differs from the pattern, or -1. */
static inline long first_bad_byte(const unsigned char *p, const struct tobj *o)
{
	for (size_t i = 0; i < o->size; i++)
		if (p[i] != pattern_byte(o->seed, i))
			return (long)i;
	return -1;
}

static inline void assert_object_intact(struct zpool *pool, const struct tobj *o)
{
	const unsigned char *p = zpool_map_handle(pool, o->handle, ZPOOL_MM_RO);
	long bad = first_bad_byte(p, o);

	zpool_unmap_handle(pool, o->handle);
	if (bad >= 0)
		fail_msg("object %#lx (size %zu) differs at byte %ld", o->handle, o->size, bad);
}

static inline void assert_pool_ok(struct zpool *pool)
{
	char why[256];
	int err = zpool_check(pool, why, sizeof(why));

	if (err)
		fail_msg("zpool_check: %d: %s", err, why);
}

static inline int model_find(struct model *m, unsigned long handle)
{
	for (int i = 0; i < m->nr; i++)
		if (m->obj[i].live && m->obj[i].handle == handle)
			return i;
	return -1;
}

/* Allocate object @i of the model with @size bytes and fill it. */
static inline int model_alloc(struct model *m, size_t size)
{
	struct tobj *o = &m->obj[m->nr];
	int err = zpool_malloc(m->pool, size, &o->handle);

	if (err)
		return err;
	assert_int_not_equal(o->handle, 0);
	o->size = size;
	o->seed = (unsigned char)(m->nr * 13 + 1);
	o->live = true;
	o->evicted = false;
	fill_object(m->pool, o);
	m->nr++;
	return 0;
}

static inline void model_free(struct model *m, int i)
{
	assert_true(m->obj[i].live);
	assert_object_intact(m->pool, &m->obj[i]);
	zpool_free(m->pool, m->obj[i].handle);
	m->obj[i].live = false;
}

/* Every object the model holds live still has its bytes. */
static inline void model_assert_intact(struct model *m)
{
	for (int i = 0; i < m->nr; i++)
		if (m->obj[i].live)
			assert_object_intact(m->pool, &m->obj[i]);
}

static inline void model_free_all(struct model *m)
{
	for (int i = 0; i < m->nr; i++)
		if (m->obj[i].live)
			model_free(m, i);
}

static inline int model_evict(struct zpool *pool, unsigned long handle, void *priv)
{
	struct model *m = priv;
	int i = model_find(m, handle);
	const unsigned char *p;

	m->evict_calls++;
	if (i < 0)
		return 0; /* freed by its owner meanwhile: nothing to write back */
	if (m->evict_fail || (m->evict_refuse_every && m->evict_calls % m->evict_refuse_every))
		return -EBUSY;
	if (i == m->free_other_on && m->free_other >= 0 && m->obj[m->free_other].live)
		model_free(m, m->free_other);
	p = zpool_map_handle(pool, handle, ZPOOL_MM_RO);
	if (first_bad_byte(p, &m->obj[i]) >= 0)
		fail_msg("evicted object %d arrived corrupt", i);
	zpool_unmap_handle(pool, handle);
	zpool_free(pool, handle);
	m->obj[i].live = false;
	m->obj[i].evicted = true;
	m->evict_order[m->evicted_nr++] = i;
	return 0;
}

static const struct zpool_ops model_ops = { .evict = model_evict };

/* Set up @m with a new pool of @type; @max_pages 0 = default. */
static inline void model_init(struct model *m, const char *type, size_t max_pages, bool evict)
{
	struct zpool_config cfg = { .max_pages = max_pages };

	memset(m, 0, sizeof(*m));
	m->free_other_on = -1;
	m->free_other = -1;
	if (evict) {
		cfg.ops = &model_ops;
		cfg.priv = m;
	}
	assert_int_equal(test_create_pool(type, &cfg, &m->pool), 0);
}

static inline void model_destroy(struct model *m)
{
	model_free_all(m);
	assert_pool_ok(m->pool);
	assert_int_equal(zpool_get_total_size(m->pool), 0);
	assert_int_equal(zpool_destroy_pool(m->pool), 0);
}

/*
 * Run @fn in a child and require that a debug check stops it: it dies of a
 * signal (zpool_bug() aborts; so does ASan with abort_on_error=1) or exits
 * non-zero (ASan's exit code), and, if @report is not NULL, what it wrote
 * to stderr contains @report, so that the test knows which check fired.
 */
static inline void assert_dies_with(void (*fn)(void *), void *arg, const char *report)
{
	char out[16384];
	size_t got = 0;
	int fd[2], status;
	ssize_t n;
	pid_t pid;

	fflush(NULL);
	assert_int_equal(pipe(fd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* The report goes to the parent, not into the test log. */
		close(fd[0]);
		if (dup2(fd[1], STDERR_FILENO) < 0)
			_exit(3);
		fn(arg);
		_exit(0);
	}
	close(fd[1]);
	while (got < sizeof(out) - 1) {
		n = read(fd[0], out + got, sizeof(out) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	out[got] = '\0';
	close(fd[0]); /* a longer report gets SIGPIPE: it is past what we match */
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		fail_msg("expected the child to be stopped by a debug check (\"%s\"), it exited "
			 "normally",
			 report ? report : "any report");
	if (report && !strstr(out, report))
		fail_msg("the child stopped, but its report lacks \"%s\":\n%s", report, out);
}

/* assert_dies() - as assert_dies_with(), whatever the report. */
static inline void assert_dies(void (*fn)(void *), void *arg)
{
	assert_dies_with(fn, arg, NULL);
}

#endif /* ZPOOL_TEST_UTIL_H */
