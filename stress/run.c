// SPDX-License-Identifier: GPL-2.0-only
/*
 * run.c - slots, owner and reclaimer threads, and the evict callback
 *
 * The model is zswap's. Each of K slots plays a swap entry: it is empty,
 * holds an object in the pool (handle, version, size), or holds the
 * object's bytes in the backing store (a malloc'd copy: "written back",
 * or "rejected" when the pool stayed full). Owners pick slots at random
 * and store, load, invalidate or swap in; reclaimers call zpool_shrink()
 * without pause; the evict callback writes objects back.
 *
 * Locks and their order (a thread only ever takes them left to right):
 *
 *	pause (rw) -> publish (rw) -> slot lock -> pool lock (in the backend)
 *
 * - slot lock: protects a slot's fields. Owners hold it to publish, load,
 *   free or swap in; zpool_free() and zpool_map_handle() then take the
 *   pool lock, which is the slot -> pool order of docs/design.md.
 * - The evict callback runs with no backend lock held (the contract), so
 *   it may take a slot lock and call zpool_free() under it.
 * - No thread calls zpool_shrink() while it holds a slot lock or publish:
 *   the callback it may run needs both, so an owner whose zpool_malloc()
 *   fails with -ENOMEM drops publish first (it holds no slot lock then:
 *   a store allocates and writes the object before it locks the slot).
 * - publish: stores hold it shared from zpool_malloc() until the handle is
 *   published in its slot. The callback reads the object's header without
 *   a lock (byte-wise atomics, as the owner writes it), so a new object
 *   may still be half-written; when the slot named by the header does not
 *   own the handle, the callback takes publish exclusively for a moment,
 *   and once no store is in flight the header is complete and final. Then
 *   "its slot does not own it" can only mean "its owner freed it", and the
 *   callback returns 0 without touching it: the owner's zpool_free()
 *   already happened, and the backend releases the memory when reclaim is
 *   done with it. A handle under reclaim is never handed out again, so the
 *   answer cannot go stale. publish is writer-preferring so that a
 *   callback is not starved by a stream of stores.
 * - pause: only with --check-every. Every owner operation and every
 *   reclaimer shrink holds it shared; the thread that runs zpool_check()
 *   takes it exclusively, so the check sees the pool between operations
 *   (zbud's page count is updated outside its lock, so a check during an
 *   operation can see the pool mid-way).
 *
 * A wrong byte anywhere during the run prints slot, version, offset,
 * expected and seen byte, and exits 1 at once; the final pass counts every
 * lost byte before failing.
 */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np */
#include "stress.h"
#include "watchdog.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* zpool_malloc() attempts (with a shrink between) before a store is rejected. */
#define STORE_TRIES 4
/* Owners sample the pool's objects and pages every this many operations. */
#define SAMPLE_EVERY 256
/* Final-pass mismatches printed in full; the rest are only counted. */
#define MISMATCHES_SHOWN 10

enum slot_where { SLOT_EMPTY, SLOT_POOL, SLOT_BACKING };

/**
 * struct slot - one swap entry
 * @lock: protects every field but @next_version
 * @where: empty, in the pool, or in the backing store
 * @rejected: in the backing store because the pool stayed full
 * @version: version of the object held
 * @size: its size in bytes
 * @handle: its handle when in the pool
 * @backing: its bytes when in the backing store
 * @next_version: hands out versions to stores before they lock the slot
 * @holder: the id of the thread holding @lock, or -1; for the hang report
 */
struct slot {
	pthread_mutex_t lock;
	enum slot_where where;
	bool rejected;
	uint32_t version;
	uint32_t size;
	unsigned long handle;
	unsigned char *backing;
	atomic_uint next_version;
	atomic_int holder;
};

struct worker;

/**
 * struct run - one backend's run
 * @o: the options
 * @backend: the backend's name
 * @pool: the pool under test
 * @slots: the slots
 * @publish: held shared by stores in flight, exclusively by the callback
 * @pause: held shared by every operation when --check-every is on
 * @stop: tells every thread to finish
 * @ops_claimed: operations started, for --ops and --check-every
 * @watch: what each thread is doing, for the watchdog (one per worker)
 */
struct run {
	const struct stress_opts *o;
	const char *backend;
	struct zpool *pool;
	struct slot *slots;
	pthread_rwlock_t publish;
	pthread_rwlock_t pause;
	atomic_bool stop;
	atomic_uint_least64_t ops_claimed;
	struct stress_watch *watch;
};

/**
 * struct worker - one thread
 * @run: the run
 * @tid: its thread
 * @id: owners 0..N-1, reclaimers after them, then compactors, the main thread last
 * @rng: xorshift64* state
 * @buf: expected bytes of the object being stored or checked
 * @evict_buf: the same for the evict callback, which can run inside an
 *	owner's operation while @buf holds that operation's object
 * @c: what this thread counted
 * @watch: its published state (watchdog.h)
 */
