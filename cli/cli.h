/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cli.h - what every command-line tool of the harness shares
 *
 * One exit-code scheme (docs/exit-codes.md), one way to print --version
 * (the project version and the commit it was built from), and one number
 * parser: numbers on a command line are decimal, always. "010" is ten,
 * "0x10" and "-1" are refused, so the same text means the same number in
 * zpool_stress, zpool_bench, trace_tool and the shell scripts
 * (scripts/lib/cli.sh), and a typo cannot turn into an octal surprise.
 */
#ifndef ZPOOL_CLI_H
#define ZPOOL_CLI_H

#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The exit codes of every tool; docs/exit-codes.md says what each means. */
#define CLI_EXIT_OK	     0	 /* ran, nothing found */
#define CLI_EXIT_FINDING     1	 /* a bug in the code under test */
#define CLI_EXIT_USAGE	     2	 /* bad flag, bad value, bad input file */
#define CLI_EXIT_HARNESS     3	 /* the harness itself failed */
#define CLI_EXIT_INTERRUPTED 130 /* stopped by SIGINT */

/* "0.1.0" */
extern const char cli_version[];
/* The commit the binary was built from: "abcdef123456", "...-dirty", or "unknown". */
extern const char cli_commit[];

/**
 * cli_print_version() - print "@tool (zpool-harness) VERSION, commit C" to stdout
 * @tool: the program's name
 */
void cli_print_version(const char *tool);

/**
 * cli_parse_u64() - parse a whole decimal number in [@min, @max]
 * @s: the text: decimal digits only (leading zeros allowed, they mean nothing)
 * @min: smallest accepted value
 * @max: largest accepted value
 * @out: receives the value on success
 *
 * No sign, no blank, no "0x", no trailing junk, no wrap-around.
 *
 * Return: 0, -EINVAL for text that is not a decimal number, -ERANGE for a
 * number outside [@min, @max].
 */
int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/**
 * cli_parse_double() - parse a finite decimal number in [@min, @max]
 * @s: digits with an optional fraction and exponent ("0.5", "1e-3");
 *     no sign, hex float, inf or nan
 * @min: smallest accepted value
 * @max: largest accepted value
 * @out: receives the value on success
 *
 * Return: 0, -EINVAL or -ERANGE as cli_parse_u64().
 */
int cli_parse_double(const char *s, double min, double max, double *out);

#ifdef __cplusplus
}
#endif

#endif /* ZPOOL_CLI_H */
