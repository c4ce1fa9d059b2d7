// SPDX-License-Identifier: GPL-2.0-only
/*
 * z3fold.c - up to three compressed pages in one page
 *
 * z3fold is zbud with a third buddy. An arena page (a "z3fold page") starts
 * with a small header, the first buddy follows the header, the last buddy
 * is right-justified at the page end, and a middle buddy may sit anywhere
 * between them. Reclaim stays predictable (one page evicts at most three
 * objects) while density rises past zbud's two objects a page.
 *
 * The header lives in the page, in its first 16-byte chunk: the chunk
 * counts of the three buddies, where the middle buddy starts, and three
 * handle slots. A page's descriptor (struct arena_page) keeps the list
 * linkage and two words: the page's kind (headless or not) and how many
 * maps of its middle buddy are in progress.
 *
 * Handles are indirect. A handle is the address of a slot in the header,
 * and the slot holds the object's offset in the page with its buddy number
 * in the low bits (objects are chunk-aligned, so those bits are free). The
 * kernel keeps its slots outside the page, because it migrates whole pages;
 * arena pages never move, so here the slots sit in the header, which keeps
 * them to two bytes each and the header to one chunk. Indirection is what
 * lets the middle buddy move: in-page compaction moves it next to the first
 * or last buddy, or makes it the first buddy when it is alone, and rewrites
 * its slot; the handle the user holds does not change. Compaction runs when
 * a free leaves a page with a middle buddy and a gap worth closing (at
 * least BIG_CHUNK_GAP chunks, or the page's only object), and never while
 * the middle buddy is mapped or the page is under reclaim.
 *
 * Objects too large to share a page with another (more than NCHUNKS - 1
 * chunks) go to a headless page: the whole page is the object and the
 * handle is the page address. Header slots are never page-aligned, so the
 * alignment of a handle says which kind it is.
 *
 * A page with a free buddy and free chunks sits on the unbuddied list of
 * its free chunks; num_free_chunks() counts the larger gap the placement
 * rules of choose_buddy() can use. A full page sits on the full list, a
 * headless page on none. Allocation is best fit through a bitmap of the
 * non-empty unbuddied lists, as in zbud.
 *
 * Every page not under reclaim is on the pool LRU, most recently allocated
 * into at the head. z3fold_reclaim_page() evicts the tail page's objects
 * with no lock held, under the same protocol as zbud: the page is marked
 * under reclaim, a free on it (the evict callback's or its owner's) only
 * clears the buddy, and reclaim frees the page when every buddy is gone.
 * A freed slot on a page under reclaim keeps the object's offset, so an
 * evict callback that maps a handle its owner just freed still reads the
 * old bytes (the page stays put until reclaim is done with it).
 *
 * Locking: one mutex per pool protects the lists, the bitmap, every header
 * and the descriptor words of every page of the pool. pages_nr is an
 * atomic, changed under the lock, readable without it. Lock order: pool
 * lock -> arena lock.
 */
#include "arena.h"
#include "zoo.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * 256 chunks of 16 bytes, a quarter of zbud's granularity: the header takes
 * one chunk, so a page gives up 16 bytes to it, and sizes round up to less.
 * With zbud's 64-byte chunks the header would cost z3fold every pair of
 * objects of 2017..2048 bytes, which zbud fits in a page and which are
 * common in real traces.
 */
#define NCHUNKS_ORDER 8
#define PAGE_SHIFT    12
#define CHUNK_SHIFT   (PAGE_SHIFT - NCHUNKS_ORDER)
#define CHUNK_SIZE    (1u << CHUNK_SHIFT)
#define TOTAL_CHUNKS  (ZPOOL_PAGE_SIZE >> CHUNK_SHIFT)

/**
 * struct z3fold_header - the first chunk of every page that has one
 * @first_chunks: size of the first buddy in chunks, 0 if free
 * @middle_chunks: size of the middle buddy, 0 if free
 * @last_chunks: size of the last buddy, 0 if free
 * @start_middle: chunk where the middle buddy starts, 0 if there is none
 * @slot: the handle slots: an object's offset in the page ORed with its
 *	buddy, 0 if free; a freed slot on a page under reclaim keeps the
 *	offset alone
 *
 * The slots hold offsets, not addresses: the page of a slot is the page of
 * its object. The chunk counts come first so that no slot is page-aligned.
 */
struct z3fold_header {
	uint16_t first_chunks;
	uint16_t middle_chunks;
	uint16_t last_chunks;
	uint16_t start_middle;
	uint16_t slot[3];
};

#define ZHDR_CHUNKS ((unsigned int)((sizeof(struct z3fold_header) + CHUNK_SIZE - 1) >> CHUNK_SHIFT))
/* Chunks left for objects after the header. */
#define NCHUNKS (TOTAL_CHUNKS - ZHDR_CHUNKS)
/* Chunks a middle buddy move must gain to be worth the memmove (192 bytes). */
#define BIG_CHUNK_GAP (192u >> CHUNK_SHIFT)
/* Evict attempts per page z3fold_shrink() asks of z3fold_reclaim_page(). */
#define Z3FOLD_SHRINK_RETRIES 8

_Static_assert(ZPOOL_PAGE_SIZE == 1u << PAGE_SHIFT, "z3fold assumes 4 KiB pages");
_Static_assert(ZHDR_CHUNKS == 1, "the header fits one chunk");
_Static_assert(NCHUNKS <= 256, "the unbuddied bitmap is four 64-bit words");
#define MAP_WORDS 4

/* Which buddy of a page: the low bits of a live slot. 0 is a free slot. */
enum buddy { FIRST = 1, MIDDLE = 2, LAST = 3 };
#define SLOT_BUDDY_MASK 3u
#define NSLOTS		3

