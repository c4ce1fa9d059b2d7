// SPDX-License-Identifier: GPL-2.0-only
/*
 * replay_main.c - run inputs through a fuzz target without libFuzzer
 *
 * Builds without -fsanitize=fuzzer (gcc, TSan, release) link this main in
 * place of libFuzzer's, so that ctest replays every corpus and regression
 * in every build. Each argument is a file, run once, or a directory, whose
 * entries are run recursively in name order (so a failure is reproducible
 * by position). Options starting with '-' are ignored, so a libFuzzer
 * command line replays as is, except --help, --version and -timeout=N. A
 * target that finds a bug aborts; this main reports unreadable paths (exit
 * 2, as a bad input of every tool: docs/exit-codes.md), an input that runs
 * longer than -timeout seconds (default 10; 0 = no limit) as libFuzzer
 * does (a "TIMEOUT" line naming the input, exit 70: a hang is a finding,
 * not a stuck test), and what it ran.
 */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* libFuzzer's exit code for a timeout (-timeout_exitcode). */
#define REPLAY_TIMEOUT_EXIT 70

#include "cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static unsigned long inputs_run;
static unsigned int timeout_seconds = 10;
static const char *volatile current_input;

static void put(const char *s)
{
	(void)!write(2, s, strlen(s));
}

/* The input ran past -timeout: say which, and leave (the target is stuck). */
static void on_alarm(int sig)
{
	(void)sig;
	put("replay: TIMEOUT: ");
	put(current_input ? current_input : "?");
	put(" ran longer than the -timeout limit: a hang\n");
	_exit(REPLAY_TIMEOUT_EXIT);
}

/* Read all of @path; NULL (with a message) if it cannot be read. */
static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0, got;

	if (!f) {
		fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno));
		return NULL;
	}
	do {
		if (n == cap) {
			uint8_t *bigger = realloc(buf, cap ? cap * 2 : 4096);

			if (!bigger) {
				fprintf(stderr, "replay: out of memory reading %s\n", path);
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = bigger;
			cap = cap ? cap * 2 : 4096;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got);
	if (ferror(f)) {
		fprintf(stderr, "replay: error reading %s\n", path);
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = n;
	return buf;
}

static int run_file(const char *path)
{
	size_t len = 0;
	uint8_t *buf = read_file(path, &len);

	if (!buf)
		return -1;
	current_input = path;
	alarm(timeout_seconds);
	LLVMFuzzerTestOneInput(buf, len);
	alarm(0);
	free(buf);
	inputs_run++;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_path(const char *path);

/* Run the entries of directory @path in name order, skipping dot files. */
static int run_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int err = 0;

	if (!d) {
		fprintf(stderr, "replay: cannot open directory %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **bigger = realloc(names, (cap ? cap * 2 : 64) * sizeof(*names));

			if (!bigger) {
				err = -1;
				break;
			}
			names = bigger;
			cap = cap ? cap * 2 : 64;
		}
		names[n] = malloc(strlen(path) + strlen(e->d_name) + 2);
		if (!names[n]) {
			err = -1;
			break;
		}
		sprintf(names[n], "%s/%s", path, e->d_name);
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		if (!err && run_path(names[i]))
			err = -1;
		free(names[i]);
	}
	free(names);
	return err;
}

static int run_path(const char *path)
{
	struct stat st;

	if (stat(path, &st)) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return S_ISDIR(st.st_mode) ? run_dir(path) : run_file(path);
}

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"usage: %s [-libFuzzer_flag=...] FILE|DIR...\n"
		"Runs each file, and each file under each directory, through the fuzz target\n"
		"once (this build has no libFuzzer; flags starting with '-' are ignored but\n"
		"-timeout=N: an input running over N seconds, default 10, is a hang).\n"
		"Exit: 0 every input ran, 2 a path could not be read, 70 an input hung; a bug\n"
		"the target finds aborts (docs/exit-codes.md).\n",
		prog);
}

int main(int argc, char **argv)
{
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	int err = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout, prog);
			return 0;
		}
		if (!strcmp(argv[i], "--version")) {
			cli_print_version(prog);
			return 0;
		}
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	if (argc < 2) {
		usage(stderr, prog);
		return CLI_EXIT_USAGE;
	}
	for (int i = 1; i < argc; i++) {
		uint64_t v;

		if (strncmp(argv[i], "-timeout=", 9) == 0) {
			if (cli_parse_u64(argv[i] + 9, 0, 86400, &v)) {
				fprintf(stderr, "replay: bad %s: want seconds 0..86400\n", argv[i]);
				return CLI_EXIT_USAGE;
			}
			timeout_seconds = (unsigned int)v;
		}
	}
	signal(SIGALRM, on_alarm);
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			continue;
		if (run_path(argv[i]))
			err = 2;
	}
	printf("replay: %lu inputs run%s\n", inputs_run, err ? ", some paths unreadable" : "");
	return err;
}
