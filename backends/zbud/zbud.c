// SPDX-License-Identifier: GPL-2.0-only
/*
 * zbud.c - a buddy allocator for compressed pages
 *
 * zbud stores up to two compressed pages ("zpages") in one arena page (a
 * "zbud page"). The first buddy is left-justified at the start of the page
 * and the last buddy right-justified at its end, so that when either is
 * freed, its space and the slack between the two form one free region, the
 * largest the page can offer.
 *
 * Because at most two objects share a page, reclaim is simple and its cost
 * predictable: evicting one page evicts at most two objects. The price is
 * density, which is at most two objects per page; in exchange the ratio of
 * objects to pages can never fall below 1, since all metadata lives in the
 * arena's page descriptor and a 4096-byte object fits a page by itself.
 * zbud never uses more pages than storing the pages uncompressed would.
 *
 * Pages are divided into NCHUNKS chunks of CHUNK_SIZE bytes; sizes are
 * rounded up to whole chunks. A page holding one buddy sits on the
 * unbuddied list indexed by its number of free chunks; a page holding two
 * sits on the buddied list. zbud_alloc() is best fit: it takes a page from
 * the lowest-indexed non-empty unbuddied list that can hold the request. A
 * bitmap of the non-empty lists makes that search one find-first-set
 * instead of a scan of the lists.
 *
 * The handle is the object's address: the page address for the first buddy
 * (page-aligned), the page end minus the last buddy's size for the last
 * buddy (never page-aligned, since a last buddy is placed only beside a
 * first one and so is smaller than a page). zbud_free() tells the buddies
 * apart by that alignment.
 *
 * Every page is also on the pool LRU, most recently allocated into at the
 * head. zbud_reclaim_page() takes the tail, marks it under reclaim, and
 * calls the user's evict callback for each buddy with no lock held; see
 * its kernel-doc for the protocol.
 *
 * Locking: one mutex per pool protects the lists, the bitmap, and the
 * chunk counts and reclaim flag of every page of the pool. pages_nr is an
 * atomic so that the pool size is readable without the lock; it is changed
 * under the lock all the same (a load and a store: the lock makes it the
 * only writer), so that zbud_check() finds it in step with the lists. The
 * arena is called only under the pool lock, so it takes no lock of its own
 * (arena_set_owner_locks()). The kernel's zbud drops its lock around the
 * page allocation, which may sleep there; the arena never sleeps, and
 * keeping the lock saves a lock round trip per new page.
 */
#include "arena.h"

#include <errno.h>
#include <stdlib.h>

/*
 * NCHUNKS_ORDER sets the allocation granularity and the number of
 * unbuddied lists: 6 gives 64 chunks of 64 bytes and 64 lists.
 */
#define NCHUNKS_ORDER 6
#define PAGE_SHIFT    12
#define CHUNK_SHIFT   (PAGE_SHIFT - NCHUNKS_ORDER)
#define CHUNK_SIZE    (1u << CHUNK_SHIFT)
#define NCHUNKS	      (ZPOOL_PAGE_SIZE >> CHUNK_SHIFT)

_Static_assert(ZPOOL_PAGE_SIZE == 1u << PAGE_SHIFT, "zbud assumes 4 KiB pages");
_Static_assert(NCHUNKS == 64, "the unbuddied bitmap is one 64-bit word");

/* Evict attempts per page zbud_zpool_shrink() asks of zbud_reclaim_page(). */
#define ZBUD_SHRINK_RETRIES 8

/* Which buddy of a page; indexes arena_page.priv, which holds its chunks. */
enum buddy { FIRST = 0, LAST = 1 };

/**
 * struct zbud_pool - one zbud pool
 * @lock: protects the lists, @unbuddied_map, @reclaim_nr and the chunk
 *	counts and reclaim flag of every page of the pool
 * @unbuddied: pages holding one buddy, indexed by their free chunks
 * @unbuddied_map: bit i set iff @unbuddied[i] is not empty
 * @buddied: pages holding two buddies
 * @lru: every page not under reclaim, most recently allocated into first;
 *	zbud_reclaim_page() evicts from its tail
 * @reclaim_nr: pages under reclaim (on no list), for zbud_check()
 * @check_gen: generation of the last zbud_check() pass
 * @pages_nr: pages of the pool: changed under @lock, so that zbud_check()
 *	sees it agree with the lists, but atomic, so that the pool size is
 *	readable without @lock (zbud_total_size()). Relaxed: zbud_check()
 *	gets its ordering from @lock, and the lock-free readers want the
 *	value only, inferring nothing about other memory from it.
 * @zpool: the zpool this pool serves, passed back to zpool_evict()
 * @arena: where the pages come from
 */