/* arena_page.priv[0]: the kind of page. */
#define Z3_HEADLESS	 (1u << 0) /* no header: one object fills the page */
#define Z3_HEADLESS_LIVE (1u << 1) /* ... and it is not freed yet */
/* arena_page.priv[1]: maps of the middle buddy in progress. */
#define PRIV_KIND	 0
#define PRIV_MIDDLE_MAPS 1

/**
 * struct z3fold_pool - one z3fold pool
 * @lock: protects the lists, @unbuddied_map, @reclaim_nr, every page
 *	header and the priv words of every page of the pool
 * @unbuddied: pages with a free buddy, indexed by num_free_chunks()
 * @unbuddied_map: bit i (of word i / 64) set iff @unbuddied[i] is not empty
 * @full: pages with a header that can take no object
 * @reclaiming: pages under reclaim (on no other list)
 * @lru: every page not under reclaim, most recently allocated into first
 * @reclaim_nr: pages on @reclaiming
 * @check_gen: generation of the last z3fold_check() pass
 * @pages_nr: pages of the pool: changed under @lock, readable without it
 * @pages_in_flight: pages taken from the arena and not yet in the pool
 * @zpool: the zpool this pool serves, passed back to zpool_evict()
 * @arena: where the pages come from
 */
struct z3fold_pool {
	pthread_mutex_t lock;
	struct list_head unbuddied[NCHUNKS];
	uint64_t unbuddied_map[MAP_WORDS];
	struct list_head full;
	struct list_head reclaiming;
	struct list_head lru;
	size_t reclaim_nr;
	unsigned int check_gen;
	atomic_size_t pages_nr;
	atomic_size_t pages_in_flight;
	struct zpool *zpool;
	struct arena arena;
};

/*****************
 * Helpers
 *****************/

/* Round an allocation size in bytes up to chunks. */
static unsigned int size_to_chunks(size_t size)
{
	return (unsigned int)((size + CHUNK_SIZE - 1) >> CHUNK_SHIFT);
}

static struct z3fold_header *page_header(const struct z3fold_pool *pool,
					 const struct arena_page *pg)
{
	return arena_page_address(&pool->arena, pg);
}

static bool page_is_headless(const struct arena_page *pg)
{
	return pg->priv[PRIV_KIND] & Z3_HEADLESS;
}

static bool page_under_reclaim(const struct arena_page *pg)
{
	return pg->flags & ARENA_PG_RECLAIM;
}

/* A header handle is a slot address, never page-aligned; a headless one is. */
static bool handle_is_headless(unsigned long handle)
{
	return !(handle & (ZPOOL_PAGE_SIZE - 1));
}

static unsigned int buddy_chunks(const struct z3fold_header *zhdr, enum buddy bud)
{
	switch (bud) {
	case FIRST:
		return zhdr->first_chunks;
	case MIDDLE:
		return zhdr->middle_chunks;
	default:
		return zhdr->last_chunks;
	}
}

static void set_buddy_chunks(struct z3fold_header *zhdr, enum buddy bud, unsigned int chunks)
{
	if (bud == FIRST) {
		zhdr->first_chunks = (uint16_t)chunks;
	} else if (bud == LAST) {
		zhdr->last_chunks = (uint16_t)chunks;
	} else {
		zhdr->middle_chunks = (uint16_t)chunks;
		if (!chunks)
			zhdr->start_middle = 0;
	}
}

/* Where @bud starts in its page; valid once its chunk counts are set. */
static unsigned int buddy_offset(const struct z3fold_header *zhdr, enum buddy bud)
{
	if (bud == FIRST)
		return ZHDR_CHUNKS << CHUNK_SHIFT;
	if (bud == MIDDLE)
		return (unsigned int)zhdr->start_middle << CHUNK_SHIFT;
	return ZPOOL_PAGE_SIZE - ((unsigned int)zhdr->last_chunks << CHUNK_SHIFT);
}

/* The slot of @bud: its offset (chunk-aligned, so the low bits are free) and @bud. */
static uint16_t make_slot(const struct z3fold_header *zhdr, enum buddy bud)
{
	return (uint16_t)(buddy_offset(zhdr, bud) | bud);
}

static enum buddy slot_buddy(unsigned int slot)
{
	return (enum buddy)(slot & SLOT_BUDDY_MASK);
}

static unsigned int slot_offset(unsigned int slot)
{
	return slot & ~(CHUNK_SIZE - 1);
}

static bool header_is_empty(const struct z3fold_header *zhdr)
{
	return !zhdr->first_chunks && !zhdr->middle_chunks && !zhdr->last_chunks;
}

static bool header_has_free_buddy(const struct z3fold_header *zhdr)
{
	return !zhdr->first_chunks || !zhdr->middle_chunks || !zhdr->last_chunks;
}

/*
 * The chunks a new object can have on this page. With a middle buddy, the
 * larger of the gaps before it (if the first buddy is free) and after it
 * (if the last is); without one, all the space the first and last leave.
 */
static unsigned int num_free_chunks(const struct z3fold_header *zhdr)
{
	unsigned int before, after;

	if (!zhdr->middle_chunks)
		return NCHUNKS - zhdr->first_chunks - zhdr->last_chunks;
	before = zhdr->first_chunks ? 0 : zhdr->start_middle - ZHDR_CHUNKS;
	if (ZPOOL_BUG(z3fold_free_chunks_ignore_header) && !zhdr->first_chunks)
		before = zhdr->start_middle;
	after = zhdr->last_chunks ? 0 : TOTAL_CHUNKS - zhdr->start_middle - zhdr->middle_chunks;
	return before > after ? before : after;
}

/*
 * Which free buddy of a page on unbuddied[i >= @chunks] takes an object of
 * @chunks: the first if it fits before the middle buddy, else the last,
 * else (first and last taken) the middle, right after the first.
 */
static enum buddy choose_buddy(const struct z3fold_header *zhdr, unsigned int chunks)
{
	if (!zhdr->first_chunks &&
	    (!zhdr->middle_chunks || chunks <= zhdr->start_middle - ZHDR_CHUNKS))
		return FIRST;
	if (!zhdr->last_chunks)
		return LAST;
	return MIDDLE;
}

