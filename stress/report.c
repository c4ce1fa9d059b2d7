// SPDX-License-Identifier: GPL-2.0-only
/*
 * report.c - the summary of a stress run, as text or JSON
 *
 * The JSON is the machine interface (long_run.sh builds the README table
 * from it), so its field names are stable and documented in README.md:
 * one object for the run's settings, with a "results" array holding one
 * object per backend. Rates are per second of the owners' run time.
 */
#include "stress.h"

#include <stdio.h>

static const char *const op_names[NR_OPS] = { "store", "load", "invalidate", "swapin" };

static uint64_t total_ops(const struct stress_counters *c)
{
	uint64_t n = 0;

	for (int i = 0; i < NR_OPS; i++)
		n += c->ops[i];
	return n;
}

static double per_second(uint64_t n, double seconds)
{
	return seconds > 0 ? (double)n / seconds : 0.0;
}

static double objects_per_page(const struct stress_counters *c)
{
	return c->occupancy_pages ? (double)c->occupancy_objects / (double)c->occupancy_pages : 0.0;
}

/* Print @s as a JSON string. */
static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

/**
 * stress_report_text() - print one backend's summary for people
 * @o: the options
 * @res: the backend's outcome
 */
void stress_report_text(const struct stress_opts *o, const struct stress_result *res)
{
	const struct stress_counters *c = &res->c;
	unsigned long long total = total_ops(c);

	printf("backend %s: %.2f s, %u owners, %u reclaimers, %u slots, %zu pages, %u shards, "
	       "seed %llu, sizes %s\n",
	       res->backend, res->elapsed, o->threads, o->reclaimers, o->slots, o->max_pages,
	       o->shards, (unsigned long long)o->seed, o->sizes_name);
	printf("  ops:        %llu (%.0f/s):", total, per_second(total, res->elapsed));
	for (int i = 0; i < NR_OPS; i++)
		printf(" %s %llu (%.0f/s)", op_names[i], (unsigned long long)c->ops[i],
		       per_second(c->ops[i], res->elapsed));
	printf("\n  evict:      %llu written back, %llu already freed by the owner, %llu refused "
	       "(--fail-evict %g), %llu waited for stores in flight\n",
	       (unsigned long long)c->writebacks, (unsigned long long)c->evict_stale,
	       (unsigned long long)c->evict_refusals, o->fail_evict,
	       (unsigned long long)c->evict_slow);
	printf("  shrink:     %llu calls, %llu -EAGAIN; reclaimers %llu ok, %llu -EAGAIN, %llu "
	       "nothing to reclaim; owners %llu after -ENOMEM\n",
	       (unsigned long long)res->pool.shrink_calls,
	       (unsigned long long)res->pool.shrink_eagain, (unsigned long long)c->shrink_ok,
	       (unsigned long long)c->shrink_eagain, (unsigned long long)c->shrink_einval,
	       (unsigned long long)c->owner_shrinks);
	printf("  compact:    %llu passes (%u compactor threads), %llu pages freed\n",
	       (unsigned long long)res->pool.compactions, o->compactors,
	       (unsigned long long)res->pool.pages_compacted);
	printf("  -ENOMEM:    %llu seen by owners, %llu stores rejected to the backing store, "
	       "%llu injected page-allocation failures (--fail-page-alloc %g)\n",
	       (unsigned long long)c->enomem, (unsigned long long)c->rejects,
	       (unsigned long long)res->pool.injected_failures, o->fail_page_alloc);
	printf("  pages:      peak %llu of %llu, %.2f objects per page (mean of samples), "
	       "%llu objects in %llu pages at the end\n",
	       (unsigned long long)res->pool.peak_pages, (unsigned long long)res->pool.max_pages,
	       objects_per_page(c), (unsigned long long)res->objects_at_end,
	       (unsigned long long)res->pages_at_end);
	printf("  verified:   %llu bytes, %llu from the backing store; %llu zpool_check passes "
	       "during the run\n",
	       (unsigned long long)c->bytes_verified, (unsigned long long)c->backing_hits,
	       (unsigned long long)c->checks);
	printf("  result:     %s, %llu bytes lost\n", res->failed ? "FAIL" : "ok",
	       (unsigned long long)res->bytes_lost);
}

