// SPDX-License-Identifier: GPL-2.0-only
/*
 * model.c - the slots of the shadow model and the operations on them
 *
 * Each operation runs on the pool and on the model, and checks what it
 * touched: the return code, the object's bytes, where a new object lies.
 * The counters and the whole pool are checked by counters.c.
 */
#include "harness.h"

#include "emit_c.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * What the model knows of each backend beyond the contract. A backend not
 * listed (a new one, an out-of-tree one) is held to the contract alone.
 */
static const struct fz_backend_model fz_models[] = {
	{ .type = "zbud",
	  .page_model = true,
	  .exact_peak = true,
	  .one_failure_per_enomem = true,
	  .handle_is_address = true,
	  .page_reclaim = true },
	/* Objects move inside a page (indirect handles), pages as zbud's. */
	{ .type = "z3fold",
	  .exact_peak = true,
	  .one_failure_per_enomem = true,
	  .page_reclaim = true },
	/* An object is one malloc() block: its header and malloc's rounding. */
	{ .type = "malloc",
	  .exact_peak = true,
	  .one_failure_per_enomem = true,
	  .page_alloc_is_alloc = true,
	  .handle_is_address = true,
	  .page_reclaim = true,
	  .obj_overhead = 64 },
};

#define FZ_NMODELS (sizeof(fz_models) / sizeof(fz_models[0]))

unsigned int fz_shards;

static const struct fz_backend_model *fz_model_of(const char *type)
{
	static struct fz_backend_model generic, sharded[FZ_NMODELS];

	for (size_t i = 0; i < FZ_NMODELS; i++) {
		if (strcmp(fz_models[i].type, type) != 0)
			continue;
		if (fz_shards < 2)
			return &fz_models[i];
		/* What still holds of N pools summed: one object per block, its cost. */
		sharded[i] = (struct fz_backend_model){
			.type = fz_models[i].type,
			.page_alloc_is_alloc = fz_models[i].page_alloc_is_alloc,
			.obj_overhead = fz_models[i].obj_overhead,
		};
		return &sharded[i];
	}
	return &generic;
}

void fz_fail(const struct fz_harness *h, int slot, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FUZZ MISMATCH [%s] op %u slot %d: ", h->name, h->op, slot);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (fz_emit_on) {
		char msg[256];

		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		fz_emit_fail(h, msg);
	}
	abort();
}

static int fz_evict(struct zpool *pool, unsigned long handle, void *priv);

/* Whether ZPOOL_FUZZ_BAD_EVICT=1 asks for the misbehaving evict callback. */
static bool fz_bad_evict_mode(void)
{
	static int bad = -1;

	if (bad < 0) {
		const char *e = getenv("ZPOOL_FUZZ_BAD_EVICT");

		bad = e && *e && strcmp(e, "0") != 0;
	}
	return bad;
}

void fz_harness_init(struct fz_harness *h, const char *name, const char *type,
		     uint8_t (*store)[ZPOOL_PAGE_SIZE], fz_evict_policy policy)
{
	memset(h, 0, offsetof(struct fz_harness, spare));
	h->name = name;
	h->type = type;
	h->model = fz_model_of(type);
	h->store = store;
	h->policy = policy;
	h->bad_evict = fz_bad_evict_mode();
	zm_reset(&h->zm);
	h->ops.evict = fz_evict;
}

/*
 * The pattern of an object written with @seed is a window of a fixed
 * pseudo-random table, starting at seed * FZ_PATTERN_STRIDE: each seed gives
 * a different, aperiodic byte string, an object shifted or swapped with
 * another shows, and fill and verify are one memcpy and one memcmp (which
 * ASan checks as whole ranges) instead of a loop over bytes.
 */
#define FZ_PATTERN_STRIDE 17u
static uint8_t fz_pattern_table[255 * FZ_PATTERN_STRIDE + ZPOOL_PAGE_SIZE];

const uint8_t *fz_pattern_of(uint8_t seed)
{
	static bool ready;

	if (!ready) {
		uint64_t x = 0x243f6a8885a308d3ULL;

		for (size_t i = 0; i < sizeof(fz_pattern_table); i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			fz_pattern_table[i] = (uint8_t)(x >> 32);
		}
		ready = true;
	}
	return fz_pattern_table + seed * FZ_PATTERN_STRIDE;
}