/* The slot that holds @bud, or NSLOTS if none does. */
static unsigned int find_slot(const struct z3fold_header *zhdr, enum buddy bud)
{
	unsigned int i;

	for (i = 0; i < NSLOTS; i++)
		if (zhdr->slot[i] && slot_buddy(zhdr->slot[i]) == bud)
			break;
	return i;
}

/* A free slot of a page not under reclaim with a free buddy: there is one. */
static unsigned int find_free_slot(const struct z3fold_header *zhdr)
{
	unsigned int i = 0;

	while (zhdr->slot[i])
		i++;
	return i;
}

/*
 * In debug builds, refuse a handle that is not live: a double free, a
 * stale handle, or a pointer z3fold never returned. As in zbud, a map of a
 * handle freed while its page is under reclaim is allowed: the evict
 * callback may map before it learns the owner freed the object. Pool lock
 * held.
 */
static void check_live_handle(const struct z3fold_pool *pool, unsigned long handle, bool is_map)
{
#ifdef ZPOOL_DEBUG
	const char *what = is_map ? "map" : "free";
	struct arena_page *pg = arena_lookup(&pool->arena, handle);
	const struct z3fold_header *zhdr;
	unsigned long off = handle & (ZPOOL_PAGE_SIZE - 1);
	unsigned int slot;

	if (!pg)
		zpool_bug("z3fold: %s of handle %#lx: not on an allocated page", what, handle);
	if (handle_is_headless(handle)) {
		if (!page_is_headless(pg))
			zpool_bug(
			    "z3fold: %s of handle %#lx: page-aligned but the page has a header",
			    what, handle);
		if (!(pg->priv[PRIV_KIND] & Z3_HEADLESS_LIVE) &&
		    !(is_map && page_under_reclaim(pg)))
			zpool_bug("z3fold: %s of handle %#lx: the headless object is freed", what,
				  handle);
		return;
	}
	zhdr = page_header(pool, pg);
	if (page_is_headless(pg) || off < offsetof(struct z3fold_header, slot) ||
	    off >= offsetof(struct z3fold_header, slot[NSLOTS]) ||
	    (off - offsetof(struct z3fold_header, slot)) % sizeof(zhdr->slot[0]))
		zpool_bug("z3fold: %s of handle %#lx: not a handle slot", what, handle);
	slot = *(const uint16_t *)handle;
	if (slot_buddy(slot))
		return;
	if (!(is_map && page_under_reclaim(pg) && slot))
		zpool_bug("z3fold: %s of handle %#lx: the slot is free (freed twice or stale?)",
			  what, handle);
#else
	(void)pool, (void)handle, (void)is_map;
#endif
}

/*
 * Put a page with a header and at least one object on the list its header
 * says: unbuddied[num_free_chunks()] if another object fits, else full.
 */
static void place_on_list(struct z3fold_pool *pool, struct arena_page *pg)
{
	const struct z3fold_header *zhdr = page_header(pool, pg);
	unsigned int i = num_free_chunks(zhdr);

	if (!header_has_free_buddy(zhdr) || i == 0) {
		list_add(&pg->list, &pool->full);
		return;
	}
	list_add(&pg->list, &pool->unbuddied[i]);
	pool->unbuddied_map[i / 64] |= 1ULL << (i % 64);
}

/*
 * Take a page with a header off its list. Must run before its header
 * changes, since the header says which list it is on.
 */
static void remove_from_list(struct z3fold_pool *pool, struct arena_page *pg)
{
	const struct z3fold_header *zhdr = page_header(pool, pg);
	unsigned int i = num_free_chunks(zhdr);
	bool was_unbuddied = header_has_free_buddy(zhdr) && i;

	list_del_init(&pg->list);
	if (was_unbuddied && list_empty(&pool->unbuddied[i]))
		pool->unbuddied_map[i / 64] &= ~(1ULL << (i % 64));
}

/* Best fit: a page of the lowest non-empty unbuddied list >= @chunks. */
static struct arena_page *take_best_fit(struct z3fold_pool *pool, unsigned int chunks)
{
	struct arena_page *pg;
	unsigned int w = chunks / 64;
	uint64_t fits = pool->unbuddied_map[w] & (~0ULL << (chunks % 64));

	while (!fits && ++w < MAP_WORDS)
		fits = pool->unbuddied_map[w];
	if (!fits)
		return NULL;
	pg = list_first_entry(&pool->unbuddied[w * 64 + (unsigned int)__builtin_ctzll(fits)],
			      struct arena_page, list);
	remove_from_list(pool, pg);
	return pg;
}

static void lru_move_to_head(struct z3fold_pool *pool, struct arena_page *pg)
{
	list_del_init(&pg->lru);
	list_add(&pg->lru, &pool->lru);
}

/* Give an empty page back to the arena. Pool lock held; on no list. */
static void release_page(struct z3fold_pool *pool, struct arena_page *pg)
{
	pg->priv[PRIV_KIND] = 0;
	pg->priv[PRIV_MIDDLE_MAPS] = 0;
	arena_free_page(&pool->arena, pg);
	atomic_fetch_sub(&pool->pages_nr, 1);
}

/* Move the middle buddy's bytes to chunk @to and point its slot there as @bud. */
static void move_middle(struct z3fold_header *zhdr, unsigned int to, enum buddy bud)
{
	unsigned int i = find_slot(zhdr, MIDDLE);
	unsigned long base = (unsigned long)zhdr;

	memmove((void *)(base + ((unsigned long)to << CHUNK_SHIFT)),
		(void *)(base + ((unsigned long)zhdr->start_middle << CHUNK_SHIFT)),
		(size_t)zhdr->middle_chunks << CHUNK_SHIFT);
	if (bud == FIRST) {
		zhdr->first_chunks = zhdr->middle_chunks;
		zhdr->middle_chunks = 0;
		zhdr->start_middle = 0;
	} else {
		zhdr->start_middle = (uint16_t)to;
	}
	zhdr->slot[i] = make_slot(zhdr, bud);
}

