/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * stress.h - what the parts of zpool_stress share
 *
 * zpool_stress drives a zpool the way zswap does: owner threads store,
 * load, invalidate and swap in objects that stand for swap entries
 * ("slots"), while reclaimer threads shrink the pool from the cold end and
 * the evict callback writes objects back to a backing store. Every byte is
 * derived from (seed, slot, version), so any byte that comes back wrong is
 * caught, named and counted.
 *
 * The program is split by concern: options.c parses the command line and
 * size traces, payload.c makes and verifies object bytes, run.c holds the
 * slots, the threads and the evict callback, report.c prints the summary.
 */
#ifndef ZPOOL_STRESS_H
#define ZPOOL_STRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zpool/zpool.h>

/*
 * Exit codes (docs/exit-codes.md): 1 = data lost, a broken invariant or a
 * hang, 2 = bad usage, 3 = the harness could not run (memory, threads).
 */
#define STRESS_EXIT_MISMATCH 1
#define STRESS_EXIT_USAGE    2
#define STRESS_EXIT_HARNESS  3

/*
 * Every object starts with a header of four 32-bit words: slot, version,
 * size and a check word mixing the three with the seed. Objects shorter
 * than the header are stored header-sized.
 */
#define STRESS_HDR_SIZE 16u

#define STRESS_MAX_BACKENDS 16

/**
 * struct stress_opts - the parsed command line
 * @backends: backend names to run, in order
 * @nr_backends: entries of @backends
 * @threads: owner threads
 * @reclaimers: reclaimer threads
 * @compactors: threads calling zpool_compact() in a loop (a backend that
 *	does not compact makes them stop at once)
 * @slots: swap entries played by slots
 * @seconds: run time per backend, or 0 when @ops is used
 * @ops: owner operations per backend, or 0 when @seconds is used
 * @seed: seeds payloads, thread PRNGs and fault injection
 * @max_pages: the pool's capacity
 * @shards: shards of the pool (zpool_config.shards); 0 = one pool
 * @fail_page_alloc: page allocation failure probability
 * @fail_evict: probability that the evict callback refuses
 * @check_every: run zpool_check() under a pause every N operations; 0 = off
 * @sizes: object sizes to draw from, or NULL for uniform 1..4096
 * @nr_sizes: entries of @sizes
 * @sizes_name: "uniform" or the trace file name
 * @json: print JSON instead of text
 * @progress: print a progress line to stderr every few seconds
 * @hang_seconds: a thread that completes no operation for this long is a
 *	hang (watchdog.h); 0 = no watchdog
 * @inject_hang: after this many operations owner 0 hangs on purpose; 0 = off
 * @bad_evict: the evict callback breaks its contract on purpose: it returns
 *	0 without freeing the object, which the debug checks must stop
 * @command: the command line, for the replay line of a hang report
 */
struct stress_opts {
	const char *backends[STRESS_MAX_BACKENDS];
	size_t nr_backends;
	unsigned int threads;
	unsigned int reclaimers;
	unsigned int compactors;
	uint32_t slots;
	double seconds;
	uint64_t ops;
	uint64_t seed;
	size_t max_pages;
	unsigned int shards;
	double fail_page_alloc;
	double fail_evict;
	uint64_t check_every;
	uint32_t *sizes;
	size_t nr_sizes;
	const char *sizes_name;
	bool json;
	bool progress;
	double hang_seconds;
	uint64_t inject_hang;
	bool bad_evict;
	char *command;
};

/* The operations an owner performs; counted per kind. */
enum stress_op { OP_STORE, OP_LOAD, OP_INVALIDATE, OP_SWAPIN, NR_OPS };

/**
 * struct stress_counters - what one thread counted; summed at the end
 * @ops: operations by kind
 * @empty_hits: load, invalidate or swap-in of an empty slot (no-ops)
 * @backing_hits: loads and swap-ins served from the backing store
 * @bytes_verified: bytes compared against their expected values
 * @writebacks: evict callbacks that wrote an object back and freed it
 * @evict_stale: evict callbacks for objects their owners had freed
 * @evict_refusals: evict callbacks refused on purpose (--fail-evict)
 * @evict_slow: evict callbacks that had to wait for stores in flight
 * @enomem: zpool_malloc() -ENOMEM seen by owners
 * @rejects: stores put in the backing store after the pool stayed full
 * @owner_shrinks: zpool_shrink() calls by owners after -ENOMEM
 * @shrink_ok, @shrink_eagain, @shrink_einval: reclaimer shrink results
 * @checks: zpool_check() passes run during the run
 * @occupancy_objects, @occupancy_pages: sums of sampled pool objects and
 *	pages, for the mean objects per page
 */
struct stress_counters {
	uint64_t ops[NR_OPS];
	uint64_t empty_hits;
	uint64_t backing_hits;
	uint64_t bytes_verified;
	uint64_t writebacks;
	uint64_t evict_stale;
	uint64_t evict_refusals;
	uint64_t evict_slow;
	uint64_t enomem;
	uint64_t rejects;
	uint64_t owner_shrinks;
	uint64_t shrink_ok;
	uint64_t shrink_eagain;
	uint64_t shrink_einval;
	uint64_t checks;
	uint64_t occupancy_objects;
	uint64_t occupancy_pages;
};

/**
 * struct stress_result - the outcome of one backend's run
 * @backend: its name
 * @elapsed: seconds the owners ran
 * @c: the counters of all threads, summed
 * @pool: the pool's counters, read before the final free
 * @objects_at_end: objects in the pool when the owners stopped
 * @pages_at_end: pages the pool held then
 * @bytes_lost: bytes that failed the final verification
 * @failed: a final check failed (bytes lost, leaked pages, check, counters)
 */
struct stress_result {
	const char *backend;
	double elapsed;
	struct stress_counters c;
	struct zpool_stats pool;
	uint64_t objects_at_end;
	uint64_t pages_at_end;
	uint64_t bytes_lost;
	bool failed;
};

/* options.c */
int stress_parse_options(int argc, char **argv, struct stress_opts *o);
void stress_free_options(struct stress_opts *o);

/* payload.c */
void stress_make_object(unsigned char *buf, uint64_t seed, uint32_t slot, uint32_t version,
			uint32_t size);
uint32_t stress_header_check(uint64_t seed, uint32_t slot, uint32_t version, uint32_t size);
size_t stress_first_mismatch(const unsigned char *seen, const unsigned char *expected, size_t size);
size_t stress_count_mismatches(const unsigned char *seen, const unsigned char *expected,
			       size_t size);

/* run.c */
int stress_run_backend(const struct stress_opts *o, const char *backend, struct stress_result *res);

/* report.c */
void stress_report_text(const struct stress_opts *o, const struct stress_result *res);
void stress_report_json(const struct stress_opts *o, const struct stress_result *res, size_t n);

#endif /* ZPOOL_STRESS_H */
