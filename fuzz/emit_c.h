/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * emit_c.h - the harness's trace mode: the zpool calls an input decodes to,
 * written out as a standalone C program
 *
 * With ZPOOL_FUZZ_EMIT_C=FILE in the environment, a fuzz target (libFuzzer
 * or replay build) running one input writes FILE: a C program that makes
 * the same zpool calls, in the same order, with the same arguments (create
 * with this configuration, malloc of these sizes, map and write these
 * patterns, free, shrink with these evict outcomes, ...), one call per
 * line, and checks what the contract promises (return codes, bytes, no
 * overlap, zpool_check(), object and page counts). It needs only
 * <zpool/zpool.h>, so it builds against the installed package. The program
 * comes from the same decoding path as the run, through the hooks below,
 * so it cannot drift from the decoder. A comment before each operation
 * gives the input bytes it was decoded from (scripts/triage.py drops whole
 * operations with it).
 *
 * The program is written when the input ends, when the model reports a
 * mismatch, and when the process dies (a sanitizer report, a signal), so a
 * crashing input still leaves a program that ends with the crashing call.
 *
 * Every hook is a no-op unless fz_emit_on is set (once, from the
 * environment, at the first input).
 */
#ifndef ZPOOL_FUZZ_EMIT_C_H
#define ZPOOL_FUZZ_EMIT_C_H

#include "fuzz_helpers.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fz_harness;

extern bool fz_emit_on;

/* FZ_EMIT(event, args...): calls fz_emit_<event>(args...) in trace mode. */
#define FZ_EMIT(event, ...)                                                                        \
	do {                                                                                       \
		if (fz_emit_on)                                                                    \
			fz_emit_##event(__VA_ARGS__);                                              \
	} while (0)

void fz_emit_input(const struct fz_reader *r);
void fz_emit_create(const struct fz_harness *h);
void fz_emit_destroy(const struct fz_harness *h);
void fz_emit_destroy_ret(const struct fz_harness *h, int err);
void fz_emit_alloc(const struct fz_harness *h, int s, size_t size);
void fz_emit_alloc_ret(const struct fz_harness *h, int s, int err, unsigned long handle);
void fz_emit_write(const struct fz_harness *h, int s, uint8_t seed, bool from_store);
void fz_emit_verify(const struct fz_harness *h, int s);
void fz_emit_free(const struct fz_harness *h, int s);
void fz_emit_shrink(const struct fz_harness *h, unsigned int pages);
void fz_emit_shrink_ret(const struct fz_harness *h, int err, unsigned int reclaimed);
void fz_emit_compact(const struct fz_harness *h);
void fz_emit_compact_ret(const struct fz_harness *h, int err);
void fz_emit_evict(const struct fz_harness *h, unsigned long handle, int s);
void fz_emit_evict_ret(const struct fz_harness *h, int ret);
void fz_emit_evict_to_store(const struct fz_harness *h, int s);
void fz_emit_after_op(const struct fz_harness *h);
void fz_emit_teardown_done(const struct fz_harness *h);
void fz_emit_fail(const struct fz_harness *h, const char *message);

/* Sets fz_emit_on from ZPOOL_FUZZ_EMIT_C (the harness calls it at init). */
void fz_emit_setup(void);

#endif /* ZPOOL_FUZZ_EMIT_C_H */