struct zbud_pool {
	pthread_mutex_t lock;
	struct list_head unbuddied[NCHUNKS];
	uint64_t unbuddied_map;
	struct list_head buddied;
	struct list_head lru;
	size_t reclaim_nr;
	unsigned int check_gen;
	atomic_size_t pages_nr;
	struct zpool *zpool;
	struct arena arena;
};

/*****************
 * Helpers
 *****************/

/* Change pages_nr under the pool lock: the only writer, so no atomic add. */
static void pages_nr_add(struct zbud_pool *pool, int delta)
{
	size_t nr = atomic_load_explicit(&pool->pages_nr, memory_order_relaxed);

	atomic_store_explicit(&pool->pages_nr, nr + (size_t)delta, memory_order_relaxed);
}

/* Round an allocation size in bytes up to zbud chunks. */
static unsigned int size_to_chunks(size_t size)
{
	if (ZPOOL_BUG(size_rounds_down))
		return (unsigned int)(size >> CHUNK_SHIFT);
	return (unsigned int)((size + CHUNK_SIZE - 1) >> CHUNK_SHIFT);
}

static unsigned int buddy_chunks(const struct arena_page *pg, enum buddy bud)
{
	return pg->priv[bud];
}

static void set_buddy_chunks(struct arena_page *pg, enum buddy bud, unsigned int chunks)
{
	pg->priv[bud] = chunks;
}

/* Free chunks of a page: a free buddy counts as 0 chunks, so no branch. */
static unsigned int num_free_chunks(const struct arena_page *pg)
{
	return NCHUNKS - buddy_chunks(pg, FIRST) - buddy_chunks(pg, LAST);
}

static bool page_is_buddied(const struct arena_page *pg)
{
	return buddy_chunks(pg, FIRST) && buddy_chunks(pg, LAST);
}

static bool page_is_empty(const struct arena_page *pg)
{
	return !buddy_chunks(pg, FIRST) && !buddy_chunks(pg, LAST);
}

static bool page_under_reclaim(const struct arena_page *pg)
{
	return pg->flags & ARENA_PG_RECLAIM;
}

/* The handle of one buddy of @pg: the object's address. Pool lock held. */
static unsigned long encode_handle(const struct zbud_pool *pool, const struct arena_page *pg,
				   enum buddy bud)
{
	unsigned long handle = (unsigned long)arena_page_address(&pool->arena, pg);

	if (bud == FIRST)
		return handle;
	if (ZPOOL_BUG(last_handle_off_by_one))
		return handle + ZPOOL_PAGE_SIZE - ((buddy_chunks(pg, LAST) + 1) << CHUNK_SHIFT);
	return handle + ZPOOL_PAGE_SIZE - (buddy_chunks(pg, LAST) << CHUNK_SHIFT);
}

/* The first buddy is page-aligned, the last never is. */
static enum buddy handle_to_buddy(unsigned long handle)
{
	return (handle & (ZPOOL_PAGE_SIZE - 1)) ? LAST : FIRST;
}

/*
 * In debug builds, check that zbud agrees a freed handle is a live buddy.
 * The zpool layer has already refused handles that are not live in the
 * pool (zpool.c), so a report here means zbud's own records are wrong: the
 * page went back to the arena, or its chunk counts lost the buddy. Pool
 * lock held.
 */
static void check_live_handle(const struct zbud_pool *pool, unsigned long handle)
{
	struct arena_page *pg = arena_lookup(&pool->arena, handle);
	enum buddy bud = handle_to_buddy(handle);

	if (!pg)
		zpool_bug("zbud: free of handle %#lx: not on an allocated page", handle);
	if (!buddy_chunks(pg, bud) || encode_handle(pool, pg, bud) != handle)
		zpool_bug("zbud: free of handle %#lx: no live %s buddy there", handle,
			  bud == FIRST ? "first" : "last");
}

