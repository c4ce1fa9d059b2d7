// SPDX-License-Identifier: GPL-2.0-only
/*
 * emit_c.c - the trace mode of emit_c.h: each hook appends the C lines of
 * the call the harness is about to make (or the check of what it returned)
 *
 * The program has three parts, kept in three buffers: the evict plans (one
 * function per shrink: what each evict call did, in order), the body of
 * main() (the calls of every operation, with a comment naming the input
 * bytes each was decoded from), and a fixed preamble of small helpers
 * (pattern fill and check, the contract checks). Lines made inside an
 * evict callback go to the plan of the shrink running, as one `case` per
 * call; everything else goes to main(). The file is rewritten whole at
 * each point the run may end (the end of an input, a model mismatch, the
 * death of the process), so what is on disk is always a complete program.
 *
 * The checks come from the contract and the model, not from what the run
 * saw: a destroy with live objects must return -EBUSY, an invalid size
 * -EINVAL, the object count is the model's live count, and for zbud the
 * page count is the page model's. So a program traced on a broken build
 * fails where the harness failed, and passes on a correct one.
 */
#include "emit_c.h"

#include "harness.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool fz_emit_on;

/* The sanitizers call this when they stop the process (weak: no sanitizer, no call). */
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

struct fz_buf {
	char *s;
	size_t len, cap;
};

