// SPDX-License-Identifier: GPL-2.0-only
/*
 * options.c - the command line and size traces of zpool_stress
 *
 * Every value is checked in full (no trailing junk, no silent wrap-around,
 * ranges that keep a run meaningful), because a stress run that quietly
 * did something other than what was asked proves nothing. Any problem is
 * one line on stderr naming the flag or the file and line, and exit code 2.
 * Numbers are decimal, as in every tool of the harness (cli/cli.h), and a
 * size trace is read by the one trace reader (bench/trace.h), with the
 * same rules as zpool_bench and trace_tool check.
 */
#include "stress.h"

#include "cli.h"
#include "trace.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static const char usage[] = "usage: zpool_stress [options]\n"
			    "  --backend NAME|all     backend to stress (default: all); one of:";

static const char usage_rest[] =
    "  --threads N            owner threads, 1..256 (default 4)\n"
    "  --reclaimers M         reclaimer threads, 0..64 (default 2)\n"
    "  --compactors C         threads calling zpool_compact(), 0..16 (default 1)\n"
    "  --slots K              swap entries, 1..4194304 (default 1024)\n"
    "  --seconds S            run time per backend (default 2)\n"
    "  --ops N                or: owner operations per backend\n"
    "  --seed X               seed of payloads, PRNGs, fault injection (default 1)\n"
    "  --max-pages P          pool capacity in pages, 1..1048576 (default 64)\n"
    "  --shards N             a sharded pool of N shards, 0..64 (default 0: one pool)\n"
    "  --fail-page-alloc PROB fail page allocations with probability PROB (default 0)\n"
    "  --fail-evict PROB      evict callback refuses with probability PROB (default 0)\n"
    "  --sizes uniform|FILE   object sizes: uniform 1..4096, or a compressed-size trace\n"
    "                         (bench/trace.h: one decimal size per line, '#' comments)\n"
    "  --check-every N        zpool_check() under a pause every N operations (0 = off)\n"
    "  --hang-seconds S       a thread that completes no operation for S seconds is a\n"
    "                         hang: print what every thread is doing, exit 1\n"
    "                         (default 10; 0 = no watchdog, e.g. under a debugger)\n"
    "  --inject-hang N        test the watchdog: after N operations owner 0 holds a\n"
    "                         slot lock for ever (0 = off)\n"
    "  --bad-evict            test the evict contract check: the evict callback\n"
    "                         returns 0 without freeing the object; a build with\n"
    "                         debug checks must stop with \"zpool BUG:\"\n"
    "  --json                 print the summary as JSON\n"
    "  --progress             a progress line on stderr every 2 s (default: when\n"
    "                         stderr is a terminal)\n"
    "  --help, --version      this text; the version and commit\n"
    "Numbers are decimal. Exit: 0 all data verified; 1 data lost, an invariant\n"
    "broken or a hang (\"verdict: hang\"); 2 bad usage; 3 the harness failed\n"
    "(docs/exit-codes.md).\n";

static void print_usage(FILE *f)
{
	const char *names[STRESS_MAX_BACKENDS];
	size_t n = zpool_types(names, STRESS_MAX_BACKENDS);

	fputs(usage, f);
	for (size_t i = 0; i < n && i < STRESS_MAX_BACKENDS; i++)
		fprintf(f, " %s", names[i]);
	fputc('\n', f);
	fputs(usage_rest, f);
}

static int bad_value(const char *flag, const char *value, const char *want)
{
	fprintf(stderr, "zpool_stress: bad value '%s' for --%s: want %s\n", value, flag, want);
	return -EINVAL;
}

/* Parse a whole decimal number in [min, max]. */
static int parse_u64(const char *flag, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char want[96];

	snprintf(want, sizeof(want), "a decimal integer %llu..%llu", (unsigned long long)min,
		 (unsigned long long)max);
	if (cli_parse_u64(s, min, max, out))
		return bad_value(flag, s, want);
	return 0;
}

/* Parse a finite decimal number in [min, max]. */
static int parse_double(const char *flag, const char *s, double min, double max, bool open_min,
			const char *want, double *out)
{
	double v;

	if (cli_parse_double(s, min, max, &v) || (open_min && v == min))
		return bad_value(flag, s, want);
	*out = v;
	return 0;
}

static int add_backend(struct stress_opts *o, const char *name)
{
	const char *names[STRESS_MAX_BACKENDS];
	size_t n;

	if (strcmp(name, "all") == 0) {
		n = zpool_types(names, STRESS_MAX_BACKENDS);
		if (n > STRESS_MAX_BACKENDS)
			n = STRESS_MAX_BACKENDS;
		for (size_t i = 0; i < n; i++)
			o->backends[i] = names[i];
		o->nr_backends = n;
		return 0;
	}
	if (!zpool_has_pool(name)) {
		fprintf(stderr, "zpool_stress: unknown backend '%s'; known:", name);
		n = zpool_types(names, STRESS_MAX_BACKENDS);
		for (size_t i = 0; i < n && i < STRESS_MAX_BACKENDS; i++)
			fprintf(stderr, " %s", names[i]);
		fputs(" all\n", stderr);
		return -EINVAL;
	}
	o->backends[0] = name;
	o->nr_backends = 1;
	return 0;
}