struct worker {
	struct run *run;
	pthread_t tid;
	unsigned int id;
	uint64_t rng;
	unsigned char buf[ZPOOL_PAGE_SIZE];
	unsigned char evict_buf[ZPOOL_PAGE_SIZE];
	struct stress_counters c;
	struct stress_watch *watch;
};

/* The worker of the current thread: the evict callback counts into it. */
static _Thread_local struct worker *self;

static _Noreturn void vdie(int code, const char *fmt, va_list ap)
{
	fputs("zpool_stress: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	fflush(stdout);
	fflush(stderr);
	/* Other threads are mid-operation: leave without running exit handlers. */
	_exit(code);
}

/* The backend lost data or broke the contract: exit 1. */
static _Noreturn __attribute__((format(printf, 1, 2))) void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(STRESS_EXIT_MISMATCH, fmt, ap);
}

/* The harness could not run (memory, threads): exit 3, not a finding. */
static _Noreturn __attribute__((format(printf, 1, 2))) void die_harness(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(STRESS_EXIT_HARNESS, fmt, ap);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p)
		die_harness("out of memory (%zu bytes)", n);
	return p;
}

static uint64_t rng_next(struct worker *w)
{
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 0x2545f4914f6cdd1dULL;
}

static double rng_unit(struct worker *w)
{
	return (double)(rng_next(w) >> 11) * 0x1.0p-53;
}

