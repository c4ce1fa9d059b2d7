// SPDX-License-Identifier: GPL-2.0-only
/*
 * zbud_model.c - the zbud page model (zbud_model.h)
 *
 * It mirrors the promises of backends/zbud/zbud.c, not its code: where a
 * new object lands, which page reclaim takes and which handles its evict
 * callbacks receive, and when a page goes back to the arena.
 */
#include "harness.h"

#include <string.h>

void zm_reset(struct zm_model *m)
{
	m->npages = 0;
	m->cur = -1;
	m->pending_last = 0;
}

int zm_find(const struct zm_model *m, unsigned long handle)
{
	unsigned long addr = handle & ~(unsigned long)(ZPOOL_PAGE_SIZE - 1);

	for (unsigned int i = 0; i < m->npages; i++)
		if (m->pages[i].addr == addr)
			return (int)i;
	return -1;
}

unsigned int zm_chunks(size_t size)
{
	return (unsigned int)((size + ZM_CHUNK - 1) / ZM_CHUNK);
}

static void zm_drop(struct zm_model *m, int i)
{
	m->pages[i] = m->pages[--m->npages];
	if (m->cur == (int)m->npages)
		m->cur = i;
}

static unsigned int zm_free_chunks(const struct zm_page *p)
{
	return ZM_NCHUNKS - p->chunks[0] - p->chunks[1];
}

/*
 * The free chunks of the best-fit page for @chunks (lowest free count that
 * fits, among pages with one buddy not under reclaim), or 0 if none.
 */
unsigned int zm_best_fit(const struct zm_model *m, unsigned int chunks)
{
	unsigned int best = 0;

	for (unsigned int i = 0; i < m->npages; i++) {
		const struct zm_page *p = &m->pages[i];
		unsigned int f = zm_free_chunks(p);

		if (p->reclaim || (p->bud[0] >= 0 && p->bud[1] >= 0))
			continue;
		if (f >= chunks && (!best || f < best))
			best = f;
	}
	return best;
}

/* Check where zbud placed the new object of slot @s, and record it. */
void zm_alloced(struct fz_harness *h, int s, unsigned int best)
{
	struct zm_model *m = &h->zm;
	unsigned long handle = h->obj[s].handle;
	unsigned int chunks = zm_chunks(h->obj[s].size);
	unsigned long off = handle & (ZPOOL_PAGE_SIZE - 1);
	int i = zm_find(m, handle);
	struct zm_page *p;
	int bud;

	if (best) {
		if (i < 0 || zm_free_chunks(&m->pages[i]) != best || m->pages[i].reclaim)
			fz_fail(h, s,
				"zbud best fit: expected a page with %u free chunks, seen handle "
				"%#lx on %s",
				best, handle, i < 0 ? "a new page" : "another page");
		p = &m->pages[i];
		bud = p->bud[0] < 0 ? 0 : 1;
	} else {
		if (i >= 0)
			fz_fail(h, s,
				"zbud: no page fits %u chunks, expected a new page, seen "
				"handle %#lx on a known page",
				chunks, handle);
		if (m->npages >= FZ_MAX_PAGES)
			fz_fail(h, s, "zbud: more pages than the arena holds");
		i = (int)m->npages++;
		p = &m->pages[i];
		memset(p, 0, sizeof(*p));
		p->addr = handle - off;
		p->bud[0] = p->bud[1] = -1;
		bud = 0;
		h->n.new_pages++;
		if (m->npages > h->n.peak_seen)
			h->n.peak_seen = m->npages;
	}
	if (bud == 0 && off != 0)
		fz_fail(h, s, "zbud: first buddy expected at page offset 0, seen %#lx", off);
	if (bud == 1 && off != ZPOOL_PAGE_SIZE - chunks * ZM_CHUNK)
		fz_fail(h, s, "zbud: last buddy of %u chunks expected at offset %#x, seen %#lx",
			chunks, ZPOOL_PAGE_SIZE - chunks * ZM_CHUNK, off);
	p->bud[bud] = s;
	p->chunks[bud] = chunks;
	p->stamp = ++m->clock;
}

/* The buddy of slot @s was freed: by its owner, or by the evict callback. */
void zm_freed(struct fz_harness *h, int s)
{
	struct zm_model *m = &h->zm;
	int i = zm_find(m, h->obj[s].handle);
	struct zm_page *p;

	if (i < 0)
		fz_fail(h, s, "zbud model: freed handle %#lx on no page", h->obj[s].handle);
	p = &m->pages[i];
	for (int b = 0; b < 2; b++) {
		if (p->bud[b] == s) {
			p->bud[b] = -1;
			p->chunks[b] = 0;
		}
	}
	if (!p->reclaim && p->bud[0] < 0 && p->bud[1] < 0)
		zm_drop(m, i);
}

/* The LRU tail: the page not under reclaim with the lowest stamp. */
static int zm_tail(const struct zm_model *m)
{
	int tail = -1;

	for (unsigned int i = 0; i < m->npages; i++)
		if (!m->pages[i].reclaim && (tail < 0 || m->pages[i].stamp < m->pages[tail].stamp))
			tail = (int)i;
	return tail;
}

/* The reclaim attempt on @cur is over: free the page or put it at the head. */
void zm_finish_attempt(struct zm_model *m)
{
	struct zm_page *p;

	if (m->cur < 0)
		return;
	p = &m->pages[m->cur];
	p->reclaim = false;
	if (p->bud[0] < 0 && p->bud[1] < 0) {
		zm_drop(m, m->cur);
		m->freed_by_reclaim++;
		m->failed_attempts = 0;
	} else {
		p->stamp = ++m->clock;
		m->failed_attempts++;
	}
	m->cur = -1;
	m->pending_last = 0;
}

/*
 * An evict callback was called for @handle: check it is the handle zbud
 * must evict next. Returns true if the handle is one whose buddy was freed
 * while its page was under reclaim (zbud still calls evict for it).
 */
bool zm_evict_called(struct fz_harness *h, unsigned long handle)
{
	struct zm_model *m = &h->zm;
	struct zm_page *p;
	int t;

	if (m->pending_last) {
		if (handle != m->pending_last)
			fz_fail(h, -1,
				"zbud reclaim: expected evict of the last buddy %#lx, seen %#lx",
				m->pending_last, handle);
		m->pending_last = 0;
		p = &m->pages[m->cur];
		return p->bud[1] < 0;
	}
	zm_finish_attempt(m);
	t = zm_tail(m);
	if (t < 0)
		fz_fail(h, -1, "zbud reclaim: evict of %#lx but the model's LRU is empty", handle);
	p = &m->pages[t];
	p->reclaim = true;
	m->cur = t;
	for (int b = 0; b < 2; b++)
		p->enc[b] = p->bud[b] >= 0 ? h->obj[p->bud[b]].handle : 0;
	if (handle != (p->enc[0] ? p->enc[0] : p->enc[1]))
		fz_fail(
		    h, -1,
		    "zbud reclaim: expected evict of the LRU tail page %#lx (handle %#lx), seen "
		    "%#lx",
		    p->addr, p->enc[0] ? p->enc[0] : p->enc[1], handle);
	return false;
}

/* The evict callback for @handle returned @ret: what is expected next. */
void zm_evict_returned(struct zm_model *m, unsigned long handle, int ret)
{
	struct zm_page *p = &m->pages[m->cur];

	if (handle == p->enc[0] && ret == 0 && p->enc[1])
		m->pending_last = p->enc[1];
}