/* Put a page holding one buddy on the unbuddied list of its free chunks. */
static void unbuddied_add(struct zbud_pool *pool, struct arena_page *pg)
{
	unsigned int i = num_free_chunks(pg);

	list_add(&pg->list, &pool->unbuddied[i]);
	pool->unbuddied_map |= 1ULL << i;
}

/*
 * Place a page holding at least one buddy on the list its chunk counts
 * say: unbuddied or buddied.
 */
static void place_on_buddy_list(struct zbud_pool *pool, struct arena_page *pg)
{
	if (page_is_buddied(pg))
		list_add(&pg->list, &pool->buddied);
	else
		unbuddied_add(pool, pg);
}

/*
 * Take a page off its buddy list. Must run before its chunk counts change,
 * since they say which unbuddied list it is on.
 */
static void remove_from_buddy_list(struct zbud_pool *pool, struct arena_page *pg)
{
	unsigned int i = num_free_chunks(pg);

	list_del_init(&pg->list);
	if (ZPOOL_BUG(bitmap_not_cleared))
		return;
	if (!page_is_buddied(pg) && list_empty(&pool->unbuddied[i]))
		pool->unbuddied_map &= ~(1ULL << i);
}

/*
 * Best fit: the first page of the lowest-indexed non-empty unbuddied list
 * with at least @chunks free chunks, taken off that list; NULL if none.
 */
static struct arena_page *take_best_fit(struct zbud_pool *pool, unsigned int chunks)
{
	uint64_t fits;
	struct arena_page *pg;

	/* An unbuddied page has at most NCHUNKS - 1 free chunks. */
	if (chunks >= NCHUNKS)
		return NULL;
	fits = pool->unbuddied_map & (~0ULL << chunks);
	if (ZPOOL_BUG(best_fit_off_by_one))
		fits = pool->unbuddied_map & (~0ULL << (chunks - 1));
	if (!fits)
		return NULL;
	pg = list_first_entry(&pool->unbuddied[__builtin_ctzll(fits)], struct arena_page, list);
	remove_from_buddy_list(pool, pg);
	return pg;
}

/* Move a page to the head (hot end) of the LRU. */
static void lru_move_to_head(struct zbud_pool *pool, struct arena_page *pg)
{
	list_del_init(&pg->lru);
	list_add(&pg->lru, &pool->lru);
}

/*****************
 * API functions
 *****************/

/**
 * zbud_create() - create a zbud pool and its arena
 * @zp: the zpool the pool serves
 * @cfg: capacity and fault injection of the arena
 * @out: set to the new pool
 *
 * Return: 0, -EINVAL for a bad fault-injection setting, -ENOMEM.
 */
static int zbud_create(struct zpool *zp, const struct zpool_config *cfg, void **out)
{
	struct zbud_pool *pool = calloc(1, sizeof(*pool));
	int err;

	if (!pool)
		return -ENOMEM;
	err = arena_init(&pool->arena, cfg);
	if (err) {
		free(pool);
		return err;
	}
	arena_set_owner_locks(&pool->arena);
	pthread_mutex_init(&pool->lock, NULL);
	for (unsigned int i = 0; i < NCHUNKS; i++)
		list_init(&pool->unbuddied[i]);
	list_init(&pool->buddied);
	list_init(&pool->lru);
	pool->zpool = zp;
	*out = pool;
	return 0;
}

/**
 * zbud_destroy() - destroy an empty zbud pool
 * @p: the pool
 *
 * Destroying a pool that still holds allocations is a usage error; it is
 * refused and the pool left as it was. Must not race other calls.
 *
 * Return: 0, or -EBUSY if the pool still has pages.
 */
static int zbud_destroy(void *p)
{
	struct zbud_pool *pool = p;

	if (atomic_load_explicit(&pool->pages_nr, memory_order_relaxed) &&
	    !ZPOOL_BUG(destroy_ignores_live_objects))
		return -EBUSY;
	arena_destroy(&pool->arena);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
	return 0;
}