static void rng_seed(struct worker *w, uint64_t seed)
{
	uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (w->id + 1);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	w->rng = (z ^ (z >> 31)) | 1; /* xorshift state must not be 0 */
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const char *where_name(enum slot_where where, bool rejected)
{
	if (where == SLOT_POOL)
		return "in the pool";
	return rejected ? "in the backing store, rejected" : "in the backing store";
}

/*****************
 * Calls and locks the watchdog sees
 *
 * Each publishes the call or lock wait it is about to make, so that a hang
 * report says where every thread stopped (watchdog.h).
 *****************/

static int w_malloc(struct worker *w, size_t size, unsigned long *handle)
{
	int err;

	watch_call(w->watch, CALL_MALLOC, WATCH_NO_SLOT, 0);
	err = zpool_malloc(w->run->pool, size, handle);
	watch_return(w->watch);
	return err;
}

static void w_free(struct worker *w, unsigned long handle)
{
	watch_call(w->watch, CALL_FREE, WATCH_NO_SLOT, handle);
	zpool_free(w->run->pool, handle);
	watch_return(w->watch);
}

static void *w_map(struct worker *w, unsigned long handle, enum zpool_mapmode mm)
{
	void *p;

	watch_call(w->watch, CALL_MAP, WATCH_NO_SLOT, handle);
	p = zpool_map_handle(w->run->pool, handle, mm);
	watch_return(w->watch);
	return p;
}

static void w_unmap(struct worker *w, unsigned long handle)
{
	watch_call(w->watch, CALL_UNMAP, WATCH_NO_SLOT, handle);
	zpool_unmap_handle(w->run->pool, handle);
	watch_return(w->watch);
}

static int w_shrink(struct worker *w)
{
	int err;

	watch_call(w->watch, CALL_SHRINK, WATCH_NO_SLOT, 0);
	err = zpool_shrink(w->run->pool, 1, NULL);
	watch_return(w->watch);
	return err;
}

static int w_check(struct worker *w, char *why, size_t len)
{
	int err;

	watch_call(w->watch, CALL_CHECK, WATCH_NO_SLOT, 0);
	err = zpool_check(w->run->pool, why, len);
	watch_return(w->watch);
	return err;
}

static void w_stats(struct worker *w, struct zpool_stats *st)
{
	watch_call(w->watch, CALL_STATS, WATCH_NO_SLOT, 0);
	zpool_get_stats(w->run->pool, st);
	watch_return(w->watch);
}

static void slot_lock(struct worker *w, uint32_t idx)
{
	struct slot *s = &w->run->slots[idx];

	watch_call(w->watch, CALL_SLOT_LOCK, idx, 0);
	pthread_mutex_lock(&s->lock);
	atomic_store_explicit(&s->holder, (int)w->id, memory_order_relaxed);
	watch_return(w->watch);
}

static void slot_unlock(struct slot *s)
{
	atomic_store_explicit(&s->holder, -1, memory_order_relaxed);
	pthread_mutex_unlock(&s->lock);
}

/* For the hang report: who holds slot @slot's lock, or -1. */
static int slot_holder(void *ctx, uint32_t slot)
{
	struct run *r = ctx;

	if (slot >= r->o->slots)
		return -1;
	return atomic_load_explicit(&r->slots[slot].holder, memory_order_relaxed);
}

static void rwlock_shared(struct worker *w, pthread_rwlock_t *l, enum watch_call call)
{
	watch_call(w->watch, call, WATCH_NO_SLOT, 0);
	pthread_rwlock_rdlock(l);
	watch_return(w->watch);
}

static void rwlock_exclusive(struct worker *w, pthread_rwlock_t *l, enum watch_call call)
{
	watch_call(w->watch, call, WATCH_NO_SLOT, 0);
	pthread_rwlock_wrlock(l);
	watch_return(w->watch);
}

/*****************
 * Objects and slots
 *****************/

static uint32_t pick_size(struct worker *w)
{
	const struct stress_opts *o = w->run->o;
	uint32_t size;

	if (o->nr_sizes)
		size = o->sizes[rng_next(w) % o->nr_sizes];
	else
		size = 1 + (uint32_t)(rng_next(w) % ZPOOL_PAGE_SIZE);
	return size < STRESS_HDR_SIZE ? STRESS_HDR_SIZE : size;
}

/*
 * The header is written and read one byte at a time with atomics: the
 * evict callback reads it before it can lock the slot, possibly while the
 * store that allocated the handle is still writing it.
 */
static void write_object(struct worker *w, unsigned long handle, const unsigned char *obj,
			 uint32_t size)
{
	unsigned char *p = w_map(w, handle, ZPOOL_MM_WO);

	for (unsigned int i = 0; i < STRESS_HDR_SIZE; i++)
		__atomic_store_n(&p[i], obj[i], __ATOMIC_RELAXED);
	memcpy(p + STRESS_HDR_SIZE, obj + STRESS_HDR_SIZE, size - STRESS_HDR_SIZE);
	w_unmap(w, handle);
}

static void read_header(struct worker *w, unsigned long handle, uint32_t hdr[4])
{
	const unsigned char *p = w_map(w, handle, ZPOOL_MM_RO);
	unsigned char b[STRESS_HDR_SIZE];

	for (unsigned int i = 0; i < STRESS_HDR_SIZE; i++)
		b[i] = __atomic_load_n(&p[i], __ATOMIC_RELAXED);
	w_unmap(w, handle);
	memcpy(hdr, b, sizeof(b));
}

static bool header_is_valid(const struct run *r, const uint32_t hdr[4])
{
	return hdr[0] < r->o->slots && hdr[2] >= STRESS_HDR_SIZE && hdr[2] <= ZPOOL_PAGE_SIZE &&
	       hdr[3] == stress_header_check(r->o->seed, hdr[0], hdr[1], hdr[2]);
}

/*
 * Compare the bytes of slot @idx with what they must be; any difference
 * ends the run. @buf receives the expected bytes. Slot lock held.
 */
static void verify_slot(struct worker *w, uint32_t idx, struct slot *s, unsigned char *buf)
{
	struct run *r = w->run;
	const unsigned char *seen;
	size_t off;
	unsigned char got = 0;

	stress_make_object(buf, r->o->seed, idx, s->version, s->size);
	seen = s->where == SLOT_POOL ? w_map(w, s->handle, ZPOOL_MM_RO) : s->backing;
	off = stress_first_mismatch(seen, buf, s->size);
	if (off < s->size)
		got = seen[off];
	if (s->where == SLOT_POOL)
		w_unmap(w, s->handle);
	if (off < s->size)
		die("MISMATCH backend %s slot %u version %u (%s, handle %#lx, size %u): "
		    "offset %zu expected 0x%02x seen 0x%02x",
		    r->backend, idx, s->version, where_name(s->where, s->rejected), s->handle,
		    s->size, off, buf[off], got);
	w->c.bytes_verified += s->size;
}

/* Release whatever the slot holds and mark it empty. Slot lock held. */
static void drop_slot(struct worker *w, struct slot *s)
{
	if (s->where == SLOT_POOL)
		w_free(w, s->handle);
	else if (s->where == SLOT_BACKING)
		free(s->backing);
	s->where = SLOT_EMPTY;
	s->rejected = false;
	s->handle = 0;
	s->backing = NULL;
}

/*****************
 * The evict callback
 *****************/

#define EVICT_NOT_OWNED 1

/*
 * If the slot named by @hdr still owns @handle at that version, write the
 * object back (or refuse, with probability --fail-evict) and return 0 or
 * -EBUSY; otherwise EVICT_NOT_OWNED. Takes the slot lock, then the pool
 * lock inside zpool_free().
 */
static int try_writeback(struct worker *w, unsigned long handle, const uint32_t hdr[4])
{
	struct run *r = w->run;
	struct slot *s;
	unsigned char *copy;
	const unsigned char *p;

	if (!header_is_valid(r, hdr))
		return EVICT_NOT_OWNED;
	s = &r->slots[hdr[0]];
	slot_lock(w, hdr[0]);
	if (s->where != SLOT_POOL || s->handle != handle || s->version != hdr[1]) {
		slot_unlock(s);
		return EVICT_NOT_OWNED;
	}
	/* Whatever happens next, the object must be intact now. */
	verify_slot(w, hdr[0], s, w->evict_buf);
	if (r->o->bad_evict) {
		/* Claims a writeback it did not do: zpool_evict() must stop here. */
		slot_unlock(s);
		return 0;
	}
	if (r->o->fail_evict > 0.0 && rng_unit(w) < r->o->fail_evict) {
		slot_unlock(s);
		w->c.evict_refusals++;
		return -EBUSY;
	}
	copy = xmalloc(s->size);
	p = w_map(w, handle, ZPOOL_MM_RO);
	memcpy(copy, p, s->size);
	w_unmap(w, handle);
	w_free(w, handle);
	s->where = SLOT_BACKING;
	s->handle = 0;
	s->backing = copy;
	slot_unlock(s);
	w->c.writebacks++;
	return 0;
}

/*
 * zswap's writeback: map the handle, read the header, lock the slot it
 * names; see the top of this file for the protocol.
 */
static int evict_object(struct worker *w, unsigned long handle)
{
	uint32_t hdr[4];
	int ret;

	read_header(w, handle, hdr);
	ret = try_writeback(w, handle, hdr);
	if (ret != EVICT_NOT_OWNED)
		return ret;

	w->c.evict_slow++;
	rwlock_exclusive(w, &w->run->publish, CALL_PUBLISH_EXCL);
	read_header(w, handle, hdr);
	pthread_rwlock_unlock(&w->run->publish);
	if (!header_is_valid(w->run, hdr))
		die("backend %s: evict of handle %#lx, which holds no stress object "
		    "(header %08x %08x %08x %08x) while no store is in flight",
		    w->run->backend, handle, hdr[0], hdr[1], hdr[2], hdr[3]);
	ret = try_writeback(w, handle, hdr);
	if (ret != EVICT_NOT_OWNED)
		return ret;
	/* Freed by its owner: the backend releases it after reclaim. */
	w->c.evict_stale++;
	return 0;
}

static int stress_evict(struct zpool *pool, unsigned long handle, void *priv)
{
	struct worker *w = self;
	int ret;

	(void)pool;
	if (!w || w->run != priv)
		die("evict callback on a thread that is not a stress worker");
	watch_depth(w->watch, 1);
	ret = evict_object(w, handle);
	watch_depth(w->watch, 0);
	return ret;
}

/*****************
 * Owner operations
 *****************/

static void count_shrink(struct stress_counters *c, int err)
{
	if (err == 0)
		c->shrink_ok++;
	else if (err == -EAGAIN)
		c->shrink_eagain++;
	else if (err == -EINVAL)
		c->shrink_einval++;
	else
		die("zpool_shrink() returned %d", err);
}

/*
 * zswap's store: allocate and write the object with no slot lock held,
 * shrinking the pool on -ENOMEM; after STORE_TRIES failures keep the bytes
 * in the backing store instead (zswap's reject path). Then lock the slot,
 * drop what it held and publish the new object.
 */
static void op_store(struct worker *w, uint32_t idx)
{
	struct run *r = w->run;
	struct slot *s = &r->slots[idx];
	uint32_t size = pick_size(w);
	uint32_t version = atomic_fetch_add_explicit(&s->next_version, 1, memory_order_relaxed) + 1;
	unsigned char *backing = NULL;
	unsigned long handle = 0;
	int err;

	stress_make_object(w->buf, r->o->seed, idx, version, size);
	rwlock_shared(w, &r->publish, CALL_PUBLISH_SHARED);
	for (unsigned int tries = 1;; tries++) {
		err = w_malloc(w, size, &handle);
		if (err != -ENOMEM)
			break;
		w->c.enomem++;
		if (tries == STORE_TRIES)
			break;
		pthread_rwlock_unlock(&r->publish);
		w->c.owner_shrinks++;
		err = w_shrink(w);
		if (err && err != -EAGAIN && err != -EINVAL)
			die("zpool_shrink() returned %d", err);
		rwlock_shared(w, &r->publish, CALL_PUBLISH_SHARED);
	}
	if (err == 0) {
		if (!handle)
			die("backend %s: zpool_malloc() returned handle 0", r->backend);
		write_object(w, handle, w->buf, size);
	} else if (err == -ENOMEM) {
		backing = xmalloc(size);
		memcpy(backing, w->buf, size);
		w->c.rejects++;
	} else {
		die("backend %s: zpool_malloc(%u) returned %d", r->backend, size, err);
	}

	slot_lock(w, idx);
	drop_slot(w, s);
	s->where = backing ? SLOT_BACKING : SLOT_POOL;
	s->rejected = backing != NULL;
	s->version = version;
	s->size = size;
	s->handle = handle;
	s->backing = backing;
	slot_unlock(s);
	pthread_rwlock_unlock(&r->publish);
	w->c.ops[OP_STORE]++;
}

/*
 * Load, invalidate or swap in (load, then invalidate) slot @idx. Return
 * false if the slot was empty and nothing was done.
 */
static bool op_access(struct worker *w, uint32_t idx, enum stress_op op)
{
	struct run *r = w->run;
	struct slot *s = &r->slots[idx];

	slot_lock(w, idx);
	if (s->where == SLOT_EMPTY) {
		slot_unlock(s);
		return false;
	}
	if (s->where == SLOT_BACKING && op != OP_INVALIDATE)
		w->c.backing_hits++;
	if (op != OP_INVALIDATE)
		verify_slot(w, idx, s, w->buf);
	if (op != OP_LOAD)
		drop_slot(w, s);
	slot_unlock(s);
	w->c.ops[op]++;
	return true;
}

/* 35% store, 40% load, 10% invalidate, 15% swap in. */
static enum stress_op pick_op(struct worker *w, uint32_t *idx)
{
	unsigned int pick;

	*idx = (uint32_t)(rng_next(w) % w->run->o->slots);
	pick = (unsigned int)(rng_next(w) % 100);
	return pick < 35 ? OP_STORE : pick < 75 ? OP_LOAD : pick < 85 ? OP_INVALIDATE : OP_SWAPIN;
}

static const enum watch_op watch_ops[NR_OPS] = {
	[OP_STORE] = WATCH_STORE,
	[OP_LOAD] = WATCH_LOAD,
	[OP_INVALIDATE] = WATCH_INVALIDATE,
	[OP_SWAPIN] = WATCH_SWAPIN,
};

/* Do @op on slot @idx; an empty slot gets a store instead. */
static void owner_op(struct worker *w, uint32_t idx, enum stress_op op)
{
	if (op != OP_STORE && op_access(w, idx, op))
		return;
	watch_op(w->watch, WATCH_STORE, idx);
	op_store(w, idx);
}

/*****************
 * Checks
 *****************/

/* Slots holding an object in the pool; every slot lock taken in turn. */
static uint64_t count_pool_slots(struct worker *w)
{
	struct run *r = w->run;
	uint64_t n = 0;

	for (uint32_t i = 0; i < r->o->slots; i++) {
		slot_lock(w, i);
		n += r->slots[i].where == SLOT_POOL;
		slot_unlock(&r->slots[i]);
	}
	return n;
}

/*
 * With every other thread paused between operations: the backend's
 * invariants hold, and the pool holds exactly the objects the slots say.
 */
static void paused_check(struct worker *w)
{
	struct run *r = w->run;
	struct zpool_stats st;
	char why[256];
	uint64_t in_pool;

	watch_op(w->watch, WATCH_CHECK, WATCH_NO_SLOT);
	rwlock_exclusive(w, &r->pause, CALL_PAUSE_EXCL);
	if (w_check(w, why, sizeof(why)))
		die("backend %s: zpool_check failed during the run: %s", r->backend, why);
	in_pool = count_pool_slots(w);
	w_stats(w, &st);
	if (st.objects != in_pool)
		die("backend %s: the pool counts %llu objects but the slots hold %llu", r->backend,
		    (unsigned long long)st.objects, (unsigned long long)in_pool);
	pthread_rwlock_unlock(&r->pause);
	watch_done(w->watch);
	w->c.checks++;
}

static void sample_occupancy(struct worker *w)
{
	struct zpool_stats st;

	w_stats(w, &st);
	if (st.pages) {
		w->c.occupancy_objects += st.objects;
		w->c.occupancy_pages += st.pages;
	}
}

/*****************
 * Threads
 *****************/

/*
 * --inject-hang: a hang made on purpose, to prove the watchdog. Owner 0
 * takes the lock of the slot it was about to use and never lets go; the
 * threads that need that slot then wait for ever too.
 */
static _Noreturn void injected_hang(struct worker *w, uint32_t idx)
{
	slot_lock(w, idx);
	watch_call(w->watch, CALL_INJECTED_HANG, idx, 0);
	for (;;)
		pause();
}

static void *owner_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;
	const struct stress_opts *o = r->o;
	bool paused = o->check_every != 0;
	enum stress_op op;
	uint32_t idx;
	uint64_t n;

	self = w;
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		n = atomic_fetch_add_explicit(&r->ops_claimed, 1, memory_order_relaxed);
		if (o->ops && n >= o->ops) {
			/* Stop the reclaimers too, before they drain the pool. */
			atomic_store(&r->stop, true);
			break;
		}
		if (paused && n % o->check_every == o->check_every - 1)
			paused_check(w);
		op = pick_op(w, &idx);
		watch_op(w->watch, watch_ops[op], idx);
		if (o->inject_hang && w->id == 0 && n >= o->inject_hang)
			injected_hang(w, idx);
		if (paused)
			rwlock_shared(w, &r->pause, CALL_PAUSE_SHARED);
		owner_op(w, idx, op);
		if (paused)
			pthread_rwlock_unlock(&r->pause);
		if (n % SAMPLE_EVERY == 0)
			sample_occupancy(w);
		watch_done(w->watch);
	}
	watch_op(w->watch, WATCH_EXITED, WATCH_NO_SLOT);
	return NULL;
}