/*
 * In-page compaction: move the middle buddy where it leaves the largest
 * gap. Alone, it becomes the first buddy; beside a first (or last) buddy
 * only, it moves next to it if that gains BIG_CHUNK_GAP chunks or more.
 * Never while it is mapped or the page is under reclaim. Pool lock held,
 * page on no unbuddied list.
 */
static void compact_page(struct z3fold_pool *pool, struct arena_page *pg)
{
	struct z3fold_header *zhdr = page_header(pool, pg);
	unsigned int to;

	if (!zhdr->middle_chunks || page_under_reclaim(pg))
		return;
	if (pg->priv[PRIV_MIDDLE_MAPS] && !ZPOOL_BUG(z3fold_compact_mapped_middle))
		return;
	if (!zhdr->first_chunks && !zhdr->last_chunks) {
		move_middle(zhdr, ZHDR_CHUNKS, FIRST);
	} else if (zhdr->first_chunks && !zhdr->last_chunks) {
		to = ZHDR_CHUNKS + zhdr->first_chunks;
		if (ZPOOL_BUG(z3fold_compact_to_header_offset))
			to = zhdr->first_chunks;
		if (zhdr->start_middle - to >= BIG_CHUNK_GAP)
			move_middle(zhdr, to, MIDDLE);
	} else if (zhdr->last_chunks && !zhdr->first_chunks) {
		to = TOTAL_CHUNKS - zhdr->last_chunks - zhdr->middle_chunks;
		if (to - zhdr->start_middle >= BIG_CHUNK_GAP)
			move_middle(zhdr, to, MIDDLE);
	}
}

/* Take a page from the arena with the pool lock dropped; NULL if none. */
static struct arena_page *new_page(struct z3fold_pool *pool)
{
	struct arena_page *pg;

	atomic_fetch_add(&pool->pages_in_flight, 1);
	pg = arena_alloc_page(&pool->arena);
	if (!pg)
		atomic_fetch_sub(&pool->pages_in_flight, 1);
	return pg;
}

/*****************
 * API functions
 *****************/

/**
 * z3fold_create() - create a z3fold pool and its arena
 * @zp: the zpool the pool serves
 * @cfg: capacity and fault injection of the arena
 * @out: set to the new pool
 *
 * Return: 0, -EINVAL for a bad fault-injection setting, -ENOMEM.
 */
static int z3fold_create(struct zpool *zp, const struct zpool_config *cfg, void **out)
{
	struct z3fold_pool *pool = calloc(1, sizeof(*pool));
	int err;

	if (!pool)
		return -ENOMEM;
	err = arena_init(&pool->arena, cfg);
	if (err) {
		free(pool);
		return err;
	}
	pthread_mutex_init(&pool->lock, NULL);
	for (unsigned int i = 0; i < NCHUNKS; i++)
		list_init(&pool->unbuddied[i]);
	list_init(&pool->full);
	list_init(&pool->reclaiming);
	list_init(&pool->lru);
	pool->zpool = zp;
	*out = pool;
	return 0;
}

/**
 * z3fold_destroy() - destroy an empty z3fold pool
 * @p: the pool
 *
 * Must not race other calls.
 *
 * Return: 0, or -EBUSY (pool untouched) if it still has pages.
 */
static int z3fold_destroy(void *p)
{
	struct z3fold_pool *pool = p;

	if (atomic_load(&pool->pages_nr))
		return -EBUSY;
	arena_destroy(&pool->arena);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
	return 0;
}

/**
 * z3fold_alloc() - allocate a region of @size bytes
 * @p: the pool
 * @size: 1..ZPOOL_PAGE_SIZE, checked by the zpool layer
 * @handle: set to the new object's handle
 *
 * An object of more than NCHUNKS - 1 chunks gets a headless page. Others
 * go best fit to an unbuddied page, into the buddy choose_buddy() names,
 * or become the first buddy of a new page. New pages are taken with the
 * pool lock dropped, as the kernel may sleep there. The page moves to the
 * LRU head. Takes the pool lock and, for a new page, the arena lock.
 *
 * Return: 0, or -ENOMEM if a new page was needed and the arena had none.
 */
static int z3fold_alloc(void *p, size_t size, unsigned long *handle)
{
	struct z3fold_pool *pool = p;
	unsigned int chunks = size_to_chunks(size), i;
	bool headless = chunks > NCHUNKS - 1;
	struct z3fold_header *zhdr;
	struct arena_page *pg = NULL;
	enum buddy bud = FIRST;

	if (!headless) {
		pthread_mutex_lock(&pool->lock);
		pg = take_best_fit(pool, chunks);
		if (pg)
			bud = choose_buddy(page_header(pool, pg), chunks);
		else
			pthread_mutex_unlock(&pool->lock);
	}
	if (!pg) {
		pg = new_page(pool);
		if (!pg)
			return -ENOMEM;
		/* Nobody else can see the page yet: set it up unlocked. */
		if (headless)
			pg->priv[PRIV_KIND] = Z3_HEADLESS | Z3_HEADLESS_LIVE;
		else
			memset(page_header(pool, pg), 0, sizeof(*zhdr));
		pthread_mutex_lock(&pool->lock);
		atomic_fetch_add(&pool->pages_nr, 1);
		atomic_fetch_sub(&pool->pages_in_flight, 1);
		if (headless) {
			list_add(&pg->lru, &pool->lru);
			*handle = (unsigned long)arena_page_address(&pool->arena, pg);
			pthread_mutex_unlock(&pool->lock);
			return 0;
		}
	}
	zhdr = page_header(pool, pg);
	if (bud == MIDDLE)
		zhdr->start_middle = (uint16_t)(ZHDR_CHUNKS + zhdr->first_chunks);
	set_buddy_chunks(zhdr, bud, chunks);
	i = find_free_slot(zhdr);
	zhdr->slot[i] = make_slot(zhdr, bud);
	place_on_list(pool, pg);
	lru_move_to_head(pool, pg);
	*handle = (unsigned long)&zhdr->slot[i];
	pthread_mutex_unlock(&pool->lock);
	return 0;
}