/* Read a size trace with the one trace reader; every rule is in bench/trace.c. */
static int load_trace(struct stress_opts *o, const char *file)
{
	struct trace tr;
	char err[512];

	if (trace_load(file, &tr, err, sizeof(err))) {
		fprintf(stderr, "zpool_stress: %s\n", err);
		return -EINVAL;
	}
	o->sizes = malloc(tr.nr * sizeof(*o->sizes));
	if (!o->sizes) {
		trace_free(&tr);
		fputs("zpool_stress: out of memory reading the size trace\n", stderr);
		return -ENOMEM;
	}
	for (size_t i = 0; i < tr.nr; i++)
		o->sizes[i] = tr.sizes[i];
	o->nr_sizes = tr.nr;
	trace_free(&tr);
	return 0;
}

/*
 * The command line as one string a shell runs again (for the replay line of
 * a hang report): words other than [A-Za-z0-9_./=:,+-] are single-quoted.
 */
static char *join_command(int argc, char **argv)
{
	size_t len = 1;
	char *cmd, *p;

	for (int i = 0; i < argc; i++)
		len += 4 * strlen(argv[i]) + 3;
	cmd = malloc(len);
	if (!cmd)
		return NULL;
	p = cmd;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		bool plain = *a && strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					     "0123456789_./=:,+-") == strlen(a);

		if (i)
			*p++ = ' ';
		if (plain) {
			p = stpcpy(p, a);
			continue;
		}
		*p++ = '\'';
		for (; *a; a++) {
			if (*a == '\'')
				p = stpcpy(p, "'\\''");
			else
				*p++ = *a;
		}
		*p++ = '\'';
	}
	*p = '\0';
	return cmd;
}

enum {
	OPT_BACKEND = 256,
	OPT_THREADS,
	OPT_RECLAIMERS,
	OPT_COMPACTORS,
	OPT_SLOTS,
	OPT_SECONDS,
	OPT_OPS,
	OPT_SEED,
	OPT_MAX_PAGES,
	OPT_SHARDS,
	OPT_FAIL_PAGE_ALLOC,
	OPT_FAIL_EVICT,
	OPT_SIZES,
	OPT_CHECK_EVERY,
	OPT_HANG_SECONDS,
	OPT_INJECT_HANG,
	OPT_BAD_EVICT,
	OPT_JSON,
	OPT_PROGRESS,
	OPT_HELP,
	OPT_VERSION,
};

static const struct option long_opts[] = {
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "reclaimers", required_argument, NULL, OPT_RECLAIMERS },
	{ "compactors", required_argument, NULL, OPT_COMPACTORS },
	{ "slots", required_argument, NULL, OPT_SLOTS },
	{ "seconds", required_argument, NULL, OPT_SECONDS },
	{ "ops", required_argument, NULL, OPT_OPS },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "max-pages", required_argument, NULL, OPT_MAX_PAGES },
	{ "shards", required_argument, NULL, OPT_SHARDS },
	{ "fail-page-alloc", required_argument, NULL, OPT_FAIL_PAGE_ALLOC },
	{ "fail-evict", required_argument, NULL, OPT_FAIL_EVICT },
	{ "sizes", required_argument, NULL, OPT_SIZES },
	{ "check-every", required_argument, NULL, OPT_CHECK_EVERY },
	{ "hang-seconds", required_argument, NULL, OPT_HANG_SECONDS },
	{ "inject-hang", required_argument, NULL, OPT_INJECT_HANG },
	{ "bad-evict", no_argument, NULL, OPT_BAD_EVICT },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* Apply one parsed flag; 0, -EINVAL, 1 for --help, 2 for --version. */
