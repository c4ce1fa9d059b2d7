/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * driver_direct.h - a backend's driver, called without the zpool layer
 *
 * The benchmark's measure of what the common layer of zpool.c costs: the
 * same backend timed through zpool_malloc()/zpool_free() and through the
 * driver's own malloc and free, on the same pool.
 */
#ifndef ZPOOL_BENCH_DRIVER_DIRECT_H
#define ZPOOL_BENCH_DRIVER_DIRECT_H

#include <zpool/zpool.h>

#ifdef __cplusplus
extern "C" {
#endif

struct driver_direct {
	void *pool;
	int (*malloc)(void *pool, size_t size, unsigned long *handle);
	void (*free)(void *pool, unsigned long handle);
};

/*
 * driver_direct_get() - the driver functions and backend pool behind @zp
 *
 * Only for a pool of one shard. Handles allocated this way bypass the
 * pool's counters (and debug builds' handle tracking): free them through
 * the driver too.
 *
 * Return: 0, or -EINVAL for a sharded pool.
 */
int driver_direct_get(struct zpool *zp, struct driver_direct *d);

#ifdef __cplusplus
}
#endif

#endif /* ZPOOL_BENCH_DRIVER_DIRECT_H */
