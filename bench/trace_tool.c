// SPDX-License-Identifier: GPL-2.0-only
/*
 * trace_tool.c - make compressed-size traces from files or process memory
 *
 * zswap compresses one 4 KiB page at a time and hands the result to a zpool,
 * so what a backend sees is a stream of compressed sizes. This tool makes
 * such streams from data any Debian machine has:
 *
 *   trace_tool files [options] PATH...   regular files under PATHs
 *   trace_tool anon [options]            the anonymous memory of a child
 *   trace_tool check TRACE...            validate traces (the bench reader)
 *   trace_tool --help | --version
 *
 * Each page is compressed with LZ4 (default acceleration) and with zstd at
 * levels 1 and 3, and one trace per compressor is written to PREFIX-lz4,
 * PREFIX-zstd1 and PREFIX-zstd3 (".trace" appended). As in zswap, a page
 * that does not shrink is recorded as 4096 (stored uncompressed), and a
 * page filled with one repeated word is skipped, since zswap keeps those
 * without touching the pool; the header counts both.
 *
 * Files: the tree is walked in sorted order (symlinks not followed) so the
 * same machine gives the same trace. When the files hold more pages than
 * --limit, every Kth page is taken, so the sample covers the whole tree
 * rather than its alphabetical head. A file's last partial page is padded
 * with zeros, as the page cache would.
 *
 * Anonymous memory: the tool forks a child that builds the kind of heap a
 * long-running program has (hash tables of records, text, sorted and random
 * integer arrays, pointer-linked trees, floating-point series, freed holes),
 * stops it once it is built, and reads its anonymous writable mappings
 * through /proc/PID/mem, skipping pages /proc/PID/pagemap says were never
 * touched (zswap would never see them). Pointer values depend on ASLR, so
 * two runs give close but not identical traces.
 */
#define _GNU_SOURCE
#include "cli.h"
#include "trace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lz4.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#define PAGE 4096u

enum { C_LZ4, C_ZSTD1, C_ZSTD3, C_NR };

static const char *const comp_names[C_NR] = { "lz4", "zstd1", "zstd3" };

/* One output trace per compressor, and what went into it. */
struct sink {
	FILE *out[C_NR];
	char *tmp_path[C_NR];
	char *path[C_NR];
	ZSTD_CCtx *zctx;
	char *buf;
	size_t bufcap;
	uint64_t pages, same_filled, incompressible[C_NR];
};

static void vmessage(const char *fmt, va_list ap)
{
	fputs("trace_tool: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* The tool failed while working (I/O, memory, a child): exit 3. */
static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
	exit(CLI_EXIT_HARNESS);
}

/* A bad command line: exit 2 before any work. */
static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
	fputs("trace_tool: see trace_tool --help\n", stderr);
	exit(CLI_EXIT_USAGE);
}

static const char usage_text[] =
    "usage: trace_tool files [--limit N] [--skip-suffix .gz,.xz] --out PREFIX\n"
    "                        [--command TEXT] PATH...\n"
    "       trace_tool anon [--limit N] [--mb MB] --out PREFIX [--command TEXT]\n"
    "       trace_tool check TRACE...\n"
    "       trace_tool --help | --version\n"
    "files, anon: write PREFIX-lz4.trace, PREFIX-zstd1.trace, PREFIX-zstd3.trace: one\n"
    "compressed size per 4 KiB page (4096 = did not shrink); --limit caps the pages\n"
    "(default 50000), --mb sizes the child's heap (default 256).\n"
    "check: read each trace with the harness's trace reader (bench/trace.h).\n"
    "Numbers are decimal. Exit: 0 done, 1 check found a bad trace, 2 usage,\n"
    "3 the tool failed (docs/exit-codes.md).\n";

static void usage(void)
{
	fputs(usage_text, stderr);
	exit(CLI_EXIT_USAGE);
}

static unsigned long parse_count(const char *opt, const char *s, unsigned long max)
{
	uint64_t v;

	if (cli_parse_u64(s, 1, max, &v))
		usage_error("%s: '%s' is not a number in 1..%lu", opt, s, max);
	return (unsigned long)v;
}

/*****************
 * Compression
 *****************/