static void *reclaimer_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;
	bool paused = r->o->check_every != 0;
	int err;

	self = w;
	watch_op(w->watch, WATCH_SHRINK, WATCH_NO_SLOT);
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		if (paused)
			rwlock_shared(w, &r->pause, CALL_PAUSE_SHARED);
		err = w_shrink(w);
		if (paused)
			pthread_rwlock_unlock(&r->pause);
		count_shrink(&w->c, err);
		watch_done(w->watch);
		/* Nothing to reclaim: let the owners fill the pool. */
		if (err == -EINVAL)
			sched_yield();
	}
	watch_op(w->watch, WATCH_EXITED, WATCH_NO_SLOT);
	return NULL;
}

/*
 * Compaction racing everything else: zpool_compact() in a loop, yielding
 * when a pass found nothing to move. A backend that does not compact
 * (-EOPNOTSUPP) ends the thread at once.
 */
static void *compactor_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;
	bool paused = r->o->check_every != 0;
	unsigned long freed;
	int err;

	self = w;
	watch_op(w->watch, WATCH_COMPACT, WATCH_NO_SLOT);
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		if (paused)
			rwlock_shared(w, &r->pause, CALL_PAUSE_SHARED);
		watch_call(w->watch, CALL_COMPACT, WATCH_NO_SLOT, 0);
		err = zpool_compact(r->pool, &freed);
		watch_return(w->watch);
		if (paused)
			pthread_rwlock_unlock(&r->pause);
		if (err == -EOPNOTSUPP)
			break;
		if (err)
			die("zpool_compact() returned %d", err);
		watch_done(w->watch);
		if (!freed)
			sched_yield();
	}
	watch_op(w->watch, WATCH_EXITED, WATCH_NO_SLOT);
	return NULL;
}

