/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fault.h - reproducible allocation-failure injection
 *
 * Plays the kernel's fail_page_alloc: fail every Nth allocation, or each
 * with probability p drawn from a PRNG seeded by the user, so that a run
 * with the same seed and the same sequence of allocations fails at the same
 * places.
 */
#ifndef ZPOOL_FAULT_H
#define ZPOOL_FAULT_H

#include <zpool/zpool.h>

struct zpool_fault {
	unsigned int every;
	double prob;
	uint64_t rng;
	uint64_t calls;
};

/**
 * fault_init() - set up injection from a pool configuration
 *
 * Return: 0, or -EINVAL if the probability is not within [0, 1].
 */
int fault_init(struct zpool_fault *f, const struct zpool_config *cfg);

/* fault_enabled() - whether any failure can be injected; lock-free (set once). */
static inline bool fault_enabled(const struct zpool_fault *f)
{
	return f->every || f->prob > 0.0;
}

/*
 * fault_should_fail() - decide the fate of the next allocation. The caller
 * serialises calls (the arena lock, or the backend's lock).
 */
bool fault_should_fail(struct zpool_fault *f);

#endif /* ZPOOL_FAULT_H */
