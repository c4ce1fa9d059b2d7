// SPDX-License-Identifier: GPL-2.0-only
/*
 * live.c - the set of a pool's live handles (see live.h)
 */
#include "live.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#define LIVE_MIN_SLOTS 64

/*
 * Handles are addresses or small integers with few varying bits (page
 * aligned, chunk aligned, slot indexes): the splitmix64 finaliser spreads
 * every input bit over the word. Low bits pick the shard, the rest the slot.
 */
static uint64_t live_hash(unsigned long handle)
{
	uint64_t x = handle;

	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static struct live_shard *shard_of(struct live_set *s, uint64_t hash)
{
	return &s->shard[hash % LIVE_SHARDS];
}

static size_t home_slot(const struct live_shard *sh, unsigned long handle)
{
	return (size_t)(live_hash(handle) / LIVE_SHARDS) & sh->mask;
}

/* The slot holding @handle, or the empty slot where it would go. Lock held. */
static size_t find_slot(const struct live_shard *sh, unsigned long handle)
{
	size_t i = home_slot(sh, handle);

	while (sh->slot[i] && sh->slot[i] != handle)
		i = (i + 1) & sh->mask;
	return i;
}

/* Double the table (or make the first one). Lock held. */
static int grow(struct live_shard *sh)
{
	size_t size = sh->slot ? 2 * (sh->mask + 1) : LIVE_MIN_SLOTS;
	struct live_shard bigger = { .mask = size - 1, .nr = sh->nr };

	bigger.slot = calloc(size, sizeof(*bigger.slot));
	if (!bigger.slot)
		return -ENOMEM;
	for (size_t i = 0; sh->slot && i <= sh->mask; i++)
		if (sh->slot[i])
			bigger.slot[find_slot(&bigger, sh->slot[i])] = sh->slot[i];
	free(sh->slot);
	sh->slot = bigger.slot;
	sh->mask = bigger.mask;
	return 0;
}

void live_init(struct live_set *s)
{
	for (size_t i = 0; i < LIVE_SHARDS; i++) {
		s->shard[i] = (struct live_shard){ .slot = NULL };
		pthread_mutex_init(&s->shard[i].lock, NULL);
	}
}

void live_destroy(struct live_set *s)
{
	for (size_t i = 0; i < LIVE_SHARDS; i++) {
		free(s->shard[i].slot);
		pthread_mutex_destroy(&s->shard[i].lock);
	}
}

int live_add(struct live_set *s, unsigned long handle)
{
	struct live_shard *sh = shard_of(s, live_hash(handle));
	int err = 0;
	size_t i;

	pthread_mutex_lock(&sh->lock);
	/* At most 3/4 full, so that probes stay short and always end. */
	if (!sh->slot || 4 * (sh->nr + 1) > 3 * (sh->mask + 1))
		err = grow(sh);
	if (!err) {
		i = find_slot(sh, handle);
		if (sh->slot[i]) {
			err = -EEXIST;
		} else {
			sh->slot[i] = handle;
			sh->nr++;
		}
	}
	pthread_mutex_unlock(&sh->lock);
	return err;
}

/*
 * Empty slot @i by moving back every later entry of its probe run that
 * would no longer be found across the gap: an entry stays where it is only
 * if its home slot lies cyclically in (gap, its slot]. Lock held.
 */
static void remove_at(struct live_shard *sh, size_t i)
{
	size_t gap = i, j = i;

	for (;;) {
		j = (j + 1) & sh->mask;
		if (!sh->slot[j])
			break;
		size_t home = home_slot(sh, sh->slot[j]);
		bool stays = gap <= j ? (gap < home && home <= j) : (gap < home || home <= j);

		if (!stays) {
			sh->slot[gap] = sh->slot[j];
			gap = j;
		}
	}
	sh->slot[gap] = 0;
	sh->nr--;
}

bool live_remove(struct live_set *s, unsigned long handle)
{
	struct live_shard *sh = shard_of(s, live_hash(handle));
	bool found = false;
	size_t i;

	pthread_mutex_lock(&sh->lock);
	if (sh->slot) {
		i = find_slot(sh, handle);
		found = sh->slot[i] != 0;
		if (found)
			remove_at(sh, i);
	}
	pthread_mutex_unlock(&sh->lock);
	return found;
}

bool live_contains(struct live_set *s, unsigned long handle)
{
	struct live_shard *sh = shard_of(s, live_hash(handle));
	bool found = false;

	pthread_mutex_lock(&sh->lock);
	if (sh->slot)
		found = sh->slot[find_slot(sh, handle)] != 0;
	pthread_mutex_unlock(&sh->lock);
	return found;
}

size_t live_count(struct live_set *s)
{
	size_t n = 0;

	for (size_t i = 0; i < LIVE_SHARDS; i++) {
		pthread_mutex_lock(&s->shard[i].lock);
		n += s->shard[i].nr;
		pthread_mutex_unlock(&s->shard[i].lock);
	}
	return n;
}
