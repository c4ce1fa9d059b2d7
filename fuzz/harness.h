/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * harness.h - one pool and the shadow model of what it must hold
 *
 * Every target turns its input into zpool operations and runs them on a
 * harness (struct fz_harness): a pool and a model strict enough that a bug
 * injected into a backend shows at the first operation whose result it
 * changes, not at the end of the run:
 *
 * - Each slot holds one object: its handle, size and the seed of the byte
 *   pattern it was written with (model.c). Bytes are checked whenever the
 *   harness touches the object and, every FZ_FULL_EVERY operations and at
 *   the end, for every live object. New objects must not overlap live ones.
 * - Evicted objects go to a per-slot backing store and come back with
 *   reload; an eviction must deliver the pattern intact.
 * - Return codes follow zpool.h; -ENOMEM only when the backend's model
 *   allows it (struct fz_backend_model).
 * - Every counter of zpool_get_stats() is compared after every operation
 *   with what the model counted since the pool was created (counters.c).
 * - For zbud, a page model (zbud_model.c) predicts placement, the LRU order
 *   and each evict callback's handle, the page count exactly, and shrink's
 *   reclaimed count and return code.
 * - The per-operation check costs what the operation touched; the full walk
 *   (zpool_check() and the bytes of every live object) runs every
 *   FZ_FULL_EVERY operations and at the end of each input.
 *
 * On a disagreement fz_fail() prints the operation, the slot, what was
 * expected and what was seen, then abort()s: libFuzzer keeps the input and
 * the replay main exits non-zero.
 *
 * Empty pools are kept across inputs (pool.c): the model depends on no
 * address, so an input runs the same on a kept pool as on a new one.
 */
#ifndef ZPOOL_FUZZ_HARNESS_H
#define ZPOOL_FUZZ_HARNESS_H

#include "fuzz_helpers.h"
#include "zbud_model.h"

/*
 * FZ_CHECK_OPS: 1 checks after every operation and walks everything every
 * FZ_FULL_EVERY operations; 0 (the fuzz_harness_nocheck library, for
 * fuzz/speed.sh --nocheck) checks only at the end of each input.
 */
#ifndef FZ_CHECK_OPS
#define FZ_CHECK_OPS 1
#endif
#define FZ_FULL_EVERY 32u
#define FZ_SPARES     8u /* empty pools a harness keeps for later inputs */

enum fz_state { FZ_EMPTY, FZ_LIVE, FZ_STORED };

/**
 * struct fz_obj - what the model knows of one slot
 * @handle: the handle while FZ_LIVE
 * @size: object size in bytes
 * @seed: the pattern the bytes must hold (fz_pattern_of())
 * @state: enum fz_state
 */
struct fz_obj {
	unsigned long handle;
	uint32_t size;
	uint8_t seed;
	uint8_t state;
};

/**
 * struct fz_backend_model - what the model knows of a backend beyond the
 * contract every backend keeps (model.c has the table; a backend not in it
 * gets the contract alone)
 * @type: backend name
 * @page_model: the zbud page model applies
 * @exact_peak: peak_pages is the highest page count seen after an alloc
 * @one_failure_per_enomem: each -ENOMEM is one failed page allocation and
 *	nothing else fails one
 * @page_alloc_is_alloc: page_allocs counts successful zpool_malloc()s
 * @handle_is_address: a handle is the object's address, which stays put
 *	(so new objects are checked not to overlap live ones at once)
 * @page_reclaim: shrink frees a page at a time, never more than asked,
 *	with FZ_RETRIES failed page attempts before -EAGAIN (otherwise the
 *	contract: 0 with at least the pages asked, -EAGAIN with fewer)
 * @obj_overhead: bytes each object costs beyond its size, for the cap
 *	(-ENOMEM only when the bytes would exceed it); 0: not modelled
 */
struct fz_backend_model {
	const char *type;
	bool page_model;
	bool exact_peak;
	bool one_failure_per_enomem;
	bool page_alloc_is_alloc;
	bool handle_is_address;
	bool page_reclaim;
	unsigned int obj_overhead;
};

/* The counters the model keeps since the pool was created or taken. */
struct fz_counts {
	uint64_t allocs, alloc_enomem, evictions, evict_failures;
	uint64_t shrink_calls, shrink_eagain, pages_reclaimed, new_pages;
	uint64_t compactions, pages_compacted;
	uint64_t peak_seen;
};

/**
 * struct fz_spare - an empty pool kept for the next input that asks for it
 */
