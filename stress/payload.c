// SPDX-License-Identifier: GPL-2.0-only
/*
 * payload.c - the bytes of a stress object, and how they are checked
 *
 * An object is a function of (seed, slot, version, size) alone: a header
 * of four little-endian-in-memory 32-bit words (slot, version, size, check)
 * followed by a stream of splitmix64 words keyed by all four. Nothing about
 * an object has to be remembered but its slot's version and size, and a
 * byte that comes back wrong is detected wherever it sits: an object
 * swapped with another slot's, an old version, a truncated copy or a
 * single flipped bit all differ from the expected bytes.
 */
#include "stress.h"

#include <string.h>

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t object_key(uint64_t seed, uint32_t slot, uint32_t version, uint32_t size)
{
	return mix64(seed ^ mix64(((uint64_t)slot << 32 | version) ^ mix64(size)));
}

/**
 * stress_header_check() - the check word of an object header
 *
 * Lets the evict callback tell a stress header from leftover bytes.
 */
uint32_t stress_header_check(uint64_t seed, uint32_t slot, uint32_t version, uint32_t size)
{
	return (uint32_t)(object_key(seed, slot, version, size) >> 32) ^ 0x5a5a5a5au;
}

/**
 * stress_make_object() - write the expected bytes of an object
 * @buf: at least @size bytes (and STRESS_HDR_SIZE)
 * @seed: the run's seed
 * @slot: the slot the object belongs to
 * @version: its version within the slot
 * @size: its size; at least STRESS_HDR_SIZE
 */
void stress_make_object(unsigned char *buf, uint64_t seed, uint32_t slot, uint32_t version,
			uint32_t size)
{
	uint32_t hdr[4] = { slot, version, size, stress_header_check(seed, slot, version, size) };
	uint64_t key = object_key(seed, slot, version, size);
	size_t off = STRESS_HDR_SIZE;

	memcpy(buf, hdr, sizeof(hdr));
	for (uint64_t i = 0; off < size; i++) {
		uint64_t w = mix64(key + i * 0x9e3779b97f4a7c15ULL);
		size_t n = size - off < sizeof(w) ? size - off : sizeof(w);

		memcpy(buf + off, &w, n);
		off += n;
	}
}

/* stress_first_mismatch() - offset of the first differing byte, or @size. */
size_t stress_first_mismatch(const unsigned char *seen, const unsigned char *expected, size_t size)
{
	if (memcmp(seen, expected, size) == 0)
		return size;
	for (size_t i = 0; i < size; i++)
		if (seen[i] != expected[i])
			return i;
	return size;
}

/* stress_count_mismatches() - how many of @size bytes differ. */
size_t stress_count_mismatches(const unsigned char *seen, const unsigned char *expected,
			       size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < size; i++)
		n += seen[i] != expected[i];
	return n;
}