/* A page of one repeated 64-bit word: zswap's same-filled case. */
static bool page_same_filled(const unsigned char *page)
{
	const uint64_t *w = (const uint64_t *)page;
	size_t i;

	for (i = 1; i < PAGE / sizeof(*w); i++)
		if (w[i] != w[0])
			return false;
	return true;
}

/* Compressed size of @page, or PAGE if it did not shrink. */
static unsigned int compressed_size(struct sink *s, int c, const unsigned char *page)
{
	size_t n;

	if (c == C_LZ4) {
		int r = LZ4_compress_default((const char *)page, s->buf, (int)PAGE, (int)s->bufcap);
		n = r <= 0 ? PAGE : (size_t)r;
	} else {
		n = ZSTD_compressCCtx(s->zctx, s->buf, s->bufcap, page, PAGE, c == C_ZSTD1 ? 1 : 3);
		if (ZSTD_isError(n))
			n = PAGE;
	}
	return n >= PAGE ? PAGE : (unsigned int)n;
}

static void sink_page(struct sink *s, const unsigned char *page)
{
	int c;

	if (page_same_filled(page)) {
		s->same_filled++;
		return;
	}
	for (c = 0; c < C_NR; c++) {
		unsigned int n = compressed_size(s, c, page);

		if (n == PAGE)
			s->incompressible[c]++;
		if (fprintf(s->out[c], "%u\n", n) < 0)
			die("%s: write failed: %s", s->tmp_path[c], strerror(errno));
	}
	s->pages++;
}

/*
 * Open the three outputs as PREFIX-comp.trace.tmp, renamed into place by
 * sink_close(), so an interrupted run never leaves a truncated trace.
 */
static void sink_open(struct sink *s, const char *prefix, const char *source, const char *command)
{
	int c;

	memset(s, 0, sizeof(*s));
	s->bufcap = (size_t)LZ4_compressBound((int)PAGE);
	if (ZSTD_compressBound(PAGE) > s->bufcap)
		s->bufcap = ZSTD_compressBound(PAGE);
	s->buf = malloc(s->bufcap);
	s->zctx = ZSTD_createCCtx();
	if (!s->buf || !s->zctx)
		die("out of memory");
	for (c = 0; c < C_NR; c++) {
		if (asprintf(&s->path[c], "%s-%s.trace", prefix, comp_names[c]) < 0 ||
		    asprintf(&s->tmp_path[c], "%s.tmp", s->path[c]) < 0)
			die("out of memory");
		s->out[c] = fopen(s->tmp_path[c], "w");
		if (!s->out[c])
			die("%s: %s", s->tmp_path[c], strerror(errno));
		fprintf(s->out[c],
			"# zpool-harness compressed-size trace: one size per 4 KiB page\n");
		fprintf(s->out[c], "# source: %s\n", source);
		if (c == C_LZ4)
			fprintf(s->out[c], "# compressor: lz4 %s, LZ4_compress_default\n",
				LZ4_versionString());
		else
			fprintf(s->out[c], "# compressor: zstd %s, level %d\n",
				ZSTD_versionString(), c == C_ZSTD1 ? 1 : 3);
		fprintf(s->out[c], "# command: %s\n", command);
	}
}

static void sink_close(struct sink *s)
{
	int c;

	for (c = 0; c < C_NR; c++) {
		fprintf(s->out[c],
			"# pages: %" PRIu64 ", stored uncompressed (4096): %" PRIu64
			", same-filled pages skipped: %" PRIu64 "\n",
			s->pages, s->incompressible[c], s->same_filled);
		if (fclose(s->out[c]))
			die("%s: %s", s->tmp_path[c], strerror(errno));
		if (!s->pages) {
			unlink(s->tmp_path[c]);
			die("no pages to write: the source is empty");
		}
		if (rename(s->tmp_path[c], s->path[c]))
			die("%s: %s", s->path[c], strerror(errno));
		fprintf(stderr, "trace_tool: %s: %" PRIu64 " pages\n", s->path[c], s->pages);
		free(s->path[c]);
		free(s->tmp_path[c]);
	}
	ZSTD_freeCCtx(s->zctx);
	free(s->buf);
}

/*
 * Evenly spaced sampling: of @total pages, take @limit (all if fewer), page
 * @g being taken when the running quota floor(g * limit / total) steps.
 */
