// SPDX-License-Identifier: GPL-2.0-only
/*
 * zpool_bench.cc - throughput and density of every backend, on real sizes
 *
 * Every backend zpool_types() lists is driven through the public zpool API
 * only, with object sizes taken from the compressed-size traces in
 * bench/data (see trace.h), so the figures are what zswap would see
 * storing those pages. The benchmarks are registered at run time, one per
 * operation x backend x trace, with names "op/backend/trace[/...]":
 *
 *   alloc_free  zpool_malloc() + zpool_free() of one object, beside a small
 *               background of live objects so zbud's best fit has pages to
 *               choose from (an empty pool would measure only the arena)
 *   store       alloc, map WO, memcpy the payload, unmap; the objects are
 *               freed in batches with the timer paused
 *   load        map RO, memcpy out, unmap, over a batch stored beforehand
 *   churn       at a steady live set: free a random object, store a new one
 *   alloc_free_driver  alloc_free through the backend's driver functions,
 *               not zpool_malloc()/zpool_free(): the pair gives the common
 *               layer's own cost (driver_direct.h)
 *   alloc_free/ref-NAME  glibc malloc+free, jemalloc mallocx+dallocx and
 *               mimalloc mi_malloc+mi_free on the same sizes beside the
 *               same background: references, not backends
 *   *_mt        the four above on one shared pool from 1 to 2 x nproc
 *               threads (wall-clock time), on the main trace only, named
 *               op_mt/backend/shards:N/trace: N = 1 is one pool, N =
 *               2 x nproc a sharded pool (zpool_config.shards); every thread
 *               stores its share of the background itself
 *   shrink      zpool_shrink() on a full pool of 1k..64k pages, timed
 *               alone (manual time) and refilled untimed between calls; the
 *               evict callback maps the object to read its owner slot from
 *               a 4-byte header, as zswap reads its entry, then frees it.
 *               A call is a few microseconds, so on a loaded machine one
 *               preemption inside it outweighs thousands of calls: each
 *               call is bracketed by getrusage(RUSAGE_THREAD) and the ones
 *               during which the thread was switched out are counted and
 *               left out of ns_per_page (sec_per_page keeps them all)
 *   density     fill a pool with the trace's sizes and report, as counters,
 *               objects per pool page and pool bytes against the payload,
 *               the ideal (payload rounded up to whole pages), the
 *               backend's structural bound (g_bounds: zbud's optimal
 *               pairing, ...) and the uncompressed pages; again after
 *               freeing a random half and refilling with the next sizes
 *   compact     backends that move objects (zpool_compact() not
 *               -EOPNOTSUPP): fill a pool with the trace's sizes, free a
 *               random 70%, then time one zpool_compact() (manual time);
 *               counters: pool pages before and after against the ideal
 *               of what is left, pages freed and pages freed per second
 *
 * Throughput benchmarks report items/s (operations) and bytes/s (payload
 * bytes moved or stored). Single-threaded ones use CPU time, which is the
 * steadier measure on a shared machine; threaded ones use wall time, the
 * only meaningful one for a shared pool.
 *
 * Own flags, after Google Benchmark's: --profile=quick|full (sizes of the
 * live sets, pools and thread range), --traces=DIR, --main_trace=NAME.
 *
 * --shrink_cost=BACKEND:PAGES runs no benchmark: it fills one pool of PAGES
 * pages and makes --shrink_calls=N (default 64) zpool_shrink() calls of the
 * profile's step with the same refill as the shrink benchmark, then prints
 * one JSON line (pages reclaimed, objects evicted). It exists to be run
 * under valgrind --tool=callgrind --toggle-collect=zpool_shrink by
 * bench/shrink_cost.sh, which divides the instructions counted inside
 * zpool_shrink() by the pages reclaimed: a cost per page that the load on
 * the machine does not change. --list_backends prints zpool_types().
 *
 * --help lists these flags, then Google Benchmark's; --version prints the
 * project version and commit. A bad flag, value, filter or trace exits 2
 * before any benchmark runs (docs/exit-codes.md).
 */
#include <benchmark/benchmark.h>

#include <zpool/zpool.h>

#include "cli.h"
#include "driver_direct.h"
#include "trace.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <dirent.h>
#include <dlfcn.h>
#include <mutex>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <vector>

#if ZPOOL_BENCH_REFS
/* jemalloc and mimalloc, from ref_allocators.c. */
extern "C" {
void *ref_jemalloc_alloc(size_t size);
void ref_jemalloc_free(void *p);
void *ref_mimalloc_alloc(size_t size);
void ref_mimalloc_free(void *p);
}
#endif

