// SPDX-License-Identifier: GPL-2.0-only
/*
 * counters.c - the checks of the whole pool: every counter of
 * zpool_get_stats() against the model, after every operation, and the full
 * walk (zpool_check() and every live object's bytes) every FZ_FULL_EVERY
 * operations and at the end of each input
 *
 * Counters are compared as the pool's value when the model took it over
 * (@base: 0 for a new pool, what earlier inputs left in a kept one) plus
 * what the model counted since. Each is exact where the model can know it;
 * where only the backend knows (a backend without a model of its own, the
 * draws of probabilistic fault injection) the bounds the contract fixes.
 */
#include "harness.h"

#include "emit_c.h"

#include <stdio.h>

#define U(x) ((unsigned long long)(x))

static void expect(const struct fz_harness *h, const char *what, uint64_t want, uint64_t seen)
{
	if (want != seen)
		fz_fail(h, -1, "stats.%s: expected %llu seen %llu", what, U(want), U(seen));
}

/*
 * Compare every counter with the model. The stats are read again only if
 * something changed the pool since they were last read (an alloc reads them
 * itself; a map, a write or a verify changes no counter).
 */
void fz_check_counters(struct fz_harness *h)
{
	const struct fz_backend_model *m = h->model;
	const struct zpool_stats *b = &h->base;
	const struct fz_counts *n = &h->n;
	struct zpool_stats st;
	uint64_t peak;

	if (!h->pool)
		return;
	if (!h->st_valid) {
		zpool_get_stats(h->pool, &h->st);
		/* Inside an evict callback the pool changes again once it returns. */
		h->st_valid = !h->in_cb;
	}
	st = h->st;

	expect(h, "objects", h->live, st.objects);
	expect(h, "max_pages", h->cfg.max_pages, st.max_pages);
	expect(h, "allocs", b->allocs + n->allocs, st.allocs);
	expect(h, "alloc_enomem", b->alloc_enomem + n->alloc_enomem, st.alloc_enomem);
	expect(h, "evictions", b->evictions + n->evictions, st.evictions);
	expect(h, "evict_failures", b->evict_failures + n->evict_failures, st.evict_failures);
	expect(h, "shrink_calls", b->shrink_calls + n->shrink_calls, st.shrink_calls);
	expect(h, "shrink_eagain", b->shrink_eagain + n->shrink_eagain, st.shrink_eagain);
	expect(h, "pages_reclaimed", b->pages_reclaimed + n->pages_reclaimed, st.pages_reclaimed);
	expect(h, "compactions", b->compactions + n->compactions, st.compactions);
	expect(h, "pages_compacted", b->pages_compacted + n->pages_compacted, st.pages_compacted);
	/* Pages: exact with the page model, bounded by the contract otherwise. */
	if (st.pages > st.max_pages)
		fz_fail(h, -1, "stats: %llu pages of max %llu", U(st.pages), U(st.max_pages));
	if (m->page_model) {
		expect(h, "pages", h->zm.npages, st.pages);
		expect(h, "total_size", st.pages * ZPOOL_PAGE_SIZE, st.total_size);
		expect(h, "page_allocs", b->page_allocs + n->new_pages, st.page_allocs);
		if (h->zm.cur < 0 && (st.pages > h->live || st.pages < (h->live + 1) / 2))
			fz_fail(h, -1, "zbud: %llu pages for %u objects", U(st.pages), h->live);
	} else {
		if (st.total_size < h->live_bytes || (!h->live && h->zm.cur < 0 && st.total_size))
			fz_fail(h, -1, "total size: expected >= %llu seen %llu", U(h->live_bytes),
				U(st.total_size));
		if (st.total_size > st.max_pages * ZPOOL_PAGE_SIZE)
			fz_fail(h, -1, "total size %llu over the cap", U(st.total_size));
		if (st.page_allocs < b->page_allocs)
			fz_fail(h, -1, "stats.page_allocs went down from %llu to %llu",
				U(b->page_allocs), U(st.page_allocs));
	}
	if (m->page_alloc_is_alloc)
		expect(h, "page_allocs", b->page_allocs + n->allocs, st.page_allocs);

	/* The peak rises only when an alloc raises the page count. */
	peak = b->peak_pages > n->peak_seen ? b->peak_pages : n->peak_seen;
	if (m->exact_peak)
		expect(h, "peak_pages", peak, st.peak_pages);
	else if (st.peak_pages < peak || st.peak_pages < st.pages || st.peak_pages > st.max_pages)
		fz_fail(h, -1, "stats.peak_pages %llu: below %llu seen or %llu held, or over %llu",
			U(st.peak_pages), U(peak), U(st.pages), U(st.max_pages));

	/* Failed page allocations, and which of them were injected. */
	if (m->one_failure_per_enomem)
		expect(h, "page_alloc_failures", b->page_alloc_failures + n->alloc_enomem,
		       st.page_alloc_failures);
	else if (st.page_alloc_failures < b->page_alloc_failures + n->alloc_enomem)
		fz_fail(h, -1, "stats.page_alloc_failures %llu: fewer than the %llu -ENOMEMs",
			U(st.page_alloc_failures), U(b->page_alloc_failures + n->alloc_enomem));
	if (h->cfg.fail_page_alloc_every && fz_shards < 2)
		/* A pool with injection is new: its counters started at 0. */
		expect(h, "injected_failures",
		       (st.page_allocs + st.page_alloc_failures) / h->cfg.fail_page_alloc_every,
		       st.injected_failures);
	else if (h->cfg.fail_page_alloc_every || h->cfg.fail_page_alloc_prob > 0.0) {
		if (st.injected_failures > st.page_alloc_failures)
			fz_fail(h, -1, "stats: %llu injected of %llu failed page allocations",
				U(st.injected_failures), U(st.page_alloc_failures));
	} else {
		expect(h, "injected_failures", b->injected_failures, st.injected_failures);
	}
}

void fz_check_op(struct fz_harness *h)
{
	if (FZ_CHECK_OPS)
		fz_check_counters(h);
}

/* zpool_check(), the bytes of every live object, the model's own sums. */
void fz_check_full(struct fz_harness *h)
{
	unsigned int live = 0;
	uint64_t bytes = 0;
	char why[160];

	if (!h->pool)
		return;
	if (zpool_check(h->pool, why, sizeof(why)))
		fz_fail(h, -1, "zpool_check: expected 0 seen -EUCLEAN: %s", why);
	for (int s = 0; s < FZ_SLOTS; s++) {
		if (h->obj[s].state != FZ_LIVE)
			continue;
		live++;
		bytes += h->obj[s].size;
		fz_verify(h, s, "full check");
	}
	if (live != h->live || bytes != h->live_bytes)
		fz_fail(h, -1, "model: %u live objects of %llu bytes, counted %u of %llu", live,
			U(bytes), h->live, U(h->live_bytes));
	h->st_valid = false;
	fz_check_counters(h);
	if (h->st.total_size != zpool_get_total_size(h->pool))
		fz_fail(h, -1, "stats.total_size %llu differs from zpool_get_total_size %llu",
			U(h->st.total_size), U(zpool_get_total_size(h->pool)));
}

/* After each operation of an input: what it touched, and now and then all. */
void fz_after_op(struct fz_harness *h)
{
	FZ_EMIT(after_op, h);
	fz_check_op(h);
	if (FZ_CHECK_OPS && (h->op + 1) % FZ_FULL_EVERY == 0)
		fz_check_full(h);
}
