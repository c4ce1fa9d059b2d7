/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fuzz_helpers.h - input decoding and the shadow model shared by the fuzz
 * targets
 *
 * Every target turns its input into a sequence of zpool operations and runs
 * them against a harness (struct fz_harness) that owns one pool and a shadow
 * model of what the pool must hold. The model is deliberately strict, so
 * that a bug injected into a backend is seen at the first operation whose
 * result it changes, not at the end of the run:
 *
 * - Each slot holds one object: its handle, size and the seed of the byte
 *   pattern it was written with. Bytes are checked against the pattern
 *   whenever the harness touches the object (verify, free, eviction,
 *   reload, and everything at the end), so bytes changed behind the owner's
 *   back are caught at the next touch. New objects must not overlap a live
 *   one.
 * - Evicted objects go to a per-slot backing store (struct fz_harness.store)
 *   and come back with reload; an eviction must deliver the pattern intact.
 * - Return codes follow the contract of zpool.h; ENOMEM is accepted only
 *   when the model says the pool is full or a failure was injected.
 * - For zbud, a page-level model mirrors what docs/design.md and zbud.c promise:
 *   buddies left/right-justified, best fit by free chunks, the LRU order of
 *   pages (allocation moves a page to the head, a failed reclaim too) and
 *   which handle each evict callback must receive. It predicts the page
 *   count exactly, and shrink's reclaimed count and return code.
 * - After every operation zpool_check() must pass and the counters must
 *   agree with the model (objects, pages, total size).
 *
 * On a disagreement the harness prints the operation index, the slot, what
 * it expected and what it saw, then abort()s: libFuzzer records the input,
 * and the replay main exits non-zero.
 *
 * Pools are kept across inputs (struct fz_spare): an input ends with an
 * empty pool, checked to hold nothing, and the next input with the same
 * backend and capacity starts from it instead of mapping a new arena. The
 * model depends on no address, so an input behaves the same on a kept pool
 * as on a new one, except that its pages come off the arena's free list.
 * Pools with fault injection are never kept: the injector's counter and
 * PRNG belong to one input. ZPOOL_FUZZ_FRESH_POOLS=1 turns keeping off.
 *
 * The decoder (struct fz_reader) never reads past the input: when the bytes
 * run out in the middle of an operation, that operation is dropped. Work
 * per input is bounded (FZ_MAX_OPS operations, FZ_SLOTS objects, pools of
 * at most FZ_MAX_PAGES pages) so that no input is much slower than another.
 */
#ifndef ZPOOL_FUZZ_HELPERS_H
#define ZPOOL_FUZZ_HELPERS_H

#include <zpool/zpool.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_SLOTS     32	 /* objects a harness tracks */
#define FZ_MAX_OPS   128 /* operations decoded from one input */
#define FZ_MAX_PAGES 64	 /* largest arena a harness creates */
#define FZ_CHUNK     64u /* zbud's allocation granularity */
#define FZ_NCHUNKS   (ZPOOL_PAGE_SIZE / FZ_CHUNK)
#define FZ_RETRIES   8u /* page attempts per reclaimed page (zbud and malloc) */
#define FZ_SPARES    8	/* empty pools a harness keeps for later inputs */

/* Shards of every pool (zpool_config.shards); a target may set it once. */
static unsigned int fz_shards;

/*****************
 * Input decoding
 *****************/

/* A cursor over the input; reads past the end yield 0 and set @short_read. */
struct fz_reader {
	const uint8_t *data;
	size_t size;
	size_t pos;
	bool short_read;
};

static inline void fz_reader_init(struct fz_reader *r, const uint8_t *data, size_t size)
{
	r->data = data;
	r->size = size;
	r->pos = 0;
	r->short_read = false;
}

static inline bool fz_done(const struct fz_reader *r)
{
	return r->short_read || r->pos >= r->size;
}

static inline uint8_t fz_u8(struct fz_reader *r)
{
	if (r->pos >= r->size) {
		r->short_read = true;
		return 0;
	}
	return r->data[r->pos++];
}

static inline uint16_t fz_u16(struct fz_reader *r)
{
	uint16_t lo = fz_u8(r);

	return (uint16_t)(lo | (uint16_t)fz_u8(r) << 8);
}

static inline uint32_t fz_u32(struct fz_reader *r)
{
	uint32_t lo = fz_u16(r);

	return lo | (uint32_t)fz_u16(r) << 16;
}

/*
 * An allocation size: mostly 1..4096, but about one in sixteen raw values
 * lands on 0 or above ZPOOL_PAGE_SIZE, to exercise -EINVAL.
 */
static inline size_t fz_size(uint16_t raw)
{
	return raw % (ZPOOL_PAGE_SIZE + 256u);
}

/*****************
 * The shadow model
 *****************/

enum fz_state { FZ_EMPTY, FZ_LIVE, FZ_STORED };

/**
 * struct fz_obj - what the model knows of one slot
 * @handle: the handle while FZ_LIVE
 * @size: object size in bytes
 * @seed: the pattern the bytes must hold (see fz_pattern())
 * @state: FZ_EMPTY, FZ_LIVE (in the pool) or FZ_STORED (evicted)
 */