static void fz_fill(uint8_t *p, size_t n, uint8_t seed)
{
	memcpy(p, fz_pattern_of(seed), n);
}

/* Check @p holds the pattern of slot @s; @what says where it was read. */
static void fz_expect_pattern(const struct fz_harness *h, int s, const uint8_t *p, const char *what)
{
	const struct fz_obj *o = &h->obj[s];
	const uint8_t *want = fz_pattern_of(o->seed);

	if (memcmp(p, want, o->size) == 0)
		return;
	for (size_t i = 0; i < o->size; i++)
		if (p[i] != want[i])
			fz_fail(h, s, "%s: byte %zu of %u: expected %#x seen %#x (handle %#lx)",
				what, i, o->size, want[i], p[i], o->handle);
}

static int fz_slot_of_handle(const struct fz_harness *h, unsigned long handle)
{
	for (int s = 0; s < FZ_SLOTS; s++)
		if (h->obj[s].state == FZ_LIVE && h->obj[s].handle == handle)
			return s;
	return -1;
}

/* The first slot at or after @s in state @state, or -1. */
int fz_pick(const struct fz_harness *h, unsigned int s, enum fz_state state)
{
	for (unsigned int i = 0; i < FZ_SLOTS; i++) {
		unsigned int t = (s + i) % FZ_SLOTS;

		if (h->obj[t].state == state)
			return (int)t;
	}
	return -1;
}

/* Map @s read-only and check its bytes. */
void fz_verify(struct fz_harness *h, int s, const char *what)
{
	const uint8_t *p;

	FZ_EMIT(verify, h, s);
	p = zpool_map_handle(h->pool, h->obj[s].handle, ZPOOL_MM_RO);

	if (!p)
		fz_fail(h, s, "%s: map returned NULL for handle %#lx", what, h->obj[s].handle);
	fz_expect_pattern(h, s, p, what);
	zpool_unmap_handle(h->pool, h->obj[s].handle);
}

/* Write @src (or the pattern of @seed if NULL) into @s through a WO map. */
void fz_write(struct fz_harness *h, int s, uint8_t seed, const uint8_t *src)
{
	uint8_t *p;

	FZ_EMIT(write, h, s, seed, src != NULL);
	p = zpool_map_handle(h->pool, h->obj[s].handle, ZPOOL_MM_WO);

	if (!p)
		fz_fail(h, s, "write: map returned NULL for handle %#lx", h->obj[s].handle);
	if (src)
		memcpy(p, src, h->obj[s].size);
	else
		fz_fill(p, h->obj[s].size, seed);
	h->obj[s].seed = seed;
	zpool_unmap_handle(h->pool, h->obj[s].handle);
}

/* A new object must not overlap any live one. */
static void fz_check_no_overlap(const struct fz_harness *h, int s)
{
	unsigned long a = h->obj[s].handle, b = a + h->obj[s].size;

	for (int t = 0; t < FZ_SLOTS; t++) {
		const struct fz_obj *o = &h->obj[t];

		if (t == s || o->state != FZ_LIVE)
			continue;
		if (a < o->handle + o->size && o->handle < b)
			fz_fail(h, s, "new object [%#lx, %#lx) overlaps slot %d [%#lx, %#lx)", a, b,
				t, o->handle, o->handle + o->size);
	}
}

/*
 * The stats before an operation: those of the last check if nothing changed
 * the pool since, else read now.
 */
static void fz_stats_before(struct fz_harness *h, struct zpool_stats *st)
{
	if (h->st_valid)
		*st = h->st;
	else
		zpool_get_stats(h->pool, st);
}