static void *(*const role_main[])(void *) = { owner_main, reclaimer_main, compactor_main };
static const char *const role_names[] = { "owner", "reclaimer", "compactor" };

/* Owners first, then reclaimers, then compactors. */
static unsigned int role_of(const struct stress_opts *o, unsigned int i)
{
	return i < o->threads ? 0 : i < o->threads + o->reclaimers ? 1 : 2;
}

static void init_rwlock_writer_first(pthread_rwlock_t *l)
{
	pthread_rwlockattr_t attr;

	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(l, &attr);
	pthread_rwlockattr_destroy(&attr);
}

static void add_counters(struct stress_counters *sum, const struct stress_counters *c)
{
	const uint64_t *src = (const uint64_t *)c;
	uint64_t *dst = (uint64_t *)sum;

	_Static_assert(sizeof(*c) % sizeof(uint64_t) == 0, "counters are all uint64_t");
	for (size_t i = 0; i < sizeof(*c) / sizeof(uint64_t); i++)
		dst[i] += src[i];
}

/* Seconds between two progress lines (--progress, or stderr a terminal). */
#define PROGRESS_EVERY 2.0

/* One progress line on stderr: what a long run has done so far. */
static void print_progress(struct run *r, double elapsed)
{
	struct zpool_stats st;

	zpool_get_stats(r->pool, &st);
	fprintf(stderr,
		"zpool_stress: %s: %.0f s of %s: %llu ops, %llu evictions, %llu pages held\n",
		r->backend, elapsed, r->o->seconds > 0 ? "the run" : "--ops",
		(unsigned long long)atomic_load_explicit(&r->ops_claimed, memory_order_relaxed),
		(unsigned long long)st.evictions, (unsigned long long)st.pages);
}