/**
 * zbud_alloc() - allocate a region of @size bytes
 * @p: the pool
 * @size: 1..ZPOOL_PAGE_SIZE, checked by the zpool layer
 * @handle: set to the new object's handle
 *
 * Best fit among the unbuddied pages; if none fits, a new arena page is
 * allocated and the object becomes its first buddy. The page then moves
 * to the LRU head. Takes the pool lock.
 *
 * Return: 0, or -ENOMEM if a new page was needed and the arena had none.
 */
static int zbud_alloc(void *p, size_t size, unsigned long *handle)
{
	struct zbud_pool *pool = p;
	unsigned int chunks = size_to_chunks(size);
	struct arena_page *pg;
	enum buddy bud;

	pthread_mutex_lock(&pool->lock);
	pg = take_best_fit(pool, chunks);
	if (pg) {
		bud = buddy_chunks(pg, FIRST) ? LAST : FIRST;
	} else {
		if (ZPOOL_BUG(alloc_failure_counts_page))
			pages_nr_add(pool, 1);
		pg = arena_alloc_page(&pool->arena);
		if (!pg) {
			if (!ZPOOL_BUG(alloc_enomem_keeps_lock))
				pthread_mutex_unlock(&pool->lock);
			return -ENOMEM;
		}
		if (!ZPOOL_BUG(alloc_failure_counts_page))
			pages_nr_add(pool, 1);
		bud = FIRST;
	}
	set_buddy_chunks(pg, bud, chunks);
	place_on_buddy_list(pool, pg);
	lru_move_to_head(pool, pg);
	*handle = encode_handle(pool, pg, bud);
	pthread_mutex_unlock(&pool->lock);
	return 0;
}

/**
 * zbud_free() - free the object behind @handle
 * @p: the pool
 * @handle: a live handle from zbud_alloc()
 *
 * If the page is under reclaim, only the buddy's chunk count is cleared:
 * zbud_reclaim_page() owns the page and frees it once both buddies are
 * gone. Otherwise the page moves to the unbuddied list its new free space
 * says, or, when it was the page's last object, goes back to the arena.
 * Takes the pool lock (and the arena lock when a page is freed).
 */
static void zbud_free(void *p, unsigned long handle)
{
	struct zbud_pool *pool = p;
	struct arena_page *pg;

	if (!ZPOOL_BUG(free_takes_no_lock))
		pthread_mutex_lock(&pool->lock);
	if (ZPOOL_DEBUG_ON)
		check_live_handle(pool, handle);
	pg = arena_page_of(&pool->arena, handle);
	if (page_under_reclaim(pg) && !ZPOOL_BUG(free_racing_reclaim)) {
		set_buddy_chunks(pg, handle_to_buddy(handle), 0);
		if (!ZPOOL_BUG(free_takes_no_lock))
			pthread_mutex_unlock(&pool->lock);
		return;
	}
	remove_from_buddy_list(pool, pg);
	set_buddy_chunks(pg, handle_to_buddy(handle), 0);
	if (page_is_empty(pg)) {
		if (!ZPOOL_BUG(page_freed_on_lru))
			list_del_init(&pg->lru);
		arena_free_page(&pool->arena, pg);
		pages_nr_add(pool, -1);
	} else if (ZPOOL_BUG(wrong_unbuddied_list)) {
		list_add(&pg->list, &pool->unbuddied[num_free_chunks(pg) - 1]);
		pool->unbuddied_map |= 1ULL << (num_free_chunks(pg) - 1);
	} else {
		unbuddied_add(pool, pg);
	}
	if (!ZPOOL_BUG(free_takes_no_lock))
		pthread_mutex_unlock(&pool->lock);
}