/* The page of a header handle and the slot index it names. */
static struct arena_page *handle_page(struct z3fold_pool *pool, unsigned long handle,
				      unsigned int *slot)
{
	struct arena_page *pg = arena_page_of(&pool->arena, handle);

	*slot = (unsigned int)(((handle & (ZPOOL_PAGE_SIZE - 1)) -
				offsetof(struct z3fold_header, slot)) /
			       sizeof(uint16_t));
	return pg;
}

/* Free a headless object. Pool lock held. */
static void free_headless(struct z3fold_pool *pool, unsigned long handle)
{
	struct arena_page *pg = arena_page_of(&pool->arena, handle);

	pg->priv[PRIV_KIND] &= ~Z3_HEADLESS_LIVE;
	if (page_under_reclaim(pg) && !ZPOOL_BUG(z3fold_headless_free_under_reclaim))
		return;
	list_del_init(&pg->lru);
	release_page(pool, pg);
}

/**
 * z3fold_free() - free the object behind @handle
 * @p: the pool
 * @handle: a live handle from z3fold_alloc()
 *
 * On a page under reclaim only the buddy is cleared (its slot keeping the
 * address for a late map by the evict callback): z3fold_reclaim_page()
 * owns the page. Otherwise the page is freed with its last object, or
 * compacted and moved to the list its new free space says.
 * Takes the pool lock (and the arena lock when a page is freed).
 */
static void z3fold_free(void *p, unsigned long handle)
{
	struct z3fold_pool *pool = p;
	struct z3fold_header *zhdr;
	struct arena_page *pg;
	bool claimed = false;
	unsigned int i;

	if (ZPOOL_BUG(z3fold_free_claim_unlocked) && !handle_is_headless(handle))
		claimed = page_under_reclaim(handle_page(pool, handle, &i));
	pthread_mutex_lock(&pool->lock);
	check_live_handle(pool, handle, false);
	if (handle_is_headless(handle)) {
		free_headless(pool, handle);
		pthread_mutex_unlock(&pool->lock);
		return;
	}
	pg = handle_page(pool, handle, &i);
	zhdr = page_header(pool, pg);
	if (!ZPOOL_BUG(z3fold_free_claim_unlocked))
		claimed = page_under_reclaim(pg);
	if (claimed) {
		set_buddy_chunks(zhdr, slot_buddy(zhdr->slot[i]), 0);
		zhdr->slot[i] = (uint16_t)slot_offset(zhdr->slot[i]);
		pthread_mutex_unlock(&pool->lock);
		return;
	}
	remove_from_list(pool, pg);
	set_buddy_chunks(zhdr, slot_buddy(zhdr->slot[i]), 0);
	zhdr->slot[i] = 0;
	if (header_is_empty(zhdr)) {
		list_del_init(&pg->lru);
		release_page(pool, pg);
	} else {
		compact_page(pool, pg);
		place_on_list(pool, pg);
	}
	pthread_mutex_unlock(&pool->lock);
}

/*
 * Mark the LRU tail page under reclaim and collect the handles of its live
 * objects in @handles, first to last buddy. Pool lock held: a concurrent
 * free changes the slots the handles are read from.
 */
static unsigned int claim_page(struct z3fold_pool *pool, struct arena_page *pg,
			       unsigned long handles[NSLOTS])
{
	static const enum buddy order[NSLOTS] = { FIRST, MIDDLE, LAST };
	struct z3fold_header *zhdr;
	unsigned int n = 0, i;

	list_del_init(&pg->lru);
	if (page_is_headless(pg)) {
		handles[n++] = (unsigned long)arena_page_address(&pool->arena, pg);
	} else {
		remove_from_list(pool, pg);
		zhdr = page_header(pool, pg);
		for (unsigned int b = 0; b < NSLOTS; b++) {
			i = find_slot(zhdr, order[b]);
			if (i < NSLOTS)
				handles[n++] = (unsigned long)&zhdr->slot[i];
		}
	}
	pg->flags |= ARENA_PG_RECLAIM;
	list_add(&pg->list, &pool->reclaiming);
	pool->reclaim_nr++;
	return n;
}

/*
 * Reclaim is over for @pg: free it if every object is gone, else compact it
 * and put it back at the LRU head. Returns true if the page was freed.
 * Pool lock held.
 */
static bool unclaim_page(struct z3fold_pool *pool, struct arena_page *pg)
{
	struct z3fold_header *zhdr;

	list_del_init(&pg->list);
	pg->flags &= ~ARENA_PG_RECLAIM;
	pool->reclaim_nr--;
	if (page_is_headless(pg)) {
		if (!(pg->priv[PRIV_KIND] & Z3_HEADLESS_LIVE)) {
			release_page(pool, pg);
			return true;
		}
	} else {
		zhdr = page_header(pool, pg);
		/* Slots freed under reclaim kept their offset: forget it now. */
		for (unsigned int i = 0; i < NSLOTS; i++)
			if (!slot_buddy(zhdr->slot[i]))
				zhdr->slot[i] = 0;
		if (header_is_empty(zhdr)) {
			release_page(pool, pg);
			return true;
		}
		compact_page(pool, pg);
		if (!ZPOOL_BUG(z3fold_reclaim_fail_off_lists))
			place_on_list(pool, pg);
	}
	list_add(&pg->lru, &pool->lru);
	return false;
}

