// SPDX-License-Identifier: GPL-2.0-only
/*
 * trace_test.c - the trace reader must refuse every kind of bad file
 *
 * Each case writes a small file into a fresh temporary directory and loads
 * it; a bad file must fail with "path:line: reason" naming the right line,
 * and a good one must load with the sizes it holds. The cases are the ways
 * a trace goes wrong in practice: hand edits, a copy cut short, an empty
 * or comment-only file, numbers out of range, stray bytes.
 */
#include "trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/zpool-trace-test.XXXXXX";
static int failures;

static void write_file(const char *path, const char *body, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(body, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* Load @body; expect failure with "path:@line: " and @reason in the message. */
static void expect_bad(const char *name, const char *body, size_t len, int line, const char *reason)
{
	char path[256], want[300], err[512] = "";
	struct trace tr;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	write_file(path, body, len);
	if (line)
		snprintf(want, sizeof(want), "%s:%d: ", path, line);
	else
		snprintf(want, sizeof(want), "%s: ", path);
	if (trace_load(path, &tr, err, sizeof(err)) == 0) {
		fprintf(stderr, "FAIL %s: loaded %zu sizes, expected an error\n", name, tr.nr);
		trace_free(&tr);
		failures++;
	} else if (strncmp(err, want, strlen(want)) || !strstr(err, reason)) {
		fprintf(stderr, "FAIL %s: error '%s', expected '%s...%s'\n", name, err, want,
			reason);
		failures++;
	} else {
		printf("ok   %s: %s\n", name, err);
	}
	unlink(path);
}

static void expect_good(const char *name, const char *body, size_t nr, uint64_t total,
			unsigned int last)
{
	char path[256], err[512] = "";
	struct trace tr;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	write_file(path, body, strlen(body));
	if (trace_load(path, &tr, err, sizeof(err))) {
		fprintf(stderr, "FAIL %s: %s\n", name, err);
		failures++;
	} else if (tr.nr != nr || tr.total != total || tr.sizes[nr - 1] != last) {
		fprintf(stderr, "FAIL %s: got %zu sizes, total %llu, last %u\n", name, tr.nr,
			(unsigned long long)tr.total, tr.sizes[tr.nr - 1]);
		failures++;
		trace_free(&tr);
	} else {
		printf("ok   %s: %zu sizes\n", name, tr.nr);
		trace_free(&tr);
	}
	unlink(path);
}

#define BAD(name, body, line, reason) expect_bad(name, body, sizeof(body) - 1, line, reason)

int main(void)
{
	char err[512];
	struct trace tr;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	expect_good("good", "# src\n# comp\n100\n4096\n1\n", 3, 4197, 1);
	expect_good("comments-between", "7\n# note\n8\n", 2, 15, 8);

	BAD("empty", "", 0, "empty");
	BAD("comments-only", "# header\n# more\n", 0, "empty");
	BAD("truncated", "# h\n100\n20", 3, "truncated");
	BAD("truncated-comment", "100\n# cut", 2, "truncated");
	BAD("word", "100\nabc\n", 2, "not a number");
	BAD("blank-line", "100\n\n200\n", 2, "not a number");
	BAD("negative", "5\n-3\n", 2, "not a number");
	BAD("trailing-space", "5\n6 \n", 2, "not a number");
	BAD("crlf", "5\r\n", 1, "not a number");
	BAD("hex", "0x10\n", 1, "not a number");
	BAD("zero", "1\n2\n0\n", 3, "outside 1..4096");
	BAD("too-big", "4097\n", 1, "outside 1..4096");
	BAD("huge", "99999999999999999999999\n", 1, "outside 1..4096");
	BAD("nul", "12\n3\0004\n", 2, "NUL");

	if (trace_load("/nonexistent/zpool.trace", &tr, err, sizeof(err)) == 0 ||
	    !strstr(err, "/nonexistent/zpool.trace: cannot open")) {
		fprintf(stderr, "FAIL missing file: '%s'\n", err);
		failures++;
	} else {
		printf("ok   missing: %s\n", err);
	}
	rmdir(dir);
	if (failures)
		fprintf(stderr, "%d trace reader case(s) failed\n", failures);
	return failures ? 1 : 0;
}