static void buf_vadd(struct fz_buf *b, const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return;
	if (b->len + (size_t)n + 1 > b->cap) {
		size_t cap = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
		char *s = realloc(b->s, cap);

		if (!s)
			return;
		b->s = s;
		b->cap = cap;
	}
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

__attribute__((format(printf, 2, 3))) static void buf_add(struct fz_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vadd(b, fmt, ap);
	va_end(ap);
}

/* Insert @text at offset @at of @b. */
static void buf_insert(struct fz_buf *b, size_t at, const char *text)
{
	size_t n = strlen(text), tail = b->len - at;

	buf_add(b, "%s", text); /* grows the buffer by n */
	memmove(b->s + at + n, b->s + at, tail);
	memcpy(b->s + at, text, n);
}

#define FZ_EMIT_POOLS 8

/* What the emitter knows of one harness: its name in the program, its callback state. */
struct fz_emit_pool {
	const struct fz_harness *h;
	char ident[32];
	bool in_cb;
	unsigned int plan; /* the evict plan of the shrink running */
	unsigned int calls;
};

static struct {
	const char *path;
	const struct fz_reader *reader;
	struct fz_buf plans, body;
	struct fz_emit_pool pool[FZ_EMIT_POOLS];
	unsigned int npools;
	unsigned int nplans;
	bool plan_open;
	/* what follows the call running, if the run dies in it: its result is unknown */
	char pending[160];
	bool pending_in_cb;
	size_t op_mark;	   /* body offset where the next operation starts */
	size_t last_end;   /* input offset where the last operation ended */
	bool started;	   /* the first pool exists: ops start at last_end */
	unsigned int nops; /* operations seen */
	bool finished;
} em;

static struct fz_emit_pool *pool_of(const struct fz_harness *h)
{
	for (unsigned int i = 0; i < em.npools; i++)
		if (em.pool[i].h == h)
			return &em.pool[i];
	if (em.npools == FZ_EMIT_POOLS)
		return &em.pool[FZ_EMIT_POOLS - 1];
	struct fz_emit_pool *p = &em.pool[em.npools++];
	const char *name = h->name;
	size_t j = 0;

	memset(p, 0, sizeof(*p));
	p->h = h;
	for (; *name && j < sizeof(p->ident) - 2; name++)
		p->ident[j++] =
		    (char)((*name >= 'a' && *name <= 'z') || (*name >= '0' && *name <= '9') ? *name
											    : '_');
	/* "malloc" and "free" would shadow the C library */
	if (!strcmp(p->ident, "malloc") || !strcmp(p->ident, "free") || !j)
		p->ident[j++] = '_';
	p->ident[j] = '\0';
	return p;
}

/* The victim as an lvalue prefix ("zbud." or "v->") and as a pointer ("&zbud" or "v"). */
static const char *dot(const struct fz_harness *h)
{
	static char s[40];
	struct fz_emit_pool *p = pool_of(h);

	if (p->in_cb)
		return "v->";
	snprintf(s, sizeof(s), "%s.", p->ident);
	return s;
}

static const char *ptr(const struct fz_harness *h)
{
	static char s[40];
	struct fz_emit_pool *p = pool_of(h);

	if (p->in_cb)
		return "v";
	snprintf(s, sizeof(s), "&%s", p->ident);
	return s;
}

/* Append one line of code where it belongs: the plan running, or main(). */
__attribute__((format(printf, 2, 3))) static void line(const struct fz_harness *h, const char *fmt,
						       ...)
{
	struct fz_buf *b = pool_of(h)->in_cb ? &em.plans : &em.body;
	va_list ap;

	buf_add(b, pool_of(h)->in_cb ? "\t\t" : "\t");
	va_start(ap, fmt);
	buf_vadd(b, fmt, ap);
	va_end(ap);
	buf_add(b, "\n");
}

static const char preamble[] =
    "#include <zpool/zpool.h>\n"
    "\n"
    "#include <errno.h>\n"
    "#include <stdarg.h>\n"
    "#include <stdint.h>\n"
    "#include <stdio.h>\n"
    "#include <stdlib.h>\n"
    "#include <string.h>\n"
    "\n"
    "#define SLOTS 32\n"
    "enum where { EMPTY, IN_POOL, IN_STORE };\n"
    "\n"
    "/* One pool and what this program put in it. */\n"
    "struct victim {\n"
    "\tstruct zpool *pool;\n"
    "\tunsigned long handle[SLOTS];\n"
    "\tsize_t size[SLOTS];\n"
    "\tunsigned char seed[SLOTS];\n"
    "\tenum where where[SLOTS];\n"
    "\tunsigned char filled[SLOTS]; /* written since placed: its bytes are known */\n"
    "\tunsigned char store[SLOTS][ZPOOL_PAGE_SIZE]; /* the backing store of evicted objects */\n"
    "\t/* what each evict call of the current shrink does, in order */\n"
    "\tint (*plan)(struct victim *v, unsigned long handle, unsigned int call);\n"
    "\tunsigned int calls;\n"
    "};\n"
    "\n"
    "__attribute__((format(printf, 1, 2), noreturn)) static void fail(const char *fmt, ...)\n"
    "{\n"
    "\tva_list ap;\n"
    "\n"
    "\tfprintf(stderr, \"C REPRODUCER FAIL: \");\n"
    "\tva_start(ap, fmt);\n"
    "\tvfprintf(stderr, fmt, ap);\n"
    "\tva_end(ap);\n"
    "\tfputc('\\n', stderr);\n"
    "\tabort();\n"
    "}\n"
    "\n"
    "static void expect_ret(int err, int want, const char *call)\n"
    "{\n"
    "\tif (err != want)\n"
    "\t\tfail(\"%s returned %d, expected %d\", call, err, want);\n"
    "}\n"
    "\n"
    "/* Byte @i of the pattern written with @seed: a shifted or swapped object shows. */\n"
    "static unsigned char pattern(unsigned int seed, size_t i)\n"
    "{\n"
    "\tuint32_t x = (uint32_t)(seed << 16 ^ i) * 0x9e3779b1u;\n"
    "\n"
    "\treturn (unsigned char)(x >> 24 ^ x >> 11);\n"
    "}\n"
    "\n"
    "static void fill(struct victim *v, int s, unsigned char *p, unsigned int seed)\n"
    "{\n"
    "\tif (!p)\n"
    "\t\tfail(\"slot %d: zpool_map_handle returned NULL\", s);\n"
    "\tfor (size_t i = 0; i < v->size[s]; i++)\n"
    "\t\tp[i] = pattern(seed, i);\n"
    "\tv->seed[s] = (unsigned char)seed;\n"
    "\tv->filled[s] = 1;\n"
    "}\n"
    "\n"
    "/* A reloaded object gets back the bytes evicted to the store. */\n"
    "static void refill(struct victim *v, int s, unsigned char *p)\n"
    "{\n"
    "\tif (!p)\n"
    "\t\tfail(\"slot %d: zpool_map_handle returned NULL\", s);\n"
    "\tmemcpy(p, v->store[s], v->size[s]);\n"
    "\tv->filled[s] = 1;\n"
    "}\n"
    "\n"
    "static void expect_pattern(const struct victim *v, int s, const unsigned char *p, const "
    "char *what)\n"
    "{\n"
    "\tif (!p)\n"
    "\t\tfail(\"%s: slot %d: zpool_map_handle returned NULL\", what, s);\n"
    "\tfor (size_t i = 0; i < v->size[s]; i++)\n"
    "\t\tif (p[i] != pattern(v->seed[s], i))\n"
    "\t\t\tfail(\"%s: slot %d: byte %zu of %zu changed behind its owner\", what, s, i, "
    "v->size[s]);\n"
    "}\n"
    "\n"
    "/* A new object in slot @s. */\n"
    "static void placed(struct victim *v, int s, size_t size)\n"
    "{\n"
    "\tif (!v->handle[s])\n"
    "\t\tfail(\"slot %d: zpool_malloc returned 0 and handle 0\", s);\n"
    "\tv->size[s] = size;\n"
    "\tv->where[s] = IN_POOL;\n"
    "\tv->filled[s] = 0;\n"
    "}\n"
    "\n"
    "/* zbud places a first buddy at the start of its page, a last one against its end. */\n"
    "static void expect_offset(const struct victim *v, int s, unsigned long offset)\n"
    "{\n"
    "\tif ((v->handle[s] & (ZPOOL_PAGE_SIZE - 1)) != offset)\n"
    "\t\tfail(\"slot %d: handle %#lx at page offset %#lx, expected %#lx\", s, v->handle[s],\n"
    "\t\t     v->handle[s] & (ZPOOL_PAGE_SIZE - 1), offset);\n"
    "}\n"
    "\n"
    "/* Where a handle is the object's address, a new object must not overlap a live one. */\n"
    "static void expect_no_overlap(const struct victim *v, int s)\n"
    "{\n"
    "\tunsigned long a = v->handle[s], b = a + v->size[s];\n"
    "\n"
    "\tfor (int t = 0; t < SLOTS; t++)\n"
    "\t\tif (t != s && v->where[t] == IN_POOL && a < v->handle[t] + v->size[t] && v->handle[t] < "
    "b)\n"
    "\t\t\tfail(\"slot %d: the new object overlaps slot %d\", s, t);\n"
    "}\n"
    "\n"
    "/* What holds after every operation: zpool_check(), the object count, the page count. */\n"
    "static void check_pool(struct victim *v, unsigned long long objects, long long pages)\n"
    "{\n"
    "\tstruct zpool_stats st;\n"
    "\tchar why[160];\n"
    "\n"
    "\tif (zpool_check(v->pool, why, sizeof(why)))\n"
    "\t\tfail(\"zpool_check: %s\", why);\n"
    "\tzpool_get_stats(v->pool, &st);\n"
    "\tif (st.objects != objects)\n"
    "\t\tfail(\"the pool counts %llu objects, the program holds %llu\", (unsigned long "
    "long)st.objects, "
    "objects);\n"
    "\tif (pages >= 0 && st.pages != (unsigned long long)pages)\n"
    "\t\tfail(\"the pool holds %llu pages, expected %lld\", (unsigned long long)st.pages, pages);\n"
    "}\n"
    "\n"
    "static int slot_of(const struct victim *v, unsigned long handle)\n"
    "{\n"
    "\tfor (int s = 0; s < SLOTS; s++)\n"
    "\t\tif (v->where[s] == IN_POOL && v->handle[s] == handle)\n"
    "\t\t\treturn s;\n"
    "\treturn -1;\n"
    "}\n"
    "\n"
    "/* The traced run's evict call @call got the handle of slot @want (-1: a handle freed under "
    "reclaim). */\n"
    "static void expect_slot(const struct victim *v, unsigned long handle, unsigned int call, int "
    "want)\n"
    "{\n"
    "\tint s = slot_of(v, handle);\n"
    "\n"
    "\tif (s != want)\n"
    "\t\tfail(\"evict call %u got handle %#lx (slot %d), expected slot %d\", call, handle, s, "
    "want);\n"
    "}\n"
    "\n"
    "/* Write slot @s back: check its bytes, copy them to the store, free the handle. */\n"
    "static void evict_to_store(struct victim *v, int s)\n"
    "{\n"
    "\tconst unsigned char *p = zpool_map_handle(v->pool, v->handle[s], ZPOOL_MM_RO);\n"
    "\n"
    "\texpect_pattern(v, s, p, \"evict\");\n"
    "\tmemcpy(v->store[s], p, v->size[s]);\n"
    "\tzpool_unmap_handle(v->pool, v->handle[s]);\n"
    "\tzpool_free(v->pool, v->handle[s]);\n"
    "\tv->where[s] = IN_STORE;\n"
    "}\n"
    "\n"
    "static int evict(struct zpool *pool, unsigned long handle, void *priv)\n"
    "{\n"
    "\tstruct victim *v = priv;\n"
    "\n"
    "\t(void)pool;\n"
    "\tif (!v->plan)\n"
    "\t\tfail(\"an evict call outside zpool_shrink\");\n"
    "\treturn v->plan(v, handle, v->calls++);\n"
    "}\n"
    "\n"
    "static const struct zpool_ops ops = { .evict = evict };\n"
    "\n"
    "/* Where the traced run stopped: free what is left, the pool must then be empty. */\n"
    "static void teardown(struct victim *v)\n"
    "{\n"
    "\tfor (int s = 0; s < SLOTS; s++) {\n"
    "\t\tif (v->where[s] != IN_POOL)\n"
    "\t\t\tcontinue;\n"
    "\t\tif (v->filled[s]) {\n"
    "\t\t\texpect_pattern(v, s, zpool_map_handle(v->pool, v->handle[s], ZPOOL_MM_RO), "
    "\"teardown\");\n"
    "\t\t\tzpool_unmap_handle(v->pool, v->handle[s]);\n"
    "\t\t}\n"
    "\t\tzpool_free(v->pool, v->handle[s]);\n"
    "\t\tv->where[s] = EMPTY;\n"
    "\t}\n"
    "\tcheck_pool(v, 0, -1);\n"
    "\texpect_ret(zpool_destroy_pool(v->pool), 0, \"zpool_destroy_pool\");\n"
    "\tv->pool = NULL;\n"
    "}\n"
    "\n"
    "static void teardown_all(void);\n"
    "\n"
    "/*\n"
    " * Under fault injection the page allocation that fails is the Nth one\n"
    " * made, so a correct backend, making another number of them, meets the\n"
    " * traced run's injected failure at another call. Where the result parts\n"
    " * from the traced run's, nothing after it compares: the program ends.\n"
    " */\n"
    "static void expect_malloc_injected(struct victim *v, int s, size_t size, int err, int "
    "traced)\n"
    "{\n"
    "\tif (err == traced)\n"
    "\t\treturn;\n"
    "\tif (err && err != -ENOMEM)\n"
    "\t\tfail(\"zpool_malloc returned %d, expected 0 or -ENOMEM\", err);\n"
    "\tif (!err)\n"
    "\t\tplaced(v, s, size);\n"
    "\tprintf(\"zpool_malloc returned %d where the traced run saw %d under fault injection: \"\n"
    "\t       \"the runs part here\\n\", err, traced);\n"
    "\tteardown_all();\n"
    "\tputs(\"the reproducer passed\");\n"
    "\texit(0);\n"
    "}\n";

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v && *v ? v : fallback;
}

