// SPDX-License-Identifier: GPL-2.0-only
/*
 * trace.c - the reader of compressed-size traces
 *
 * The reader is strict on purpose: a benchmark fed a half-written or
 * hand-edited trace would report figures for sizes nobody measured, so
 * anything that is not exactly "digits, newline" or a '#' comment stops the
 * load with the file and line to fix. Numbers are parsed by hand rather than
 * with strtoul(), which would accept signs, blanks and hex prefixes.
 */
#include "trace.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Write "path:line: reason" to @err and fail. */
static int __attribute__((format(printf, 5, 6)))
trace_error(char *err, size_t errlen, const char *path, size_t line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err || !errlen)
		return -1;
	n = line ? snprintf(err, errlen, "%s:%zu: ", path, line)
		 : snprintf(err, errlen, "%s: ", path);
	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/*
 * Parse @len bytes of @s as a size: 1 to 4 decimal digits, nothing else.
 * Returns the value, 0 for "not a number", or TRACE_MAX_SIZE + 1 for a
 * number that is too large.
 */
static unsigned int parse_size(const char *s, size_t len)
{
	unsigned int v = 0;
	size_t i;

	if (!len)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		if (v <= TRACE_MAX_SIZE)
			v = v * 10 + (unsigned int)(s[i] - '0');
	}
	return v > TRACE_MAX_SIZE ? TRACE_MAX_SIZE + 1 : v;
}

static bool all_digits(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return len > 0;
}

/* Append @v to @tr, growing the array geometrically. */
static int trace_push(struct trace *tr, size_t *cap, unsigned int v)
{
	if (tr->nr == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4096;
		uint16_t *n = realloc(tr->sizes, ncap * sizeof(*n));

		if (!n)
			return -1;
		tr->sizes = n;
		*cap = ncap;
	}
	tr->sizes[tr->nr++] = (uint16_t)v;
	tr->total += v;
	return 0;
}

int trace_load(const char *path, struct trace *tr, char *err, size_t errlen)
{
	char *line = NULL;
	size_t linecap = 0, lineno = 0, cap = 0;
	ssize_t got;
	FILE *f;
	int ret = 0;

	memset(tr, 0, sizeof(*tr));
	f = fopen(path, "r");
	if (!f)
		return trace_error(err, errlen, path, 0, "cannot open: %s", strerror(errno));

	while ((got = getline(&line, &linecap, f)) > 0) {
		size_t len = (size_t)got;
		unsigned int v;

		lineno++;
		if (line[len - 1] != '\n') {
			ret = trace_error(err, errlen, path, lineno,
					  "truncated: last line has no newline");
			break;
		}
		len--;
		if (line[0] == '#')
			continue;
		if (memchr(line, '\0', len)) {
			ret = trace_error(err, errlen, path, lineno, "NUL byte in line");
			break;
		}
		v = parse_size(line, len);
		if (v == 0 && !all_digits(line, len)) {
			ret = trace_error(err, errlen, path, lineno, "not a number: '%.*s'",
					  (int)(len > 40 ? 40 : len), line);
			break;
		}
		if (v == 0 || v > TRACE_MAX_SIZE) {
			ret = trace_error(err, errlen, path, lineno, "size '%.*s' outside 1..%u",
					  (int)(len > 40 ? 40 : len), line, TRACE_MAX_SIZE);
			break;
		}
		if (trace_push(tr, &cap, v)) {
			ret = trace_error(err, errlen, path, lineno, "out of memory");
			break;
		}
	}
	if (!ret && ferror(f))
		ret = trace_error(err, errlen, path, lineno + 1, "read error");
	if (!ret && tr->nr == 0)
		ret = trace_error(err, errlen, path, 0, "empty: no sizes in %zu lines", lineno);
	free(line);
	fclose(f);
	if (ret)
		trace_free(tr);
	return ret;
}

void trace_free(struct trace *tr)
{
	free(tr->sizes);
	memset(tr, 0, sizeof(*tr));
}