static int apply_option(struct stress_opts *o, int opt, const char *arg, bool *seconds_set)
{
	uint64_t v;
	int err;

	switch (opt) {
	case OPT_BACKEND:
		return add_backend(o, arg);
	case OPT_THREADS:
		err = parse_u64("threads", arg, 1, 256, &v);
		o->threads = (unsigned int)v;
		return err;
	case OPT_RECLAIMERS:
		err = parse_u64("reclaimers", arg, 0, 64, &v);
		o->reclaimers = (unsigned int)v;
		return err;
	case OPT_COMPACTORS:
		err = parse_u64("compactors", arg, 0, 16, &v);
		o->compactors = (unsigned int)v;
		return err;
	case OPT_SLOTS:
		err = parse_u64("slots", arg, 1, 1u << 22, &v);
		o->slots = (uint32_t)v;
		return err;
	case OPT_SECONDS:
		*seconds_set = true;
		return parse_double("seconds", arg, 0.0, 86400.0, true, "seconds in (0, 86400]",
				    &o->seconds);
	case OPT_OPS:
		return parse_u64("ops", arg, 1, 1000000000000ULL, &o->ops);
	case OPT_SEED:
		return parse_u64("seed", arg, 0, UINT64_MAX, &o->seed);
	case OPT_MAX_PAGES:
		err = parse_u64("max-pages", arg, 1, 1u << 20, &v);
		o->max_pages = (size_t)v;
		return err;
	case OPT_SHARDS:
		err = parse_u64("shards", arg, 0, ZPOOL_MAX_SHARDS, &v);
		o->shards = (unsigned int)v;
		return err;
	case OPT_FAIL_PAGE_ALLOC:
		return parse_double("fail-page-alloc", arg, 0.0, 1.0, false,
				    "a probability in [0, 1]", &o->fail_page_alloc);
	case OPT_FAIL_EVICT:
		return parse_double("fail-evict", arg, 0.0, 1.0, false, "a probability in [0, 1]",
				    &o->fail_evict);
	case OPT_SIZES:
		free(o->sizes);
		o->sizes = NULL;
		o->nr_sizes = 0;
		o->sizes_name = arg;
		return strcmp(arg, "uniform") == 0 ? 0 : load_trace(o, arg);
	case OPT_CHECK_EVERY:
		return parse_u64("check-every", arg, 0, UINT64_MAX, &o->check_every);
	case OPT_HANG_SECONDS:
		return parse_double("hang-seconds", arg, 0.0, 86400.0, false,
				    "seconds in [0, 86400]", &o->hang_seconds);
	case OPT_INJECT_HANG:
		return parse_u64("inject-hang", arg, 0, UINT64_MAX, &o->inject_hang);
	case OPT_BAD_EVICT:
		o->bad_evict = true;
		return 0;
	case OPT_JSON:
		o->json = true;
		return 0;
	case OPT_PROGRESS:
		o->progress = true;
		return 0;
	case OPT_HELP:
		return 1;
	case OPT_VERSION:
		return 2;
	}
	return -EINVAL;
}

/**
 * stress_parse_options() - parse the command line into @o
 * @argc: argument count
 * @argv: arguments
 * @o: filled with defaults, then with the flags given
 *
 * Return: 0 to run; 1 if --help or --version was printed; -EINVAL after printing what
 * is wrong (the caller exits with STRESS_EXIT_USAGE).
 */
int stress_parse_options(int argc, char **argv, struct stress_opts *o)
{
	bool seconds_set = false;
	int opt, err;

	memset(o, 0, sizeof(*o));
	o->threads = 4;
	o->reclaimers = 2;
	o->compactors = 1;
	o->slots = 1024;
	o->seconds = 2.0;
	o->seed = 1;
	o->max_pages = 64;
	o->sizes_name = "uniform";
	o->hang_seconds = 10.0;
	add_backend(o, "all");
	o->progress = isatty(STDERR_FILENO);
	o->command = join_command(argc, argv);

	opterr = 0; /* our own messages, with the program name and the flag */
	while ((opt = getopt_long(argc, argv, ":", long_opts, NULL)) != -1) {
		if (opt == ':') {
			fprintf(stderr, "zpool_stress: missing value for '%s'\n", argv[optind - 1]);
			goto usage;
		}
		if (opt == '?') {
			fprintf(stderr, "zpool_stress: unknown option '%s'\n", argv[optind - 1]);
			goto usage;
		}
		err = apply_option(o, opt, optarg, &seconds_set);
		if (err == 1) {
			print_usage(stdout);
			return 1;
		}
		if (err == 2) {
			cli_print_version("zpool_stress");
			return 1;
		}
		if (err)
			goto usage;
	}
	if (optind < argc) {
		fprintf(stderr, "zpool_stress: unexpected argument '%s'\n", argv[optind]);
		goto usage;
	}
	if (o->ops && seconds_set) {
		fputs("zpool_stress: give --seconds or --ops, not both\n", stderr);
		goto usage;
	}
	if (o->shards > o->max_pages) {
		fprintf(stderr, "zpool_stress: --shards %u needs --max-pages of at least %u\n",
			o->shards, o->shards);
		goto usage;
	}
	if (o->bad_evict && !zpool_debug_checks()) {
		fputs("zpool_stress: --bad-evict needs a build with debug checks (without "
		      "NDEBUG): only they can see the broken callback\n",
		      stderr);
		goto usage;
	}
	if (o->ops)
		o->seconds = 0;
	return 0;
usage:
	fputs("zpool_stress: see --help\n", stderr);
	return -EINVAL;
}

/* stress_free_options() - release what stress_parse_options() allocated. */
void stress_free_options(struct stress_opts *o)
{
	free(o->sizes);
	o->sizes = NULL;
	free(o->command);
	o->command = NULL;
}