/* Write the whole program; @stop says why the run ended early (NULL: it did not). */
static void write_program(const char *stop)
{
	FILE *f;

	if (em.finished)
		return; /* the program ended already (a divergence): keep it */
	f = fopen(em.path, "w");
	if (!f)
		return;
	fprintf(f,
		"// SPDX-License-Identifier: GPL-2.0-only\n"
		"/*\n"
		" * A reproducer written by zpool-harness (fuzz/emit_c.c) from a fuzz input:\n"
		" * the zpool calls the input decoded to, one per line, with the checks the\n"
		" * contract makes. It needs only the installed package: build it with\n"
		" * find_package(zpool) and -fsanitize=address,undefined.\n"
		" *\n"
		" * finding: %s\n"
		" * input:   %s (%zu bytes)\n"
		" * target:  %s\n",
		env_or("ZPOOL_FUZZ_EMIT_TITLE", "-"), env_or("ZPOOL_FUZZ_EMIT_INPUT", "-"),
		em.reader ? em.reader->size : 0, env_or("ZPOOL_FUZZ_EMIT_TARGET", "-"));
	if (stop)
		fprintf(f, " * the traced run stopped: %s\n", stop);
	fprintf(f, " */\n%s\n", preamble);
	for (unsigned int i = 0; i < em.npools; i++)
		fprintf(f, "static struct victim %s;\n", em.pool[i].ident);
	fprintf(f, "\nstatic void teardown_all(void)\n{\n");
	for (unsigned int i = 0; i < em.npools; i++)
		fprintf(f, "\tif (%s.pool)\n\t\tteardown(&%s);\n", em.pool[i].ident,
			em.pool[i].ident);
	fprintf(f, "}\n");
	fprintf(f, "\n%.*s", (int)em.plans.len, em.plans.s ? em.plans.s : "");
	if (em.plan_open && em.pending_in_cb && stop)
		fprintf(f, "%s", em.pending);
	if (em.plan_open)
		fprintf(f, "\t\treturn 1; /* the traced run stopped inside this call */\n\t}\n"
			   "\t/* the traced run stopped before these calls: refuse them */\n"
			   "\treturn 1;\n}\n\n");
	fprintf(f, "int main(void)\n{\n\tstruct zpool_config cfg;\n\tunsigned int reclaimed = 0;\n"
		   "\tunsigned long freed = 0;\n\tunsigned char *p;\n\tint err;\n\n"
		   "\t(void)p, (void)err, (void)reclaimed, (void)freed, (void)cfg;\n");
	fprintf(f, "%.*s", (int)em.body.len, em.body.s ? em.body.s : "");
	if (stop) {
		if (!em.pending_in_cb)
			fprintf(f, "%s", em.pending);
		fprintf(f, "\n\t/* The traced run stopped here: %s */\n", stop);
		for (unsigned int i = 0; i < em.npools; i++)
			fprintf(f, "\tif (%s.pool)\n\t\tteardown(&%s);\n", em.pool[i].ident,
				em.pool[i].ident);
	}
	fprintf(f, "\tputs(\"the reproducer passed\");\n\treturn 0;\n}\n");
	fclose(f);
}