/**
 * z3fold_reclaim_page() - evict the objects of the coldest page and free it
 * @pool: the pool
 * @retries: how many pages to try before giving up
 *
 * The protocol is zbud's: under the pool lock the LRU tail page is taken
 * off its lists, marked under reclaim and its live handles collected; the
 * lock is dropped and the evict callback called for each object, first to
 * last, stopping at the first refusal. A free on the page meanwhile, by the
 * callback or by the owner, only clears its buddy. The lock is retaken: a
 * page whose objects are all gone is freed, any other goes back on its list
 * at the LRU head, and the next tail page is tried, up to @retries pages.
 *
 * Takes the pool lock; calls the evict callback without it.
 *
 * Return: 0 if a page was freed; -EINVAL if there is no evict callback,
 * @retries is 0 or the LRU is empty; -EAGAIN if @retries pages were tried
 * and none could be freed.
 */
static int z3fold_reclaim_page(struct z3fold_pool *pool, unsigned int retries)
{
	unsigned long handles[NSLOTS];
	struct arena_page *pg;
	unsigned int n;

	if (!zpool_can_evict(pool->zpool) || retries == 0)
		return -EINVAL;
	pthread_mutex_lock(&pool->lock);
	for (unsigned int i = 0; i < retries; i++) {
		/* Other reclaimers may hold every remaining page. */
		if (list_empty(&pool->lru)) {
			pthread_mutex_unlock(&pool->lock);
			return i ? -EAGAIN : -EINVAL;
		}
		pg = list_last_entry(&pool->lru, struct arena_page, lru);
		n = claim_page(pool, pg, handles);
		pthread_mutex_unlock(&pool->lock);

		for (unsigned int h = 0; h < n; h++)
			if (zpool_evict(pool->zpool, handles[h]))
				break;

		pthread_mutex_lock(&pool->lock);
		if (unclaim_page(pool, pg)) {
			pthread_mutex_unlock(&pool->lock);
			return 0;
		}
	}
	pthread_mutex_unlock(&pool->lock);
	return -EAGAIN;
}

/**
 * z3fold_shrink() - reclaim up to @pages pages
 * @p: the pool
 * @pages: pages to reclaim, at least 1
 * @reclaimed: set to the pages reclaimed
 *
 * Takes the pool lock; evicts without it.
 *
 * Return: 0, or the first error of z3fold_reclaim_page().
 */
static int z3fold_shrink(void *p, unsigned int pages, unsigned int *reclaimed)
{
	unsigned int done = 0;
	int err = 0;

	while (done < pages) {
		err = z3fold_reclaim_page(p, Z3FOLD_SHRINK_RETRIES);
		if (err)
			break;
		done++;
	}
	*reclaimed = done;
	return err;
}

/**
 * z3fold_map() - the address of the object behind @handle
 * @p: the pool
 * @handle: a live handle
 * @mm: unused: z3fold objects are directly addressable
 *
 * Reads the handle's slot; a mapped middle buddy is pinned (compaction
 * leaves it alone) until z3fold_unmap(). Takes the pool lock, except for
 * a headless object outside debug builds.
 *
 * Return: the object's address.
 */
static void *z3fold_map(void *p, unsigned long handle, enum zpool_mapmode mm)
{
	struct z3fold_pool *pool = p;
	struct z3fold_header *zhdr;
	struct arena_page *pg;
	unsigned int slot, i;

	(void)mm;
	if (handle_is_headless(handle)) {
		/* The handle is the address: only the debug check needs the lock. */
		if (ZPOOL_DEBUG_ON) {
			pthread_mutex_lock(&pool->lock);
			check_live_handle(pool, handle, true);
			pthread_mutex_unlock(&pool->lock);
		}
		return (void *)handle;
	}
	pthread_mutex_lock(&pool->lock);
	check_live_handle(pool, handle, true);
	pg = handle_page(pool, handle, &i);
	zhdr = page_header(pool, pg);
	slot = zhdr->slot[i];
	if (slot_buddy(slot) == MIDDLE)
		pg->priv[PRIV_MIDDLE_MAPS]++;
	pthread_mutex_unlock(&pool->lock);
	return (char *)zhdr + slot_offset(slot);
}

/* z3fold_unmap() - unpin a mapped middle buddy. Takes the pool lock. */
static void z3fold_unmap(void *p, unsigned long handle)
{
	struct z3fold_pool *pool = p;
	struct arena_page *pg;
	unsigned int i;

	if (handle_is_headless(handle))
		return;
	pthread_mutex_lock(&pool->lock);
	pg = handle_page(pool, handle, &i);
	if (slot_buddy(page_header(pool, pg)->slot[i]) == MIDDLE && pg->priv[PRIV_MIDDLE_MAPS])
		pg->priv[PRIV_MIDDLE_MAPS]--;
	pthread_mutex_unlock(&pool->lock);
}

/**
 * z3fold_total_size() - bytes held by the pool; lock-free
 * @p: the pool
 *
 * Return: pages of the pool times the page size.
 */
static uint64_t z3fold_total_size(const void *p)
{
	const struct z3fold_pool *pool = p;

	return (uint64_t)atomic_load(&pool->pages_nr) * ZPOOL_PAGE_SIZE;
}

/*****************
 * Invariant checks
 *****************/

#define CHECK_ON_LIST 1u
#define CHECK_ON_LRU  0x100u

/* Count @pg as found during check pass @gen; returns its earlier marks. */
static unsigned int check_mark(struct arena_page *pg, unsigned int gen, unsigned int mark)
{
	unsigned int before = pg->check_gen == gen ? pg->check_marks : 0;

	pg->check_gen = gen;
	pg->check_marks = before + mark;
	return before;
}

/*
 * The header of page @nr: buddies inside the page and apart, one slot per
 * live buddy holding its offset, no other slot in use (a page under
 * reclaim may keep the offset of a freed one), a mapped middle buddy
 * only where there is one (or had one, under reclaim).
 */