struct fz_obj {
	unsigned long handle;
	uint32_t size;
	uint8_t seed;
	uint8_t state;
};

/**
 * struct fz_zpage - the zbud model of one page
 * @addr: the page's address (handles on it are @addr .. @addr + 4095)
 * @stamp: LRU position: higher is hotter; the tail has the lowest
 * @bud: slot of the first and last buddy, -1 if none
 * @chunks: chunks of each buddy (0 if none)
 * @enc: while under reclaim, the handles zbud encoded for evict
 * @reclaim: the page is under reclaim (off the LRU)
 */
struct fz_zpage {
	unsigned long addr;
	uint64_t stamp;
	int bud[2];
	unsigned int chunks[2];
	unsigned long enc[2];
	bool reclaim;
};

struct fz_harness;

/**
 * struct fz_spare - an empty pool kept for the next input that asks for it
 * @pool: the pool, NULL if the entry is unused
 * @type: its backend
 * @max_pages: its capacity
 */
struct fz_spare {
	struct zpool *pool;
	const char *type;
	size_t max_pages;
};

/* What an evict callback does; returns the callback's result. */
typedef int (*fz_evict_policy)(struct fz_harness *h, int slot, unsigned long handle);

/**
 * struct fz_harness - one pool and its model
 * @name: label for messages ("zbud", "malloc", ...)
 * @type: backend name
 * @zbud: use the zbud page model
 * @pool: the pool, NULL between destroy and recreate
 * @cfg: the pool's configuration
 * @ops: the evict callback, fz_evict()
 * @obj: the slots
 * @store: backing store, one page per slot
 * @op: index of the operation running, for messages
 * @pages: the zbud page model; @npages entries used
 * @clock: LRU stamp source
 * @cur: index in @pages of the page under reclaim, -1 if none
 * @pending_last: handle the next evict call must carry (the last buddy of
 *	@cur after its first was evicted), 0 if any page may start
 * @failed_attempts: consecutive reclaim attempts that freed no page
 * @freed_by_reclaim: pages freed by reclaim during this shrink
 * @policy: decides each eviction; @mask and @cb_nr are its inputs
 * @cb_ok: evict callbacks that returned 0 in this shrink
 * @cb_fail: ... that returned non-zero
 * @in_cb: an evict callback is running (no nested shrink)
 * @st: the pool's stats as of the last fz_check_pool()
 * @st_valid: @st is still true (nothing changed the pool since, and it was
 *	not read inside an evict callback)
 * @spare: empty pools kept across inputs (fz_harness_init() keeps them)
 * @spare_next: the entry the next kept pool replaces when all are used
 */
struct fz_harness {
	const char *name;
	const char *type;
	bool zbud;
	struct zpool *pool;
	struct zpool_config cfg;
	struct zpool_ops ops;
	struct fz_obj obj[FZ_SLOTS];
	uint8_t (*store)[ZPOOL_PAGE_SIZE];
	unsigned int op;
	struct fz_zpage pages[FZ_MAX_PAGES];
	unsigned int npages;
	uint64_t clock;
	int cur;
	unsigned long pending_last;
	unsigned int failed_attempts;
	unsigned int freed_by_reclaim;
	fz_evict_policy policy;
	uint32_t mask;
	unsigned int cb_nr;
	unsigned int cb_ok;
	unsigned int cb_fail;
	bool in_cb;
	struct zpool_stats st;
	bool st_valid;
	/* Must stay last: fz_harness_init() clears everything before. */
	struct fz_spare spare[FZ_SPARES];
	unsigned int spare_next;
};