/* The operation the run stopped in gets its comment too. */
static void mark_stopped_op(void)
{
	char note[96];

	if (!em.reader || em.reader->pos <= em.last_end)
		return;
	snprintf(note, sizeof(note),
		 "\n\t/* op %u: input bytes %zu-%zu (the run stopped in it) */\n", em.nops++,
		 em.last_end, em.reader->pos);
	buf_insert(&em.body, em.op_mark, note);
	em.last_end = em.reader->pos;
}

static void on_death(void)
{
	if (fz_emit_on && !em.finished) {
		mark_stopped_op();
		write_program("the process died in the last call (a sanitizer report, a signal, or "
			      "the -timeout of a hang)");
	}
	em.finished = true;
}

static void on_signal(int sig)
{
	on_death();
	signal(sig, SIG_DFL);
	raise(sig);
}

void fz_emit_setup(void)
{
	static bool done;
	const char *path;

	if (done)
		return;
	done = true;
	path = getenv("ZPOOL_FUZZ_EMIT_C");
	if (!path || !*path)
		return;
	em.path = path;
	fz_emit_on = true;
	/* One input, one program: pools kept from an earlier input would hide its creates. */
	setenv("ZPOOL_FUZZ_FRESH_POOLS", "1", 1);
	if (__sanitizer_set_death_callback)
		__sanitizer_set_death_callback(on_death);
	signal(SIGABRT, on_signal);
	signal(SIGSEGV, on_signal);
	signal(SIGBUS, on_signal);
	signal(SIGILL, on_signal);
	signal(SIGFPE, on_signal);
	/* a hang: libFuzzer's -timeout and the replay main end an input with SIGALRM */
	signal(SIGALRM, on_signal);
}