static bool page_sampled(uint64_t g, uint64_t total, uint64_t limit)
{
	if (limit >= total)
		return true;
	return (g + 1) * limit / total > g * limit / total;
}

/*****************
 * Files
 *****************/

struct file_list {
	char **paths;
	uint64_t *pages;
	size_t nr, cap;
	uint64_t total_pages;
};

static void list_add_file(struct file_list *fl, const char *path, off_t size)
{
	if (fl->nr == fl->cap) {
		fl->cap = fl->cap ? fl->cap * 2 : 1024;
		fl->paths = realloc(fl->paths, fl->cap * sizeof(*fl->paths));
		fl->pages = realloc(fl->pages, fl->cap * sizeof(*fl->pages));
		if (!fl->paths || !fl->pages)
			die("out of memory");
	}
	fl->paths[fl->nr] = strdup(path);
	if (!fl->paths[fl->nr])
		die("out of memory");
	fl->pages[fl->nr] = ((uint64_t)size + PAGE - 1) / PAGE;
	fl->total_pages += fl->pages[fl->nr];
	fl->nr++;
}

/* Comma-separated name suffixes walk() leaves out (--skip-suffix). */
static const char *skip_suffixes;

static bool name_skipped(const char *path)
{
	size_t plen = strlen(path);
	const char *p = skip_suffixes;

	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (len && len <= plen && !memcmp(path + plen - len, p, len))
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

/* Collect the regular files under @path in sorted order; no symlinks. */
static void walk(struct file_list *fl, const char *path)
{
	struct dirent **ents;
	struct stat st;
	int n, i;

	if (lstat(path, &st)) {
		fprintf(stderr, "trace_tool: skipping %s: %s\n", path, strerror(errno));
		return;
	}
	if (S_ISREG(st.st_mode)) {
		if (st.st_size > 0 && !name_skipped(path))
			list_add_file(fl, path, st.st_size);
		return;
	}
	if (!S_ISDIR(st.st_mode))
		return;
	n = scandir(path, &ents, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "trace_tool: skipping %s: %s\n", path, strerror(errno));
		return;
	}
	for (i = 0; i < n; i++) {
		char *sub;

		if (strcmp(ents[i]->d_name, ".") && strcmp(ents[i]->d_name, "..")) {
			if (asprintf(&sub, "%s/%s", path, ents[i]->d_name) < 0)
				die("out of memory");
			walk(fl, sub);
			free(sub);
		}
		free(ents[i]);
	}
	free(ents);
}

static int cmd_files(int argc, char **argv, unsigned long limit, const char *prefix,
		     const char *command)
{
	struct file_list fl = { 0 };
	unsigned char page[PAGE];
	uint64_t index = 0, taken = 0;
	struct sink s;
	char *source;
	size_t i;
	int a;

	if (argc == 0)
		usage();
	for (a = 0; a < argc; a++)
		walk(&fl, argv[a]);
	if (!fl.total_pages)
		usage_error("no readable regular files under the given paths");

	{
		size_t len = 0;
		char *p;

		for (a = 0; a < argc; a++)
			len += strlen(argv[a]) + 1;
		p = source = calloc(1, len + 160);
		if (!source)
			die("out of memory");
		for (a = 0; a < argc; a++)
			p += sprintf(p, "%s%s", a ? " " : "", argv[a]);
		sprintf(p,
			" (%zu files, %" PRIu64 " pages, %" PRIu64 " of them taken, evenly spaced)",
			fl.nr, fl.total_pages, fl.total_pages < limit ? fl.total_pages : limit);
	}
	sink_open(&s, prefix, source, command);

	for (i = 0; i < fl.nr && taken < limit; i++) {
		uint64_t p;
		int fd;

		/* Skip whole files that hold no sampled page. */
		if (index * limit / fl.total_pages ==
			(index + fl.pages[i]) * limit / fl.total_pages &&
		    limit < fl.total_pages) {
			index += fl.pages[i];
			continue;
		}
		fd = open(fl.paths[i], O_RDONLY | O_NOFOLLOW);
		if (fd < 0) {
			fprintf(stderr, "trace_tool: skipping %s: %s\n", fl.paths[i],
				strerror(errno));
			index += fl.pages[i];
			continue;
		}
		for (p = 0; p < fl.pages[i] && taken < limit; p++, index++) {
			ssize_t got;

			if (!page_sampled(index, fl.total_pages, limit))
				continue;
			memset(page, 0, sizeof(page));
			got = pread(fd, page, PAGE, (off_t)(p * PAGE));
			if (got <= 0)
				break; /* file shrank since stat: take what is left */
			sink_page(&s, page);
			taken++;
		}
		index += fl.pages[i] - p;
		close(fd);
	}
	sink_close(&s);
	for (i = 0; i < fl.nr; i++)
		free(fl.paths[i]);
	free(fl.paths);
	free(fl.pages);
	free(source);
	return 0;
}

