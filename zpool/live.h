/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * live.h - the set of a pool's live handles, for the debug checks
 *
 * The zpool layer records every handle zpool_malloc() returns and forgets
 * it when zpool_free() is called, so that it can tell, for any backend and
 * without touching the backend's memory, whether a handle belongs to the
 * pool: a double free, a free or map of a stale handle or of another
 * pool's handle, and an evict callback that claims to have freed a handle
 * it did not, are all one lookup.
 *
 * The set is split into shards by a hash of the handle, each with its own
 * lock, so that threads working on different objects rarely meet there
 * and the set adds no serialisation of its own to the backend's. Each
 * shard is an open-addressing table with linear probing; 0 (never a valid
 * handle) marks an empty slot, and removal shifts the following entries
 * back instead of leaving tombstones, so a table never fills with them.
 */
#ifndef ZPOOL_LIVE_H
#define ZPOOL_LIVE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#define LIVE_SHARDS 16

/**
 * struct live_shard - one lock and the table of the handles that hash to it
 * @lock: protects the other fields
 * @slot: 0 or a handle; @mask + 1 entries, NULL until the first insertion
 * @mask: table size - 1 (a power of two), 0 before the first insertion
 * @nr: handles held
 */
struct live_shard {
	pthread_mutex_t lock;
	unsigned long *slot;
	size_t mask;
	size_t nr;
} __attribute__((aligned(64))); /* one cache line each: no false sharing */

struct live_set {
	struct live_shard shard[LIVE_SHARDS];
};

void live_init(struct live_set *s);
void live_destroy(struct live_set *s);

/**
 * live_add() - record @handle (non-zero) as live; takes its shard's lock
 *
 * Return: 0; -EEXIST if it already was; -ENOMEM if the table could not grow.
 */
int live_add(struct live_set *s, unsigned long handle);

/* live_remove() - forget @handle; false if it was not live. Takes its shard's lock. */
bool live_remove(struct live_set *s, unsigned long handle);

/* live_contains() - whether @handle is live. Takes its shard's lock. */
bool live_contains(struct live_set *s, unsigned long handle);

/* live_count() - handles live; takes each shard's lock in turn. */
size_t live_count(struct live_set *s);

#endif /* ZPOOL_LIVE_H */
