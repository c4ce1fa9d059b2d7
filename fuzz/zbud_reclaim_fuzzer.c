// SPDX-License-Identifier: GPL-2.0-only
/*
 * zbud_reclaim_fuzzer.c - zbud's reclaim protocol under hostile callbacks
 *
 * Arenas of 1..6 pages, so shrink and -ENOMEM come at once, and evict
 * callbacks that do what the contract allows them to: evict for real,
 * fail, map and read the object first, free the other buddy of the page
 * (which zbud must defer, the page being under reclaim), allocate again,
 * or drop the object. The zbud page model (zbud_model.c) predicts
 * which handle each callback receives (LRU tail, first buddy, then the last
 * only if the first was evicted, even when the last was freed meanwhile),
 * when the page is freed, the reclaimed count and the return code
 * (-EAGAIN after exactly 8 failed page attempts). Inside each callback the
 * pool must pass zpool_check() and hold exactly the pages the model says:
 * a deferred free must not release the page under reclaim.
 *
 * Input: byte 0 capacity 1 + b % 6 pages; then opcode bytes b: op = b % 5,
 * slot = b >> 3:
 *   0 alloc u16 size   1 free   2 verify   3 reload
 *   4 shrink u8 pages (% 4), u32 actions (3 bits per callback, callback k
 *     uses bits 3 * (k % 10)), u16 size for callbacks that allocate
 * Callback actions: 0 evict, 1 fail, 2 read then evict, 3 read then fail,
 * 4 free the other buddy then evict, 5 free the other buddy then fail,
 * 6 allocate then evict, 7 drop (free without storing) and return 0.
 */
#include "harness.h"

#include <errno.h>

static uint8_t store[FZ_SLOTS][ZPOOL_PAGE_SIZE];
static struct fz_harness harness;
static uint32_t actions;
static size_t cb_alloc_size;

/* The owner frees the other live buddy of @handle's page, if there is one. */
static void free_other_buddy(struct fz_harness *h, unsigned long handle)
{
	int i = zm_find(&h->zm, handle);

	if (i < 0)
		fz_fail(h, -1, "evict: handle %#lx on no page of the model", handle);
	for (int b = 0; b < 2; b++) {
		int t = h->zm.pages[i].bud[b];

		if (t >= 0 && h->obj[t].handle != handle) {
			fz_free(h, t);
			return;
		}
	}
}

static int reclaim_policy(struct fz_harness *h, int s, unsigned long handle)
{
	unsigned int act = actions >> (3 * (h->cb_nr % 10)) & 7;
	int t, ret = act & 1;

	if (s < 0) {
		/* Freed while under reclaim: may be mapped, must not be freed. */
		if (act == 2 || act == 3)
			(void)*(volatile const uint8_t *)zpool_map_handle(h->pool, handle,
									  ZPOOL_MM_RO),
			    zpool_unmap_handle(h->pool, handle);
		return ret;
	}
	switch (act) {
	case 2:
	case 3:
		fz_verify(h, s, "evict read");
		break;
	case 4:
	case 5:
		free_other_buddy(h, handle);
		break;
	case 6:
		t = fz_pick(h, (unsigned int)s, FZ_EMPTY);
		if (t >= 0)
			fz_alloc(h, t, cb_alloc_size, (uint8_t)h->cb_nr, NULL);
		break;
	case 7:
		fz_free(h, s);
		fz_check_op(h);
		return 0;
	}
	fz_check_op(h);
	if (ret)
		return ret;
	fz_evict_to_store(h, s);
	fz_check_op(h);
	return 0;
}

static void shrink_op(struct fz_harness *h, unsigned int pages)
{
	int err = fz_shrink(h, pages, 0);

	/* Every callback failed: one callback per page attempt, 8 attempts. */
	if (err == -EAGAIN && h->cb_ok == 0 && h->cb_nr != FZ_RETRIES)
		fz_fail(h, -1,
			"shrink(%u): -EAGAIN with all evicts failing after %u calls, "
			"expected %u",
			pages, h->cb_nr, FZ_RETRIES);
}

static bool run_op(struct fz_harness *h, struct fz_reader *r)
{
	uint8_t b = fz_u8(r);
	unsigned int slot = b >> 3, pages;

	switch (b % 5) {
	case 0:
		if (!fz_op_alloc(h, r, slot))
			return false;
		break;
	case 1:
		fz_op_free(h, slot);
		break;
	case 2:
		fz_op_verify(h, slot);
		break;
	case 3:
		fz_op_reload(h, slot);
		break;
	default:
		pages = fz_u8(r) % 4;
		actions = fz_u32(r);
		cb_alloc_size = fz_size(fz_u16(r));
		if (r->short_read)
			return false;
		shrink_op(h, pages);
		break;
	}
	return !r->short_read;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_harness *h = &harness;
	struct fz_reader r;
	unsigned int pages;

	fz_reader_init(&r, data, size);
	pages = 1 + fz_u8(&r) % 6;
	if (r.short_read)
		return 0;
	fz_harness_init(h, "zbud-reclaim", "zbud", store, reclaim_policy);
	fz_create(h, pages, 0);
	for (h->op = 0; h->op < FZ_MAX_OPS && !fz_done(&r); h->op++) {
		if (!run_op(h, &r))
			break;
		fz_after_op(h);
	}
	fz_teardown(h);
	return 0;
}
