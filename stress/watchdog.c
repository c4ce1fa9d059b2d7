// SPDX-License-Identifier: GPL-2.0-only
/*
 * watchdog.c - notice that the stress threads stopped, and say where
 *
 * The watchdog thread wakes every tenth of --hang-seconds (at most every
 * 100 ms) and compares each thread's count of completed operations with
 * its last sample. A thread inside an operation whose count has not moved
 * for --hang-seconds is stuck; so is the run. The report names the
 * backend, the seed and the command, then one line per thread: its
 * operation, how long it has made no progress, the zpool call it is in or
 * the lock it waits for (and, for a slot lock, which thread holds it),
 * and the same for the evict callback when the thread is inside one.
 *
 * Nothing here allocates or takes a lock once a hang is seen: the stuck
 * threads may hold the allocator's or stdio's locks. Lines are formatted
 * into a buffer on the stack and written with write(2), and the process
 * ends with the exit_group system call. exit() would run handlers
 * (LeakSanitizer's check among them) while the stuck threads still hold
 * what they hold, and ThreadSanitizer's _exit() interceptor runs its
 * finaliser, which reports any thread that ended without being joined (a
 * compactor on a backend that cannot compact) as a leak and turns the exit
 * code into its own.
 */
#define _GNU_SOURCE /* syscall() */
#include "stress.h"
#include "watchdog.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/**
 * struct stress_watchdog - the watchdog thread and what it watches
 * @info: what the report names
 * @threads: the watched threads' states
 * @nr: entries of @threads
 * @tid: the watchdog thread
 * @stop: set by stress_watchdog_stop()
 */
struct stress_watchdog {
	struct stress_watchdog_info info;
	struct stress_watch *threads;
	unsigned int nr;
	pthread_t tid;
	atomic_bool stop;
};

static const char *const op_names[NR_WATCH_OPS] = {
	[WATCH_IDLE] = "idle",
	[WATCH_EXITED] = "exited",
	[WATCH_STORE] = "store",
	[WATCH_LOAD] = "load",
	[WATCH_INVALIDATE] = "invalidate",
	[WATCH_SWAPIN] = "swapin",
	[WATCH_SHRINK] = "shrink",
	[WATCH_COMPACT] = "compact",
	[WATCH_CHECK] = "check",
	[WATCH_FINAL] = "final pass",
	[WATCH_JOIN] = "joining the threads",
};

