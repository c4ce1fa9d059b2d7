// SPDX-License-Identifier: GPL-2.0-only
/*
 * fault.c - reproducible allocation-failure injection
 *
 * The PRNG is splitmix64: one 64-bit word of state, so the whole injector
 * is reproducible from the seed alone.
 */
#include "fault.h"

#include <errno.h>

static uint64_t splitmix64_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int fault_init(struct zpool_fault *f, const struct zpool_config *cfg)
{
	/* Written so that NaN fails the test too. */
	if (!(cfg->fail_page_alloc_prob >= 0.0 && cfg->fail_page_alloc_prob <= 1.0))
		return -EINVAL;
	f->every = cfg->fail_page_alloc_every;
	f->prob = cfg->fail_page_alloc_prob;
	f->rng = cfg->seed;
	f->calls = 0;
	return 0;
}

bool fault_should_fail(struct zpool_fault *f)
{
	f->calls++;
	if (f->every && f->calls % f->every == 0)
		return true;
	if (f->prob > 0.0) {
		/* 53 random bits make a uniform double in [0, 1). */
		double u = (double)(splitmix64_next(&f->rng) >> 11) * 0x1.0p-53;

		return u < f->prob;
	}
	return false;
}