namespace
{

struct bench_trace {
	std::string name;
	std::vector<uint16_t> sizes;
	uint64_t total;
};

/* How big the runs are: quick is for the ctest, full for the report. */
struct profile {
	size_t background;	  /* live objects beside alloc_free */
	size_t batch;		  /* objects per thread for store and load */
	size_t live;		  /* live objects per thread for churn */
	size_t density_max;	  /* objects a density run stores, at most */
	unsigned int shrink_step; /* pages asked of one zpool_shrink() call */
	std::vector<size_t> shrink_pages;
	int max_threads;
};

std::vector<std::string> g_backends;
std::vector<bench_trace> g_traces;
profile g_prof;
unsigned char g_payload[ZPOOL_PAGE_SIZE];

/* A failure while benchmarking: the backend did not do what it must. */
[[noreturn]] void fatal(const char *what, const std::string &detail)
{
	std::fprintf(stderr, "zpool_bench: %s%s\n", what, detail.c_str());
	std::exit(CLI_EXIT_FINDING);
}

/* A bad flag, value or input file: exit 2 before any benchmark runs. */
[[noreturn]] void usage_error(const char *what, const std::string &detail)
{
	std::fprintf(stderr, "zpool_bench: %s%s (see zpool_bench --help)\n", what, detail.c_str());
	std::exit(CLI_EXIT_USAGE);
}

const char own_help[] =
    "usage: zpool_bench [own flags] [Google Benchmark flags]\n"
    "Throughput and density of every backend on compressed-size traces.\n"
    "Own flags:\n"
    "  --profile=quick|full        live set, pool and thread sizes (default full)\n"
    "  --traces=DIR                the *.trace files to use (default bench/data)\n"
    "  --main_trace=NAME           the trace of the threaded and shrink runs (default anon-lz4)\n"
    "  --shrink_cost=BACKEND:PAGES no benchmark: fill one pool, time zpool_shrink under\n"
    "                              callgrind (bench/shrink_cost.sh)\n"
    "  --shrink_calls=N            zpool_shrink calls of --shrink_cost (default 64)\n"
    "  --list_backends             print the registered backends\n"
    "  --help, --version           this text; the version and commit\n"
    "Numbers are decimal. Exit: 0 ran, 1 a backend failed, 2 usage (flag, filter,\n"
    "trace), 3 the harness failed (docs/exit-codes.md).\n"
    "Google Benchmark's flags:\n";

void print_help()
{
	std::fputs(own_help, stdout);
	benchmark::PrintDefaultHelp();
}

/* A small PRNG, so every thread and run draws the same sequence. */
struct rng {
	uint64_t s;
	explicit rng(uint64_t seed) : s(seed * 0x9e3779b97f4a7c15ULL + 1)
	{
	}
	uint64_t next()
	{
		s ^= s >> 12;
		s ^= s << 25;
		s ^= s >> 27;
		return s * 2685821657736338717ULL;
	}
};

/* Walks a trace cyclically from a per-thread offset. */
struct size_stream {
	const std::vector<uint16_t> &sizes;
	size_t i;
	size_stream(const bench_trace &tr, size_t start)
	    : sizes(tr.sizes), i(start % tr.sizes.size())
	{
	}
	size_t next()
	{
		size_t s = sizes[i];

		if (++i == sizes.size())
			i = 0;
		return s;
	}
};

/*
 * One pool shared by the threads of a run: the first thread in creates it,
 * the last one out destroys it. A run ends with every thread past its
 * loop, so the count returns to zero between runs and repetitions. Each
 * thread stores its share of the background objects itself, so that on a
 * sharded pool every shard has its share of them.
 */
struct shared_pool {
	std::mutex lock;
	int users = 0;
	unsigned int shards = 0;
	struct zpool *pool = nullptr;
};

/* A thread's share of a run's background objects. */
thread_local std::vector<unsigned long> t_background;

/* One per throughput benchmark; a deque, so the addresses stay put. */
std::deque<shared_pool> g_pools;

int store_one(struct zpool *pool, size_t size, unsigned long *h)
{
	int ret = zpool_malloc(pool, size, h);

	if (ret)
		return ret;
	void *p = zpool_map_handle(pool, *h, ZPOOL_MM_WO);
	std::memcpy(p, g_payload, size);
	zpool_unmap_handle(pool, *h);
	return 0;
}

void free_all(struct zpool *pool, std::vector<unsigned long> &hs)
{
	for (unsigned long h : hs)
		if (h)
			zpool_free(pool, h);
	hs.clear();
}

struct zpool *acquire(shared_pool &sp, benchmark::State &st, const std::string &backend,
		      const bench_trace &tr, size_t per_thread)
{
	struct zpool *pool;
	{
		std::lock_guard<std::mutex> g(sp.lock);

		if (sp.users++ == 0) {
			struct zpool_config cfg = {};
			size_t objs = per_thread * (size_t)st.threads() + g_prof.background;

			/*
			 * Room for every object as a whole page, plus malloc's
			 * headers, in every shard: one thread fills only its own,
			 * and a full home shard would time the fallback instead.
			 */
			cfg.max_pages = (objs * 2 + 64) * std::max(1u, sp.shards);
			cfg.shards = sp.shards;
			int ret = zpool_create_pool(backend.c_str(), &cfg, &sp.pool);
			if (ret)
				fatal("cannot create a pool of ",
				      backend + ": " + std::strerror(-ret));
		}
		pool = sp.pool;
	}
	/* Thread i stores objects i, i + threads, ... of the background. */
	size_t n = (size_t)st.threads();
	size_stream sz(tr, (size_t)st.thread_index());
	for (size_t i = (size_t)st.thread_index(); i < g_prof.background; i += n) {
		unsigned long h;

		if (store_one(pool, sz.next(), &h))
			fatal("background store failed on ", backend);
		t_background.push_back(h);
		for (size_t k = 1; k < n; k++)
			sz.next();
	}
	return pool;
}

void release(shared_pool &sp)
{
	free_all(sp.pool, t_background);
	std::lock_guard<std::mutex> g(sp.lock);

	if (--sp.users == 0) {
		int ret = zpool_destroy_pool(sp.pool);
		if (ret)
			fatal("pool not empty at the end of a run: ", std::strerror(-ret));
		sp.pool = nullptr;
	}
}

/* Where in the trace a thread starts, so threads do not move in step. */
size_t thread_start(const benchmark::State &st, const bench_trace &tr)
{
	return (size_t)st.thread_index() * tr.sizes.size() / (size_t)st.threads();
}

void report_rate(benchmark::State &st, uint64_t bytes)
{
	st.SetItemsProcessed((int64_t)st.iterations());
	st.SetBytesProcessed((int64_t)bytes);
}

/*****************
 * Throughput
 *****************/

void bm_alloc_free(benchmark::State &st, shared_pool *sp, std::string backend,
		   const bench_trace *tr)
{
	struct zpool *pool = acquire(*sp, st, backend, *tr, 1);
	size_stream sz(*tr, thread_start(st, *tr));
	uint64_t bytes = 0;

	for (auto _ : st) {
		size_t size = sz.next();
		unsigned long h;

		if (zpool_malloc(pool, size, &h)) {
			st.SkipWithError("zpool_malloc failed");
			break;
		}
		zpool_free(pool, h);
		bytes += size;
	}
	report_rate(st, bytes);
	release(*sp);
}

/*
 * alloc_free through the backend's driver, not zpool_malloc()/zpool_free():
 * beside alloc_free on the same backend, the difference is what the common
 * layer costs.
 */
void bm_alloc_free_driver(benchmark::State &st, shared_pool *sp, std::string backend,
			  const bench_trace *tr)
{
	struct zpool *pool = acquire(*sp, st, backend, *tr, 1);
	size_stream sz(*tr, thread_start(st, *tr));
	struct driver_direct d;
	uint64_t bytes = 0;

	if (driver_direct_get(pool, &d))
		fatal("alloc_free_driver: no direct driver for ", backend);
	for (auto _ : st) {
		size_t size = sz.next();
		unsigned long h;

		if (d.malloc(d.pool, size, &h)) {
			st.SkipWithError("driver malloc failed");
			break;
		}
		d.free(d.pool, h);
		bytes += size;
	}
	report_rate(st, bytes);
	release(*sp);
}

/*
 * Reference allocators: not backends (no pages, no shrink, no handles),
 * the C library's allocators a reader compares a backend's alloc+free
 * with. The same trace sizes and the same background of live objects as
 * alloc_free, one thread.
 */
struct ref_allocator {
	const char *name;
	void *(*alloc)(size_t);
	void (*free)(void *);
};

const ref_allocator g_refs[] = {
	{ "glibc", std::malloc, std::free },
#if ZPOOL_BENCH_REFS
	{ "jemalloc", ref_jemalloc_alloc, ref_jemalloc_free },
	{ "mimalloc", ref_mimalloc_alloc, ref_mimalloc_free },
#endif
};

void bm_ref_alloc_free(benchmark::State &st, const ref_allocator *ref, const bench_trace *tr)
{
	std::vector<void *> background(g_prof.background);
	size_stream bg(*tr, 0), sz(*tr, thread_start(st, *tr));
	uint64_t bytes = 0;

	for (auto &p : background) {
		size_t size = bg.next();

		p = ref->alloc(size);
		if (!p)
			fatal("reference allocator failed: ", ref->name);
		std::memcpy(p, g_payload, size);
	}
	for (auto _ : st) {
		size_t size = sz.next();
		void *p = ref->alloc(size);

		benchmark::DoNotOptimize(p);
		if (!p) {
			st.SkipWithError("reference allocator failed");
			break;
		}
		ref->free(p);
		bytes += size;
	}
	for (void *p : background)
		ref->free(p);
	st.SetLabel("reference, not a zpool backend");
	report_rate(st, bytes);
}

/*
 * jemalloc and mimalloc are loaded after the C library, so that malloc()
 * stays glibc's (the malloc backend's and the glibc row's): check it did,
 * or every malloc figure would be some other allocator's.
 */
void check_malloc_is_glibc()
{
	Dl_info info;
	void *sym = dlsym(RTLD_DEFAULT, "malloc");

	/* Sanitizer builds link no references, and their malloc is the sanitizer's. */
	if (!ZPOOL_BENCH_REFS)
		return;
	if (!sym || !dladdr(sym, &info) || !info.dli_fname ||
	    !std::strstr(info.dli_fname, "libc.so"))
		fatal("malloc() does not come from glibc but from ",
		      sym && dladdr(sym, &info) && info.dli_fname ? info.dli_fname : "?");
}

void bm_store(benchmark::State &st, shared_pool *sp, std::string backend, const bench_trace *tr)
{
	struct zpool *pool = acquire(*sp, st, backend, *tr, g_prof.batch);
	size_stream sz(*tr, thread_start(st, *tr));
	std::vector<unsigned long> hs;
	uint64_t bytes = 0;

	hs.reserve(g_prof.batch);
	for (auto _ : st) {
		size_t size = sz.next();
		unsigned long h;

		if (hs.size() == g_prof.batch) {
			st.PauseTiming();
			free_all(pool, hs);
			st.ResumeTiming();
		}
		if (store_one(pool, size, &h)) {
			st.SkipWithError("zpool_malloc failed");
			break;
		}
		hs.push_back(h);
		bytes += size;
	}
	free_all(pool, hs);
	report_rate(st, bytes);
	release(*sp);
}

void bm_load(benchmark::State &st, shared_pool *sp, std::string backend, const bench_trace *tr)
{
	struct zpool *pool = acquire(*sp, st, backend, *tr, g_prof.batch);
	size_stream sz(*tr, thread_start(st, *tr));
	std::vector<unsigned long> hs(g_prof.batch);
	std::vector<uint16_t> sizes(g_prof.batch);
	static thread_local unsigned char out[ZPOOL_PAGE_SIZE];
	uint64_t bytes = 0;
	size_t i = 0;

	for (size_t k = 0; k < g_prof.batch; k++) {
		sizes[k] = (uint16_t)sz.next();
		if (store_one(pool, sizes[k], &hs[k]))
			fatal("load: cannot store the batch on ", backend);
	}
	for (auto _ : st) {
		const void *p = zpool_map_handle(pool, hs[i], ZPOOL_MM_RO);

		std::memcpy(out, p, sizes[i]);
		zpool_unmap_handle(pool, hs[i]);
		benchmark::DoNotOptimize(out);
		bytes += sizes[i];
		if (++i == g_prof.batch)
			i = 0;
	}
	free_all(pool, hs);
	report_rate(st, bytes);
	release(*sp);
}

void bm_churn(benchmark::State &st, shared_pool *sp, std::string backend, const bench_trace *tr)
{
	struct zpool *pool = acquire(*sp, st, backend, *tr, g_prof.live);
	size_stream sz(*tr, thread_start(st, *tr));
	std::vector<unsigned long> hs(g_prof.live);
	rng r((uint64_t)st.thread_index() + 1);
	uint64_t bytes = 0;

	for (auto &h : hs)
		if (store_one(pool, sz.next(), &h))
			fatal("churn: cannot store the live set on ", backend);
	for (auto _ : st) {
		unsigned long &h = hs[r.next() % hs.size()];
		size_t size = sz.next();

		zpool_free(pool, h);
		if (store_one(pool, size, &h)) {
			h = 0;
			st.SkipWithError("zpool_malloc failed");
			break;
		}
		bytes += size;
	}
	free_all(pool, hs);
	report_rate(st, bytes);
	release(*sp);
}

/*****************
 * Shrink
 *****************/

/* Objects of a shrink run, by slot; the slot is stored in the object. */
struct shrink_ctx {
	struct zpool *pool = nullptr;
	std::vector<unsigned long> slots;
	std::vector<uint32_t> free_slots;
};

int shrink_evict(struct zpool *pool, unsigned long handle, void *priv)
{
	auto *ctx = static_cast<shrink_ctx *>(priv);
	uint32_t slot;

	const void *p = zpool_map_handle(pool, handle, ZPOOL_MM_RO);
	std::memcpy(&slot, p, sizeof(slot));
	zpool_unmap_handle(pool, handle);
	zpool_free(pool, handle);
	ctx->slots[slot] = 0;
	ctx->free_slots.push_back(slot);
	return 0;
}

const struct zpool_ops shrink_ops = { shrink_evict };

/* Store objects until the pool is full (-ENOMEM); 0 or another error. */
int shrink_fill(shrink_ctx &ctx, size_stream &sz)
{
	for (;;) {
		/* The 4-byte slot header: sizes below 4 are raised to 4. */
		size_t size = std::max<size_t>(sz.next(), sizeof(uint32_t));
		uint32_t slot;
		unsigned long h;

		if (ctx.free_slots.empty()) {
			slot = (uint32_t)ctx.slots.size();
			ctx.slots.push_back(0);
		} else {
			slot = ctx.free_slots.back();
			ctx.free_slots.pop_back();
		}
		int ret = zpool_malloc(ctx.pool, size, &h);
		if (ret) {
			ctx.free_slots.push_back(slot);
			return ret == -ENOMEM ? 0 : ret;
		}
		void *p = zpool_map_handle(ctx.pool, h, ZPOOL_MM_WO);
		std::memcpy(p, g_payload, size);
		std::memcpy(p, &slot, sizeof(slot));
		zpool_unmap_handle(ctx.pool, h);
		ctx.slots[slot] = h;
	}
}

/* Context switches of the calling thread so far, voluntary or not. */
long thread_switches()
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru))
		fatal("getrusage: ", std::strerror(errno));
	return ru.ru_nvcsw + ru.ru_nivcsw;
}

