// SPDX-License-Identifier: GPL-2.0-only
/*
 * ref_allocators.c - jemalloc and mimalloc for the benchmark's reference rows
 *
 * Both libraries export malloc() too. Built into a shared library of its
 * own that alone links them, they come after the C library in the symbol
 * lookup order (the executable's own dependencies first, theirs after), so
 * malloc() in the process stays glibc's and these are reached only through
 * their own entry points: jemalloc's mallocx()/dallocx(), mimalloc's
 * mi_malloc()/mi_free(). Loaded at start-up, not by dlopen(), because
 * jemalloc needs static TLS, which dlopen() cannot always provide.
 */
#include <jemalloc/jemalloc.h>
#include <mimalloc.h>

void *ref_jemalloc_alloc(size_t size);
void ref_jemalloc_free(void *p);
void *ref_mimalloc_alloc(size_t size);
void ref_mimalloc_free(void *p);

void *ref_jemalloc_alloc(size_t size)
{
	return mallocx(size, 0);
}

void ref_jemalloc_free(void *p)
{
	dallocx(p, 0);
}

void *ref_mimalloc_alloc(size_t size)
{
	return mi_malloc(size);
}

void ref_mimalloc_free(void *p)
{
	mi_free(p);
}