/* May zpool_malloc(@size) fail with -ENOMEM, given the stats around it? */
static void fz_check_enomem(struct fz_harness *h, int s, size_t size, unsigned int best,
			    const struct zpool_stats *before, const struct zpool_stats *after)
{
	const struct fz_backend_model *m = h->model;
	uint64_t failed = after->page_alloc_failures - before->page_alloc_failures;
	bool injected = after->injected_failures > before->injected_failures;
	bool full;

	if (m->one_failure_per_enomem && failed != 1)
		fz_fail(h, s, "alloc(%zu): -ENOMEM with %llu failed page allocations, expected 1",
			size, (unsigned long long)failed);
	if (!failed)
		fz_fail(h, s, "alloc(%zu): -ENOMEM but no page allocation failed", size);
	if (m->page_model)
		full = !best && h->zm.npages == h->cfg.max_pages;
	else if (m->obj_overhead)
		/* Sharded: every shard (max_pages / N each) must be too full. */
		full = before->total_size +
			   (fz_shards > 1 ? fz_shards : 1) * (size + m->obj_overhead) >
		       after->max_pages * ZPOOL_PAGE_SIZE;
	else
		full = true; /* the contract: a page allocation failed, checked above */
	if (!injected && !full)
		fz_fail(
		    h, s, "alloc(%zu): -ENOMEM with %llu of %llu pages, %llu bytes, best fit %u",
		    size, (unsigned long long)after->pages, (unsigned long long)after->max_pages,
		    (unsigned long long)after->total_size, best);
	if (m->page_model && best)
		fz_fail(h, s, "alloc(%zu): -ENOMEM although a page with %u free chunks fits", size,
			best);
}

/*
 * Allocate @size bytes into empty slot @s and write the pattern of @seed (or
 * @src). Returns zpool_malloc()'s result after checking it.
 */
int fz_alloc(struct fz_harness *h, int s, size_t size, uint8_t seed, const uint8_t *src)
{
	struct zpool_stats before, after;
	unsigned long handle = 0;
	unsigned int best = 0;
	bool valid = size >= 1 && size <= ZPOOL_PAGE_SIZE;
	int err;

	fz_stats_before(h, &before);
	if (h->model->page_model && valid)
		best = zm_best_fit(&h->zm, zm_chunks(size));
	FZ_EMIT(alloc, h, s, size);
	err = zpool_malloc(h->pool, size, &handle);
	FZ_EMIT(alloc_ret, h, s, err, handle);
	zpool_get_stats(h->pool, &after);
	h->st = after;
	h->st_valid = !h->in_cb;
	if (!valid) {
		if (err != -EINVAL)
			fz_fail(h, s, "alloc(%zu): expected -EINVAL seen %d", size, err);
	} else if (err == -ENOMEM) {
		h->n.alloc_enomem++;
		fz_check_enomem(h, s, size, best, &before, &after);
	} else if (err) {
		fz_fail(h, s, "alloc(%zu): expected 0 or -ENOMEM seen %d", size, err);
	}
	if (err) {
		if (after.total_size != before.total_size || after.pages != before.pages ||
		    after.objects != before.objects)
			fz_fail(h, s, "failed alloc(%zu) changed the pool: %llu->%llu bytes", size,
				(unsigned long long)before.total_size,
				(unsigned long long)after.total_size);
		return err;
	}
	if (!handle)
		fz_fail(h, s, "alloc(%zu) returned a zero handle", size);
	h->n.allocs++;
	if (after.pages > h->n.peak_seen && !h->model->page_model)
		h->n.peak_seen = after.pages;
	h->obj[s].handle = handle;
	h->obj[s].size = (uint32_t)size;
	h->obj[s].state = FZ_LIVE;
	h->live++;
	h->live_bytes += size;
	/* Elsewhere an overlap shows as changed bytes at the next full check. */
	if (h->model->handle_is_address)
		fz_check_no_overlap(h, s);
	if (h->model->page_model)
		zm_alloced(h, s, best);
	fz_write(h, s, seed, src);
	return 0;
}

/* Free live slot @s in the pool and the model; @state is what it becomes. */
static void fz_release(struct fz_harness *h, int s, enum fz_state state)
{
	h->st_valid = false;
	zpool_free(h->pool, h->obj[s].handle);
	if (h->model->page_model)
		zm_freed(h, s);
	h->obj[s].state = (uint8_t)state;
	h->live--;
	h->live_bytes -= h->obj[s].size;
}

/* Verify and free live slot @s. */
void fz_free(struct fz_harness *h, int s)
{
	fz_verify(h, s, "free");
	FZ_EMIT(free, h, s);
	fz_release(h, s, FZ_EMPTY);
}

/* Bring stored slot @s back into the pool from the backing store. */
int fz_reload(struct fz_harness *h, int s)
{
	int err;

	h->obj[s].state = FZ_EMPTY;
	err = fz_alloc(h, s, h->obj[s].size, h->obj[s].seed, h->store[s]);
	if (err) {
		h->obj[s].state = FZ_STORED;
		return err;
	}
	fz_verify(h, s, "reload");
	return 0;
}

