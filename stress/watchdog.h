/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * watchdog.h - what every stress thread is doing, and who notices it stopped
 *
 * A deadlock (a lost unlock, a lock-order inversion) or a livelock (a
 * reclaim that never gives up) does not corrupt a byte: without a
 * watchdog it only stops the run, and the harness would wait for ever and
 * report nothing. So each thread publishes what it is doing in a struct
 * stress_watch: its operation and slot, the call or lock it is in (with
 * the handle or slot), one level deeper while it runs the evict callback,
 * and a count of operations it completed. The setters are relaxed atomic
 * stores, cheap enough for every call.
 *
 * The watchdog thread (watchdog.c) samples the counts. A thread that is
 * inside an operation and has not completed one for --hang-seconds is
 * stuck: the watchdog writes what every thread was doing, with
 * "verdict: hang", and ends the process with STRESS_EXIT_MISMATCH (a hang
 * is a finding like a lost byte). It writes with write(2) and leaves with
 * the exit_group system call: the stuck threads may hold stdio's or the
 * allocator's locks, and exit hooks would wait for them or report on them.
 */
#ifndef ZPOOL_STRESS_WATCHDOG_H
#define ZPOOL_STRESS_WATCHDOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * The operation a thread is in. WATCH_IDLE, WATCH_EXITED and WATCH_JOIN (the
 * main thread waiting for the others, which are watched) are not watched.
 */
enum watch_op {
	WATCH_IDLE,
	WATCH_EXITED,
	WATCH_STORE,
	WATCH_LOAD,
	WATCH_INVALIDATE,
	WATCH_SWAPIN,
	WATCH_SHRINK,
	WATCH_COMPACT,
	WATCH_CHECK,
	WATCH_FINAL,
	WATCH_JOIN,
	NR_WATCH_OPS
};

/* The call a thread is in, or the lock it waits for. */
enum watch_call {
	CALL_NONE, /* in the harness's own code */
	CALL_MALLOC,
	CALL_FREE,
	CALL_MAP,
	CALL_UNMAP,
	CALL_SHRINK,
	CALL_COMPACT,
	CALL_CHECK,
	CALL_STATS,
	CALL_DESTROY,
	CALL_TOTAL_SIZE,
	CALL_SLOT_LOCK,
	CALL_PUBLISH_SHARED,
	CALL_PUBLISH_EXCL,
	CALL_PAUSE_SHARED,
	CALL_PAUSE_EXCL,
	CALL_INJECTED_HANG,
	NR_WATCH_CALLS
};

/* Levels: the thread's operation, and the evict callback run inside it. */
#define WATCH_LEVELS  2
#define WATCH_NO_SLOT UINT32_MAX

/**
 * struct watch_level - one level of what a thread is doing
 * @call: enum watch_call
 * @slot: the slot of a slot-lock wait, or WATCH_NO_SLOT
 * @handle: the handle a zpool call works on, or 0
 */
struct watch_level {
	atomic_uint call;
	atomic_uint slot;
	atomic_ulong handle;
};

/**
 * struct stress_watch - one thread's published state
 * @role: "owner", "reclaimer", "compactor" or "main"
 * @id: the thread's number in reports
 * @op: enum watch_op
 * @op_slot: the slot the operation is on, or WATCH_NO_SLOT
 * @depth: 1 while the thread runs the evict callback, else 0
 * @lv: what it does at each level
 * @done: operations completed
 * @seen: the watchdog's last sample of @done
 * @since: when @seen last changed (the watchdog's clock)
 */
struct stress_watch {
	const char *role;
	unsigned int id;
	atomic_uint op;
	atomic_uint op_slot;
	atomic_uint depth;
	struct watch_level lv[WATCH_LEVELS];
	atomic_uint_least64_t done;
	uint64_t seen;
	double since;
};

/* Start operation @op on @slot (WATCH_NO_SLOT if none). */
static inline void watch_op(struct stress_watch *w, enum watch_op op, uint32_t slot)
{
	atomic_store_explicit(&w->op_slot, slot, memory_order_relaxed);
	atomic_store_explicit(&w->op, op, memory_order_relaxed);
}

/* The operation finished: the thread made progress. */
static inline void watch_done(struct stress_watch *w)
{
	atomic_fetch_add_explicit(&w->done, 1, memory_order_relaxed);
}

/* About to make @call (a zpool call, or a wait for a lock) at the current level. */
static inline void watch_call(struct stress_watch *w, enum watch_call call, uint32_t slot,
			      unsigned long handle)
{
	struct watch_level *lv =
	    &w->lv[atomic_load_explicit(&w->depth, memory_order_relaxed) ? 1 : 0];

	atomic_store_explicit(&lv->slot, slot, memory_order_relaxed);
	atomic_store_explicit(&lv->handle, handle, memory_order_relaxed);
	atomic_store_explicit(&lv->call, call, memory_order_relaxed);
}

/* Back in the harness's own code at the current level. */
static inline void watch_return(struct stress_watch *w)
{
	watch_call(w, CALL_NONE, WATCH_NO_SLOT, 0);
}

/* Entering (1) or leaving (0) the evict callback. */
static inline void watch_depth(struct stress_watch *w, unsigned int depth)
{
	if (depth)
		atomic_store_explicit(&w->lv[1].call, CALL_NONE, memory_order_relaxed);
	atomic_store_explicit(&w->depth, depth, memory_order_relaxed);
}

/**
 * struct stress_watchdog_info - what the hang report names besides the threads
 * @backend: the backend under test
 * @hang_seconds: the limit
 * @seed: the run's seed
 * @json: also print the report as JSON on stdout
 * @command: the command line, for the replay line
 * @slot_holder: returns the id of the thread holding slot @slot's lock, or -1
 * @slot_ctx: passed to @slot_holder
 */
struct stress_watchdog_info {
	const char *backend;
	double hang_seconds;
	uint64_t seed;
	bool json;
	const char *command;
	int (*slot_holder)(void *slot_ctx, uint32_t slot);
	void *slot_ctx;
};

struct stress_watchdog;

struct stress_watchdog *stress_watchdog_start(const struct stress_watchdog_info *info,
					      struct stress_watch *threads, unsigned int nr);
void stress_watchdog_stop(struct stress_watchdog *wd);

#endif /* ZPOOL_STRESS_WATCHDOG_H */