/*
 * Sleep until @until (or, with --ops, until the owners stop), printing the
 * progress line every PROGRESS_EVERY seconds when asked to.
 */
static void wait_owners(struct run *r, double start, double until)
{
	double next = start + PROGRESS_EVERY;

	for (;;) {
		double now = now_seconds(), wake = next;

		/* Before the end check: a late wake-up still prints the line due. */
		if (r->o->progress && now >= next) {
			print_progress(r, now - start);
			next += PROGRESS_EVERY;
		}
		if (until > 0 && now >= until)
			return;
		if (until <= 0 && atomic_load(&r->stop))
			return;
		if (until > 0 && until < wake)
			wake = until;
		if (until <= 0 && now + 0.1 < wake)
			wake = now + 0.1; /* --ops: poll the owners' stop flag */
		if (wake > now) {
			double d = wake - now;
			struct timespec ts = { .tv_sec = (time_t)d,
					       .tv_nsec = (long)((d - (double)(time_t)d) * 1e9) };

			nanosleep(&ts, NULL);
		}
	}
}

/* Let the owners run for --seconds, or until they have done --ops. */
static void run_threads(struct run *r, struct worker *workers, unsigned int nr,
			struct stress_result *res)
{
	const struct stress_opts *o = r->o;
	double start = now_seconds();
	int err;

