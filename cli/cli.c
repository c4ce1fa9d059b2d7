// SPDX-License-Identifier: GPL-2.0-only
/*
 * cli.c - the number parser and --version of every tool (see cli.h)
 *
 * strtoull() and strtod() are only called on text already checked to be
 * plain decimal: strtoull(s, 0) would read "010" as octal and "0x10" as
 * hex, and both would take a sign and leading blanks.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void cli_print_version(const char *tool)
{
	printf("%s (zpool-harness) %s, commit %s\n", tool, cli_version, cli_commit);
}

int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || strspn(s, "0123456789") != strlen(s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -ERANGE;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* Digits, an optional '.' fraction, an optional exponent: nothing else. */
static int plain_decimal(const char *s)
{
	size_t digits = 0;

	while (isdigit((unsigned char)*s)) {
		s++;
		digits++;
	}
	if (*s == '.') {
		s++;
		while (isdigit((unsigned char)*s)) {
			s++;
			digits++;
		}
	}
	if (!digits)
		return 0;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!isdigit((unsigned char)*s))
			return 0;
		while (isdigit((unsigned char)*s))
			s++;
	}
	return *s == '\0';
}

int cli_parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (!s || !plain_decimal(s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (*end || !isfinite(v) || (errno && v != 0.0))
		return -ERANGE;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}
