/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fuzz_helpers.h - what every fuzz target needs first: the bounds of one
 * input's work and the input reader
 *
 * The reader never reads past the input: a read past the end yields 0 and
 * sets short_read, and the target drops the operation it was decoding.
 * Work per input is bounded (FZ_MAX_OPS operations, FZ_SLOTS objects,
 * arenas of at most FZ_MAX_PAGES pages) so that no input is much slower
 * than another. The pool and its shadow model are in harness.h; the code
 * behind both is built once, as the fuzz_harness library (fuzz/CMakeLists.txt).
 */
#ifndef ZPOOL_FUZZ_HELPERS_H
#define ZPOOL_FUZZ_HELPERS_H

#include <zpool/zpool.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_SLOTS     32	 /* objects a harness tracks */
#define FZ_MAX_OPS   128 /* operations decoded from one input */
#define FZ_MAX_PAGES 256 /* largest arena a harness creates */

/* A cursor over the input; reads past the end yield 0 and set @short_read. */
struct fz_reader {
	const uint8_t *data;
	size_t size;
	size_t pos;
	bool short_read;
};

void fz_reader_init(struct fz_reader *r, const uint8_t *data, size_t size);

/* Whether the input is used up (or a read already ran past its end). */
static inline bool fz_done(const struct fz_reader *r)
{
	return r->short_read || r->pos >= r->size;
}

static inline uint8_t fz_u8(struct fz_reader *r)
{
	if (r->pos >= r->size) {
		r->short_read = true;
		return 0;
	}
	return r->data[r->pos++];
}

/* Little-endian, as every multi-byte field of the input formats. */
uint16_t fz_u16(struct fz_reader *r);
uint32_t fz_u32(struct fz_reader *r);

/*
 * An allocation size: mostly 1..4096, but about one in sixteen raw values
 * lands on 0 or above ZPOOL_PAGE_SIZE, to exercise -EINVAL.
 */
static inline size_t fz_size(uint16_t raw)
{
	return raw % (ZPOOL_PAGE_SIZE + 256u);
}

#endif /* ZPOOL_FUZZ_HELPERS_H */