/**
 * zbud_reclaim_page() - evict the buddies of the coldest page and free it
 * @pool: the pool
 * @retries: how many pages to try before giving up
 *
 * zbud reclaims from the bottom up: only zbud knows which objects share a
 * page, so it picks the page and asks the user to evict each object. To
 * keep the user's locks out of zbud's, the protocol is:
 *
 * The page at the LRU tail is taken off the LRU and its buddy list and
 * marked under reclaim, and the handles of its buddies are encoded, all
 * under the pool lock, since a concurrent zbud_free() would zero the
 * chunk counts the handles are computed from. The lock is then dropped
 * and the evict callback called for the first buddy, then the last. On
 * success the callback has called zbud_free() on the handle, which, the
 * page being under reclaim, only clears the buddy's chunks; a concurrent
 * free by the owner does the same. If the callback fails for a buddy, the
 * remaining buddy is not tried. The lock is retaken and the flag cleared:
 * if both buddies are gone the page is freed and 0 returned; otherwise the
 * page goes back on its buddy list and at the LRU head, and the next page
 * at the tail is tried, up to @retries pages.
 *
 * Takes the pool lock; calls the evict callback without it.
 *
 * Return: 0 if a page was freed; -EINVAL if there is no evict callback,
 * @retries is 0 or the LRU is empty; -EAGAIN if @retries pages were tried
 * and none could be freed.
 */
static int zbud_reclaim_page(struct zbud_pool *pool, unsigned int retries)
{
	unsigned long first_handle, last_handle;
	struct arena_page *pg;

	if (!zpool_can_evict(pool->zpool) || retries == 0)
		return -EINVAL;
	pthread_mutex_lock(&pool->lock);
	for (unsigned int i = 0; i < retries || ZPOOL_BUG(reclaim_retries_forever); i++) {
		/* Other reclaimers may hold every remaining page. */
		if (list_empty(&pool->lru)) {
			pthread_mutex_unlock(&pool->lock);
			return i ? -EAGAIN : -EINVAL;
		}
		pg = list_last_entry(&pool->lru, struct arena_page, lru);
		list_del_init(&pg->lru);
		remove_from_buddy_list(pool, pg);
		pg->flags |= ARENA_PG_RECLAIM;
		pool->reclaim_nr++;
		if (ZPOOL_BUG(reclaim_encodes_unlocked))
			pthread_mutex_unlock(&pool->lock);
		first_handle = buddy_chunks(pg, FIRST) ? encode_handle(pool, pg, FIRST) : 0;
		last_handle = buddy_chunks(pg, LAST) ? encode_handle(pool, pg, LAST) : 0;
		if (!ZPOOL_BUG(reclaim_encodes_unlocked) && !ZPOOL_BUG(evict_under_pool_lock))
			pthread_mutex_unlock(&pool->lock);

		if (!first_handle || zpool_evict(pool->zpool, first_handle) == 0) {
			if (last_handle)
				zpool_evict(pool->zpool, last_handle);
		}

		if (!ZPOOL_BUG(evict_under_pool_lock))
			pthread_mutex_lock(&pool->lock);
		if (!ZPOOL_BUG(reclaim_flag_leak))
			pg->flags &= ~ARENA_PG_RECLAIM;
		pool->reclaim_nr--;
		if (page_is_empty(pg)) {
			arena_free_page(&pool->arena, pg);
			if (!ZPOOL_BUG(pages_nr_not_updated))
				pages_nr_add(pool, -1);
			pthread_mutex_unlock(&pool->lock);
			return 0;
		}
		place_on_buddy_list(pool, pg);
		if (ZPOOL_BUG(reclaim_page_to_lru_tail))
			list_add_tail(&pg->lru, &pool->lru);
		else
			list_add(&pg->lru, &pool->lru);
	}
	pthread_mutex_unlock(&pool->lock);
	return -EAGAIN;
}

/**
 * zbud_shrink() - reclaim up to @pages pages
 * @p: the pool
 * @pages: pages to reclaim, at least 1
 * @reclaimed: set to the pages reclaimed
 *
 * Calls zbud_reclaim_page() with ZBUD_SHRINK_RETRIES retries until @pages
 * pages are freed or it fails. Takes the pool lock; evicts without it.
 *
 * Return: 0, or the first error of zbud_reclaim_page().
 */
static int zbud_shrink(void *p, unsigned int pages, unsigned int *reclaimed)
{
	unsigned int done = 0;
	int err = 0;

	while (done < pages) {
		err = zbud_reclaim_page(p, ZBUD_SHRINK_RETRIES);
		if (err)
			break;
		done++;
	}
	*reclaimed = done;
	return err;
}