struct fz_spare {
	struct zpool *pool;
	const char *type;
	size_t max_pages;
};

struct fz_harness;
/* What an evict callback does; returns the callback's result. */
typedef int (*fz_evict_policy)(struct fz_harness *h, int slot, unsigned long handle);

/**
 * struct fz_harness - one pool and its model
 * @name: label for messages; @type: backend; @model: what is known of it
 * @pool: the pool, NULL between destroy and recreate; @cfg its configuration
 * @obj: the slots; @live, @live_bytes: how many are live, their bytes
 * @store: backing store, one page per slot
 * @op: index of the operation running, for messages
 * @zm: the zbud page model (used when @model->page_model)
 * @policy: decides each eviction; @mask and @cb_nr are its inputs
 * @cb_ok, @cb_fail: evict callbacks of this shrink that returned 0 / not
 * @in_cb: an evict callback is running
 * @bad_evict: misbehave: the evict callback returns 0 without freeing
 * @base: the stats when the pool was created or taken; @n: what the model
 *	counted since
 * @st: the stats as of the last check; @st_valid: still true
 * @spare, @spare_next: empty pools kept across inputs (survive init)
 */
struct fz_harness {
	const char *name;
	const char *type;
	const struct fz_backend_model *model;
	struct zpool *pool;
	struct zpool_config cfg;
	struct zpool_ops ops;
	struct fz_obj obj[FZ_SLOTS];
	unsigned int live;
	uint64_t live_bytes;
	uint8_t (*store)[ZPOOL_PAGE_SIZE];
	unsigned int op;
	struct zm_model zm;
	fz_evict_policy policy;
	uint32_t mask;
	unsigned int cb_nr, cb_ok, cb_fail;
	bool in_cb;
	bool bad_evict;
	struct zpool_stats base;
	struct fz_counts n;
	struct zpool_stats st;
	bool st_valid;
	/* Must stay last: fz_harness_init() clears everything before. */
	struct fz_spare spare[FZ_SPARES];
	unsigned int spare_next;
};

/*
 * Shards of every pool (zpool_config.shards), 0 or 1 for one pool; a target
 * sets it before its first input. A sharded pool is N pools of the backend
 * behind one, so what the model knows of one pool of a backend (its page
 * model, exact peak and failure counts, handles that are addresses, its
 * reclaim order) gives way to the contract.
 */
extern unsigned int fz_shards;

__attribute__((format(printf, 3, 4), noreturn)) void fz_fail(const struct fz_harness *h, int slot,
							     const char *fmt, ...);

/* model.c: the slots, the byte patterns and the operations */
void fz_harness_init(struct fz_harness *h, const char *name, const char *type,
		     uint8_t (*store)[ZPOOL_PAGE_SIZE], fz_evict_policy policy);
const uint8_t *fz_pattern_of(uint8_t seed);
int fz_pick(const struct fz_harness *h, unsigned int s, enum fz_state state);
void fz_verify(struct fz_harness *h, int s, const char *what);
void fz_write(struct fz_harness *h, int s, uint8_t seed, const uint8_t *src);
int fz_alloc(struct fz_harness *h, int s, size_t size, uint8_t seed, const uint8_t *src);
void fz_free(struct fz_harness *h, int s);
int fz_reload(struct fz_harness *h, int s);
int fz_shrink(struct fz_harness *h, unsigned int pages, uint32_t mask);
void fz_compact(struct fz_harness *h);
int fz_evict_to_store(struct fz_harness *h, int s);
int fz_policy_mask(struct fz_harness *h, int s, unsigned long handle);
/* The operations the targets decode alike (false: the input ran out). */
bool fz_op_alloc(struct fz_harness *h, struct fz_reader *r, unsigned int slot);
void fz_op_free(struct fz_harness *h, unsigned int slot);
void fz_op_verify(struct fz_harness *h, unsigned int slot);
void fz_op_reload(struct fz_harness *h, unsigned int slot);

/* counters.c: the checks */
void fz_check_counters(struct fz_harness *h);
void fz_check_op(struct fz_harness *h);
void fz_check_full(struct fz_harness *h);
void fz_after_op(struct fz_harness *h);

/* pool.c: create, destroy, keep for later inputs */
void fz_create(struct fz_harness *h, unsigned int max_pages, uint8_t fault);
void fz_recreate(struct fz_harness *h, unsigned int max_pages, uint8_t fault);
void fz_teardown(struct fz_harness *h);

#endif /* ZPOOL_FUZZ_HARNESS_H */
