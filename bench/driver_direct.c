// SPDX-License-Identifier: GPL-2.0-only
/*
 * driver_direct.c - hand the benchmark a pool's driver (see driver_direct.h)
 *
 * In C, beside the benchmark, because struct zpool is internal (zpool/
 * internal.h) and its atomics are C11's.
 */
#include "driver_direct.h"

#include "internal.h"

#include <errno.h>

int driver_direct_get(struct zpool *zp, struct driver_direct *d)
{
	if (zp->shards)
		return -EINVAL;
	d->pool = zp->pool;
	d->malloc = zp->driver->malloc;
	d->free = zp->driver->free;
	return 0;
}