/**
 * zbud_map() - the address of the object behind @handle
 * @p: the pool
 * @handle: a live handle
 * @mm: unused: zbud objects are always directly addressable
 *
 * The handle is the address; no lock is taken. (The zpool layer has checked
 * the handle is live in debug builds.)
 *
 * Return: the object's address.
 */
static void *zbud_map(void *p, unsigned long handle, enum zpool_mapmode mm)
{
	(void)p, (void)mm;
	return (void *)handle;
}

/* zbud_unmap() - nothing to undo: zbud_map() made no mapping. */
static void zbud_unmap(void *p, unsigned long handle)
{
	(void)p, (void)handle;
}

/**
 * zbud_total_size() - bytes held by the pool
 * @p: the pool
 *
 * Lock-free: pages_nr is atomic for exactly this reader.
 *
 * Return: pages of the pool times the page size.
 */
static uint64_t zbud_total_size(const void *p)
{
	const struct zbud_pool *pool = p;

	return (uint64_t)atomic_load_explicit(&pool->pages_nr, memory_order_relaxed) *
	       ZPOOL_PAGE_SIZE;
}

/*
 * Count @pg as found on a list during check pass @gen, adding @mark to its
 * marks; returns the marks it had before.
 */
static unsigned int check_mark(struct arena_page *pg, unsigned int gen, unsigned int mark)
{
	unsigned int before = pg->check_gen == gen ? pg->check_marks : 0;

	pg->check_gen = gen;
	pg->check_marks = before + mark;
	return before;
}

#define CHECK_ON_BUDDY_LIST 1u
#define CHECK_ON_LRU	    0x100u

/* Check one page found on a buddy list; @list_index is -1 for buddied. */
static int check_buddy_list_page(struct zbud_pool *pool, struct arena_page *pg, int list_index,
				 char *why, size_t len)
{
	size_t nr = (size_t)(pg - pool->arena.pages);
	unsigned int first = buddy_chunks(pg, FIRST), last = buddy_chunks(pg, LAST);

	if (!(pg->flags & ARENA_PG_USED))
		return zpool_why(why, len, "page %zu on a buddy list is free in the arena", nr);
	if (page_under_reclaim(pg))
		return zpool_why(why, len, "page %zu under reclaim is on a buddy list", nr);
	if (first + last > NCHUNKS)
		return zpool_why(why, len, "page %zu holds %u+%u chunks, more than %u", nr, first,
				 last, NCHUNKS);
	if (list_index < 0 && !page_is_buddied(pg))
		return zpool_why(why, len, "page %zu on the buddied list holds %u+%u chunks", nr,
				 first, last);
	if (list_index >= 0) {
		if (page_is_buddied(pg) || page_is_empty(pg))
			return zpool_why(why, len, "page %zu on unbuddied[%d] holds %u+%u chunks",
					 nr, list_index, first, last);
		if (num_free_chunks(pg) != (unsigned int)list_index)
			return zpool_why(why, len,
					 "page %zu with %u free chunks is on unbuddied[%d]", nr,
					 num_free_chunks(pg), list_index);
	}
	if (check_mark(pg, pool->check_gen, CHECK_ON_BUDDY_LIST))
		return zpool_why(why, len, "page %zu is on more than one buddy list", nr);
	return 0;
}

/* Walk one buddy list, bounded by the arena size in case it is cyclic. */
static int check_buddy_list(struct zbud_pool *pool, struct list_head *head, int list_index,
			    size_t *found, char *why, size_t len)
{
	struct list_head *pos;
	size_t n = 0;
	int err;

	list_for_each(pos, head) {
		if (++n > pool->arena.max_pages)
			return zpool_why(why, len, "a buddy list is longer than the arena");
		err = check_buddy_list_page(pool, list_entry(pos, struct arena_page, list),
					    list_index, why, len);
		if (err)
			return err;
	}
	*found += n;
	return 0;
}