void fz_emit_input(const struct fz_reader *r)
{
	free(em.plans.s);
	free(em.body.s);
	memset(&em.plans, 0, sizeof(em.plans));
	memset(&em.body, 0, sizeof(em.body));
	em.reader = r;
	em.npools = em.nplans = em.nops = 0;
	em.plan_open = em.started = em.finished = false;
	em.pending[0] = '\0';
	em.op_mark = em.last_end = 0;
}

void fz_emit_create(const struct fz_harness *h)
{
	const char *id = pool_of(h)->ident;

	if (!em.started && em.reader) {
		em.started = true;
		em.last_end = em.reader->pos;
		buf_add(&em.body, "\n\t/* input bytes 0-%zu: the pools */\n", em.last_end);
	}
	line(h, "memset(&cfg, 0, sizeof(cfg));");
	line(h, "cfg.max_pages = %zu;", h->cfg.max_pages);
	line(h, "cfg.ops = &ops;");
	line(h, "cfg.priv = &%s;", id);
	if (h->cfg.fail_page_alloc_every)
		line(h, "cfg.fail_page_alloc_every = %u;", h->cfg.fail_page_alloc_every);
	if (h->cfg.fail_page_alloc_prob != 0.0)
		line(h, "cfg.fail_page_alloc_prob = %.17g;", h->cfg.fail_page_alloc_prob);
	if (h->cfg.seed)
		line(h, "cfg.seed = %llu;", (unsigned long long)h->cfg.seed);
	if (h->cfg.shards)
		line(h, "cfg.shards = %u;", h->cfg.shards);
	line(h, "err = zpool_create_pool(\"%s\", &cfg, &%s.pool);", h->type, id);
	line(h, "expect_ret(err, 0, \"zpool_create_pool\");");
	em.op_mark = em.body.len;
}

