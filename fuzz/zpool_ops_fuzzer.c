// SPDX-License-Identifier: GPL-2.0-only
/*
 * zpool_ops_fuzzer.c - operation sequences on one pool, against the model
 *
 * Input format (all integers little-endian):
 *   byte 0      backend: index into zpool_types(), modulo their number
 *               (ignored when ZPOOL_FUZZ_BACKEND names one)
 *   byte 1      arena capacity: 1 + b % 32 pages (small, so -ENOMEM and
 *               reclaim happen within a few operations)
 *   byte 2      fault injection: b % 8 == 7: fail every 2 + (b >> 3) % 8th
 *               page allocation; b % 8 == 6: with probability (b >> 3) / 32;
 *               b % 8 == 5: none, but the creates the contract refuses are
 *               tried first (bad probability (b >> 3) % 3, unknown backend,
 *               NULL arguments, oversized zbud arenas; fz_create_refused())
 *   then up to FZ_MAX_OPS operations, each an opcode byte b: op = b % 7,
 *   slot = b >> 3 (the first slot from there in the state the op needs)
 *     0 alloc   u16 size (0 and > 4096 included: -EINVAL)
 *     1 free
 *     2 write   u8 pattern seed, through a WO map
 *     3 verify  through an RO map; when slot >= 16 (b >= 128), zpool_compact()
 *               first, and every live object verified after it
 *     4 shrink  u8 pages (b % 4: 0 = -EINVAL), u32 mask: bit k decides
 *               whether evict call k (mod 32) succeeds
 *     5 reload  an evicted object from the backing store
 *     6 destroy and recreate: u8 pages, u8 fault; -EBUSY while live
 * Every result goes through the shadow model (harness.h); at the end
 * everything is freed and the pool must be empty and destroyable.
 *
 * ZPOOL_FUZZ_SHARDS=N (2..64) makes every pool a sharded pool of N shards
 * (capacities below N raised to N), with the same inputs: the sharded
 * configuration, checked against the model without zbud's page model.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>

static uint8_t store[FZ_SLOTS][ZPOOL_PAGE_SIZE];
static struct fz_harness harness;
/* Set from ZPOOL_FUZZ_BACKEND: every input then runs on this backend. */
static const char *pinned_type;

/*
 * ZPOOL_FUZZ_BACKEND=name pins the backend, so that a campaign can fuzz
 * and report each backend on its own; the input's backend byte is then
 * read and ignored, so one corpus serves every backend.
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *name = getenv("ZPOOL_FUZZ_BACKEND");
	const char *shards = getenv("ZPOOL_FUZZ_SHARDS");

	(void)argc, (void)argv;
	if (shards && *shards) {
		char *end;
		unsigned long n = strtoul(shards, &end, 10);

		if (*end || n < 2 || n > ZPOOL_MAX_SHARDS) {
			fprintf(stderr, "zpool_ops_fuzzer: ZPOOL_FUZZ_SHARDS=%s is not in 2..%u\n",
				shards, ZPOOL_MAX_SHARDS);
			exit(2);
		}
		fz_shards = (unsigned int)n;
	}
	if (!name || !*name)
		return 0;
	if (!zpool_has_pool(name)) {
		fprintf(stderr,
			"zpool_ops_fuzzer: ZPOOL_FUZZ_BACKEND=%s is not a registered backend\n",
			name);
		exit(2);
	}
	pinned_type = name;
	return 0;
}

/* Decode and run one operation; false when the input ran out. */
static bool run_op(struct fz_harness *h, struct fz_reader *r)
{
	uint8_t b = fz_u8(r), seed, fault;
	unsigned int slot = b >> 3, pages;
	uint32_t mask;
	int s;

	switch (b % 7) {
	case 0:
		if (!fz_op_alloc(h, r, slot))
			return false;
		break;
	case 1:
		fz_op_free(h, slot);
		break;
	case 2:
		seed = fz_u8(r);
		if (r->short_read)
			return false;
		s = fz_pick(h, slot, FZ_LIVE);
		if (s >= 0)
			fz_write(h, s, seed, NULL);
		break;
	case 3:
		if (slot >= 16)
			fz_compact(h);
		fz_op_verify(h, slot);
		break;
	case 4:
		pages = fz_u8(r) % 4;
		mask = fz_u32(r);
		if (r->short_read)
			return false;
		fz_shrink(h, pages, mask);
		break;
	case 5:
		fz_op_reload(h, slot);
		break;
	default:
		pages = 1 + fz_u8(r) % 32;
		fault = fz_u8(r);
		if (r->short_read)
			return false;
		fz_recreate(h, pages, fault);
		break;
	}
	return !r->short_read;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_harness *h = &harness;
	const char *types[16];
	size_t ntypes = zpool_types(types, 16);
	struct fz_reader r;
	const char *type;
	unsigned int pages;
	uint8_t fault;

	fz_reader_init(&r, data, size);
	type = types[fz_u8(&r) % (ntypes < 16 ? ntypes : 16)];
	if (pinned_type)
		type = pinned_type;
	pages = 1 + fz_u8(&r) % 32;
	fault = fz_u8(&r);
	if (r.short_read)
		return 0;
	fz_harness_init(h, type, type, store, fz_policy_mask);
	fz_create(h, pages, fault);
	for (h->op = 0; h->op < FZ_MAX_OPS && !fz_done(&r); h->op++) {
		if (!run_op(h, &r))
			break;
		fz_after_op(h);
	}
	fz_teardown(h);
	return 0;
}