/* A pool of @pages pages for a shrink run, filled until -ENOMEM. */
void shrink_setup(shrink_ctx &ctx, const std::string &backend, size_stream &sz, size_t pages)
{
	struct zpool_config cfg = {};

	cfg.max_pages = pages;
	cfg.ops = &shrink_ops;
	cfg.priv = &ctx;
	int ret = zpool_create_pool(backend.c_str(), &cfg, &ctx.pool);
	if (ret)
		fatal("cannot create a pool of ", backend + ": " + std::strerror(-ret));
	if (shrink_fill(ctx, sz))
		fatal("shrink: fill failed on ", backend);
}

void shrink_teardown(shrink_ctx &ctx)
{
	free_all(ctx.pool, ctx.slots);
	int ret = zpool_destroy_pool(ctx.pool);
	if (ret)
		fatal("shrink: pool not empty at the end: ", std::strerror(-ret));
}

void bm_shrink(benchmark::State &st, std::string backend, const bench_trace *tr, size_t pages)
{
	shrink_ctx ctx;
	size_stream sz(*tr, 0);
	uint64_t reclaimed_total = 0, quiet_pages = 0, switched = 0;
	double quiet_sec = 0;
	std::vector<double> per_page;

	shrink_setup(ctx, backend, sz, pages);
	for (auto _ : st) {
		unsigned int reclaimed = 0;

		if (shrink_fill(ctx, sz)) {
			st.SkipWithError("refill failed");
			break;
		}
		long sw0 = thread_switches();
		auto t0 = std::chrono::steady_clock::now();
		int ret = zpool_shrink(ctx.pool, g_prof.shrink_step, &reclaimed);
		auto t1 = std::chrono::steady_clock::now();
		long sw1 = thread_switches();
		if (ret || reclaimed < g_prof.shrink_step) {
			st.SkipWithError("zpool_shrink did not reclaim what was asked");
			break;
		}
		double sec = std::chrono::duration<double>(t1 - t0).count();
		st.SetIterationTime(sec);
		reclaimed_total += reclaimed;
		/* A call the thread was switched out of measures the other work. */
		if (sw1 != sw0) {
			switched++;
			continue;
		}
		quiet_sec += sec;
		quiet_pages += reclaimed;
		per_page.push_back(sec / reclaimed);
	}
	struct zpool_stats s;
	zpool_get_stats(ctx.pool, &s);
	st.SetItemsProcessed((int64_t)reclaimed_total);
	st.counters["pool_pages"] = (double)s.max_pages;
	st.counters["sec_per_page"] = benchmark::Counter(
	    (double)reclaimed_total, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
	st.counters["switched_calls"] =
	    st.iterations() ? (double)switched / (double)st.iterations() : 0;
	if (quiet_pages) {
		std::nth_element(per_page.begin(), per_page.begin() + (long)per_page.size() / 2,
				 per_page.end());
		st.counters["ns_per_page"] = quiet_sec * 1e9 / (double)quiet_pages;
		st.counters["ns_per_page_p50"] = per_page[per_page.size() / 2] * 1e9;
	}
	shrink_teardown(ctx);
}

/*
 * The --shrink_cost mode: the shrink benchmark's loop without the timing,
 * for callgrind to count. The first call already finds a cold LRU tail,
 * since the fill wrote the whole pool after it.
 */
int shrink_cost(const std::string &spec, const std::string &calls_arg, const bench_trace &tr)
{
	size_t colon = spec.rfind(':');
	uint64_t pages, calls;

	if (colon == std::string::npos || colon == 0)
		usage_error("--shrink_cost: ", "'" + spec + "' is not BACKEND:PAGES");
	std::string backend = spec.substr(0, colon), num = spec.substr(colon + 1);
	if (cli_parse_u64(num.c_str(), 64, 1ul << 22, &pages))
		usage_error("--shrink_cost: ",
			    "pages '" + num + "' is not a number in 64..4194304");
	if (std::find(g_backends.begin(), g_backends.end(), backend) == g_backends.end())
		usage_error("--shrink_cost: ", "no backend named '" + backend + "'");
	if (cli_parse_u64(calls_arg.c_str(), 1, 1000000, &calls))
		usage_error("--shrink_calls: ",
			    "'" + calls_arg + "' is not a number in 1..1000000");

	shrink_ctx ctx;
	size_stream sz(tr, 0);
	uint64_t reclaimed_total = 0;
	struct zpool_stats s0, s1;

	shrink_setup(ctx, backend, sz, pages);
	zpool_get_stats(ctx.pool, &s0);
	for (unsigned long i = 0; i < calls; i++) {
		unsigned int reclaimed = 0;

		if (shrink_fill(ctx, sz))
			fatal("--shrink_cost: refill failed on ", backend);
		int ret = zpool_shrink(ctx.pool, g_prof.shrink_step, &reclaimed);
		if (ret || reclaimed < g_prof.shrink_step)
			fatal("--shrink_cost: zpool_shrink did not reclaim what was asked on ",
			      backend);
		reclaimed_total += reclaimed;
	}
	zpool_get_stats(ctx.pool, &s1);
	std::printf("{\"backend\": \"%s\", \"pool_pages\": %lu, \"trace\": \"%s\", "
		    "\"calls\": %lu, \"shrink_step\": %u, \"reclaimed\": %llu, "
		    "\"evictions\": %llu, \"objects_at_fill\": %llu}\n",
		    backend.c_str(), pages, tr.name.c_str(), calls, g_prof.shrink_step,
		    (unsigned long long)reclaimed_total,
		    (unsigned long long)(s1.evictions - s0.evictions),
		    (unsigned long long)s0.objects);
	shrink_teardown(ctx);
	return 0;
}

/*****************
 * Density
 *****************/

/*
 * Structural density bounds: the fewest pages a backend's design could
 * store a set of objects in, knowing them all in advance. pool / bound
 * near 1 says the allocator packs as well as its design allows, so what
 * it costs beyond the ideal is the design's; well above 1, the allocator.
 */
uint64_t pages_of(uint64_t bytes)
{
	return (bytes + ZPOOL_PAGE_SIZE - 1) / ZPOOL_PAGE_SIZE;
}

/* The ideal: the payload in whole pages, as if objects could span pages. */
uint64_t bound_ideal(const std::vector<uint16_t> &sizes)
{
	uint64_t payload = 0;

	for (uint16_t s : sizes)
		payload += s;
	return pages_of(payload);
}

/* Chunk counts of @sizes in chunks of @chunk bytes, sorted. */
std::vector<unsigned> sorted_chunks(const std::vector<uint16_t> &sizes, unsigned chunk)
{
	std::vector<unsigned> c(sizes.size());

	for (size_t i = 0; i < sizes.size(); i++)
		c[i] = (sizes[i] + chunk - 1) / chunk;
	std::sort(c.begin(), c.end());
	return c;
}

/*
 * Two objects a page, 64 chunks of 64 bytes (zbud): the optimal pairing.
 * Sorted, the largest object takes the smallest that fits beside it, if
 * any; an exchange argument shows no pairing has more pairs, and each
 * pair saves a page.
 */
uint64_t bound_pairs(const std::vector<uint16_t> &sizes)
{
	const unsigned chunks = 64;
	std::vector<unsigned> c = sorted_chunks(sizes, ZPOOL_PAGE_SIZE / chunks);
	uint64_t pages = 0;
	size_t i = 0, j = c.size();

	while (i < j) {
		j--;
		if (i < j && c[i] + c[j] <= chunks)
			i++;
		pages++;
	}
	return pages;
}

/*
 * Three objects a page (z3fold-style): 256 chunks of 16 bytes, of which the
 * page header takes one; an object of more than 254 chunks has a page of
 * its own (headless). Optimal packing in triples is a 3-partition problem,
 * so this is a lower bound, not an optimum: a page per headless object,
 * and for the others a page per three objects and per 255 chunks.
 */
uint64_t bound_triples(const std::vector<uint16_t> &sizes)
{
	const unsigned chunk = 16, usable = ZPOOL_PAGE_SIZE / chunk - 1;
	uint64_t total = 0, shared = 0, headless = 0;

	for (unsigned x : sorted_chunks(sizes, chunk)) {
		if (x > usable - 1) {
			headless++;
		} else {
			total += x;
			shared++;
		}
	}
	return headless + std::max<uint64_t>((shared + 2) / 3, (total + usable - 1) / usable);
}

/*
 * Size classes 16 bytes apart from 32 (zsmalloc-style): a lower bound,
 * each object rounded up to its class, packed with no waste at the end of
 * a zspage.
 */
uint64_t bound_classes(const std::vector<uint16_t> &sizes)
{
	uint64_t total = 0;

	for (uint16_t x : sizes)
		total += std::max<uint64_t>(32, (x + 15u) & ~15u);
	return pages_of(total);
}

/*
 * The bound of each backend's design, by name; a backend not listed is
 * held to the ideal. A new backend adds its line here.
 */
const struct {
	const char *backend;
	const char *what;
	uint64_t (*pages)(const std::vector<uint16_t> &sizes);
} g_bounds[] = {
	{ "zbud", "optimal pairing, 2 objects a page, 64-byte chunks", bound_pairs },
	{ "z3fold", "lower bound, 3 objects a page, 255 16-byte chunks", bound_triples },
	{ "zsmalloc", "lower bound, 16-byte size classes from 32", bound_classes },
	{ "malloc", "ideal (no page structure)", bound_ideal },
};

uint64_t density_bound(const std::string &backend, const std::vector<uint16_t> &sizes,
		       const char **what)
{
	for (const auto &b : g_bounds)
		if (backend == b.backend) {
			*what = b.what;
			return b.pages(sizes);
		}
	*what = "ideal (no bound known for this design)";
	return bound_ideal(sizes);
}

/* Counters describing how densely @pool holds @sizes (its live objects). */
void density_counters(benchmark::State &st, struct zpool *pool, const std::string &backend,
		      const char *suffix, const std::vector<uint16_t> &sizes)
{
	struct zpool_stats s;
	zpool_get_stats(pool, &s);
	double pool_bytes = (double)zpool_get_total_size(pool);
	double objects = (double)sizes.size();
	uint64_t payload = 0;
	for (uint16_t x : sizes)
		payload += x;
	double ideal_pages = (double)pages_of(payload);
	const char *what;
	double bound_pages = (double)density_bound(backend, sizes, &what);
	std::string sfx(suffix);

	st.counters["objects" + sfx] = objects;
	st.counters["pool_pages" + sfx] = (double)s.pages;
	st.counters["ideal_pages" + sfx] = ideal_pages;
	st.counters["bound_pages" + sfx] = bound_pages;
	st.counters["objs_per_page" + sfx] = objects / (double)s.pages;
	st.counters["payload_per_pool" + sfx] = (double)payload / pool_bytes;
	st.counters["pool_vs_ideal" + sfx] = pool_bytes / (ideal_pages * ZPOOL_PAGE_SIZE);
	st.counters["pool_vs_bound" + sfx] = pool_bytes / (bound_pages * ZPOOL_PAGE_SIZE);
	st.counters["pool_vs_uncompressed" + sfx] = pool_bytes / (objects * ZPOOL_PAGE_SIZE);
	st.SetLabel(std::string("bound: ") + what);
}

void bm_density(benchmark::State &st, std::string backend, const bench_trace *tr)
{
	size_t n = std::min(tr->sizes.size(), g_prof.density_max);

	for (auto _ : st) {
		struct zpool_config cfg = {};
		struct zpool *pool;
		std::vector<unsigned long> hs(n);
		std::vector<uint16_t> sizes(tr->sizes.begin(), tr->sizes.begin() + (long)n);
		size_stream next(*tr, n);
		rng r(42);

		cfg.max_pages = n * 2 + 64;
		int ret = zpool_create_pool(backend.c_str(), &cfg, &pool);
		if (ret)
			fatal("cannot create a pool of ", backend + ": " + std::strerror(-ret));
		for (size_t i = 0; i < n; i++) {
			if (store_one(pool, sizes[i], &hs[i]))
				fatal("density: store failed on ", backend);
		}
		density_counters(st, pool, backend, "", sizes);

		/* Free a random half, then refill with the sizes that follow. */
		for (size_t i = 0; i < n; i++) {
			if (r.next() & 1)
				continue;
			zpool_free(pool, hs[i]);
			hs[i] = 0;
		}
		for (size_t i = 0; i < n; i++) {
			if (hs[i])
				continue;
			sizes[i] = (uint16_t)next.next();
			if (store_one(pool, sizes[i], &hs[i]))
				fatal("density: refill failed on ", backend);
		}
		density_counters(st, pool, backend, "_churn", sizes);
		free_all(pool, hs);
		if (zpool_destroy_pool(pool))
			fatal("density: pool not empty at the end on ", backend);
	}
}

/*****************
 * Compaction
 *****************/

/* True if @backend's pools compact (zpool_compact() is not -EOPNOTSUPP). */
bool backend_compacts(const std::string &backend)
{
	struct zpool *pool;
	unsigned long freed;

	if (zpool_create_pool(backend.c_str(), nullptr, &pool))
		return false;
	bool yes = zpool_compact(pool, &freed) != -EOPNOTSUPP;
	zpool_destroy_pool(pool);
	return yes;
}

void bm_compact(benchmark::State &st, std::string backend, const bench_trace *tr)
{
	size_t n = std::min(tr->sizes.size(), g_prof.density_max);
	uint64_t freed_total = 0;
	double seconds = 0, before = 0, after = 0, ideal = 0;

	for (auto _ : st) {
		struct zpool_config cfg = {};
		struct zpool *pool;
		std::vector<unsigned long> hs(n);
		struct zpool_stats s0, s1;
		uint64_t payload = 0;
		unsigned long freed = 0;
		rng r(70);

		cfg.max_pages = n * 2 + 64;
		int ret = zpool_create_pool(backend.c_str(), &cfg, &pool);
		if (ret)
			fatal("cannot create a pool of ", backend + ": " + std::strerror(-ret));
		for (size_t i = 0; i < n; i++)
			if (store_one(pool, tr->sizes[i], &hs[i]))
				fatal("compact: store failed on ", backend);
		for (size_t i = 0; i < n; i++) {
			if (r.next() % 100 < 70) {
				zpool_free(pool, hs[i]);
				hs[i] = 0;
			} else {
				payload += tr->sizes[i];
			}
		}
		zpool_get_stats(pool, &s0);
		auto t0 = std::chrono::steady_clock::now();
		ret = zpool_compact(pool, &freed);
		auto t1 = std::chrono::steady_clock::now();
		zpool_get_stats(pool, &s1);
		if (ret || s0.pages - s1.pages != freed)
			fatal("compact: zpool_compact() failed or miscounted on ", backend);
		double sec = std::chrono::duration<double>(t1 - t0).count();
		st.SetIterationTime(sec);
		seconds += sec;
		freed_total += freed;
		before = (double)s0.pages;
		after = (double)s1.pages;
		ideal = (double)pages_of(payload);
		free_all(pool, hs);
		if (zpool_destroy_pool(pool))
			fatal("compact: pool not empty at the end on ", backend);
	}
	st.counters["pages_before"] = before;
	st.counters["pages_after"] = after;
	st.counters["ideal_pages"] = ideal;
	st.counters["before_vs_ideal"] = before / ideal;
	st.counters["after_vs_ideal"] = after / ideal;
	st.counters["pages_freed"] = (double)freed_total / (double)st.iterations();
	st.counters["pages_freed_per_sec"] = seconds > 0 ? (double)freed_total / seconds : 0;
}

/*****************
 * Set-up
 *****************/

/* Loads every .trace file of @dir, or only @only.trace when @only is set. */
void load_traces(const std::string &dir, const std::string &only)
{
	struct dirent **ents;
	int n = scandir(dir.c_str(), &ents, nullptr, alphasort);

	if (n < 0)
		usage_error("cannot read the trace directory ", dir + ": " + std::strerror(errno));
	for (int i = 0; i < n; i++) {
		std::string name = ents[i]->d_name;
		const std::string ext = ".trace";

		std::free(ents[i]);
		if (name.size() <= ext.size() ||
		    name.compare(name.size() - ext.size(), ext.size(), ext))
			continue;
		if (!only.empty() && name != only + ext)
			continue;
		std::string path = dir + "/" + name;
		struct trace tr;
		char err[512];
		if (trace_load(path.c_str(), &tr, err, sizeof(err)))
			usage_error("bad trace: ", err);
		bench_trace bt;
		bt.name = name.substr(0, name.size() - ext.size());
		bt.sizes.assign(tr.sizes, tr.sizes + tr.nr);
		bt.total = tr.total;
		g_traces.push_back(std::move(bt));
		trace_free(&tr);
	}
	std::free(ents);
	if (g_traces.empty() && !only.empty())
		usage_error("--main_trace: no trace named ", "'" + only + "' in " + dir);
	if (g_traces.empty())
		usage_error("no *.trace files in ", dir);
}

void set_profile(const std::string &name)
{
	int ncpu = (int)std::max(1u, std::thread::hardware_concurrency());

	if (name == "quick")
		g_prof = { 64, 256, 1024, 2000, 8, { 1024, 4096 }, std::min(2 * ncpu, 4) };
	else if (name == "full")
		g_prof = {
			1024, 4096, 16384, SIZE_MAX, 32, { 1024, 4096, 16384, 65536 }, 2 * ncpu
		};
	else
		usage_error("--profile: ", "'" + name + "' is not quick or full");
}

/* Takes "--name=value" out of argv; true if it was there. */
bool take_flag(int *argc, char **argv, const char *name, std::string *value)
{
	std::string prefix = std::string("--") + name + "=";

	for (int i = 1; i < *argc; i++) {
		if (std::strncmp(argv[i], prefix.c_str(), prefix.size()))
			continue;
		*value = argv[i] + prefix.size();
		for (int j = i; j < *argc - 1; j++)
			argv[j] = argv[j + 1];
		(*argc)--;
		return true;
	}
	return false;
}

void register_all(const std::string &main_trace)
{
	const bench_trace *main_tr = nullptr;

	for (const auto &t : g_traces)
		if (t.name == main_trace)
			main_tr = &t;
	if (!main_tr)
		usage_error("--main_trace: no trace named ", "'" + main_trace + "'");

	typedef void (*tp_fn)(benchmark::State &, shared_pool *, std::string, const bench_trace *);
	const struct {
		const char *name;
		tp_fn fn;
	} ops[] = { { "alloc_free", bm_alloc_free },
		    { "store", bm_store },
		    { "load", bm_load },
		    { "churn", bm_churn } };

	/* The threaded runs on one pool and on one shard per thread at most. */
	const unsigned int shard_counts[] = { 1, (unsigned int)g_prof.max_threads };

	for (const auto &b : g_backends) {
		for (const auto &op : ops) {
			for (const auto &t : g_traces) {
				std::string name = std::string(op.name) + "/" + b + "/" + t.name;
				benchmark::RegisterBenchmark(name.c_str(), op.fn,
							     &g_pools.emplace_back(), b, &t);
			}
			for (unsigned int shards : shard_counts) {
				std::string name = std::string(op.name) + "_mt/" + b +
						   "/shards:" + std::to_string(shards) + "/" +
						   main_tr->name;
				shared_pool &sp = g_pools.emplace_back();
				sp.shards = shards > 1 ? shards : 0;
				benchmark::RegisterBenchmark(name.c_str(), op.fn, &sp, b, main_tr)
				    ->ThreadRange(1, g_prof.max_threads)
				    ->UseRealTime();
			}
		}
		for (const auto &t : g_traces) {
			std::string name = "alloc_free_driver/" + b + "/" + t.name;
			benchmark::RegisterBenchmark(name.c_str(), bm_alloc_free_driver,
						     &g_pools.emplace_back(), b, &t);
		}
		for (size_t pages : g_prof.shrink_pages) {
			std::string name =
			    "shrink/" + b + "/" + main_tr->name + "/pages:" + std::to_string(pages);
			benchmark::RegisterBenchmark(name.c_str(), bm_shrink, b, main_tr, pages)
			    ->UseManualTime();
		}
		for (const auto &t : g_traces) {
			std::string name = "density/" + b + "/" + t.name;
			benchmark::RegisterBenchmark(name.c_str(), bm_density, b, &t)
			    ->Iterations(1);
		}
		for (const auto &t : g_traces) {
			if (!backend_compacts(b))
				break;
			std::string name = "compact/" + b + "/" + t.name;
			benchmark::RegisterBenchmark(name.c_str(), bm_compact, b, &t)
			    ->Iterations(1)
			    ->UseManualTime();
		}
	}
	for (const auto &ref : g_refs) {
		for (const auto &t : g_traces) {
			std::string name = std::string("alloc_free/ref-") + ref.name + "/" + t.name;
			benchmark::RegisterBenchmark(name.c_str(), bm_ref_alloc_free, &ref, &t);
		}
	}
}

} // namespace