static int check_header(const struct arena_page *pg, const struct z3fold_header *zhdr, size_t nr,
			char *why, size_t len)
{
	static const enum buddy buds[NSLOTS] = { FIRST, MIDDLE, LAST };
	unsigned int f = zhdr->first_chunks, m = zhdr->middle_chunks, l = zhdr->last_chunks;
	unsigned int seen = 0;

	if (f + l > NCHUNKS)
		return zpool_why(why, len, "page %zu: first %u + last %u chunks exceed %u", nr, f,
				 l, NCHUNKS);
	if (!m && zhdr->start_middle)
		return zpool_why(why, len, "page %zu: no middle buddy but start_middle %u", nr,
				 zhdr->start_middle);
	if (m &&
	    (zhdr->start_middle < ZHDR_CHUNKS + f || zhdr->start_middle + m > TOTAL_CHUNKS - l))
		return zpool_why(why, len,
				 "page %zu: middle buddy at chunk %u (%u chunks) overlaps first %u "
				 "or last %u",
				 nr, zhdr->start_middle, m, f, l);
	if (header_is_empty(zhdr) && !page_under_reclaim(pg))
		return zpool_why(why, len, "page %zu with a header holds no object", nr);
	for (unsigned int i = 0; i < NSLOTS; i++) {
		unsigned int slot = zhdr->slot[i];
		enum buddy bud = slot_buddy(slot);

		if (!slot)
			continue;
		if (!bud) {
			if (!page_under_reclaim(pg))
				return zpool_why(why, len, "page %zu: slot %u holds a freed offset",
						 nr, i);
			continue;
		}
		if (!buddy_chunks(zhdr, bud))
			return zpool_why(why, len,
					 "page %zu: slot %u names buddy %d, which is free", nr, i,
					 bud);
		if (slot_offset(slot) != buddy_offset(zhdr, bud))
			return zpool_why(why, len,
					 "page %zu: slot %u points at offset %u, buddy %d is at %u",
					 nr, i, slot_offset(slot), bud, buddy_offset(zhdr, bud));
		if (seen & (1u << bud))
			return zpool_why(why, len, "page %zu: two slots name buddy %d", nr, bud);
		seen |= 1u << bud;
	}
	for (unsigned int b = 0; b < NSLOTS; b++)
		if (buddy_chunks(zhdr, buds[b]) && !(seen & (1u << buds[b])))
			return zpool_why(why, len, "page %zu: buddy %d has no slot", nr, buds[b]);
	/*
	 * Under reclaim the evict callback maps its handle to read it, racing
	 * the owner's free of that same middle buddy (zswap's writeback does):
	 * a pin may outlive the buddy until the callback unmaps, before
	 * reclaim ends. Nothing moves a page under reclaim, so it is harmless.
	 */
	if (pg->priv[PRIV_MIDDLE_MAPS] && !m && !page_under_reclaim(pg))
		return zpool_why(why, len, "page %zu: %u maps of a middle buddy it does not have",
				 nr, pg->priv[PRIV_MIDDLE_MAPS]);
	return 0;
}

/*
 * Check one page found on a list: @list_index is the unbuddied index, -1
 * for the full list, -2 for the reclaiming list.
 */
static int check_list_page(struct z3fold_pool *pool, struct arena_page *pg, int list_index,
			   char *why, size_t len)
{
	size_t nr = (size_t)(pg - pool->arena.pages);
	const struct z3fold_header *zhdr = page_header(pool, pg);
	int err;

	if (!(pg->flags & ARENA_PG_USED))
		return zpool_why(why, len, "page %zu on a list is free in the arena", nr);
	if (page_under_reclaim(pg) != (list_index == -2))
		return zpool_why(why, len, "page %zu is %sunder reclaim but on the %s list", nr,
				 page_under_reclaim(pg) ? "" : "not ",
				 list_index == -2 ? "reclaiming" : "unbuddied or full");
	if (check_mark(pg, pool->check_gen, CHECK_ON_LIST))
		return zpool_why(why, len, "page %zu is on more than one list", nr);
	if (page_is_headless(pg)) {
		if (list_index != -2)
			return zpool_why(why, len, "headless page %zu is on a buddy list", nr);
		return 0;
	}
	err = check_header(pg, zhdr, nr, why, len);
	if (err || list_index == -2)
		return err;
	if (list_index == -1 && header_has_free_buddy(zhdr) && num_free_chunks(zhdr))
		return zpool_why(why, len, "page %zu on the full list has %u free chunks", nr,
				 num_free_chunks(zhdr));
	if (list_index >= 0 &&
	    (!header_has_free_buddy(zhdr) || num_free_chunks(zhdr) != (unsigned int)list_index))
		return zpool_why(why, len, "page %zu with %u free chunks%s is on unbuddied[%d]", nr,
				 num_free_chunks(zhdr),
				 header_has_free_buddy(zhdr) ? "" : " and no free buddy",
				 list_index);
	return 0;
}

/* Walk one list linked through arena_page.list, bounded by the arena size. */
static int check_list(struct z3fold_pool *pool, struct list_head *head, int list_index,
		      size_t *found, char *why, size_t len)
{
	struct list_head *pos;
	size_t n = 0;
	int err;

	list_for_each(pos, head) {
		if (++n > pool->arena.max_pages)
			return zpool_why(why, len, "a page list is longer than the arena");
		err = check_list_page(pool, list_entry(pos, struct arena_page, list), list_index,
				      why, len);
		if (err)
			return err;
	}
	*found += n;
	return 0;
}

