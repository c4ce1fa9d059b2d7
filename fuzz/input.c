// SPDX-License-Identifier: GPL-2.0-only
/* input.c - the fuzz input reader (fuzz_helpers.h) */
#include "fuzz_helpers.h"

#include "emit_c.h"

void fz_reader_init(struct fz_reader *r, const uint8_t *data, size_t size)
{
	r->data = data;
	r->size = size;
	r->pos = 0;
	r->short_read = false;
	fz_emit_setup();
	FZ_EMIT(input, r);
}

uint16_t fz_u16(struct fz_reader *r)
{
	uint16_t lo = fz_u8(r);

	return (uint16_t)(lo | (uint16_t)fz_u8(r) << 8);
}

uint32_t fz_u32(struct fz_reader *r)
{
	uint32_t lo = fz_u16(r);

	return lo | (uint32_t)fz_u16(r) << 16;
}