/* The trace named @name, or a clear error. */
const bench_trace &find_trace(const std::string &name)
{
	for (const auto &t : g_traces)
		if (t.name == name)
			return t;
	usage_error("--main_trace: no trace named ", "'" + name + "'");
}

int main(int argc, char **argv)
{
	std::string profile = "full", dir = ZPOOL_TRACE_DIR, main_trace = "anon-lz4";
	std::string cost_spec, cost_calls = "64", list;

	for (int i = 1; i < argc; i++) {
		if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
			print_help();
			return 0;
		}
		if (!std::strcmp(argv[i], "--version")) {
			cli_print_version("zpool_bench");
			return 0;
		}
	}
	benchmark::Initialize(&argc, argv, print_help);
	take_flag(&argc, argv, "profile", &profile);
	take_flag(&argc, argv, "traces", &dir);
	take_flag(&argc, argv, "main_trace", &main_trace);
	bool cost = take_flag(&argc, argv, "shrink_cost", &cost_spec);
	bool calls_given = take_flag(&argc, argv, "shrink_calls", &cost_calls);
	bool list_backends = take_flag(&argc, argv, "list_backends", &list);
	for (int i = 1; i < argc; i++)
		if (!std::strcmp(argv[i], "--list_backends")) {
			list_backends = true;
			for (int j = i; j < argc - 1; j++)
				argv[j] = argv[j + 1];
			argc--;
			break;
		}
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 2;
	if (calls_given && !cost)
		usage_error("--shrink_calls: ", "only with --shrink_cost");
	set_profile(profile);

	size_t n = zpool_types(nullptr, 0);
	std::vector<const char *> names(n);
	zpool_types(names.data(), n);
	g_backends.assign(names.begin(), names.end());
	if (list_backends) {
		for (const auto &b : g_backends)
			std::printf("%s\n", b.c_str());
		return 0;
	}
	/* The cost mode reads only its trace: valgrind makes reading slow. */
	load_traces(dir, cost ? main_trace : std::string());

	rng r(7);
	for (auto &c : g_payload)
		c = (unsigned char)r.next();
	if (cost)
		return shrink_cost(cost_spec, cost_calls, find_trace(main_trace));

	benchmark::AddCustomContext("zpool_profile", profile);
	benchmark::AddCustomContext("zpool_traces", dir);
#ifdef NDEBUG
	benchmark::AddCustomContext("zpool_build", "release (NDEBUG)");
#else
	benchmark::AddCustomContext("zpool_build",
				    "debug: ZPOOL_DEBUG checks on, figures not comparable");
#endif
	check_malloc_is_glibc();
	benchmark::AddCustomContext(
	    "zpool_references", ZPOOL_BENCH_REFS ? "glibc malloc/free, jemalloc mallocx/dallocx, "
						   "mimalloc mi_malloc/mi_free"
						 : "glibc malloc/free only (jemalloc and "
						   "mimalloc not linked in sanitizer builds)");
	register_all(main_trace);
	/* An invalid or unmatched --benchmark_filter runs nothing: say so, exit 2. */
	if (benchmark::RunSpecifiedBenchmarks() == 0)
		usage_error("--benchmark_filter: ",
			    "'" + benchmark::GetBenchmarkFilter() +
				"' matches no benchmark (or is not a valid regex)");
	benchmark::Shutdown();
	return 0;
}
