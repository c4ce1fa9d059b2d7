// SPDX-License-Identifier: GPL-2.0-only
/*
 * zpool_diff_fuzzer.c - one operation sequence against a backend and malloc
 *
 * The backend is ZPOOL_FUZZ_BACKEND if set (the campaign runs one per
 * backend: scope vs-malloc in targets.txt), else byte 0 picks one of the
 * registered backends other than malloc (byte 0 of 0 is the first). Both
 * pools get DIFF_PAGES pages and no fault injection; with at most FZ_SLOTS
 * objects neither can run out (a backend needs at most one zspage of 8
 * pages per object, malloc about 4.2 KiB), so everything the contract
 * fixes must agree: alloc's return code for every size, the bytes read
 * back, and the bytes reloaded after eviction. Which objects shrink evicts
 * is the backend's choice, so slots may be live in one pool and evicted in
 * the other; an operation applies to each pool where the slot is in the
 * state it needs, and results are compared where both ran. Free drops the
 * object from the pool or the backing store, and write needs the slot live
 * in both, so a slot always holds the same object in both (or none). Each
 * pool is also checked against its own model, as in zpool_ops_fuzzer.
 *
 * Input: byte 0 the backend (index among the backends other than malloc,
 * modulo their number; the ops corpora replay here), then opcode bytes b:
 * op = b % 6, slot = b >> 3 (exactly that slot):
 *   0 alloc u16 size   1 free   2 write u8 seed
 *   3 verify; when slot >= 16, both pools compact first (zpool_compact())
 *   4 shrink u8 pages (% 4), u32 evict mask       5 reload
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIFF_PAGES (8 * FZ_SLOTS)

static uint8_t store[2][FZ_SLOTS][ZPOOL_PAGE_SIZE];
static struct fz_harness pools[2];
/* Set from ZPOOL_FUZZ_BACKEND: every input compares this backend with malloc. */
static const char *pinned_type;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *name = getenv("ZPOOL_FUZZ_BACKEND");

	(void)argc, (void)argv;
	if (!name || !*name)
		return 0;
	if (!zpool_has_pool(name) || strcmp(name, "malloc") == 0) {
		fprintf(stderr,
			"zpool_diff_fuzzer: ZPOOL_FUZZ_BACKEND=%s is not a registered backend "
			"other than malloc\n",
			name);
		exit(2);
	}
	pinned_type = name;
	return 0;
}

/* The backend byte 0 picks among the registered backends other than malloc. */
static const char *diff_backend(uint8_t b0)
{
	const char *names[16];
	size_t n = zpool_types(names, 16), k = 0;

	for (size_t i = 0; i < n && i < 16; i++)
		if (strcmp(names[i], "malloc") != 0)
			names[k++] = names[i];
	return names[b0 % k];
}

/*
 * A slot is empty in both pools or holds the same object in both (live or
 * evicted); where both hold it live, the bytes must be the same.
 */
static void compare_bytes(struct fz_harness *a, struct fz_harness *b, int s)
{
	const uint8_t *pa, *pb;

	if ((a->obj[s].state == FZ_EMPTY) != (b->obj[s].state == FZ_EMPTY))
		fz_fail(a, s, "slot is %s in %s but %s in %s",
			a->obj[s].state == FZ_EMPTY ? "empty" : "held", a->name,
			b->obj[s].state == FZ_EMPTY ? "empty" : "held", b->name);
	if (a->obj[s].state == FZ_EMPTY)
		return;
	if (a->obj[s].size != b->obj[s].size || a->obj[s].seed != b->obj[s].seed)
		fz_fail(a, s, "slot content: %s has size %u seed %u, %s size %u seed %u", a->name,
			a->obj[s].size, a->obj[s].seed, b->name, b->obj[s].size, b->obj[s].seed);
	if (a->obj[s].state != FZ_LIVE || b->obj[s].state != FZ_LIVE)
		return;
	pa = zpool_map_handle(a->pool, a->obj[s].handle, ZPOOL_MM_RO);
	pb = zpool_map_handle(b->pool, b->obj[s].handle, ZPOOL_MM_RO);
	for (size_t i = 0; i < a->obj[s].size; i++)
		if (pa[i] != pb[i])
			fz_fail(a, s, "byte %zu: %s has %#x, %s has %#x", i, a->name, pa[i],
				b->name, pb[i]);
	zpool_unmap_handle(b->pool, b->obj[s].handle);
	zpool_unmap_handle(a->pool, a->obj[s].handle);
}

static bool run_op(struct fz_reader *r, unsigned int op)
{
	uint8_t b = fz_u8(r), seed = 0;
	int s = b >> 3, err[2];
	unsigned int pages = 0;
	uint32_t mask = 0;
	bool all_live = true;
	size_t size = 0;

	switch (b % 6) {
	case 0:
		size = fz_size(fz_u16(r));
		break;
	case 2:
		seed = fz_u8(r);
		break;
	case 4:
		pages = fz_u8(r) % 4;
		mask = fz_u32(r);
		break;
	}
	if (r->short_read)
		return false;
	for (unsigned int p = 0; p < 2; p++)
		all_live &= pools[p].obj[s].state == FZ_LIVE;
	for (unsigned int p = 0; p < 2; p++) {
		struct fz_harness *h = &pools[p];
		enum fz_state state = h->obj[s].state;

		err[p] = 1; /* did not run */
		h->op = op;
		switch (b % 6) {
		case 0:
			if (state == FZ_EMPTY)
				err[p] = fz_alloc(h, s, size, (uint8_t)op, NULL);
			break;
		case 1:
			/* The owner drops the object, evicted or not. */
			if (state == FZ_LIVE)
				fz_free(h, s);
			h->obj[s].state = FZ_EMPTY;
			break;
		case 2:
			/* Only where live in every pool, so the slots keep one content. */
			if (all_live)
				fz_write(h, s, seed, NULL);
			break;
		case 3:
			if (s >= 16)
				fz_compact(h);
			if (state == FZ_LIVE)
				fz_verify(h, s, "verify");
			break;
		case 4:
			err[p] = fz_shrink(h, pages, mask);
			break;
		default:
			if (state == FZ_STORED)
				fz_reload(h, s);
			break;
		}
		fz_after_op(h);
	}
	for (unsigned int p = 1; p < 2; p++) {
		if (b % 6 == 0 && err[0] != 1 && err[p] != 1 && err[0] != err[p])
			fz_fail(&pools[0], s, "alloc(%zu): %s returned %d, %s returned %d", size,
				pools[0].name, err[0], pools[p].name, err[p]);
		if (b % 6 == 4 && pages == 0 && err[0] != err[p])
			fz_fail(&pools[0], s, "shrink(0): %s returned %d, %s returned %d",
				pools[0].name, err[0], pools[p].name, err[p]);
		compare_bytes(&pools[0], &pools[p], s);
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *types[2] = { NULL, "malloc" };
	struct fz_reader r;
	uint8_t b0;

	fz_reader_init(&r, data, size);
	b0 = fz_u8(&r);
	if (r.short_read)
		return 0;
	types[0] = pinned_type ? pinned_type : diff_backend(b0);
	for (int p = 0; p < 2; p++) {
		fz_harness_init(&pools[p], types[p], types[p], store[p], fz_policy_mask);
		fz_create(&pools[p], DIFF_PAGES, 0);
	}
	for (unsigned int op = 0; op < FZ_MAX_OPS && !fz_done(&r); op++)
		if (!run_op(&r, op))
			break;
	for (int p = 0; p < 2; p++)
		fz_teardown(&pools[p]);
	return 0;
}