/*****************
 * Anonymous memory of a child
 *****************/

/* xorshift64*: a fixed seed keeps the child's data the same run to run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static const char *const words[] = {
	"the",	   "of",      "and",	"to",	   "in",     "page",   "memory", "cache",
	"server",  "request", "user",	"session", "buffer", "error",  "value",	 "table",
	"index",   "record",  "string", "return",  "time",   "thread", "lock",	 "queue",
	"network", "file",    "system", "process", "config", "update", "status", "client",
	"data",	   "is",      "a",	"for",	   "with",   "on",     "by",	 "from",
};

static const char *const cities[] = { "Berlin", "Lisbon", "Osaka", "Lagos", "Lima",
				      "Oslo",	"Quito",  "Perth", "Dakar", "Hanoi" };

struct rec {
	uint64_t id;
	char name[32];
	char city[16];
	uint32_t age;
	double balance;
	struct rec *next;
};

struct node {
	uint64_t key;
	struct node *left, *right, *parent;
	int color;
	char tag[20];
};

static size_t fill_text(char *buf, size_t len)
{
	size_t n = 0;

	while (n + 16 < len) {
		const char *w = words[rng() % (sizeof(words) / sizeof(words[0]))];
		size_t wl = strlen(w);

		memcpy(buf + n, w, wl);
		n += wl;
		buf[n++] = rng() % 12 ? ' ' : (rng() % 2 ? '\n' : ',');
	}
	buf[n] = '\0';
	return n;
}

static struct node *tree_insert(struct node *root, struct node *nd)
{
	struct node *p = root, *parent = NULL;

	if (!root)
		return nd;
	while (p) {
		parent = p;
		p = nd->key < p->key ? p->left : p->right;
	}
	nd->parent = parent;
	if (nd->key < parent->key)
		parent->left = nd;
	else
		parent->right = nd;
	return root;
}

/*
 * Build about @mb MiB of heap data shaped like a server's: the mix is a
 * guess at a typical process, not a measurement; what matters is that the
 * bytes are what programs store (pointers, small integers, text, floats,
 * malloc headers, freed chunks), not synthetic patterns.
 */