/*
 * The evict callback: checks the handle is one the model expects, then
 * lets the harness's policy decide. In the misbehaving mode
 * (ZPOOL_FUZZ_BAD_EVICT=1) it returns 0 without freeing anything, which a
 * debug build of the common layer must stop with "zpool BUG:".
 */
static int fz_evict(struct zpool *pool, unsigned long handle, void *priv)
{
	struct fz_harness *h = priv;
	bool stale = false;
	int s, ret;

	if (pool != h->pool)
		fz_fail(h, -1, "evict called with pool %p, expected %p", (void *)pool,
			(void *)h->pool);
	if (h->bad_evict) {
		fprintf(stderr,
			"fuzz: ZPOOL_FUZZ_BAD_EVICT: evict of %#lx returns 0 and frees nothing\n",
			handle);
		return 0;
	}
	if (h->model->page_model)
		stale = zm_evict_called(h, handle);
	s = stale ? -1 : fz_slot_of_handle(h, handle);
	if (!stale && s < 0)
		fz_fail(h, -1, "evict of handle %#lx, which the model does not hold live", handle);
	FZ_EMIT(evict, h, handle, s);
	h->in_cb = true;
	ret = h->policy(h, s, handle);
	h->in_cb = false;
	FZ_EMIT(evict_ret, h, ret);
	h->cb_nr++;
	if (ret) {
		h->cb_fail++;
		h->n.evict_failures++;
	} else {
		h->cb_ok++;
		h->n.evictions++;
	}
	if (h->model->page_model)
		zm_evict_returned(&h->zm, handle, ret);
	return ret;
}

/* Evict slot @s for real: verify, copy to the store, free. */
int fz_evict_to_store(struct fz_harness *h, int s)
{
	const uint8_t *p;

	FZ_EMIT(evict_to_store, h, s);
	p = zpool_map_handle(h->pool, h->obj[s].handle, ZPOOL_MM_RO);

	if (!p)
		fz_fail(h, s, "evict: map returned NULL for handle %#lx", h->obj[s].handle);
	fz_expect_pattern(h, s, p, "evict");
	memcpy(h->store[s], p, h->obj[s].size);
	zpool_unmap_handle(h->pool, h->obj[s].handle);
	fz_release(h, s, FZ_STORED);
	return 0;
}

/* The policy of the ops and diff targets: bit k of @mask says evict call k succeeds. */
int fz_policy_mask(struct fz_harness *h, int s, unsigned long handle)
{
	(void)handle;
	if (!(h->mask >> (h->cb_nr % 32) & 1))
		return 1;
	return fz_evict_to_store(h, s);
}