/* Lines that complete the call about to run, for a program cut short inside it. */
__attribute__((format(printf, 2, 3))) static void set_pending(const struct fz_harness *h,
							      const char *fmt, ...)
{
	va_list ap;

	em.pending_in_cb = pool_of(h)->in_cb;
	va_start(ap, fmt);
	vsnprintf(em.pending, sizeof(em.pending), fmt, ap);
	va_end(ap);
}

void fz_emit_destroy(const struct fz_harness *h)
{
	line(h, "err = zpool_destroy_pool(%spool);", dot(h));
	set_pending(h, "%sif (err == 0)\n%s\t%spool = NULL;\n", pool_of(h)->in_cb ? "\t\t" : "\t",
		    pool_of(h)->in_cb ? "\t\t" : "\t", dot(h));
}

void fz_emit_destroy_ret(const struct fz_harness *h, int err)
{
	unsigned int live = 0;

	(void)err;
	em.pending[0] = '\0';
	for (int s = 0; s < FZ_SLOTS; s++)
		live += h->obj[s].state == FZ_LIVE;
	if (live) {
		line(h, "expect_ret(err, -EBUSY, \"zpool_destroy_pool with %u live objects\");",
		     live);
	} else {
		line(h, "expect_ret(err, 0, \"zpool_destroy_pool of an empty pool\");");
		line(h, "%spool = NULL;", dot(h));
	}
}

static size_t last_alloc_size;

void fz_emit_alloc(const struct fz_harness *h, int s, size_t size)
{
	const char *ind = pool_of(h)->in_cb ? "\t\t" : "\t";

	last_alloc_size = size;
	line(h, "err = zpool_malloc(%spool, %zu, &%shandle[%d]);", dot(h), size, dot(h), s);
	set_pending(h, "%sif (err == 0)\n%s\tplaced(%s, %d, %zu);\n", ind, ind, ptr(h), s, size);
}

/*
 * Where the zbud page model says a new object of @size goes: -1 if it
 * cannot say, else its offset in its page (0 for a new page or a free
 * first buddy, right-justified for a last buddy); *@full: no page fits it
 * and the arena has no page left.
 */