static void build_heap(unsigned long mb)
{
	size_t budget = (size_t)mb << 20, i;
	size_t nrec = budget / 4 / sizeof(struct rec) / 2, nbuckets = nrec / 4 + 1;
	struct rec **buckets = calloc(nbuckets, sizeof(*buckets));
	struct node *root = NULL;
	size_t nnodes = budget * 15 / 100 / (sizeof(struct node) + 16);
	size_t nints = budget * 15 / 100 / 12, ndbl = budget / 10 / sizeof(double);
	uint64_t *stamps = malloc(nints * sizeof(*stamps));
	uint32_t *ids = malloc(nints * sizeof(*ids));
	double *series = malloc(ndbl * sizeof(*series));
	size_t text_left = budget / 5, misc_left = budget * 15 / 100;
	void *volatile keep;

	if (!buckets || !stamps || !ids || !series)
		die("child: out of memory");
	for (i = 0; i < nrec; i++) { /* 25%, half in records, half in malloc overhead+slack */
		struct rec *r = calloc(1, sizeof(*r));

		if (!r)
			die("child: out of memory");
		r->id = 100000 + i * 7 + rng() % 7;
		snprintf(r->name, sizeof(r->name), "%s_%s%u", words[rng() % 40], words[rng() % 40],
			 (unsigned int)(rng() % 1000));
		snprintf(r->city, sizeof(r->city), "%s", cities[rng() % 10]);
		r->age = 18 + (uint32_t)(rng() % 70);
		r->balance = (double)(rng() % 1000000) / 100.0;
		r->next = buckets[r->id % nbuckets];
		buckets[r->id % nbuckets] = r;
	}
	while (text_left > 0) { /* 20%: documents, log lines */
		size_t len = 256 + rng() % 8192;
		char *t = malloc(len);

		if (!t)
			die("child: out of memory");
		fill_text(t, len);
		keep = t;
		text_left = text_left > len ? text_left - len : 0;
	}
	stamps[0] = 1700000000000ULL; /* 15%: sorted timestamps, random ids */
	for (i = 0; i < nints; i++) {
		if (i)
			stamps[i] = stamps[i - 1] + rng() % 5000;
		ids[i] = (uint32_t)rng();
	}
	for (i = 0; i < nnodes; i++) { /* 15%: a pointer-linked tree */
		struct node *nd = calloc(1, sizeof(*nd));

		if (!nd)
			die("child: out of memory");
		nd->key = rng() % (nnodes * 4);
		nd->color = (int)(rng() & 1);
		snprintf(nd->tag, sizeof(nd->tag), "n%zu", i);
		root = tree_insert(root, nd);
	}
	for (i = 0; i < ndbl; i++) /* 10%: a noisy sampled signal */
		series[i] = 20.0 + 5.0 * sin((double)i / 300.0) + (double)(rng() % 1000) / 1e4;
	while (misc_left > 0) { /* 15%: small strings, half freed again */
		size_t len = 16 + rng() % 200;
		char *a = malloc(len), *b = malloc(len);

		if (!a || !b)
			die("child: out of memory");
		fill_text(a, len);
		fill_text(b, len);
		free(rng() % 2 ? a : b);
		misc_left = misc_left > 2 * len ? misc_left - 2 * len : 0;
	}
	keep = root;
	keep = buckets;
	(void)keep;
}

struct region {
	uint64_t start, end;
};

/* The anonymous writable mappings of @pid: no file, not the stack. */
static size_t anon_regions(pid_t pid, struct region **out)
{
	char path[64], line[512];
	struct region *r = NULL;
	size_t nr = 0, cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		die("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, inode;
		char perms[8], name[256] = "";

		if (sscanf(line, "%llx-%llx %7s %*s %*s %llu %255s", &start, &end, perms, &inode,
			   name) < 4)
			continue;
		if (perms[0] != 'r' || perms[1] != 'w' || inode != 0)
			continue;
		if (name[0] && strcmp(name, "[heap]"))
			continue;
		/*
		 * Terabyte-sized reservations are sanitizer shadow memory, not
		 * heap; walking their page tables would take hours.
		 */
		if (end - start > (64ULL << 30))
			continue;
		if (nr == cap) {
			cap = cap ? cap * 2 : 64;
			r = realloc(r, cap * sizeof(*r));
			if (!r)
				die("out of memory");
		}
		r[nr].start = start;
		r[nr].end = end;
		nr++;
	}
	fclose(f);
	*out = r;
	return nr;
}

/* Addresses of the pages of @reg that are resident or swapped out. */
static size_t touched_pages(pid_t pid, const struct region *reg, size_t nreg, uint64_t **out)
{
	char path[64];
	uint64_t *addrs = NULL;
	size_t nr = 0, cap = 0, i;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	for (i = 0; i < nreg; i++) {
		uint64_t a, e[512];

		for (a = reg[i].start; a < reg[i].end; a += PAGE * 512) {
			uint64_t n = (reg[i].end - a) / PAGE, k;

			if (n > 512)
				n = 512;
			if (pread(fd, e, n * sizeof(e[0]), (off_t)(a / PAGE * sizeof(e[0]))) !=
			    (ssize_t)(n * sizeof(e[0])))
				die("%s: short read", path);
			for (k = 0; k < n; k++) {
				if (!(e[k] & (3ULL << 62)))
					continue;
				if (nr == cap) {
					cap = cap ? cap * 2 : 4096;
					addrs = realloc(addrs, cap * sizeof(*addrs));
					if (!addrs)
						die("out of memory");
				}
				addrs[nr++] = a + k * PAGE;
			}
		}
	}
	close(fd);
	*out = addrs;
	return nr;
}