/* Shrink by @pages pages and check the result against the model. */
int fz_shrink(struct fz_harness *h, unsigned int pages, uint32_t mask)
{
	struct zpool_stats before, after;
	unsigned int live = h->live, reclaimed = 12345;
	bool zbud = h->model->page_model;
	int err;

	fz_stats_before(h, &before);
	h->mask = mask;
	h->cb_nr = h->cb_ok = h->cb_fail = 0;
	h->zm.failed_attempts = h->zm.freed_by_reclaim = 0;
	h->st_valid = false;
	h->n.shrink_calls++;
	FZ_EMIT(shrink, h, pages);
	err = zpool_shrink(h->pool, pages, &reclaimed);
	FZ_EMIT(shrink_ret, h, err, reclaimed);
	if (h->bad_evict && live && pages)
		fz_fail(h, -1,
			"shrink(%u) went on after an evict callback returned 0 without freeing: "
			"expected the pool to stop it as a zpool BUG",
			pages);
	if (zbud)
		zm_finish_attempt(&h->zm);
	zpool_get_stats(h->pool, &after);
	h->st = after;
	h->st_valid = true;
	if (err != 0 && err != -EINVAL && err != -EAGAIN)
		fz_fail(h, -1, "shrink(%u): expected 0, -EINVAL or -EAGAIN, seen %d", pages, err);
	if ((err == 0 && reclaimed < pages) || (err && reclaimed >= pages && pages) ||
	    (h->model->page_reclaim && reclaimed > pages))
		fz_fail(h, -1, "shrink(%u) returned %d with %u pages reclaimed", pages, err,
			reclaimed);
	h->n.shrink_eagain += err == -EAGAIN;
	h->n.pages_reclaimed += reclaimed;
	if ((pages == 0 || live == 0) && (err != -EINVAL || h->cb_nr))
		fz_fail(h, -1,
			"shrink(%u) of %u objects: expected -EINVAL and no evict, seen %d "
			"after %u evicts",
			pages, live, err, h->cb_nr);
	if (err == -EINVAL && pages && h->live)
		fz_fail(h, -1, "shrink(%u): -EINVAL while %u objects are live", pages, h->live);
	if (err == -EAGAIN && !h->cb_fail)
		fz_fail(h, -1, "shrink(%u): -EAGAIN but no evict failed", pages);
	if (err == -EAGAIN && h->model->page_reclaim && h->cb_fail < FZ_RETRIES)
		fz_fail(h, -1, "shrink(%u): -EAGAIN after only %u failed evicts", pages,
			h->cb_fail);
	if (after.evictions - before.evictions != h->cb_ok ||
	    after.evict_failures - before.evict_failures != h->cb_fail)
		fz_fail(h, -1, "evict counters: expected +%u/+%u seen +%llu/+%llu", h->cb_ok,
			h->cb_fail, (unsigned long long)(after.evictions - before.evictions),
			(unsigned long long)(after.evict_failures - before.evict_failures));
	if (zbud) {
		if (reclaimed != h->zm.freed_by_reclaim)
			fz_fail(h, -1, "zbud shrink(%u): model freed %u pages, shrink reports %u",
				pages, h->zm.freed_by_reclaim, reclaimed);
		if (err == -EAGAIN && h->zm.failed_attempts != FZ_RETRIES)
			fz_fail(h, -1,
				"zbud shrink(%u): -EAGAIN after %u failed page attempts, "
				"expected %u",
				pages, h->zm.failed_attempts, FZ_RETRIES);
		if (err == 0 && h->zm.failed_attempts)
			fz_fail(h, -1,
				"zbud shrink(%u): 0 but %u attempts failed after the last page",
				pages, h->zm.failed_attempts);
	}
	return err;
}

/*
 * Compact the pool: objects may move but keep their bytes (the caller's
 * next full check reads them all), and the pages it reports freed leave
 * the page count. A backend that does not compact says -EOPNOTSUPP and
 * frees nothing.
 */
void fz_compact(struct fz_harness *h)
{
	struct zpool_stats before, after;
	unsigned long freed = 12345;
	int err;

	fz_stats_before(h, &before);
	h->st_valid = false;
	FZ_EMIT(compact, h);
	err = zpool_compact(h->pool, &freed);
	FZ_EMIT(compact_ret, h, err);
	zpool_get_stats(h->pool, &after);
	h->st = after;
	h->st_valid = true;
	if (err == -EOPNOTSUPP) {
		if (freed)
			fz_fail(h, -1, "compact: -EOPNOTSUPP but %lu pages freed", freed);
		return;
	}
	if (err)
		fz_fail(h, -1, "compact: expected 0 or -EOPNOTSUPP seen %d", err);
	h->n.compactions++;
	h->n.pages_compacted += freed;
	if (before.pages - after.pages != freed || after.objects != before.objects)
		fz_fail(h, -1, "compact freed %lu pages: pages %llu -> %llu, objects %llu -> %llu",
			freed, (unsigned long long)before.pages, (unsigned long long)after.pages,
			(unsigned long long)before.objects, (unsigned long long)after.objects);
}

bool fz_op_alloc(struct fz_harness *h, struct fz_reader *r, unsigned int slot)
{
	size_t size = fz_size(fz_u16(r));
	int s;

	if (r->short_read)
		return false;
	s = fz_pick(h, slot, FZ_EMPTY);
	if (s >= 0)
		fz_alloc(h, s, size, (uint8_t)h->op, NULL);
	return true;
}

void fz_op_free(struct fz_harness *h, unsigned int slot)
{
	int s = fz_pick(h, slot, FZ_LIVE);

	if (s >= 0)
		fz_free(h, s);
}

void fz_op_verify(struct fz_harness *h, unsigned int slot)
{
	int s = fz_pick(h, slot, FZ_LIVE);

	if (s >= 0)
		fz_verify(h, s, "verify");
}

void fz_op_reload(struct fz_harness *h, unsigned int slot)
{
	int s = fz_pick(h, slot, FZ_STORED);

	if (s >= 0)
		fz_reload(h, s);
}
