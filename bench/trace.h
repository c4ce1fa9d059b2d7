/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * trace.h - compressed-size traces: the format and its reader
 *
 * A trace is a text file of compressed page sizes, one decimal number per
 * line, each in 1..4096 (a page that did not shrink is recorded as 4096,
 * the way zswap would store it). Lines starting with '#' are comments and
 * name the source, the compressor and the command that made the file. Every
 * line, the last included, ends with '\n', so that a file cut short in the
 * middle of a number is told apart from a complete one.
 */
#ifndef ZPOOL_BENCH_TRACE_H
#define ZPOOL_BENCH_TRACE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The largest size a trace may hold: one uncompressed page. */
#define TRACE_MAX_SIZE 4096u

/**
 * struct trace - a trace read into memory
 * @sizes: the sizes, in file order
 * @nr: number of sizes (at least 1)
 * @total: sum of @sizes
 */
struct trace {
	uint16_t *sizes;
	size_t nr;
	uint64_t total;
};

/**
 * trace_load() - read and validate a trace file
 * @path: the file
 * @tr: filled in on success; release with trace_free()
 * @err: on failure, receives "path:line: reason"
 * @errlen: size of @err
 *
 * Rejects, with the line it happened on: a line that is not a decimal
 * number, a size outside 1..TRACE_MAX_SIZE, a last line without its
 * newline (a truncated file), and a file with no sizes at all.
 *
 * Return: 0, or -1 with @err set.
 */
int trace_load(const char *path, struct trace *tr, char *err, size_t errlen);

/* trace_free() - release what trace_load() allocated; @tr may be zeroed. */
void trace_free(struct trace *tr);

#ifdef __cplusplus
}
#endif

#endif /* ZPOOL_BENCH_TRACE_H */