static int cmd_anon(unsigned long limit, unsigned long mb, const char *prefix, const char *command)
{
	int ready[2];
	pid_t pid;
	char c, path[64], source[256];
	struct region *reg;
	uint64_t *addrs, i, taken = 0;
	size_t nreg, npages;
	unsigned char page[PAGE];
	struct sink s;
	int fd, status;

	if (pipe(ready))
		die("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(ready[0]);
		build_heap(mb);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause(); /* the parent reads our memory, then kills us */
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1) {
		waitpid(pid, &status, 0);
		die("child %d died before its heap was built", (int)pid);
	}
	nreg = anon_regions(pid, &reg);
	npages = touched_pages(pid, reg, nreg, &addrs);
	if (!npages)
		die("child %d has no touched anonymous pages", (int)pid);
	snprintf(source, sizeof(source),
		 "anonymous memory of a child process (%lu MiB heap of records, text, arrays, "
		 "trees, floats; %zu regions, %zu touched pages, %zu of them taken, evenly spaced)",
		 mb, nreg, npages, npages < limit ? npages : (size_t)limit);
	sink_open(&s, prefix, source, command);

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	for (i = 0; i < npages && taken < limit; i++) {
		if (!page_sampled(i, npages, limit))
			continue;
		if (pread(fd, page, PAGE, (off_t)addrs[i]) != (ssize_t)PAGE)
			die("%s: cannot read page at %#" PRIx64 ": %s", path, addrs[i],
			    strerror(errno));
		sink_page(&s, page);
		taken++;
	}
	close(fd);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	sink_close(&s);
	free(reg);
	free(addrs);
	return 0;
}

/*****************
 * check, main
 *****************/

static int cmd_check(int argc, char **argv)
{
	int a, bad = 0;

	if (argc == 0)
		usage();
	for (a = 0; a < argc; a++) {
		struct trace tr;
		char err[512];

		if (trace_load(argv[a], &tr, err, sizeof(err))) {
			fprintf(stderr, "trace_tool: %s\n", err);
			bad = 1;
			continue;
		}
		printf("%s: %zu sizes, mean %.1f bytes, ratio %.3f\n", argv[a], tr.nr,
		       (double)tr.total / (double)tr.nr,
		       (double)tr.total / ((double)tr.nr * TRACE_MAX_SIZE));
		trace_free(&tr);
	}
	return bad;
}

int main(int argc, char **argv)
{
	unsigned long limit = 50000, mb = 256;
	const char *prefix = NULL, *command = NULL;
	char *joined = NULL;
	int a;

	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		cli_print_version("trace_tool");
		return 0;
	}
	if (!strcmp(argv[1], "check"))
		return cmd_check(argc - 2, argv + 2);
	if (strcmp(argv[1], "files") && strcmp(argv[1], "anon")) {
		fprintf(stderr, "trace_tool: unknown command '%s'\n", argv[1]);
		usage();
	}
	for (a = 2; a < argc && argv[a][0] == '-'; a++) {
		if (!strcmp(argv[a], "--")) {
			a++;
			break;
		}
		if (a + 1 >= argc)
			usage_error("%s needs a value", argv[a]);
		if (!strcmp(argv[a], "--limit"))
			limit = parse_count("--limit", argv[++a], 100000000);
		else if (!strcmp(argv[a], "--mb"))
			mb = parse_count("--mb", argv[++a], 65536);
		else if (!strcmp(argv[a], "--out"))
			prefix = argv[++a];
		else if (!strcmp(argv[a], "--skip-suffix"))
			skip_suffixes = argv[++a];
		else if (!strcmp(argv[a], "--command"))
			command = argv[++a];
		else
			usage_error("unknown option '%s'", argv[a]);
	}
	if (!prefix)
		usage_error("--out PREFIX is required");
	if (!command) { /* record how we were called */
		size_t len = 1;
		int i;

		for (i = 0; i < argc; i++)
			len += strlen(argv[i]) + 1;
		joined = calloc(1, len);
		if (!joined)
			die("out of memory");
		for (i = 0; i < argc; i++) {
			strcat(joined, argv[i]);
			if (i + 1 < argc)
				strcat(joined, " ");
		}
		command = joined;
	}
	if (!strcmp(argv[1], "anon")) {
		if (a != argc)
			usage_error("anon takes no paths");
		cmd_anon(limit, mb, prefix, command);
	} else {
		cmd_files(argc - a, argv + a, limit, prefix, command);
	}
	free(joined);
	return 0;
}