/**
 * zbud_check() - verify the pool's invariants
 * @p: the pool
 * @why: receives the first broken invariant
 * @len: size of @why
 *
 * Each page is on exactly one of the unbuddied and buddied lists, or under
 * reclaim and on none; each page on a list is on the LRU exactly once;
 * first + last chunks <= NCHUNKS; an unbuddied page is on the list of its
 * free chunks; the bitmap has a bit set exactly for the non-empty lists;
 * pages_nr equals the pages found and the arena's pages in use. Takes the
 * pool lock.
 *
 * Return: 0, or -EUCLEAN with the first broken invariant in @why.
 */
static int zbud_check(void *p, char *why, size_t len)
{
	struct zbud_pool *pool = p;
	size_t found = 0, on_lru = 0, pages_nr, in_use;
	struct list_head *pos;
	int err = 0;

	pthread_mutex_lock(&pool->lock);
	pool->check_gen++;
	for (unsigned int i = 0; i < NCHUNKS && !err; i++) {
		bool bit = pool->unbuddied_map & (1ULL << i);

		if (bit == list_empty(&pool->unbuddied[i]))
			err = zpool_why(why, len, "bitmap bit %u is %d but unbuddied[%u] is %s", i,
					bit, i, bit ? "empty" : "not empty");
		else
			err = check_buddy_list(pool, &pool->unbuddied[i], (int)i, &found, why, len);
	}
	if (!err)
		err = check_buddy_list(pool, &pool->buddied, -1, &found, why, len);
	if (!err) {
		list_for_each(pos, &pool->lru) {
			struct arena_page *pg = list_entry(pos, struct arena_page, lru);
			size_t nr = (size_t)(pg - pool->arena.pages);
			unsigned int marks;

			if (++on_lru > pool->arena.max_pages) {
				err = zpool_why(why, len, "the LRU is longer than the arena");
				break;
			}
			marks = check_mark(pg, pool->check_gen, CHECK_ON_LRU);
			if (marks & ~CHECK_ON_BUDDY_LIST) {
				err = zpool_why(why, len, "page %zu is on the LRU twice", nr);
				break;
			}
			if (!(marks & CHECK_ON_BUDDY_LIST)) {
				err = zpool_why(why, len,
						"page %zu is on the LRU but on no buddy list", nr);
				break;
			}
		}
	}
	/* Both change only under the pool lock, which is held here. */
	pages_nr = atomic_load_explicit(&pool->pages_nr, memory_order_relaxed);
	in_use = atomic_load_explicit(&pool->arena.in_use, memory_order_relaxed);
	if (!err && on_lru != found)
		err = zpool_why(why, len, "%zu pages on buddy lists but %zu on the LRU", found,
				on_lru);
	if (!err && found + pool->reclaim_nr != pages_nr)
		err =
		    zpool_why(why, len, "pages_nr is %zu but %zu pages found and %zu under reclaim",
			      pages_nr, found, pool->reclaim_nr);
	if (!err && in_use != pages_nr)
		err = zpool_why(why, len, "pages_nr is %zu but the arena has %zu in use", pages_nr,
				in_use);
	pthread_mutex_unlock(&pool->lock);
	return err;
}

/*
 * zbud_stats() - the page counters, from pages_nr and the arena; lock-free,
 * so relaxed: each value is exact, the set is no snapshot (zpool.h).
 */
static void zbud_stats(const void *p, struct zpool_stats *st)
{
	const struct zbud_pool *pool = p;
	const struct arena *a = &pool->arena;

	st->pages = atomic_load_explicit(&pool->pages_nr, memory_order_relaxed);
	st->peak_pages = atomic_load_explicit(&a->peak, memory_order_relaxed);
	st->max_pages = a->max_pages;
	st->page_allocs = atomic_load_explicit(&a->allocs, memory_order_relaxed);
	st->page_alloc_failures = atomic_load_explicit(&a->failures, memory_order_relaxed);
	st->injected_failures = atomic_load_explicit(&a->injected, memory_order_relaxed);
}

const struct zpool_driver zbud_zpool_driver = {
	.type = "zbud",
	.create = zbud_create,
	.destroy = zbud_destroy,
	.malloc = zbud_alloc,
	.free = zbud_free,
	.shrink = zbud_shrink,
	.map = zbud_map,
	.unmap = zbud_unmap,
	.total_size = zbud_total_size,
	.check = zbud_check,
	.stats = zbud_stats,
};