static long zbud_offset(const struct fz_harness *h, size_t size, unsigned long handle, bool *full)
{
	unsigned int chunks = zm_chunks(size), best = zm_best_fit(&h->zm, chunks);
	int i;

	*full = !best && h->zm.npages == h->cfg.max_pages;
	if (!best)
		return 0;
	i = zm_find(&h->zm, handle);
	if (i < 0 || ZM_NCHUNKS - h->zm.pages[i].chunks[0] - h->zm.pages[i].chunks[1] != best)
		return -1; /* not the best-fit page: the model says so, the program cannot */
	return h->zm.pages[i].bud[0] < 0 ? 0 : (long)(ZPOOL_PAGE_SIZE - chunks * ZM_CHUNK);
}

void fz_emit_alloc_ret(const struct fz_harness *h, int s, int err, unsigned long handle)
{
	size_t size = last_alloc_size;
	bool valid = size >= 1 && size <= ZPOOL_PAGE_SIZE, full = false;
	bool injecting = h->cfg.fail_page_alloc_every || h->cfg.fail_page_alloc_prob != 0.0;
	long off = -1;
	const char *want;

	em.pending[0] = '\0';
	if (valid && h->model->page_model)
		off = zbud_offset(h, size, handle, &full);
	/*
	 * The contract fixes -EINVAL; the zbud model says when the arena is
	 * full; otherwise (or with injected failures) the traced run's answer.
	 */
	if (!valid)
		want = "-EINVAL";
	else if (h->model->page_model && !injecting)
		want = full ? "-ENOMEM" : "0";
	else
		want = err == -ENOMEM ? "-ENOMEM" : "0";
	if (valid && injecting && (!err || err == -ENOMEM))
		line(h, "expect_malloc_injected(%s, %d, %zu, err, %s);", ptr(h), s, size, want);
	line(h, "expect_ret(err, %s, \"zpool_malloc\");", want);
	if (strcmp(want, err == -EINVAL ? "-EINVAL" : err == -ENOMEM ? "-ENOMEM" : "0") != 0) {
		/*
		 * The traced run left the contract here: what it did next follows
		 * from an answer a correct backend does not give (an object where
		 * the arena is full, say), so a correct one would fail the rest
		 * for nothing. The program ends at this check.
		 */
		char why[160];

		snprintf(why, sizeof(why),
			 "zpool_malloc(%zu) returned %d where the contract wants %s", size, err,
			 want);
		write_program(why);
		em.finished = true;
		return;
	}
	if (err)
		return; /* no object */
	line(h, "placed(%s, %d, %zu);", ptr(h), s, size);
	if (h->model->handle_is_address)
		line(h, "expect_no_overlap(%s, %d);", ptr(h), s);
	if (off >= 0)
		line(h, "expect_offset(%s, %d, %#lx); /* zbud: %s */", ptr(h), s,
		     (unsigned long)off,
		     off ? "the last buddy ends at the page end" : "a first buddy starts the page");
}

void fz_emit_write(const struct fz_harness *h, int s, uint8_t seed, bool from_store)
{
	line(h, "p = zpool_map_handle(%spool, %shandle[%d], ZPOOL_MM_WO);", dot(h), dot(h), s);
	if (from_store)
		line(h, "refill(%s, %d, p);", ptr(h), s);
	else
		line(h, "fill(%s, %d, p, %u);", ptr(h), s, seed);
	line(h, "zpool_unmap_handle(%spool, %shandle[%d]);", dot(h), dot(h), s);
}

void fz_emit_verify(const struct fz_harness *h, int s)
{
	line(h, "p = zpool_map_handle(%spool, %shandle[%d], ZPOOL_MM_RO);", dot(h), dot(h), s);
	line(h, "expect_pattern(%s, %d, p, \"read back\");", ptr(h), s);
	line(h, "zpool_unmap_handle(%spool, %shandle[%d]);", dot(h), dot(h), s);
}

void fz_emit_free(const struct fz_harness *h, int s)
{
	line(h, "zpool_free(%spool, %shandle[%d]);", dot(h), dot(h), s);
	line(h, "%swhere[%d] = EMPTY;", dot(h), s);
}