/* What each call is, and the lock it waits for when that is known. */
static const char *const call_names[NR_WATCH_CALLS] = {
	[CALL_NONE] = "harness code",
	[CALL_MALLOC] = "zpool_malloc",
	[CALL_FREE] = "zpool_free",
	[CALL_MAP] = "zpool_map_handle",
	[CALL_UNMAP] = "zpool_unmap_handle",
	[CALL_SHRINK] = "zpool_shrink",
	[CALL_COMPACT] = "zpool_compact",
	[CALL_CHECK] = "zpool_check",
	[CALL_STATS] = "zpool_get_stats",
	[CALL_DESTROY] = "zpool_destroy_pool",
	[CALL_TOTAL_SIZE] = "zpool_get_total_size",
	[CALL_SLOT_LOCK] = "slot lock",
	[CALL_PUBLISH_SHARED] = "publish lock (shared)",
	[CALL_PUBLISH_EXCL] = "publish lock (exclusive)",
	[CALL_PAUSE_SHARED] = "pause lock (shared)",
	[CALL_PAUSE_EXCL] = "pause lock (exclusive)",
	[CALL_INJECTED_HANG] = "--inject-hang",
};

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_seconds(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s,
			       .tv_nsec = (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static unsigned int load(atomic_uint *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

/* write(2) all of @len bytes to @fd; gives up on an error. */
static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

/* Format into a stack buffer and write(2) it; long lines are cut. */
static __attribute__((format(printf, 2, 3))) void out(int fd, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		write_all(fd, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* A JSON string of @s (command lines hold paths); cut to fit. */
static void json_escape(char *dst, size_t cap, const char *s)
{
	size_t n = 0;

	for (; *s && n + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			dst[n++] = '\\';
			dst[n++] = (char)c;
		} else if (c < 0x20) {
			n += (size_t)snprintf(dst + n, cap - n, "\\u%04x", c);
		} else {
			dst[n++] = (char)c;
		}
	}
	dst[n] = '\0';
}

/* One level of what a thread does, for people: "in zpool_free(0x...)". */
static void describe_level(const struct stress_watchdog *wd, struct watch_level *lv, char *buf,
			   size_t cap)
{
	unsigned int call = load(&lv->call);
	unsigned int slot = load(&lv->slot);
	unsigned long handle = atomic_load_explicit(&lv->handle, memory_order_relaxed);
	int holder;

	if (call >= NR_WATCH_CALLS)
		call = CALL_NONE;
	switch (call) {
	case CALL_NONE:
		snprintf(buf, cap, "in the harness's own code");
		break;
	case CALL_SLOT_LOCK:
		holder = wd->info.slot_holder(wd->info.slot_ctx, slot);
		if (holder >= 0)
			snprintf(buf, cap, "waiting for the lock of slot %u, held by thread %d",
				 slot, holder);
		else
			snprintf(buf, cap, "waiting for the lock of slot %u (free now)", slot);
		break;
	case CALL_PUBLISH_SHARED:
	case CALL_PUBLISH_EXCL:
	case CALL_PAUSE_SHARED:
	case CALL_PAUSE_EXCL:
		snprintf(buf, cap, "waiting for the %s", call_names[call]);
		break;
	case CALL_INJECTED_HANG:
		snprintf(buf, cap, "asleep for ever holding the lock of slot %u (--inject-hang)",
			 slot);
		break;
	default:
		if (handle)
			snprintf(buf, cap, "in %s(%#lx), which takes the backend's locks",
				 call_names[call], handle);
		else
			snprintf(buf, cap, "in %s, which takes the backend's locks",
				 call_names[call]);
	}
}

/*
 * Idle and exited threads are not watched, and neither is the main thread
 * while it joins the others: it waits for them, and they are watched.
 */
static bool is_watched(unsigned int op)
{
	return op != WATCH_IDLE && op != WATCH_EXITED && op != WATCH_JOIN;
}

static const char *op_name(unsigned int op)
{
	return op < NR_WATCH_OPS ? op_names[op] : "?";
}

/* The hang report, on stderr for people and (with --json) on stdout. */
static _Noreturn void report_hang(struct stress_watchdog *wd, double now, unsigned int stuck)
{
	const struct stress_watchdog_info *in = &wd->info;
	char what[2][256], cmd[2048], state[48];

	out(2,
	    "zpool_stress: HANG backend %s: %u of %u threads made no progress for %.0f s "
	    "(--hang-seconds %g); what each thread is doing:\n",
	    in->backend, stuck, wd->nr, in->hang_seconds, in->hang_seconds);
	for (unsigned int i = 0; i < wd->nr; i++) {
		struct stress_watch *t = &wd->threads[i];
		unsigned int op = load(&t->op), slot = load(&t->op_slot);
		bool deep = load(&t->depth) != 0;
		char at[32] = "";

		describe_level(wd, &t->lv[0], what[0], sizeof(what[0]));
		describe_level(wd, &t->lv[1], what[1], sizeof(what[1]));
		if (slot != WATCH_NO_SLOT)
			snprintf(at, sizeof(at), " on slot %u", slot);
		if (!is_watched(op))
			snprintf(state, sizeof(state), "not watched");
		else if (now - t->since >= in->hang_seconds)
			snprintf(state, sizeof(state), "STUCK for %.1f s", now - t->since);
		else
			snprintf(state, sizeof(state), "last progress %.1f s ago", now - t->since);
		out(2, "  thread %u (%s), %s: %s%s: %s%s%s\n", t->id, t->role, state, op_name(op),
		    at, what[0], deep ? "; in the evict callback: " : "", deep ? what[1] : "");
	}
	out(2, "zpool_stress: verdict: hang\n");
	out(2, "zpool_stress: replay: %s\n", in->command);
	if (in->json) {
		json_escape(cmd, sizeof(cmd), in->command);
		out(1,
		    "{\"tool\": \"zpool_stress\", \"verdict\": \"hang\", \"backend\": \"%s\", "
		    "\"seed\": %llu, \"hang_seconds\": %g, \"command\": \"%s\",\n \"threads\": [\n",
		    in->backend, (unsigned long long)in->seed, in->hang_seconds, cmd);
		for (unsigned int i = 0; i < wd->nr; i++) {
			struct stress_watch *t = &wd->threads[i];
			unsigned int op = load(&t->op);
			bool deep = load(&t->depth) != 0;

			describe_level(wd, &t->lv[0], what[0], sizeof(what[0]));
			describe_level(wd, &t->lv[1], what[1], sizeof(what[1]));
			out(1,
			    "  {\"id\": %u, \"role\": \"%s\", \"op\": \"%s\", \"slot\": %d, "
			    "\"stuck\": %s, \"seconds_without_progress\": %.1f, \"done\": %llu, "
			    "\"doing\": \"%s\", \"evict_callback\": %s%s%s}%s\n",
			    t->id, t->role, op_name(op),
			    load(&t->op_slot) == WATCH_NO_SLOT ? -1 : (int)load(&t->op_slot),
			    is_watched(op) && now - t->since >= in->hang_seconds ? "true" : "false",
			    now - t->since,
			    (unsigned long long)atomic_load_explicit(&t->done,
								     memory_order_relaxed),
			    what[0], deep ? "\"" : "null", deep ? what[1] : "", deep ? "\"" : "",
			    i + 1 < wd->nr ? "," : "");
		}
		out(1, " ]}\n");
	}
	syscall(SYS_exit_group, STRESS_EXIT_MISMATCH);
	_exit(STRESS_EXIT_MISMATCH); /* not reached */
}

static void *watchdog_main(void *arg)
{
	struct stress_watchdog *wd = arg;
	double tick = wd->info.hang_seconds / 10;
	double now = now_seconds();

	if (tick > 0.1)
		tick = 0.1;
	for (unsigned int i = 0; i < wd->nr; i++)
		wd->threads[i].since = now;
	while (!atomic_load(&wd->stop)) {
		unsigned int stuck = 0;

		sleep_seconds(tick);
		now = now_seconds();
		for (unsigned int i = 0; i < wd->nr; i++) {
			struct stress_watch *t = &wd->threads[i];
			uint64_t done = atomic_load_explicit(&t->done, memory_order_relaxed);

			if (done != t->seen || !is_watched(load(&t->op))) {
				t->seen = done;
				t->since = now;
			} else if (now - t->since >= wd->info.hang_seconds) {
				stuck++;
			}
		}
		if (stuck)
			report_hang(wd, now, stuck);
	}
	return NULL;
}

/**
 * stress_watchdog_start() - watch @nr threads for a hang
 * @info: the limit and what a report names (copied)
 * @threads: the threads' published states; they must outlive the watchdog
 * @nr: entries of @threads
 *
 * Return: the watchdog, or NULL if @info->hang_seconds is 0 (watching off).
 * Ends the process if the thread cannot be started.
 */
struct stress_watchdog *stress_watchdog_start(const struct stress_watchdog_info *info,
					      struct stress_watch *threads, unsigned int nr)
{
	struct stress_watchdog *wd;
	int err;

	if (info->hang_seconds <= 0)
		return NULL;
	wd = calloc(1, sizeof(*wd));
	if (!wd) {
		fputs("zpool_stress: out of memory for the watchdog\n", stderr);
		exit(STRESS_EXIT_MISMATCH);
	}
	wd->info = *info;
	wd->threads = threads;
	wd->nr = nr;
	err = pthread_create(&wd->tid, NULL, watchdog_main, wd);
	if (err) {
		fprintf(stderr, "zpool_stress: cannot start the watchdog: %s\n", strerror(err));
		exit(STRESS_EXIT_MISMATCH);
	}
	return wd;
}

/* stress_watchdog_stop() - stop watching (waits up to one tick); NULL is fine. */
void stress_watchdog_stop(struct stress_watchdog *wd)
{
	if (!wd)
		return;
	atomic_store(&wd->stop, true);
	pthread_join(wd->tid, NULL);
	free(wd);
}