	for (unsigned int i = 0; i < nr; i++) {
		err = pthread_create(&workers[i].tid, NULL, role_main[role_of(o, i)], &workers[i]);
		if (err)
			die_harness("cannot start thread %u: %s", i, strerror(err));
	}
	if (o->seconds > 0) {
		wait_owners(r, start, start + o->seconds);
		atomic_store(&r->stop, true);
	} else if (o->progress) {
		wait_owners(r, start, 0);
	}
	watch_op(workers[nr].watch, WATCH_JOIN, WATCH_NO_SLOT);
	for (unsigned int i = 0; i < o->threads; i++)
		pthread_join(workers[i].tid, NULL);
	res->elapsed = now_seconds() - start;
	atomic_store(&r->stop, true);
	for (unsigned int i = o->threads; i < nr; i++)
		pthread_join(workers[i].tid, NULL);
}

/*****************
 * The final pass
 *****************/

/* Count the lost bytes of slot @idx, printing the first few slots' first. */
static uint64_t final_verify_slot(struct worker *w, uint32_t idx, struct slot *s, uint64_t *shown)
{
	struct run *r = w->run;
	const unsigned char *seen;
	size_t off, lost;

	stress_make_object(w->buf, r->o->seed, idx, s->version, s->size);
	seen = s->where == SLOT_POOL ? w_map(w, s->handle, ZPOOL_MM_RO) : s->backing;
	off = stress_first_mismatch(seen, w->buf, s->size);
	lost = off < s->size ? stress_count_mismatches(seen, w->buf, s->size) : 0;
	if (lost && (*shown)++ < MISMATCHES_SHOWN)
		fprintf(stderr,
			"zpool_stress: MISMATCH backend %s slot %u version %u (%s, size %u): "
			"offset %zu expected 0x%02x seen 0x%02x (%zu bytes differ)\n",
			r->backend, idx, s->version, where_name(s->where, s->rejected), s->size,
			off, w->buf[off], seen[off], lost);
	if (s->where == SLOT_POOL)
		w_unmap(w, s->handle);
	w->c.bytes_verified += s->size;
	return lost;
}

static bool final_fail(struct stress_result *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static bool final_fail(struct stress_result *res, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "zpool_stress: FAIL backend %s: ", res->backend);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	res->failed = true;
	return true;
}

/*
 * Every thread has stopped: check the pool, verify every slot, free
 * everything, and check the pool is empty, consistent and destroyable.
 */
static void final_pass(struct run *r, struct worker *w, struct stress_result *res)
{
	struct zpool_stats st;
	uint64_t shown = 0;
	char why[256];
	int err;

	self = w;
	watch_op(w->watch, WATCH_FINAL, WATCH_NO_SLOT);
	if (w_check(w, why, sizeof(why)))
		final_fail(res, "zpool_check after the run: %s", why);
	watch_done(w->watch);
	w_stats(w, &res->pool);
	res->objects_at_end = count_pool_slots(w);
	res->pages_at_end = res->pool.pages;
	if (res->pool.objects != res->objects_at_end)
		final_fail(res, "the pool counts %llu objects but the slots hold %llu",
			   (unsigned long long)res->pool.objects,
			   (unsigned long long)res->objects_at_end);

	/* Destroying a pool that holds objects must be refused, pool intact. */
	watch_call(w->watch, CALL_DESTROY, WATCH_NO_SLOT, 0);
	if (res->objects_at_end && (err = zpool_destroy_pool(r->pool)) != -EBUSY)
		die("backend %s: zpool_destroy_pool of a pool holding %llu objects returned %d, "
		    "not -EBUSY",
		    r->backend, (unsigned long long)res->objects_at_end, err);

	for (uint32_t i = 0; i < r->o->slots; i++) {
		struct slot *s = &r->slots[i];

		if (s->where != SLOT_EMPTY)
			res->bytes_lost += final_verify_slot(w, i, s, &shown);
		drop_slot(w, s);
		watch_done(w->watch);
	}
	if (res->bytes_lost)
		final_fail(res, "%llu bytes lost", (unsigned long long)res->bytes_lost);

	w_stats(w, &st);
	if (zpool_get_total_size(r->pool) || st.pages || st.objects)
		final_fail(res,
			   "after freeing everything the pool holds %llu bytes, %llu pages, "
			   "%llu objects",
			   (unsigned long long)zpool_get_total_size(r->pool),
			   (unsigned long long)st.pages, (unsigned long long)st.objects);
	if (w_check(w, why, sizeof(why)))
		final_fail(res, "zpool_check on the emptied pool: %s", why);
	watch_done(w->watch);
}