void fz_emit_shrink(const struct fz_harness *h, unsigned int pages)
{
	struct fz_emit_pool *p = pool_of(h);

	p->plan = em.nplans++;
	p->calls = 0;
	buf_add(&em.plans,
		"/* The evict calls of shrink %u, in the order the traced run saw them. */\n"
		"static int plan%u(struct victim *v, unsigned long handle, unsigned int call)\n{\n"
		"\tunsigned char *p;\n\tint err;\n\n\t(void)p, (void)err;\n\tswitch (call) {\n",
		p->plan, p->plan);
	em.plan_open = true;
	line(h, "%splan = plan%u;", dot(h), p->plan);
	line(h, "%scalls = 0;", dot(h));
	line(h, "err = zpool_shrink(%spool, %u, &reclaimed);", dot(h), pages);
}

void fz_emit_shrink_ret(const struct fz_harness *h, int err, unsigned int reclaimed)
{
	struct fz_emit_pool *p = pool_of(h);
	unsigned int live = 0;

	for (int s = 0; s < FZ_SLOTS; s++)
		live += h->obj[s].state == FZ_LIVE;
	buf_add(&em.plans, "\t}\n\tfail(\"evict call %%u: the traced run made %u\", call);\n}\n\n",
		p->calls);
	em.plan_open = false;
	line(h, "expect_ret(err, %d, \"zpool_shrink\");", err);
	if (!err)
		line(h, "expect_ret((int)reclaimed, %u, \"pages reclaimed\");", reclaimed);
	line(h, "%splan = NULL;", dot(h));
	(void)live;
}

void fz_emit_compact(const struct fz_harness *h)
{
	line(h, "err = zpool_compact(%spool, &freed);", dot(h));
}

void fz_emit_compact_ret(const struct fz_harness *h, int err)
{
	/* 0, or -EOPNOTSUPP from a backend that does not compact */
	line(h, "expect_ret(err, %s, \"zpool_compact\");",
	     err == -EOPNOTSUPP ? "-EOPNOTSUPP" : "0");
}

void fz_emit_evict(const struct fz_harness *h, unsigned long handle, int s)
{
	struct fz_emit_pool *p = pool_of(h);

	(void)handle;
	buf_add(&em.plans, "\tcase %u:\n", p->calls);
	p->in_cb = true;
	line(h, "expect_slot(v, handle, call, %d);", s);
}

void fz_emit_evict_ret(const struct fz_harness *h, int ret)
{
	struct fz_emit_pool *p = pool_of(h);

	line(h, "return %d;", ret);
	p->in_cb = false;
	p->calls++;
}

void fz_emit_evict_to_store(const struct fz_harness *h, int s)
{
	line(h, "evict_to_store(%s, %d);", ptr(h), s);
}

void fz_emit_after_op(const struct fz_harness *h)
{
	unsigned int live = 0;
	long long pages = -1;
	char note[96];

	if (em.reader && em.reader->pos > em.last_end) {
		snprintf(note, sizeof(note), "\n\t/* op %u: input bytes %zu-%zu */\n", em.nops++,
			 em.last_end, em.reader->pos);
		buf_insert(&em.body, em.op_mark, note);
		em.last_end = em.reader->pos;
	}
	if (h->pool) {
		for (int s = 0; s < FZ_SLOTS; s++)
			live += h->obj[s].state == FZ_LIVE;
		if (h->model->page_model && h->zm.cur < 0)
			pages = h->zm.npages;
		line(h, "check_pool(%s, %u, %lld);", ptr(h), live, pages);
	}
	em.op_mark = em.body.len;
}

void fz_emit_teardown_done(const struct fz_harness *h)
{
	(void)h;
	write_program(NULL);
}

void fz_emit_fail(const struct fz_harness *h, const char *message)
{
	char why[512];

	snprintf(why, sizeof(why), "the model of %s: %s", h->name, message);
	for (char *c = why; *c; c++)
		if (*c == '*' && c[1] == '/')
			*c = '+';
	mark_stopped_op();
	write_program(why);
	em.finished = true;
}
