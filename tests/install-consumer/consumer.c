// SPDX-License-Identifier: GPL-2.0-only
/* Uses every installed backend through the public header alone. */
#include <zpool/zpool.h>

#include <stdio.h>
#include <string.h>

static int use_backend(const char *type)
{
	struct zpool *pool;
	unsigned long handle;
	char *p;
	int err = zpool_create_pool(type, NULL, &pool);

	if (err)
		return err;
	err = zpool_malloc(pool, 1000, &handle);
	if (err)
		return err;
	p = zpool_map_handle(pool, handle, ZPOOL_MM_WO);
	strcpy(p, type);
	zpool_unmap_handle(pool, handle);
	p = zpool_map_handle(pool, handle, ZPOOL_MM_RO);
	err = strcmp(p, type) ? -1 : 0;
	zpool_unmap_handle(pool, handle);
	zpool_free(pool, handle);
	if (!err)
		err = zpool_destroy_pool(pool);
	printf("%s: %s\n", type, err ? "FAILED" : "ok");
	return err;
}

int main(void)
{
	const char *names[16];
	size_t n = zpool_types(names, 16);
	int failed = n < 2;

	for (size_t i = 0; i < n && i < 16; i++)
		failed |= use_backend(names[i]) != 0;
	return failed;
}