/* Walk the LRU: every page on it once, on a buddy list or headless and live. */
static int check_lru(struct z3fold_pool *pool, size_t *on_lru, size_t *headless, char *why,
		     size_t len)
{
	struct list_head *pos;

	list_for_each(pos, &pool->lru) {
		struct arena_page *pg = list_entry(pos, struct arena_page, lru);
		size_t nr = (size_t)(pg - pool->arena.pages);
		unsigned int marks;

		if (++*on_lru > pool->arena.max_pages)
			return zpool_why(why, len, "the LRU is longer than the arena");
		if (!(pg->flags & ARENA_PG_USED))
			return zpool_why(why, len, "page %zu on the LRU is free in the arena", nr);
		marks = check_mark(pg, pool->check_gen, CHECK_ON_LRU);
		if (marks & ~CHECK_ON_LIST)
			return zpool_why(why, len, "page %zu is on the LRU twice", nr);
		if (page_under_reclaim(pg))
			return zpool_why(why, len, "page %zu under reclaim is on the LRU", nr);
		if (page_is_headless(pg)) {
			if (!(pg->priv[PRIV_KIND] & Z3_HEADLESS_LIVE))
				return zpool_why(why, len, "headless page %zu holds no object", nr);
			++*headless;
		} else if (!(marks & CHECK_ON_LIST)) {
			return zpool_why(
			    why, len,
			    "page %zu is on the LRU but on no list (or on an unbuddied "
			    "list whose bitmap bit is clear)",
			    nr);
		}
	}
	return 0;
}

/**
 * z3fold_check() - verify the pool's invariants
 * @p: the pool
 * @why: receives the first broken invariant
 * @len: size of @why
 *
 * Every page with a header is on exactly one of the unbuddied, full and
 * reclaiming lists, headless pages on the reclaiming list or none; every
 * page not under reclaim is on the LRU exactly once; each header is
 * consistent (check_header()); an unbuddied page is on the list of its
 * free chunks and a full page has no room; the bitmap has a bit set
 * exactly for the non-empty lists; pages_nr equals the pages found and
 * the arena's pages in use. Takes the pool lock.
 *
 * Return: 0, or -EUCLEAN with the first broken invariant in @why.
 */
static int z3fold_check(void *p, char *why, size_t len)
{
	struct z3fold_pool *pool = p;
	size_t found = 0, reclaiming = 0, on_lru = 0, headless = 0;
	size_t pages_nr, in_use, in_flight;
	int err = 0;

	pthread_mutex_lock(&pool->lock);
	pool->check_gen++;
	/*
	 * Only the lists the bitmap marks are walked: the fuzzers check after
	 * every operation, and most of the 255 lists are empty. A page on a
	 * list whose bit is clear is still found, by the LRU walk, as a page
	 * on no list.
	 */
	for (unsigned int w = 0; w < MAP_WORDS && !err; w++) {
		for (uint64_t bits = pool->unbuddied_map[w]; bits && !err; bits &= bits - 1) {
			unsigned int i = w * 64 + (unsigned int)__builtin_ctzll(bits);

			if (i < NCHUNKS && list_empty(&pool->unbuddied[i]))
				err = zpool_why(why, len,
						"bitmap bit %u is set but unbuddied[%u] is empty",
						i, i);
			else if (i < NCHUNKS)
				err =
				    check_list(pool, &pool->unbuddied[i], (int)i, &found, why, len);
		}
	}
	if (!err && (pool->unbuddied_map[MAP_WORDS - 1] >> (NCHUNKS % 64)))
		err =
		    zpool_why(why, len, "bitmap word %#llx has bits past unbuddied[%u]",
			      (unsigned long long)pool->unbuddied_map[MAP_WORDS - 1], NCHUNKS - 1);
	if (!err)
		err = check_list(pool, &pool->full, -1, &found, why, len);
	if (!err)
		err = check_list(pool, &pool->reclaiming, -2, &reclaiming, why, len);
	if (!err && reclaiming != pool->reclaim_nr)
		err = zpool_why(why, len, "%zu pages on the reclaiming list but reclaim_nr is %zu",
				reclaiming, pool->reclaim_nr);
	if (!err)
		err = check_lru(pool, &on_lru, &headless, why, len);
	pages_nr = atomic_load(&pool->pages_nr);
	/* in_use before in_flight: see zbud_check(). */
	in_use = atomic_load(&pool->arena.in_use);
	in_flight = atomic_load(&pool->pages_in_flight);
	if (!err && on_lru != found + headless)
		err = zpool_why(why, len,
				"%zu pages on the LRU but %zu on buddy lists and %zu headless",
				on_lru, found, headless);
	if (!err && on_lru + reclaiming != pages_nr)
		err = zpool_why(why, len,
				"pages_nr is %zu but %zu pages on the LRU and %zu under reclaim",
				pages_nr, on_lru, reclaiming);
	if (!err && (in_use < pages_nr || in_use > pages_nr + in_flight))
		err = zpool_why(
		    why, len, "pages_nr is %zu (%zu more being added) but the arena has %zu in use",
		    pages_nr, in_flight, in_use);
	pthread_mutex_unlock(&pool->lock);
	return err;
}

/* z3fold_stats() - the page counters, from pages_nr and the arena; lock-free. */
static void z3fold_stats(const void *p, struct zpool_stats *st)
{
	const struct z3fold_pool *pool = p;
	const struct arena *a = &pool->arena;

	st->pages = atomic_load(&pool->pages_nr);
	st->peak_pages = atomic_load(&a->peak);
	st->max_pages = a->max_pages;
	st->page_allocs = atomic_load(&a->allocs);
	st->page_alloc_failures = atomic_load(&a->failures);
	st->injected_failures = atomic_load(&a->injected);
}

const struct zpool_driver z3fold_zpool_driver = {
	.type = "z3fold",
	.create = z3fold_create,
	.destroy = z3fold_destroy,
	.malloc = z3fold_alloc,
	.free = z3fold_free,
	.shrink = z3fold_shrink,
	.map = z3fold_map,
	.unmap = z3fold_unmap,
	.total_size = z3fold_total_size,
	.check = z3fold_check,
	.stats = z3fold_stats,
};