/* Report a disagreement between the pool and the model, and abort. */
__attribute__((format(printf, 3, 4), noreturn)) static inline void
fz_fail(const struct fz_harness *h, int slot, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FUZZ MISMATCH [%s] op %u slot %d: ", h->name, h->op, slot);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
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

static inline const uint8_t *fz_pattern_of(uint8_t seed)
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

/* The pattern byte @i of an object written with @seed. */
static inline uint8_t fz_pattern(uint8_t seed, size_t i)
{
	return fz_pattern_of(seed)[i];
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

static inline unsigned int fz_live_count(const struct fz_harness *h)
{
	unsigned int n = 0;

	for (int s = 0; s < FZ_SLOTS; s++)
		n += h->obj[s].state == FZ_LIVE;
	return n;
}

static inline int fz_slot_of_handle(const struct fz_harness *h, unsigned long handle)
{
	for (int s = 0; s < FZ_SLOTS; s++)
		if (h->obj[s].state == FZ_LIVE && h->obj[s].handle == handle)
			return s;
	return -1;
}

static inline unsigned int fz_chunks(size_t size)
{
	return (unsigned int)((size + FZ_CHUNK - 1) / FZ_CHUNK);
}

/*****************
 * zbud page model
 *****************/

static inline int zm_find(const struct fz_harness *h, unsigned long handle)
{
	unsigned long addr = handle & ~(unsigned long)(ZPOOL_PAGE_SIZE - 1);

	for (unsigned int i = 0; i < h->npages; i++)
		if (h->pages[i].addr == addr)
			return (int)i;
	return -1;
}

static inline void zm_drop(struct fz_harness *h, int i)
{
	h->pages[i] = h->pages[--h->npages];
	if (h->cur == (int)h->npages)
		h->cur = i;
}

static inline unsigned int zm_free_chunks(const struct fz_zpage *p)
{
	return FZ_NCHUNKS - p->chunks[0] - p->chunks[1];
}

/*
 * The free chunks of the best-fit page for @chunks (lowest free count that
 * fits, among pages with one buddy not under reclaim), or 0 if none.
 */
static inline unsigned int zm_best_fit(const struct fz_harness *h, unsigned int chunks)
{
	unsigned int best = 0;

	for (unsigned int i = 0; i < h->npages; i++) {
		const struct fz_zpage *p = &h->pages[i];
		unsigned int f = zm_free_chunks(p);

		if (p->reclaim || (p->bud[0] >= 0 && p->bud[1] >= 0))
			continue;
		if (f >= chunks && (!best || f < best))
			best = f;
	}
	return best;
}

/* Check where zbud placed a new object, and record it. */
static inline void zm_alloced(struct fz_harness *h, int s, unsigned int best)
{
	unsigned long handle = h->obj[s].handle;
	unsigned int chunks = fz_chunks(h->obj[s].size);
	unsigned long off = handle & (ZPOOL_PAGE_SIZE - 1);
	int i = zm_find(h, handle);
	struct fz_zpage *p;
	int bud;

	if (best) {
		if (i < 0 || zm_free_chunks(&h->pages[i]) != best || h->pages[i].reclaim)
			fz_fail(h, s,
				"zbud best fit: expected a page with %u free chunks, seen handle "
				"%#lx on %s",
				best, handle, i < 0 ? "a new page" : "another page");
		p = &h->pages[i];
		bud = p->bud[0] < 0 ? 0 : 1;
	} else {
		if (i >= 0)
			fz_fail(h, s,
				"zbud: no page fits %u chunks, expected a new page, seen "
				"handle %#lx on a known page",
				chunks, handle);
		if (h->npages >= FZ_MAX_PAGES)
			fz_fail(h, s, "zbud: more pages than the arena holds");
		i = (int)h->npages++;
		p = &h->pages[i];
		memset(p, 0, sizeof(*p));
		p->addr = handle - off;
		p->bud[0] = p->bud[1] = -1;
		bud = 0;
	}
	if (bud == 0 && off != 0)
		fz_fail(h, s, "zbud: first buddy expected at page offset 0, seen %#lx", off);
	if (bud == 1 && off != ZPOOL_PAGE_SIZE - chunks * FZ_CHUNK)
		fz_fail(h, s, "zbud: last buddy of %u chunks expected at offset %#x, seen %#lx",
			chunks, ZPOOL_PAGE_SIZE - chunks * FZ_CHUNK, off);
	p->bud[bud] = s;
	p->chunks[bud] = chunks;
	p->stamp = ++h->clock;
}

/* A buddy was freed: by its owner, or by the evict callback. */
static inline void zm_freed(struct fz_harness *h, int s)
{
	int i = zm_find(h, h->obj[s].handle);
	struct fz_zpage *p;

	if (i < 0)
		fz_fail(h, s, "zbud model: freed handle %#lx on no page", h->obj[s].handle);
	p = &h->pages[i];
	for (int b = 0; b < 2; b++) {
		if (p->bud[b] == s) {
			p->bud[b] = -1;
			p->chunks[b] = 0;
		}
	}
	if (!p->reclaim && p->bud[0] < 0 && p->bud[1] < 0)
		zm_drop(h, i);
}

/* The LRU tail: the page not under reclaim with the lowest stamp. */
static inline int zm_tail(const struct fz_harness *h)
{
	int tail = -1;

	for (unsigned int i = 0; i < h->npages; i++)
		if (!h->pages[i].reclaim && (tail < 0 || h->pages[i].stamp < h->pages[tail].stamp))
			tail = (int)i;
	return tail;
}

/* The reclaim attempt on @cur is over: free the page or put it at the head. */
static inline void zm_finish_attempt(struct fz_harness *h)
{
	struct fz_zpage *p;

	if (h->cur < 0)
		return;
	p = &h->pages[h->cur];
	p->reclaim = false;
	if (p->bud[0] < 0 && p->bud[1] < 0) {
		zm_drop(h, h->cur);
		h->freed_by_reclaim++;
		h->failed_attempts = 0;
	} else {
		p->stamp = ++h->clock;
		h->failed_attempts++;
	}
	h->cur = -1;
	h->pending_last = 0;
}

/*
 * An evict callback was called for @handle: check it is the handle zbud
 * must evict next. Returns true if the handle is one whose buddy was freed
 * while its page was under reclaim (zbud still calls evict for it).
 */
static inline bool zm_evict_called(struct fz_harness *h, unsigned long handle)
{
	struct fz_zpage *p;
	int t;

	if (h->pending_last) {
		if (handle != h->pending_last)
			fz_fail(h, -1,
				"zbud reclaim: expected evict of the last buddy %#lx, seen %#lx",
				h->pending_last, handle);
		h->pending_last = 0;
		p = &h->pages[h->cur];
		return p->bud[1] < 0;
	}
	zm_finish_attempt(h);
	t = zm_tail(h);
	if (t < 0)
		fz_fail(h, -1, "zbud reclaim: evict of %#lx but the model's LRU is empty", handle);
	p = &h->pages[t];
	p->reclaim = true;
	h->cur = t;
	for (int b = 0; b < 2; b++)
		p->enc[b] = p->bud[b] >= 0 ? h->obj[p->bud[b]].handle : 0;
	if (handle != (p->enc[0] ? p->enc[0] : p->enc[1]))
		fz_fail(
		    h, -1,
		    "zbud reclaim: expected evict of the LRU tail page %#lx (handle %#lx), seen "
		    "%#lx",
		    p->addr, p->enc[0] ? p->enc[0] : p->enc[1], handle);
	return false;
}

/* The evict callback for @handle returned @ret: what is expected next. */
static inline void zm_evict_returned(struct fz_harness *h, unsigned long handle, int ret)
{
	struct fz_zpage *p = &h->pages[h->cur];

	if (handle == p->enc[0] && ret == 0 && p->enc[1])
		h->pending_last = p->enc[1];
}

/*****************
 * Pool life cycle and checks
 *****************/

static inline int fz_evict(struct zpool *pool, unsigned long handle, void *priv);

static inline void fz_harness_init(struct fz_harness *h, const char *name, const char *type,
				   uint8_t (*store)[ZPOOL_PAGE_SIZE], fz_evict_policy policy)
{
	memset(h, 0, offsetof(struct fz_harness, spare));
	h->name = name;
	h->type = type;
	h->zbud = strcmp(type, "zbud") == 0 && fz_shards < 2; /* the page model is one pool's */
	h->store = store;
	h->policy = policy;
	h->cur = -1;
	h->ops.evict = fz_evict;
}

/*
 * The stats before an operation: those fz_check_pool() read after the last
 * one if nothing changed the pool since, else read now.
 */
static inline void fz_stats_before(struct fz_harness *h, struct zpool_stats *st)
{
	if (h->st_valid)
		*st = h->st;
	else
		zpool_get_stats(h->pool, st);
}

/* Whether empty pools are kept across inputs (not if ZPOOL_FUZZ_FRESH_POOLS=1). */
static inline bool fz_keep_pools(void)
{
	static int keep = -1;

	if (keep < 0) {
		const char *e = getenv("ZPOOL_FUZZ_FRESH_POOLS");

		keep = !(e && *e && strcmp(e, "0") != 0);
	}
	return keep;
}

/* Take a kept pool matching @h's type and @max_pages, or NULL. */
static inline struct zpool *fz_take_spare(struct fz_harness *h, size_t max_pages)
{
	for (int i = 0; i < FZ_SPARES; i++) {
		struct fz_spare *sp = &h->spare[i];
		struct zpool *pool = sp->pool;

		if (pool && sp->max_pages == max_pages && strcmp(sp->type, h->type) == 0) {
			sp->pool = NULL;
			return pool;
		}
	}
	return NULL;
}

/*
 * Creates the contract refuses, tried when the fault byte asks for it:
 * a probability outside [0, 1] (or NaN), an unknown backend, NULL
 * arguments, a zbud arena larger than the address space (-EINVAL) or
 * than what mmap can give (-ENOMEM); each must fail with its code and leave
 * nothing behind
 * (LeakSanitizer reports a pool leaked by a failed create). A create with
 * the default configuration (NULL) is not tried: its arena of
 * ZPOOL_DEFAULT_MAX_PAGES pages costs milliseconds of ASan shadow setup.
 */
static inline void fz_create_refused(struct fz_harness *h, uint8_t fault)
{
	static const double bad_prob[] = { -0.25, 1.5, NAN };
	struct zpool_config cfg = h->cfg;
	struct zpool *pool = NULL;
	int err;

	if (!zpool_has_pool(h->type) || zpool_has_pool("no-such-backend") || zpool_has_pool(NULL))
		fz_fail(h, -1, "zpool_has_pool: wrong answer for %s, an unknown name or NULL",
			h->type);
	cfg.fail_page_alloc_prob = bad_prob[(fault >> 3) % 3];
	err = zpool_create_pool(h->type, &cfg, &pool);
	if (err != -EINVAL || pool)
		fz_fail(h, -1, "create with fault probability %g: expected -EINVAL seen %d",
			cfg.fail_page_alloc_prob, err);
	err = zpool_create_pool("no-such-backend", &h->cfg, &pool);
	if (err != -ENOENT || pool)
		fz_fail(h, -1, "create of an unknown backend: expected -ENOENT seen %d", err);
	if (zpool_create_pool(NULL, &h->cfg, &pool) != -EINVAL || pool ||
	    zpool_create_pool(h->type, &h->cfg, NULL) != -EINVAL)
		fz_fail(h, -1, "create with a NULL type or pool pointer: expected -EINVAL");
	/*
	 * Arenas (zbud's) larger than the address space are refused before
	 * any mapping, and half of it passes that check but cannot be
	 * mapped. The malloc backend maps nothing and accepts both.
	 */
	if (h->zbud) {
		cfg = h->cfg;
		cfg.max_pages = SIZE_MAX;
		err = zpool_create_pool(h->type, &cfg, &pool);
		if (err != -EINVAL || pool)
			fz_fail(h, -1, "create with SIZE_MAX pages: expected -EINVAL seen %d", err);
		cfg.max_pages = SIZE_MAX / ZPOOL_PAGE_SIZE / 2;
		err = zpool_create_pool(h->type, &cfg, &pool);
		if (err != -ENOMEM || pool)
			fz_fail(h, -1, "create with %zu pages: expected -ENOMEM seen %d",
				cfg.max_pages, err);
	}
	if (zpool_destroy_pool(NULL) != 0)
		fz_fail(h, -1, "destroy of NULL: expected 0");
}

/*
 * Create the pool with @max_pages pages and the fault setting @fault:
 * fault % 8 == 7: fail every 2 + (fault >> 3) % 8th page allocation;
 * fault % 8 == 6: fail with probability (fault >> 3) / 32; fault % 8 == 5:
 * no injection, but try the refused creates of fz_create_refused() first.
 * Without injection a kept pool of the same backend and size may serve.
 */
static inline void fz_create(struct fz_harness *h, unsigned int max_pages, uint8_t fault)
{
	int err;

	memset(&h->cfg, 0, sizeof(h->cfg));
	if (max_pages < fz_shards)
		max_pages = fz_shards;
	h->cfg.max_pages = max_pages;
	h->cfg.shards = fz_shards;
	h->cfg.ops = &h->ops;
	h->cfg.priv = h;
	if (fault % 8 == 7)
		h->cfg.fail_page_alloc_every = 2u + (fault >> 3) % 8u;
	else if (fault % 8 == 6)
		h->cfg.fail_page_alloc_prob = (fault >> 3) / 32.0;
	else if (fault % 8 == 5)
		fz_create_refused(h, fault);
	h->cfg.seed = fault;
	h->npages = 0;
	h->cur = -1;
	h->st_valid = false;
	h->pool = NULL;
	if (!h->cfg.fail_page_alloc_every && !h->cfg.fail_page_alloc_prob)
		h->pool = fz_take_spare(h, max_pages);
	if (!h->pool) {
		err = zpool_create_pool(h->type, &h->cfg, &h->pool);
		if (err)
			fz_fail(h, -1, "create %s with %u pages: expected 0 seen %d", h->type,
				max_pages, err);
	}
	if (strcmp(zpool_get_type(h->pool), h->type) != 0)
		fz_fail(h, -1, "zpool_get_type: expected %s seen %s", h->type,
			zpool_get_type(h->pool));
}

/* The checks that hold after every operation. */
static inline void fz_check_pool(struct fz_harness *h)
{
	struct zpool_stats st;
	uint64_t bytes = 0;
	unsigned int live = 0;
	char why[160];

	if (!h->pool)
		return;
	if (zpool_check(h->pool, why, sizeof(why)))
		fz_fail(h, -1, "zpool_check: expected 0 seen -EUCLEAN: %s", why);
	zpool_get_stats(h->pool, &st);
	h->st = st;
	/* Inside an evict callback the pool changes again once it returns. */
	h->st_valid = !h->in_cb;
	for (int s = 0; s < FZ_SLOTS; s++) {
		if (h->obj[s].state == FZ_LIVE) {
			live++;
			bytes += h->obj[s].size;
		}
	}
	if (st.objects != live)
		fz_fail(h, -1, "stats.objects: expected %u seen %llu", live,
			(unsigned long long)st.objects);
	if (st.total_size != zpool_get_total_size(h->pool))
		fz_fail(h, -1, "stats.total_size %llu differs from zpool_get_total_size %llu",
			(unsigned long long)st.total_size,
			(unsigned long long)zpool_get_total_size(h->pool));
	if (st.pages > st.max_pages || st.max_pages != h->cfg.max_pages)
		fz_fail(h, -1, "stats: %llu pages of max %llu, configured %zu",
			(unsigned long long)st.pages, (unsigned long long)st.max_pages,
			h->cfg.max_pages);
	if (h->zbud) {
		if (st.pages != h->npages)
			fz_fail(h, -1, "zbud pages: expected %u seen %llu", h->npages,
				(unsigned long long)st.pages);
		if (st.total_size != st.pages * ZPOOL_PAGE_SIZE)
			fz_fail(h, -1, "zbud total size: expected %llu seen %llu",
				(unsigned long long)(st.pages * ZPOOL_PAGE_SIZE),
				(unsigned long long)st.total_size);
		if (h->cur < 0 && (st.pages > live || st.pages < (live + 1) / 2))
			fz_fail(h, -1, "zbud: %llu pages for %u objects",
				(unsigned long long)st.pages, live);
	} else {
		if (st.total_size < bytes || (!live && h->cur < 0 && st.total_size))
			fz_fail(h, -1, "total size: expected >= %llu seen %llu",
				(unsigned long long)bytes, (unsigned long long)st.total_size);
		if (st.total_size > st.max_pages * ZPOOL_PAGE_SIZE)
			fz_fail(h, -1, "total size %llu over the cap",
				(unsigned long long)st.total_size);
	}
}

/*****************
 * Operations
 *****************/

/* Map @s read-only and check its bytes. */
static inline void fz_verify(struct fz_harness *h, int s, const char *what)
{
	const uint8_t *p = zpool_map_handle(h->pool, h->obj[s].handle, ZPOOL_MM_RO);

	if (!p)
		fz_fail(h, s, "%s: map returned NULL for handle %#lx", what, h->obj[s].handle);
	fz_expect_pattern(h, s, p, what);
	zpool_unmap_handle(h->pool, h->obj[s].handle);
}

/* Write @src (or the pattern of @seed if NULL) into @s through a WO map. */
static inline void fz_write(struct fz_harness *h, int s, uint8_t seed, const uint8_t *src)
{
	uint8_t *p = zpool_map_handle(h->pool, h->obj[s].handle, ZPOOL_MM_WO);

	if (!p)
		fz_fail(h, s, "write: map returned NULL for handle %#lx", h->obj[s].handle);
	if (src)
		memcpy(p, src, h->obj[s].size);
	else
		fz_fill(p, h->obj[s].size, seed);
	h->obj[s].seed = seed;
	zpool_unmap_handle(h->pool, h->obj[s].handle);
}

/* Where live slot @s is mapped: its address, or a copy's (zsmalloc). */
static inline unsigned long fz_addr(const struct fz_harness *h, int s)
{
	unsigned long a = (unsigned long)zpool_map_handle(h->pool, h->obj[s].handle, ZPOOL_MM_RO);

	zpool_unmap_handle(h->pool, h->obj[s].handle);
	return a;
}

/*
 * A new object must not overlap any live one. Only objects whose handle is
 * their address (zbud, malloc, z3fold's headless pages) can be compared so:
 * an indirect handle (z3fold, zsmalloc) says nothing of where its object
 * is, and a map may return a copy (zsmalloc's objects that span pages).
 * Those are covered by the byte pattern, checked at the next touch.
 */
static inline void fz_check_no_overlap(const struct fz_harness *h, int s)
{
	unsigned long a = h->obj[s].handle, b = a + h->obj[s].size;

	if (fz_addr(h, s) != a)
		return;
	for (int t = 0; t < FZ_SLOTS; t++) {
		const struct fz_obj *o = &h->obj[t];

		if (t == s || o->state != FZ_LIVE || fz_addr(h, t) != o->handle)
			continue;
		if (a < o->handle + o->size && o->handle < b)
			fz_fail(h, s, "new object [%#lx, %#lx) overlaps slot %d [%#lx, %#lx)", a, b,
				t, o->handle, o->handle + o->size);
	}
}

/*
 * Allocate @size bytes into empty slot @s and write the pattern of @seed (or
 * @src). Returns zpool_malloc()'s result after checking it.
 */
static inline int fz_alloc(struct fz_harness *h, int s, size_t size, uint8_t seed,
			   const uint8_t *src)
{
	struct zpool_stats before, after;
	unsigned long handle = 0;
	unsigned int best = 0;
	bool valid = size >= 1 && size <= ZPOOL_PAGE_SIZE;
	int err;

	fz_stats_before(h, &before);
	if (h->zbud && valid)
		best = zm_best_fit(h, fz_chunks(size));
	h->st_valid = false;
	err = zpool_malloc(h->pool, size, &handle);
	if (err)
		zpool_get_stats(h->pool, &after);
	if (!valid) {
		if (err != -EINVAL)
			fz_fail(h, s, "alloc(%zu): expected -EINVAL seen %d", size, err);
	} else if (err == -ENOMEM) {
		bool injected = after.injected_failures > before.injected_failures;
		bool full = h->zbud
				? !best && h->npages == h->cfg.max_pages
				: before.total_size + (fz_shards ? fz_shards : 1) * (size + 64) >
				      after.max_pages * ZPOOL_PAGE_SIZE; /* each shard too full */

		if (!injected && !full)
			fz_fail(
			    h, s,
			    "alloc(%zu): -ENOMEM with %llu of %llu pages, %llu bytes, best fit %u",
			    size, (unsigned long long)after.pages,
			    (unsigned long long)after.max_pages,
			    (unsigned long long)after.total_size, best);
		if (h->zbud && best)
			fz_fail(h, s,
				"alloc(%zu): -ENOMEM although a page with %u free chunks fits",
				size, best);
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
	h->obj[s].handle = handle;
	h->obj[s].size = (uint32_t)size;
	h->obj[s].state = FZ_LIVE;
	fz_check_no_overlap(h, s);
	if (h->zbud)
		zm_alloced(h, s, best);
	fz_write(h, s, seed, src);
	return 0;
}

/* Verify and free live slot @s. */
static inline void fz_free(struct fz_harness *h, int s)
{
	fz_verify(h, s, "free");
	h->st_valid = false;
	zpool_free(h->pool, h->obj[s].handle);
	if (h->zbud)
		zm_freed(h, s);
	h->obj[s].state = FZ_EMPTY;
}

/* Bring stored slot @s back into the pool from the backing store. */
static inline int fz_reload(struct fz_harness *h, int s)
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
 * lets the harness's policy decide. The default success path verifies the
 * bytes, copies them to the backing store and frees the handle.
 */
static inline int fz_evict(struct zpool *pool, unsigned long handle, void *priv)
{
	struct fz_harness *h = priv;
	bool stale = false;
	int s, ret;

	if (pool != h->pool)
		fz_fail(h, -1, "evict called with pool %p, expected %p", (void *)pool,
			(void *)h->pool);
	if (h->zbud)
		stale = zm_evict_called(h, handle);
	s = stale ? -1 : fz_slot_of_handle(h, handle);
	if (!stale && s < 0)
		fz_fail(h, -1, "evict of handle %#lx, which the model does not hold live", handle);
	h->in_cb = true;
	ret = h->policy(h, s, handle);
	h->in_cb = false;
	h->cb_nr++;
	if (ret)
		h->cb_fail++;
	else
		h->cb_ok++;
	if (h->zbud)
		zm_evict_returned(h, handle, ret);
	return ret;
}

/* Evict slot @s for real: verify, copy to the store, free. */
static inline int fz_evict_to_store(struct fz_harness *h, int s)
{
	const uint8_t *p = zpool_map_handle(h->pool, h->obj[s].handle, ZPOOL_MM_RO);

	fz_expect_pattern(h, s, p, "evict");
	memcpy(h->store[s], p, h->obj[s].size);
	zpool_unmap_handle(h->pool, h->obj[s].handle);
	h->st_valid = false;
	zpool_free(h->pool, h->obj[s].handle);
	if (h->zbud)
		zm_freed(h, s);
	h->obj[s].state = FZ_STORED;
	return 0;
}

/* The policy of the ops and diff targets: bit k of @mask says evict call k succeeds. */
static inline int fz_policy_mask(struct fz_harness *h, int s, unsigned long handle)
{
	(void)handle;
	if (!(h->mask >> (h->cb_nr % 32) & 1))
		return 1;
	return fz_evict_to_store(h, s);
}

/* Shrink by @pages pages and check the result against the model. */
static inline int fz_shrink(struct fz_harness *h, unsigned int pages, uint32_t mask)
{
	struct zpool_stats before, after;
	unsigned int live = fz_live_count(h), reclaimed = 12345;
	int err;

	fz_stats_before(h, &before);
	h->mask = mask;
	h->cb_nr = h->cb_ok = h->cb_fail = 0;
	h->failed_attempts = h->freed_by_reclaim = 0;
	h->st_valid = false;
	err = zpool_shrink(h->pool, pages, &reclaimed);
	if (h->zbud)
		zm_finish_attempt(h);
	zpool_get_stats(h->pool, &after);
	if (err != 0 && err != -EINVAL && err != -EAGAIN)
		fz_fail(h, -1, "shrink(%u): expected 0, -EINVAL or -EAGAIN, seen %d", pages, err);
	/* A backend freeing pages in groups (zsmalloc) may reclaim more (zpool.h). */
	if ((err == 0 && reclaimed < pages) || (err != 0 && pages && reclaimed >= pages))
		fz_fail(h, -1, "shrink(%u) returned %d with %u pages reclaimed", pages, err,
			reclaimed);
	if ((pages == 0 || live == 0) && (err != -EINVAL || h->cb_nr))
		fz_fail(h, -1,
			"shrink(%u) of %u objects: expected -EINVAL and no evict, seen %d "
			"after %u evicts",
			pages, live, err, h->cb_nr);
	if (err == -EINVAL && pages && fz_live_count(h))
		fz_fail(h, -1, "shrink(%u): -EINVAL while %u objects are live", pages,
			fz_live_count(h));
	if (err == -EAGAIN && h->cb_fail < FZ_RETRIES)
		fz_fail(h, -1, "shrink(%u): -EAGAIN after only %u failed evicts", pages,
			h->cb_fail);
	if (after.evictions - before.evictions != h->cb_ok ||
	    after.evict_failures - before.evict_failures != h->cb_fail)
		fz_fail(h, -1, "evict counters: expected +%u/+%u seen +%llu/+%llu", h->cb_ok,
			h->cb_fail, (unsigned long long)(after.evictions - before.evictions),
			(unsigned long long)(after.evict_failures - before.evict_failures));
	if (h->zbud) {
		if (reclaimed != h->freed_by_reclaim)
			fz_fail(h, -1, "zbud shrink(%u): model freed %u pages, shrink reports %u",
				pages, h->freed_by_reclaim, reclaimed);
		if (err == -EAGAIN && h->failed_attempts != FZ_RETRIES)
			fz_fail(h, -1,
				"zbud shrink(%u): -EAGAIN after %u failed page attempts, "
				"expected %u",
				pages, h->failed_attempts, FZ_RETRIES);
		if (err == 0 && h->failed_attempts)
			fz_fail(h, -1,
				"zbud shrink(%u): 0 but %u attempts failed after the last page",
				pages, h->failed_attempts);
	}
	return err;
}

/*
 * Destroy the pool: with live objects it must refuse with -EBUSY and leave
 * everything intact; empty, it must succeed, and a new pool of @max_pages
 * pages and fault setting @fault replaces it.
 */
static inline void fz_recreate(struct fz_harness *h, unsigned int max_pages, uint8_t fault)
{
	unsigned int live = fz_live_count(h);
	int err;

	h->st_valid = false;
	err = zpool_destroy_pool(h->pool);
	if (live) {
		if (err != -EBUSY)
			fz_fail(h, -1, "destroy with %u live objects: expected -EBUSY seen %d",
				live, err);
		for (int s = 0; s < FZ_SLOTS; s++)
			if (h->obj[s].state == FZ_LIVE)
				fz_verify(h, s, "after refused destroy");
		return;
	}
	if (err)
		fz_fail(h, -1, "destroy of an empty pool: expected 0 seen %d", err);
	h->pool = NULL;
	fz_create(h, max_pages, fault);
}

/* Destroy an empty pool: it must succeed. */
static inline void fz_destroy_empty(struct fz_harness *h, struct zpool *pool)
{
	int err = zpool_destroy_pool(pool);

	if (err)
		fz_fail(h, -1, "destroy of an empty pool: expected 0 seen %d", err);
}

/*
 * Keep the empty pool for a later input; a pool already kept for the
 * same backend and size, or else the oldest kept one, is destroyed.
 */
static inline void fz_keep_pool(struct fz_harness *h)
{
	struct fz_spare *sp = NULL;

	for (int i = 0; i < FZ_SPARES && !sp; i++)
		if (!h->spare[i].pool || (h->spare[i].max_pages == h->cfg.max_pages &&
					  !strcmp(h->spare[i].type, h->type)))
			sp = &h->spare[i];
	if (!sp)
		sp = &h->spare[h->spare_next++ % FZ_SPARES];
	if (sp->pool)
		fz_destroy_empty(h, sp->pool);
	sp->pool = h->pool;
	sp->type = h->type;
	sp->max_pages = h->cfg.max_pages;
}

/*
 * Free everything, verifying it: the pool must end empty. Then destroy it
 * (it must succeed), or keep it for a later input if it has no fault
 * injection.
 */
static inline void fz_teardown(struct fz_harness *h)
{
	struct zpool_stats st;

	for (int s = 0; s < FZ_SLOTS; s++) {
		if (h->obj[s].state == FZ_LIVE)
			fz_free(h, s);
		h->obj[s].state = FZ_EMPTY;
	}
	fz_check_pool(h);
	st = h->st;
	if (st.total_size || st.pages || st.objects)
		fz_fail(h, -1, "empty pool: expected 0 bytes/pages/objects seen %llu/%llu/%llu",
			(unsigned long long)st.total_size, (unsigned long long)st.pages,
			(unsigned long long)st.objects);
	if (fz_keep_pools() && !h->cfg.fail_page_alloc_every && !h->cfg.fail_page_alloc_prob)
		fz_keep_pool(h);
	else
		fz_destroy_empty(h, h->pool);
	h->pool = NULL;
}

/* The first slot at or after @s in state @state, or -1. */
static inline int fz_pick(const struct fz_harness *h, unsigned int s, enum fz_state state)
{
	for (unsigned int i = 0; i < FZ_SLOTS; i++) {
		unsigned int t = (s + i) % FZ_SLOTS;

		if (h->obj[t].state == state)
			return (int)t;
	}
	return -1;
}

/*
 * The operations the targets decode alike, whatever their opcode numbers:
 * each picks the first slot from @slot in the state it needs (and does
 * nothing if there is none). fz_op_alloc() returns false when the input
 * ran out before its size.
 */
static inline bool fz_op_alloc(struct fz_harness *h, struct fz_reader *r, unsigned int slot)
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

static inline void fz_op_free(struct fz_harness *h, unsigned int slot)
{
	int s = fz_pick(h, slot, FZ_LIVE);

	if (s >= 0)
		fz_free(h, s);
}

static inline void fz_op_verify(struct fz_harness *h, unsigned int slot)
{
	int s = fz_pick(h, slot, FZ_LIVE);

	if (s >= 0)
		fz_verify(h, s, "verify");
}

static inline void fz_op_reload(struct fz_harness *h, unsigned int slot)
{
	int s = fz_pick(h, slot, FZ_STORED);

	if (s >= 0)
		fz_reload(h, s);
}

#endif /* ZPOOL_FUZZ_HELPERS_H */
