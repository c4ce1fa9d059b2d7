/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * zbud_model.h - the model of zbud's pages, which the harness checks zbud
 * against exactly (zbud_model.c): buddies left/right-justified, best fit by
 * free chunks, the LRU order of pages (an allocation moves its page to the
 * head, a failed reclaim too), the handle each evict callback must receive,
 * the page count at every point, shrink's reclaimed count and -EAGAIN.
 */
#ifndef ZPOOL_FUZZ_ZBUD_MODEL_H
#define ZPOOL_FUZZ_ZBUD_MODEL_H

#include "fuzz_helpers.h"

#define ZM_CHUNK   64u /* zbud's allocation granularity */
#define ZM_NCHUNKS (ZPOOL_PAGE_SIZE / ZM_CHUNK)
#define FZ_RETRIES 8u /* page attempts per reclaimed page (zbud, z3fold and malloc) */

/**
 * struct zm_page - the model of one zbud page
 * @addr: the page's address (handles on it are @addr .. @addr + 4095)
 * @stamp: LRU position: higher is hotter; the tail has the lowest
 * @bud: slot of the first and last buddy, -1 if none
 * @chunks: chunks of each buddy (0 if none)
 * @enc: while under reclaim, the handles zbud encoded for evict
 * @reclaim: the page is under reclaim (off the LRU)
 */
struct zm_page {
	unsigned long addr;
	uint64_t stamp;
	int bud[2];
	unsigned int chunks[2];
	unsigned long enc[2];
	bool reclaim;
};

/**
 * struct zm_model - the pages of one zbud pool
 * @pages: @npages entries used
 * @clock: LRU stamp source
 * @cur: index in @pages of the page under reclaim, -1 if none
 * @pending_last: handle the next evict call must carry (the last buddy of
 *	@cur after its first was evicted), 0 if any page may start
 * @failed_attempts: consecutive reclaim attempts that freed no page
 * @freed_by_reclaim: pages freed by reclaim during this shrink
 */
struct zm_model {
	struct zm_page pages[FZ_MAX_PAGES];
	unsigned int npages;
	uint64_t clock;
	int cur;
	unsigned long pending_last;
	unsigned int failed_attempts;
	unsigned int freed_by_reclaim;
};

struct fz_harness;

void zm_reset(struct zm_model *m);
int zm_find(const struct zm_model *m, unsigned long handle);
unsigned int zm_chunks(size_t size);
unsigned int zm_best_fit(const struct zm_model *m, unsigned int chunks);
void zm_alloced(struct fz_harness *h, int s, unsigned int best);
void zm_freed(struct fz_harness *h, int s);
void zm_finish_attempt(struct zm_model *m);
bool zm_evict_called(struct fz_harness *h, unsigned long handle);
void zm_evict_returned(struct zm_model *m, unsigned long handle, int ret);

#endif /* ZPOOL_FUZZ_ZBUD_MODEL_H */