/* The pool's eviction counters must agree with what the callback did. */
static void check_evict_counters(struct stress_result *res)
{
	const struct stress_counters *c = &res->c;

	if (res->pool.evictions != c->writebacks + c->evict_stale)
		final_fail(res,
			   "the pool counts %llu evictions but the callback returned 0 %llu times",
			   (unsigned long long)res->pool.evictions,
			   (unsigned long long)(c->writebacks + c->evict_stale));
	if (res->pool.evict_failures != c->evict_refusals)
		final_fail(res, "the pool counts %llu evict failures but the callback refused %llu",
			   (unsigned long long)res->pool.evict_failures,
			   (unsigned long long)c->evict_refusals);
}

/**
 * stress_run_backend() - stress one backend and check it lost nothing
 * @o: the options
 * @backend: the backend's name
 * @res: filled with the outcome
 *
 * A wrong byte seen during the run, or an unexpected return code, ends
 * the process with STRESS_EXIT_MISMATCH at once.
 *
 * Return: 0 if every final check passed, -EUCLEAN otherwise (@res says
 * why, and the reasons were printed).
 */
int stress_run_backend(const struct stress_opts *o, const char *backend, struct stress_result *res)
{
	const struct zpool_ops ops = { .evict = stress_evict };
	unsigned int nr = o->threads + o->reclaimers + o->compactors;
	struct run r = { .o = o, .backend = backend };
	struct zpool_config cfg = {
		.max_pages = o->max_pages,
		.ops = &ops,
		.priv = &r,
		.fail_page_alloc_prob = o->fail_page_alloc,
		.seed = o->seed,
		.shards = o->shards,
	};
	struct worker *workers = calloc(nr + 1, sizeof(*workers));
	struct stress_watchdog_info wdi = {
		.backend = backend,
		.hang_seconds = o->hang_seconds,
		.seed = o->seed,
		.json = o->json,
		.command = o->command ? o->command : "zpool_stress",
		.slot_holder = slot_holder,
		.slot_ctx = &r,
	};
	struct stress_watchdog *wd;
	int err;

	memset(res, 0, sizeof(*res));
	res->backend = backend;
	r.slots = calloc(o->slots, sizeof(*r.slots));
	r.watch = calloc(nr + 1, sizeof(*r.watch));
	if (!workers || !r.slots || !r.watch)
		die_harness("out of memory for %u slots", o->slots);
	err = zpool_create_pool(backend, &cfg, &r.pool);
	if (err)
		die("cannot create a %s pool of %zu pages: %s", backend, o->max_pages,
		    strerror(-err));
	for (uint32_t i = 0; i < o->slots; i++) {
		pthread_mutex_init(&r.slots[i].lock, NULL);
		atomic_init(&r.slots[i].holder, -1);
	}
	init_rwlock_writer_first(&r.publish);
	init_rwlock_writer_first(&r.pause);
	for (unsigned int i = 0; i <= nr; i++) {
		workers[i].run = &r;
		workers[i].id = i;
		workers[i].watch = &r.watch[i];
		r.watch[i].id = i;
		r.watch[i].role = i == nr ? "main" : role_names[role_of(o, i)];
		watch_op(&r.watch[i], WATCH_IDLE, WATCH_NO_SLOT);
		rng_seed(&workers[i], o->seed);
	}

	wd = stress_watchdog_start(&wdi, r.watch, nr + 1);
	run_threads(&r, workers, nr, res);
	final_pass(&r, &workers[nr], res);
	for (unsigned int i = 0; i <= nr; i++)
		add_counters(&res->c, &workers[i].c);
	check_evict_counters(res);

	watch_call(workers[nr].watch, CALL_DESTROY, WATCH_NO_SLOT, 0);
	err = zpool_destroy_pool(r.pool);
	if (err)
		final_fail(res, "zpool_destroy_pool returned %d", err);
	stress_watchdog_stop(wd);
	for (uint32_t i = 0; i < o->slots; i++)
		pthread_mutex_destroy(&r.slots[i].lock);
	pthread_rwlock_destroy(&r.publish);
	pthread_rwlock_destroy(&r.pause);
	free(r.slots);
	free(r.watch);
	free(workers);
	self = NULL;
	return res->failed ? -EUCLEAN : 0;
}