static void json_u64(const char *name, uint64_t v, bool comma)
{
	printf("\"%s\": %llu%s", name, (unsigned long long)v, comma ? ", " : "");
}

static void json_result(const struct stress_result *res)
{
	const struct stress_counters *c = &res->c;

	printf("    {\"backend\": ");
	json_string(res->backend);
	printf(", \"seconds\": %.3f, \"ok\": %s,\n     \"ops\": {", res->elapsed,
	       res->failed ? "false" : "true");
	for (int i = 0; i < NR_OPS; i++)
		json_u64(op_names[i], c->ops[i], true);
	json_u64("total", total_ops(c), false);
	printf("},\n     \"ops_per_sec\": {");
	for (int i = 0; i < NR_OPS; i++)
		printf("\"%s\": %.1f, ", op_names[i], per_second(c->ops[i], res->elapsed));
	printf("\"total\": %.1f},\n     ", per_second(total_ops(c), res->elapsed));
	json_u64("evictions", res->pool.evictions, true);
	json_u64("writebacks", c->writebacks, true);
	json_u64("evict_stale", c->evict_stale, true);
	json_u64("evict_refusals", c->evict_refusals, true);
	json_u64("evict_failures", res->pool.evict_failures, true);
	json_u64("evict_slow_path", c->evict_slow, true);
	printf("\n     ");
	json_u64("shrink_calls", res->pool.shrink_calls, true);
	json_u64("shrink_eagain", res->pool.shrink_eagain, true);
	json_u64("reclaimer_shrink_ok", c->shrink_ok, true);
	json_u64("reclaimer_shrink_einval", c->shrink_einval, true);
	json_u64("owner_shrinks", c->owner_shrinks, true);
	json_u64("compactions", res->pool.compactions, true);
	json_u64("pages_compacted", res->pool.pages_compacted, true);
	printf("\n     ");
	json_u64("enomem", c->enomem, true);
	json_u64("rejects", c->rejects, true);
	json_u64("injected_page_alloc_failures", res->pool.injected_failures, true);
	json_u64("page_alloc_failures", res->pool.page_alloc_failures, true);
	printf("\n     ");
	json_u64("peak_pages", res->pool.peak_pages, true);
	json_u64("max_pages", res->pool.max_pages, true);
	printf("\"objects_per_page\": %.3f, ", objects_per_page(c));
	json_u64("objects_at_end", res->objects_at_end, true);
	json_u64("pages_at_end", res->pages_at_end, true);
	printf("\n     ");
	json_u64("checks", c->checks, true);
	json_u64("backing_hits", c->backing_hits, true);
	json_u64("bytes_verified", c->bytes_verified, true);
	json_u64("bytes_lost", res->bytes_lost, false);
	printf("}");
}

/**
 * stress_report_json() - print the settings and every backend's outcome
 * @o: the options
 * @res: the outcomes
 * @n: entries of @res
 */
void stress_report_json(const struct stress_opts *o, const struct stress_result *res, size_t n)
{
	bool failed = false;

	for (size_t i = 0; i < n; i++)
		failed |= res[i].failed;
	printf("{\"tool\": \"zpool_stress\", \"verdict\": \"%s\", \"seed\": %llu, \"threads\": %u, "
	       "\"reclaimers\": %u, \"slots\": %u, \"max_pages\": %zu, \"shards\": %u,\n",
	       failed ? "fail" : "pass", (unsigned long long)o->seed, o->threads, o->reclaimers,
	       o->slots, o->max_pages, o->shards);
	printf(" \"seconds\": %g, \"ops\": %llu, \"fail_page_alloc\": %g, \"fail_evict\": %g, "
	       "\"check_every\": %llu,\n ",
	       o->seconds, (unsigned long long)o->ops, o->fail_page_alloc, o->fail_evict,
	       (unsigned long long)o->check_every);
	printf("\"hang_seconds\": %g, \"sizes\": ", o->hang_seconds);
	json_string(o->sizes_name);
	printf(",\n \"results\": [\n");
	for (size_t i = 0; i < n; i++) {
		json_result(&res[i]);
		printf("%s\n", i + 1 < n ? "," : "");
	}
	printf(" ]}\n");
}
