// SPDX-License-Identifier: GPL-2.0-only
/*
 * zsmalloc.c - a size-class allocator for compressed pages
 *
 * zsmalloc packs objects of any size from 32 bytes to a page densely, at
 * the cost of objects that may straddle a page boundary. It follows the
 * design of the kernel's mm/zsmalloc.c (as of 6.1-6.6) and its
 * Documentation/mm/zsmalloc.rst; the code is this project's own.
 *
 * Size classes. Sizes are rounded up to a multiple of ZS_SIZE_CLASS_DELTA
 * (16) bytes, from ZS_MIN_ALLOC_SIZE (32) to a page: 255 classes. Objects
 * of one class live in "zspages": chains of 1..ZS_MAX_PAGES_PER_ZSPAGE
 * arena pages seen as one byte range, objects packed back to back. Each
 * class picks the chain length that wastes least at the end of the chain,
 * preferring the shorter chain unless the longer saves more than
 * ZS_CHAIN_GAIN_PCT percent of it (a long chain is expensive in a small
 * pool, and every class holds a partly used zspage). Neighbouring classes
 * that end up with the same pages and objects per zspage are merged into
 * the larger one: they would waste the same, and fewer classes mean fewer
 * partly used zspages. In a small pool a zspage is at most a quarter of
 * the arena (see init_classes()).
 *
 * Spanning objects. The pages of a zspage come from the arena one at a
 * time and need not be contiguous, so an object whose bytes cross a page
 * boundary cannot be handed out as one pointer. zs_map() copies such an
 * object into a per-thread buffer (ZS_MAP_DEPTH of them, for a thread
 * that maps objects of several pools at once) and zs_unmap() copies it
 * back for ZPOOL_MM_WO and ZPOOL_MM_RW. An object that fits in its page is
 * mapped in place.
 *
 * Indirect handles. A handle names a slot of the pool's handle table; the
 * slot names the zspage and object index. So an object can move (by
 * compaction) without its owner knowing. A freed slot's generation is
 * bumped, and the generation is part of the handle, so a stale handle is
 * told from the slot's next owner: debug builds stop on it. The zspage
 * keeps, per object, the slot that owns it, or the next free object: so
 * compaction and reclaim can go from an object to its handle. This is the
 * kernel's in-object handle word, kept in the zspage descriptor instead:
 * objects are as large as the user's sizes, and a page-sized object needs
 * no special "huge" class.
 *
 * Fullness groups. Each class files its zspages by how full they are:
 * ZS_GROUP_FULL, or one of ZS_NR_PARTIAL groups of ten percent each.
 * zs_malloc() allocates from the fullest partly used zspage, so the empty
 * ones drain; a zspage whose last object is freed goes back to the arena.
 *
 * Compaction. zs_compact() walks each class, moving objects from its
 * emptiest zspage into its fullest partly used one, until no zspage could
 * be freed: each move empties the source (which is freed) or fills the
 * destination. It runs while other threads allocate, free and map; see
 * "Mapping and migration" below.
 *
 * Reclaim. Every zspage not under reclaim is on the pool LRU, most
 * recently allocated into at the head (the 6.4 kernel's zs_reclaim_page).
 * zs_reclaim_zspage() takes the tail off the fullness lists and the LRU,
 * marks it under reclaim and calls the evict callback for each object with
 * no lock held; see its kernel-doc.
 *
 * Locking. One mutex per pool (the 6.2+ kernel's pool->lock) protects the
 * classes' fullness lists, every zspage's objects and counts, the LRU and
 * the handle table. The arena is called only under it, so the arena takes
 * no lock of its own (arena_set_owner_locks()); the kernel drops its lock
 * around the page allocation, which may sleep, but the arena never
 * sleeps. pages_nr is atomic so that the pool size is readable without
 * the lock, and changed only under it.
 *
 * Mapping and migration. zs_map() takes the pool lock, finds the object,
 * raises the zspage's pin count and drops the lock; zs_unmap() lowers the
 * pin. Compaction, under the pool lock, never takes a pinned zspage as its
 * source, so a mapped object never moves and a pointer zs_map() returned
 * stays good until zs_unmap(); a pinned zspage may still receive objects,
 * which touches only its free bytes. This is the kernel's zspage migrate
 * lock with the pin count as its read side, and the pool lock that
 * compaction holds as the write side. Spanning objects are copied in and
 * out under the pool lock, so that the copy never races another thread's
 * copy of the same bytes. The pin is atomic: zs_unmap() of an object
 * mapped in place lowers it without the lock (release), and compaction
 * reads it under the lock (acquire), after which the unmapping thread's
 * writes are complete.
 */
#include "arena.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZS_MIN_ALLOC_SIZE	32u
#define ZS_SIZE_CLASS_DELTA	16u
#define ZS_NR_CLASSES		((ZPOOL_PAGE_SIZE - ZS_MIN_ALLOC_SIZE) / ZS_SIZE_CLASS_DELTA + 1)
#define ZS_MAX_PAGES_PER_ZSPAGE 8u
#define ZS_MAX_OBJS_PER_ZSPAGE	(ZS_MAX_PAGES_PER_ZSPAGE * ZPOOL_PAGE_SIZE / ZS_MIN_ALLOC_SIZE)
#define ZS_CHAIN_GAIN_PCT	2u
/* Fullness groups: 0 empty (never filed), 1..ZS_NR_PARTIAL partly used, then full. */
#define ZS_NR_PARTIAL 10u
#define ZS_GROUP_FULL (ZS_NR_PARTIAL + 1)
#define ZS_NR_GROUPS  (ZS_GROUP_FULL + 1)
/* Evict attempts per zspage zs_shrink() asks of zs_reclaim_zspage(). */
#define ZS_SHRINK_RETRIES 8u
/* Spanning objects one thread may have mapped at once. */
#define ZS_MAP_DEPTH 4
/* Handle slots per chunk of the handle table. */
#define ZS_SLOTS_PER_CHUNK 512u

_Static_assert(ZS_NR_CLASSES == 255, "32..4096 in steps of 16");

/*
 * An object's word in its zspage: the owning slot shifted left by
 * OBJ_TAG_BITS with OBJ_ALLOCATED set (and OBJ_ZOMBIE when freed while its
 * zspage is under reclaim), or the next free object shifted left, tags
 * clear. ZS_NO_OBJ ends the free list.
 */
#define OBJ_TAG_BITS  2
#define OBJ_ALLOCATED 1ul
#define OBJ_ZOMBIE    2ul
#define ZS_NO_OBJ     0xffffffffu

/* The handle: the slot generation above HANDLE_GEN_SHIFT, slot index + 1 below. */
#define HANDLE_GEN_SHIFT 40
#define HANDLE_SLOT_MASK ((1ul << HANDLE_GEN_SHIFT) - 1)
#define HANDLE_GEN_MASK	 0xffffu

_Static_assert(sizeof(unsigned long) == 8, "handles pack a generation and a slot");

enum slot_state { SLOT_FREE, SLOT_LIVE, SLOT_ZOMBIE };

/**
 * struct zs_slot - one entry of the handle table
 * @zspage: the zspage holding the object (live or zombie slot)
 * @obj: the object's index in @zspage; for a free slot, the next free slot
 * @gen: bumped on every free, part of the handle
 * @state: an enum slot_state
 */
struct zs_slot {
	struct zspage *zspage;
	unsigned int obj;
	uint16_t gen;
	uint8_t state;
};

/**
 * struct size_class - the zspages of one object size
 * @fullness: zspages by fullness group (index 0, empty, is never used)
 * @size: object size in bytes (the largest of the merged sizes)
 * @pages_per_zspage: arena pages of each zspage
 * @objs_per_zspage: objects each zspage holds
 * @index: the class's index in the table (of its largest size)
 * @zspages: zspages of the class on its lists (not under reclaim)
 * @group_map: bit g set iff @fullness[g] is not empty
 */
struct size_class {
	struct list_head fullness[ZS_NR_GROUPS];
	unsigned int size;
	unsigned int pages_per_zspage;
	unsigned int objs_per_zspage;
	unsigned int index;
	size_t zspages;
	uint16_t group_map;
};

/**
 * struct zspage - a chain of pages holding objects of one class
 * @list: linkage on its class's fullness list
 * @lru: linkage on the pool LRU
 * @class: its size class
 * @inuse: live objects (zombies not counted)
 * @zombies: objects freed while under reclaim, their slots still held
 * @freeobj: first object of the free list, or ZS_NO_OBJ
 * @fresh_obj: objects from here on were never used: they are free but on
 *	no list (their words are not even written), so that a new zspage
 *	costs no walk over its objects
 * @group: the fullness group it is filed under
 * @under_reclaim: taken by zs_reclaim_zspage(): on no list
 * @pinned: mappings in progress; compaction leaves it alone as a source
 * @check_gen: the zs_check() pass that last saw it
 * @pages: its arena pages, in object order
 * @obj: per object, its word (see OBJ_TAG_BITS)
 */
struct zspage {
	struct list_head list;
	struct list_head lru;
	struct size_class *class;
	unsigned int inuse;
	unsigned int zombies;
	unsigned int freeobj;
	unsigned int fresh_obj;
	unsigned int group;
	bool under_reclaim;
	atomic_uint pinned;
	unsigned int check_gen;
	struct arena_page *pages[ZS_MAX_PAGES_PER_ZSPAGE];
	unsigned long obj[];
};

/**
 * struct zs_pool - one zsmalloc pool
 * @lock: protects everything but the atomics (see the top of this file)
 * @class: the class of each of the ZS_NR_CLASSES sizes (merged share one)
 * @class_store: the distinct classes @class points to (about 100 of the
 *	255 sizes, after merging), so that a pool is small to create
 * @class_map: bit i set iff the class of index i has zspages on its lists
 * @lru: zspages not under reclaim, most recently allocated into first
 * @reclaim_nr: zspages under reclaim
 * @reclaim_pages: their pages
 * @slot_dir: the handle table: chunks of ZS_SLOTS_PER_CHUNK slots, made on
 *	demand and never moved, so that zs_unmap() reads a slot unlocked
 * @slot_dir_len: chunks @slot_dir has room for
 * @slots_made: slots handed out at least once (the rest are untouched)
 * @free_slot: first free slot index + 1, 0 if none
 * @slots_live: live slots
 * @slots_zombie: zombie slots
 * @check_gen: generation of the last zs_check() pass
 * @pages_nr: pages of the pool, changed under @lock, atomic for readers
 * @zpool: the zpool this pool serves, passed back to zpool_evict()
 * @arena: where the pages come from
 */
struct zs_pool {
	pthread_mutex_t lock;
	struct size_class *class[ZS_NR_CLASSES];
	struct size_class *class_store;
	uint64_t class_map[(ZS_NR_CLASSES + 63) / 64];
	struct list_head lru;
	size_t reclaim_nr;
	size_t reclaim_pages;
	struct zs_slot **slot_dir;
	size_t slot_dir_len;
	size_t slots_made;
	size_t free_slot;
	size_t slots_live;
	size_t slots_zombie;
	unsigned int check_gen;
	atomic_size_t pages_nr;
	struct zpool *zpool;
	struct arena arena;
};

/* One spanning object mapped by this thread: its copy and where it goes back. */
struct zs_mapping {
	const struct zs_pool *pool;
	unsigned long handle;
	enum zpool_mapmode mm;
	_Alignas(16) unsigned char buf[ZPOOL_PAGE_SIZE];
};

static _Thread_local struct zs_mapping zs_maps[ZS_MAP_DEPTH];
static _Thread_local int zs_map_depth;

/*****************
 * Size classes
 *****************/

/* The class index of a size 1..ZPOOL_PAGE_SIZE. */
static unsigned int size_to_class_index(size_t size)
{
	if (size <= ZS_MIN_ALLOC_SIZE)
		return 0;
	if (ZPOOL_BUG(zs_class_index_rounds_down))
		return (unsigned int)((size - ZS_MIN_ALLOC_SIZE) / ZS_SIZE_CLASS_DELTA);
	return (unsigned int)((size - ZS_MIN_ALLOC_SIZE + ZS_SIZE_CLASS_DELTA - 1) /
			      ZS_SIZE_CLASS_DELTA);
}

/*
 * The chain length for objects of @size: least waste at the chain's end,
 * a longer chain taken only when it saves ZS_CHAIN_GAIN_PCT of it.
 */
static unsigned int pick_pages_per_zspage(unsigned int size, unsigned int max_chain)
{
	unsigned int best = 1, best_waste_pm = 1000;

	for (unsigned int k = 1; k <= max_chain; k++) {
		unsigned int bytes = k * ZPOOL_PAGE_SIZE;
		unsigned int waste_pm = (bytes % size) * 1000 / bytes;

		if (waste_pm + ZS_CHAIN_GAIN_PCT * 10 <= best_waste_pm) {
			best = k;
			best_waste_pm = waste_pm;
		}
	}
	return best;
}

/* The chain length of each size class for each longest chain allowed: computed once. */
static uint8_t zs_chain_table[ZS_MAX_PAGES_PER_ZSPAGE][ZS_NR_CLASSES];
static pthread_once_t zs_chain_once = PTHREAD_ONCE_INIT;

static void init_chain_table(void)
{
	for (unsigned int m = 1; m <= ZS_MAX_PAGES_PER_ZSPAGE; m++)
		for (unsigned int i = 0; i < ZS_NR_CLASSES; i++)
			zs_chain_table[m - 1][i] = (uint8_t)pick_pages_per_zspage(
			    ZS_MIN_ALLOC_SIZE + i * ZS_SIZE_CLASS_DELTA, m);
}

/*
 * Fill the class table: from the largest size down, a size whose zspage
 * shape equals that of the next larger class shares that class. A small
 * pool gets short chains: a zspage is at most a quarter of the arena, so
 * that every class can have a zspage and reclaim can make room for one.
 */
static int init_classes(struct zs_pool *pool)
{
	size_t quarter = pool->arena.max_pages / 4;
	unsigned int max_chain = quarter < 1			     ? 1
				 : quarter > ZS_MAX_PAGES_PER_ZSPAGE ? ZS_MAX_PAGES_PER_ZSPAGE
								     : (unsigned int)quarter;
	const uint8_t *pages = zs_chain_table[max_chain - 1];
	unsigned int objs[ZS_NR_CLASSES], distinct = 0, next = 0;

	pthread_once(&zs_chain_once, init_chain_table);
	for (int i = ZS_NR_CLASSES - 1; i >= 0; i--) {
		unsigned int size = ZS_MIN_ALLOC_SIZE + (unsigned int)i * ZS_SIZE_CLASS_DELTA;

		objs[i] = pages[i] * ZPOOL_PAGE_SIZE / size;
		distinct +=
		    i == ZS_NR_CLASSES - 1 || pages[i] != pages[i + 1] || objs[i] != objs[i + 1];
	}
	pool->class_store = calloc(distinct, sizeof(*pool->class_store));
	if (!pool->class_store)
		return -ENOMEM;
	for (int i = ZS_NR_CLASSES - 1; i >= 0; i--) {
		unsigned int size = ZS_MIN_ALLOC_SIZE + (unsigned int)i * ZS_SIZE_CLASS_DELTA;
		struct size_class *c;

		if (i < (int)ZS_NR_CLASSES - 1 && pages[i] == pages[i + 1] &&
		    objs[i] == objs[i + 1]) {
			pool->class[i] = pool->class[i + 1];
			continue;
		}
		c = &pool->class_store[next++];
		for (unsigned int g = 0; g < ZS_NR_GROUPS; g++)
			list_init(&c->fullness[g]);
		c->size = size;
		c->pages_per_zspage = pages[i];
		c->objs_per_zspage = objs[i];
		c->index = (unsigned int)i;
		pool->class[i] = c;
	}
	return 0;
}

/* The fullness group of a zspage of @c holding @inuse objects. */
static unsigned int fullness_group(const struct size_class *c, unsigned int inuse)
{
	if (inuse == 0)
		return 0;
	if (inuse >= c->objs_per_zspage)
		return ZS_GROUP_FULL;
	return 1 + inuse * ZS_NR_PARTIAL / c->objs_per_zspage;
}

/*
 * File @zspage under the group its use says; it must be on no list. The
 * class's group_map and the pool's class_map follow. Lock held.
 */
static void insert_zspage(struct zs_pool *pool, struct zspage *zspage)
{
	struct size_class *c = zspage->class;

	zspage->group = fullness_group(c, zspage->inuse);
	list_add(&zspage->list, &c->fullness[zspage->group]);
	c->group_map |= (uint16_t)(1u << zspage->group);
	if (c->zspages++ == 0)
		pool->class_map[c->index / 64] |= 1ull << (c->index % 64);
}

static void remove_zspage(struct zs_pool *pool, struct zspage *zspage)
{
	struct size_class *c = zspage->class;

	list_del_init(&zspage->list);
	if (list_empty(&c->fullness[zspage->group]))
		c->group_map &= (uint16_t) ~(1u << zspage->group);
	if (--c->zspages == 0)
		pool->class_map[c->index / 64] &= ~(1ull << (c->index % 64));
}

/* Move @zspage to the group its use now says. Lock held. */
static void fix_fullness_group(struct zs_pool *pool, struct zspage *zspage)
{
	unsigned int group = fullness_group(zspage->class, zspage->inuse);

	if (group == zspage->group)
		return;
	remove_zspage(pool, zspage);
	insert_zspage(pool, zspage);
}

/*****************
 * Handles
 *****************/

static struct zs_slot *slot_at(const struct zs_pool *pool, size_t index)
{
	return &pool->slot_dir[index / ZS_SLOTS_PER_CHUNK][index % ZS_SLOTS_PER_CHUNK];
}

static unsigned long slot_handle(const struct zs_pool *pool, size_t index)
{
	return ((unsigned long)slot_at(pool, index)->gen << HANDLE_GEN_SHIFT) | (index + 1);
}

/*
 * The slot @handle names, or NULL if it names none that was ever handed
 * out or its generation is not the slot's (a stale handle). Lock held, or
 * the handle pinned.
 */
static struct zs_slot *handle_slot(const struct zs_pool *pool, unsigned long handle, size_t *index)
{
	size_t i = (handle & HANDLE_SLOT_MASK) - 1;
	struct zs_slot *slot;

	if ((handle & HANDLE_SLOT_MASK) == 0 || i >= pool->slots_made)
		return NULL;
	slot = slot_at(pool, i);
	if (slot->gen != ((handle >> HANDLE_GEN_SHIFT) & HANDLE_GEN_MASK))
		return NULL;
	if (index)
		*index = i;
	return slot;
}

/* Take a free slot for object @obj of @zspage; SIZE_MAX if out of memory. Lock held. */
static size_t alloc_slot(struct zs_pool *pool, struct zspage *zspage, unsigned int obj)
{
	struct zs_slot *slot;
	size_t i;

	if (pool->free_slot) {
		i = pool->free_slot - 1;
		slot = slot_at(pool, i);
		pool->free_slot = slot->obj == ZS_NO_OBJ ? 0 : (size_t)slot->obj + 1;
	} else {
		i = pool->slots_made;
		if (i / ZS_SLOTS_PER_CHUNK >= pool->slot_dir_len)
			return SIZE_MAX;
		if (i % ZS_SLOTS_PER_CHUNK == 0) {
			pool->slot_dir[i / ZS_SLOTS_PER_CHUNK] =
			    calloc(ZS_SLOTS_PER_CHUNK, sizeof(struct zs_slot));
			if (!pool->slot_dir[i / ZS_SLOTS_PER_CHUNK])
				return SIZE_MAX;
		}
		pool->slots_made++;
		slot = slot_at(pool, i);
	}
	slot->zspage = zspage;
	slot->obj = obj;
	slot->state = SLOT_LIVE;
	pool->slots_live++;
	return i;
}

/*
 * Give slot @i back: its generation moves on, so its old handle is stale.
 * The free list is LIFO, but a slot index fits 32 bits only while the pool
 * is below 2^32 objects; a larger index is never put on the list. Lock held.
 */
static void free_slot(struct zs_pool *pool, size_t i)
{
	struct zs_slot *slot = slot_at(pool, i);

	if (slot->state == SLOT_LIVE)
		pool->slots_live--;
	else
		pool->slots_zombie--;
	slot->gen = (uint16_t)((slot->gen + 1) & HANDLE_GEN_MASK);
	slot->state = SLOT_FREE;
	slot->zspage = NULL;
	if (i >= ZS_NO_OBJ)
		return;
	slot->obj = pool->free_slot ? (unsigned int)(pool->free_slot - 1) : ZS_NO_OBJ;
	pool->free_slot = i + 1;
}

/*
 * In debug builds, stop on a handle that is not live: a double free, a
 * stale handle, or a value zsmalloc never returned. A map may name a
 * zombie (freed while its zspage is under reclaim): the evict callback may
 * map an object its owner has just freed. Lock held.
 */
static struct zs_slot *checked_slot(const struct zs_pool *pool, unsigned long handle, bool is_map,
				    size_t *index)
{
	struct zs_slot *slot = handle_slot(pool, handle, index);

#ifdef ZPOOL_DEBUG
	const char *what = is_map ? "map" : "free";

	if (!slot)
		zpool_bug("zsmalloc: %s of handle %#lx: no such handle (stale or never returned)",
			  what, handle);
	if (slot->state == SLOT_FREE || (slot->state == SLOT_ZOMBIE && !is_map))
		zpool_bug("zsmalloc: %s of handle %#lx: the object was freed", what, handle);
#else
	(void)is_map;
#endif
	return slot;
}

/*****************
 * Objects in a zspage
 *****************/

/* The address of byte @offset of @zspage's byte range. */
static unsigned char *zspage_byte(const struct zs_pool *pool, const struct zspage *zspage,
				  size_t offset)
{
	unsigned char *page =
	    arena_page_address(&pool->arena, zspage->pages[offset / ZPOOL_PAGE_SIZE]);

	return page + offset % ZPOOL_PAGE_SIZE;
}

/* Bytes of object @obj before its page ends: its size unless it spans. */
static unsigned int obj_first_part(const struct zspage *zspage, unsigned int obj)
{
	unsigned int size = zspage->class->size;
	unsigned int off = (unsigned int)(((size_t)obj * size) % ZPOOL_PAGE_SIZE);

	return ZPOOL_PAGE_SIZE - off < size ? ZPOOL_PAGE_SIZE - off : size;
}

static bool obj_spans(const struct zspage *zspage, unsigned int obj)
{
	return obj_first_part(zspage, obj) < zspage->class->size;
}

/* Copy object @obj out to @buf (class size bytes), across the page boundary. */
static void obj_read(const struct zs_pool *pool, const struct zspage *zspage, unsigned int obj,
		     unsigned char *buf)
{
	size_t offset = (size_t)obj * zspage->class->size;
	unsigned int first = obj_first_part(zspage, obj);

	memcpy(buf, zspage_byte(pool, zspage, offset), first);
	if (first < zspage->class->size)
		memcpy(buf + first, zspage_byte(pool, zspage, offset + first),
		       zspage->class->size - first);
}

/* Copy @buf (class size bytes) into object @obj, across the page boundary. */
static void obj_write(const struct zs_pool *pool, const struct zspage *zspage, unsigned int obj,
		      const unsigned char *buf)
{
	size_t offset = (size_t)obj * zspage->class->size;
	unsigned int first = obj_first_part(zspage, obj);

	memcpy(zspage_byte(pool, zspage, offset), buf, first);
	if (first < zspage->class->size)
		memcpy(zspage_byte(pool, zspage, offset + first), buf + first,
		       zspage->class->size - first);
}

static bool obj_is_allocated(const struct zspage *zspage, unsigned int obj)
{
	return zspage->obj[obj] & OBJ_ALLOCATED;
}

static size_t obj_slot(const struct zspage *zspage, unsigned int obj)
{
	return zspage->obj[obj] >> OBJ_TAG_BITS;
}

/*
 * Take a free object of @zspage for slot @slot: the free list's first, or
 * else the first never used. Lock held.
 */
static unsigned int obj_take(struct zspage *zspage, size_t slot)
{
	unsigned int obj = zspage->freeobj;

	if (obj != ZS_NO_OBJ)
		zspage->freeobj = (unsigned int)(zspage->obj[obj] >> OBJ_TAG_BITS);
	else
		obj = zspage->fresh_obj++;
	zspage->obj[obj] = (slot << OBJ_TAG_BITS) | OBJ_ALLOCATED;
	zspage->inuse++;
	return obj;
}

/* Put object @obj back on @zspage's free list. Lock held. */
static void obj_put(struct zspage *zspage, unsigned int obj)
{
	zspage->obj[obj] = (unsigned long)zspage->freeobj << OBJ_TAG_BITS;
	zspage->freeobj = obj;
}

/*****************
 * Zspages
 *****************/

/*
 * Allocate a zspage of class @c, its descriptor and its pages, and count
 * them in pages_nr. Pool lock held; on failure every page taken is given
 * back.
 */
static struct zspage *alloc_zspage(struct zs_pool *pool, struct size_class *c)
{
	unsigned int nr = c->pages_per_zspage;
	struct zspage *zspage;

	zspage = malloc(sizeof(*zspage) + c->objs_per_zspage * sizeof(zspage->obj[0]));
	if (!zspage)
		return NULL;
	for (unsigned int i = 0; i < nr; i++) {
		zspage->pages[i] = arena_alloc_page(&pool->arena);
		if (!zspage->pages[i]) {
			while (i--)
				arena_free_page(&pool->arena, zspage->pages[i]);
			free(zspage);
			return NULL;
		}
	}
	atomic_store(&pool->pages_nr, atomic_load(&pool->pages_nr) + nr);
	zspage->class = c;
	list_init(&zspage->list);
	list_init(&zspage->lru);
	zspage->inuse = 0;
	zspage->zombies = 0;
	/* No free list yet: objects are taken in address order from fresh_obj. */
	zspage->freeobj = ZS_NO_OBJ;
	zspage->fresh_obj = 0;
	zspage->group = 0;
	zspage->under_reclaim = false;
	atomic_init(&zspage->pinned, 0);
	zspage->check_gen = 0;
	return zspage;
}

/* Hand a zspage that is on no list back to the arena. Lock held. */
static void free_zspage(struct zs_pool *pool, struct zspage *zspage)
{
	unsigned int pages = zspage->class->pages_per_zspage;

#ifdef ZPOOL_DEBUG
	if (atomic_load(&zspage->pinned))
		zpool_bug("zsmalloc: a zspage of class %u freed while mapped", zspage->class->size);
#endif
	for (unsigned int i = 0; i < pages; i++)
		arena_free_page(&pool->arena, zspage->pages[i]);
	atomic_store(&pool->pages_nr, atomic_load(&pool->pages_nr) - pages);
	free(zspage);
}

/* Bits of the partly used groups in a group_map. */
#define ZS_PARTIAL_MASK (((1u << ZS_NR_PARTIAL) - 1) << 1)

/* The fullest partly used zspage of @c, or NULL. Lock held. */
static struct zspage *find_alloc_zspage(struct size_class *c)
{
	unsigned int partial = c->group_map & ZS_PARTIAL_MASK;

	if (!partial)
		return NULL;
	return list_first_entry(&c->fullness[31 - __builtin_clz(partial)], struct zspage, list);
}

static void lru_move_to_head(struct zs_pool *pool, struct zspage *zspage)
{
	list_del_init(&zspage->lru);
	list_add(&zspage->lru, &pool->lru);
}

/*****************
 * API functions
 *****************/

/**
 * zs_create() - create a zsmalloc pool and its arena
 * @zp: the zpool the pool serves
 * @cfg: capacity and fault injection of the arena
 * @out: set to the new pool
 *
 * The handle table gets room for as many objects as the arena could hold
 * at the smallest size; its chunks are allocated as handles are used.
 *
 * Return: 0, -EINVAL for a bad fault-injection setting, -ENOMEM.
 */
static int zs_create(struct zpool *zp, const struct zpool_config *cfg, void **out)
{
	struct zs_pool *pool = calloc(1, sizeof(*pool));
	size_t max_objs;
	int err;

	if (!pool)
		return -ENOMEM;
	err = arena_init(&pool->arena, cfg);
	if (err) {
		free(pool);
		return err;
	}
	max_objs = pool->arena.max_pages * (ZPOOL_PAGE_SIZE / ZS_MIN_ALLOC_SIZE);
	pool->slot_dir_len = (max_objs + ZS_SLOTS_PER_CHUNK - 1) / ZS_SLOTS_PER_CHUNK;
	pool->slot_dir = calloc(pool->slot_dir_len, sizeof(pool->slot_dir[0]));
	if (!pool->slot_dir || init_classes(pool)) {
		free(pool->slot_dir);
		arena_destroy(&pool->arena);
		free(pool);
		return -ENOMEM;
	}
	pthread_mutex_init(&pool->lock, NULL);
	arena_set_owner_locks(&pool->arena);
	list_init(&pool->lru);
	pool->zpool = zp;
	*out = pool;
	return 0;
}

/**
 * zs_destroy() - destroy an empty zsmalloc pool
 * @p: the pool
 *
 * Must not race other calls.
 *
 * Return: 0, or -EBUSY (the pool untouched) if it still has pages.
 */
static int zs_destroy(void *p)
{
	struct zs_pool *pool = p;

	if (atomic_load(&pool->pages_nr))
		return -EBUSY;
	for (size_t i = 0; i < pool->slot_dir_len && pool->slot_dir[i]; i++)
		free(pool->slot_dir[i]);
	free(pool->slot_dir);
	free(pool->class_store);
	arena_destroy(&pool->arena);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
	return 0;
}

/**
 * zs_malloc() - allocate an object of @size bytes
 * @p: the pool
 * @size: 1..ZPOOL_PAGE_SIZE, checked by the zpool layer
 * @handle: set to the new object's handle
 *
 * Takes an object from the fullest partly used zspage of the size's
 * class; if there is none, allocates a zspage. The zspage moves to the
 * LRU head. Takes the pool lock.
 *
 * Return: 0, or -ENOMEM if a new zspage was needed and the arena (or the
 * C library, for the descriptor and the handle table) had no memory.
 */
static int zs_malloc(void *p, size_t size, unsigned long *handle)
{
	struct zs_pool *pool = p;
	struct size_class *c = pool->class[size_to_class_index(size)];
	struct zspage *zspage, *fresh = NULL;
	unsigned int obj;
	size_t slot;

	pthread_mutex_lock(&pool->lock);
	zspage = find_alloc_zspage(c);
	if (!zspage) {
		fresh = alloc_zspage(pool, c);
		if (!fresh) {
			pthread_mutex_unlock(&pool->lock);
			return -ENOMEM;
		}
		zspage = fresh;
		insert_zspage(pool, zspage);
	}
	slot = alloc_slot(pool, zspage, 0);
	if (slot == SIZE_MAX) {
		if (fresh) {
			remove_zspage(pool, fresh);
			free_zspage(pool, fresh);
		}
		pthread_mutex_unlock(&pool->lock);
		return -ENOMEM;
	}
	obj = obj_take(zspage, slot);
	slot_at(pool, slot)->obj = obj;
	fix_fullness_group(pool, zspage);
	lru_move_to_head(pool, zspage);
	*handle = slot_handle(pool, slot);
	pthread_mutex_unlock(&pool->lock);
	return 0;
}

/**
 * zs_free() - free the object behind @handle
 * @p: the pool
 * @handle: a live handle from zs_malloc()
 *
 * If the zspage is under reclaim, the object becomes a zombie: its slot
 * stays taken (so the handle is not handed out again while the reclaimer
 * may still name it) and zs_reclaim_zspage() releases it. Otherwise the
 * object and its slot are freed, and the zspage moves to the group its
 * use says or, when it was its last object, goes back to the arena. Takes
 * the pool lock (and the arena lock when a zspage is freed).
 */
static void zs_free(void *p, unsigned long handle)
{
	struct zs_pool *pool = p;
	struct zs_slot *slot;
	struct zspage *zspage;
	size_t index;

	pthread_mutex_lock(&pool->lock);
	slot = checked_slot(pool, handle, false, &index);
	zspage = slot->zspage;
	zspage->inuse--;
	if (zspage->under_reclaim && ZPOOL_BUG(zs_reclaim_handle_not_deferred)) {
		obj_put(zspage, slot->obj);
		free_slot(pool, index);
		pthread_mutex_unlock(&pool->lock);
		return;
	}
	if (zspage->under_reclaim) {
		zspage->obj[slot->obj] |= OBJ_ZOMBIE;
		zspage->zombies++;
		slot->state = SLOT_ZOMBIE;
		pool->slots_live--;
		pool->slots_zombie++;
		pthread_mutex_unlock(&pool->lock);
		return;
	}
	obj_put(zspage, slot->obj);
	free_slot(pool, index);
	if (zspage->inuse == 0) {
		remove_zspage(pool, zspage);
		list_del_init(&zspage->lru);
		free_zspage(pool, zspage);
	} else {
		fix_fullness_group(pool, zspage);
	}
	pthread_mutex_unlock(&pool->lock);
}

/* The handle of the first live object of @zspage from @from on, or 0. Lock held. */
static unsigned long next_live_handle(const struct zs_pool *pool, const struct zspage *zspage,
				      unsigned int *from)
{
	for (unsigned int i = *from; i < zspage->fresh_obj; i++) {
		unsigned long word = zspage->obj[i];

		if ((word & OBJ_ALLOCATED) && !(word & OBJ_ZOMBIE)) {
			*from = i + 1;
			return slot_handle(pool, word >> OBJ_TAG_BITS);
		}
	}
	*from = zspage->fresh_obj;
	return 0;
}

/* Release the zombies of a zspage coming back from reclaim. Lock held. */
static void release_zombies(struct zs_pool *pool, struct zspage *zspage)
{
	for (unsigned int i = 0; zspage->zombies && i < zspage->fresh_obj; i++) {
		if (!(zspage->obj[i] & OBJ_ZOMBIE))
			continue;
		free_slot(pool, obj_slot(zspage, i));
		obj_put(zspage, i);
		zspage->zombies--;
	}
}

/**
 * zs_reclaim_zspage() - evict the objects of the coldest zspage and free it
 * @pool: the pool
 * @retries: how many zspages to try before giving up
 * @freed: set to the pages freed on success
 *
 * The zspage at the LRU tail is taken off the LRU and its fullness list
 * and marked under reclaim, under the pool lock: no allocation lands in
 * it and compaction does not see it. Then, one object at a time, the
 * handle of the next live object is read under the lock and the evict
 * callback called for it without the lock. A free of an object of the
 * zspage meanwhile, by the callback or by the owner, makes it a zombie:
 * its handle stays reserved, so a late evict call names no other object,
 * and a late map of it by the callback still finds its bytes. The first
 * refusal stops the walk. Then, under the lock, the zombies are released
 * and the flag cleared: an empty zspage is freed; otherwise it goes back
 * on its fullness list and at the LRU head, and the next tail is tried,
 * up to @retries zspages.
 *
 * Takes the pool lock; calls the evict callback without it.
 *
 * Return: 0 if a zspage was freed; -EINVAL if there is no evict callback,
 * @retries is 0 or the LRU is empty; -EAGAIN if @retries zspages were
 * tried and none could be freed.
 */
static int zs_reclaim_zspage(struct zs_pool *pool, unsigned int retries, unsigned int *freed)
{
	struct zspage *zspage;

	if (!zpool_can_evict(pool->zpool) || retries == 0)
		return -EINVAL;
	pthread_mutex_lock(&pool->lock);
	for (unsigned int i = 0; i < retries; i++) {
		unsigned int from = 0;
		unsigned long handle;

		if (list_empty(&pool->lru)) {
			pthread_mutex_unlock(&pool->lock);
			return i ? -EAGAIN : -EINVAL;
		}
		zspage = list_last_entry(&pool->lru, struct zspage, lru);
		list_del_init(&zspage->lru);
		remove_zspage(pool, zspage);
		zspage->under_reclaim = true;
		pool->reclaim_nr++;
		pool->reclaim_pages += zspage->class->pages_per_zspage;
		while ((handle = next_live_handle(pool, zspage, &from)) != 0) {
			int ret;

			pthread_mutex_unlock(&pool->lock);
			ret = zpool_evict(pool->zpool, handle);
			pthread_mutex_lock(&pool->lock);
			if (ret)
				break;
		}
		zspage->under_reclaim = false;
		pool->reclaim_nr--;
		pool->reclaim_pages -= zspage->class->pages_per_zspage;
		release_zombies(pool, zspage);
		if (zspage->inuse == 0) {
			*freed = zspage->class->pages_per_zspage;
			free_zspage(pool, zspage);
			pthread_mutex_unlock(&pool->lock);
			return 0;
		}
		insert_zspage(pool, zspage);
		list_add(&zspage->lru, &pool->lru);
	}
	pthread_mutex_unlock(&pool->lock);
	return -EAGAIN;
}

/**
 * zs_shrink() - reclaim at least @pages pages
 * @p: the pool
 * @pages: pages to reclaim, at least 1
 * @reclaimed: set to the pages reclaimed
 *
 * Frees whole zspages through zs_reclaim_zspage() (ZS_SHRINK_RETRIES
 * tries each) until @pages pages are freed: the last zspage may take the
 * count past @pages, by less than its length, and @reclaimed says so.
 * Takes the pool lock; evicts without it.
 *
 * Return: 0, or the first error of zs_reclaim_zspage().
 */
static int zs_shrink(void *p, unsigned int pages, unsigned int *reclaimed)
{
	unsigned int done = 0;
	int err = 0;

	while (done < pages) {
		unsigned int freed = 0;

		err = zs_reclaim_zspage(p, ZS_SHRINK_RETRIES, &freed);
		if (err)
			break;
		done += freed;
	}
	*reclaimed = done;
	return err;
}

/**
 * zs_map() - reach the object behind @handle
 * @p: the pool
 * @handle: a live handle (or, from the evict callback, a zombie)
 * @mm: ZPOOL_MM_RO: the bytes are not copied back; WO: not copied in
 *
 * Pins the object's zspage so that compaction leaves the object where it
 * is until zs_unmap(). An object within one page is mapped in place; a
 * spanning one is copied (unless @mm is WO) into the next of this
 * thread's ZS_MAP_DEPTH buffers, under the pool lock. Takes the pool lock.
 *
 * Return: the object's first byte.
 */
static void *zs_map(void *p, unsigned long handle, enum zpool_mapmode mm)
{
	struct zs_pool *pool = p;
	struct zs_mapping *m;
	struct zs_slot *slot;
	struct zspage *zspage;
	void *addr;

	pthread_mutex_lock(&pool->lock);
	slot = checked_slot(pool, handle, true, NULL);
	zspage = slot->zspage;
	atomic_fetch_add_explicit(&zspage->pinned, 1, memory_order_relaxed);
	if (!obj_spans(zspage, slot->obj)) {
		addr = zspage_byte(pool, zspage, (size_t)slot->obj * zspage->class->size);
		pthread_mutex_unlock(&pool->lock);
		return addr;
	}
	if (zs_map_depth == ZS_MAP_DEPTH)
		zpool_bug("zsmalloc: more than %d spanning objects mapped by one thread",
			  ZS_MAP_DEPTH);
	m = &zs_maps[zs_map_depth++];
	m->pool = pool;
	m->handle = handle;
	m->mm = mm;
	if (mm != ZPOOL_MM_WO)
		obj_read(pool, zspage, slot->obj, m->buf);
	pthread_mutex_unlock(&pool->lock);
	return m->buf;
}

/*
 * This thread's most recent mapping of @handle of @pool, taken off the
 * stack (moving the ones above it down), copied to @out.
 */
static bool take_mapping(const struct zs_pool *pool, unsigned long handle, struct zs_mapping **out)
{
	for (int i = zs_map_depth - 1; i >= 0; i--) {
		if (zs_maps[i].pool != pool || zs_maps[i].handle != handle)
			continue;
		*out = &zs_maps[i];
		return true;
	}
	return false;
}

/* Drop mapping @m from this thread's stack, keeping the others in order. */
static void drop_mapping(struct zs_mapping *m)
{
	int i = (int)(m - zs_maps);

	for (; i + 1 < zs_map_depth; i++)
		memcpy(&zs_maps[i], &zs_maps[i + 1], sizeof(zs_maps[i]));
	zs_map_depth--;
}

/**
 * zs_unmap() - end a zs_map()
 * @p: the pool
 * @handle: the handle mapped
 *
 * A spanning object mapped WO or RW is copied back under the pool lock.
 * The pin is then dropped: with a release store, and for an object mapped
 * in place without the lock (the slot cannot change while pinned).
 */
static void zs_unmap(void *p, unsigned long handle)
{
	struct zs_pool *pool = p;
	size_t index = (handle & HANDLE_SLOT_MASK) - 1;
	struct zs_mapping *m;
	struct zs_slot *slot;
	struct zspage *zspage;

	/*
	 * No lock: the slot of a mapped handle does not change, and the
	 * chunk holding it was made before zs_map() took the lock.
	 */
	if (index / ZS_SLOTS_PER_CHUNK >= pool->slot_dir_len ||
	    !pool->slot_dir[index / ZS_SLOTS_PER_CHUNK])
		zpool_bug("zsmalloc: unmap of handle %#lx: no such handle", handle);
	slot = slot_at(pool, index);
	/*
	 * The generation, not the state: a mapped object may turn zombie (its
	 * owner freed it during reclaim) under the mapper, but its slot is
	 * released, and its generation bumped, only once reclaim is done.
	 */
	if (slot->gen != ((handle >> HANDLE_GEN_SHIFT) & HANDLE_GEN_MASK))
		zpool_bug("zsmalloc: unmap of handle %#lx: the object was freed", handle);
	zspage = slot->zspage;
	if (obj_spans(zspage, slot->obj)) {
		if (!take_mapping(pool, handle, &m))
			zpool_bug("zsmalloc: unmap of handle %#lx, not mapped by this thread",
				  handle);
		if (m->mm != ZPOOL_MM_RO) {
			pthread_mutex_lock(&pool->lock);
			if (ZPOOL_BUG(zs_unmap_first_page_only))
				memcpy(zspage_byte(pool, zspage,
						   (size_t)slot->obj * zspage->class->size),
				       m->buf, obj_first_part(zspage, slot->obj));
			else
				obj_write(pool, zspage, slot->obj, m->buf);
			atomic_fetch_sub_explicit(&zspage->pinned, 1, memory_order_release);
			pthread_mutex_unlock(&pool->lock);
			drop_mapping(m);
			return;
		}
		drop_mapping(m);
	}
	atomic_fetch_sub_explicit(&zspage->pinned, 1, memory_order_release);
}

/*****************
 * Compaction
 *****************/

/* The emptiest partly used zspage of @c that no one has mapped, or NULL. Lock held. */
static struct zspage *find_compact_source(struct size_class *c)
{
	struct list_head *pos;

	for (unsigned int g = 1; g <= ZS_NR_PARTIAL; g++) {
		list_for_each(pos, &c->fullness[g]) {
			struct zspage *zspage = list_entry(pos, struct zspage, list);

			if (!atomic_load_explicit(&zspage->pinned, memory_order_acquire) ||
			    ZPOOL_BUG(zs_compact_moves_mapped))
				return zspage;
		}
	}
	return NULL;
}

/* The fullest partly used zspage of @c other than @src, or NULL. Lock held. */
static struct zspage *find_compact_dest(struct size_class *c, const struct zspage *src)
{
	struct list_head *pos;

	for (unsigned int g = ZS_NR_PARTIAL; g >= 1; g--) {
		list_for_each(pos, &c->fullness[g]) {
			struct zspage *zspage = list_entry(pos, struct zspage, list);

			if (zspage != src)
				return zspage;
		}
	}
	return NULL;
}

/*
 * Move object @obj of @src into a free object of @dst: the bytes, then
 * the slot, which now names the new place. Lock held; @src unpinned.
 */
static void migrate_object(struct zs_pool *pool, struct zspage *src, unsigned int obj,
			   struct zspage *dst)
{
	unsigned char buf[ZPOOL_PAGE_SIZE];
	size_t index = obj_slot(src, obj);
	struct zs_slot *slot = slot_at(pool, index);
	unsigned int to;

	obj_read(pool, src, obj, buf);
	to = obj_take(dst, index);
	obj_write(pool, dst, to, buf);
	slot->zspage = dst;
	slot->obj = to;
	obj_put(src, obj);
	src->inuse--;
}

/*
 * One step of compaction in @c: move objects from the emptiest unpinned
 * zspage into the fullest other one until the source is empty (and freed)
 * or the destination full. Lock held.
 *
 * Return: pages freed (0 or the zspage length), or -1 when there is no
 * pair to work on.
 */
static int compact_step(struct zs_pool *pool, struct size_class *c)
{
	struct zspage *src = find_compact_source(c), *dst;

	if (!src)
		return -1;
	dst = find_compact_dest(c, src);
	if (!dst)
		return -1;
	for (unsigned int i = 0; i < src->fresh_obj && src->inuse; i++) {
		if (!obj_is_allocated(src, i))
			continue;
		if (dst->inuse == c->objs_per_zspage)
			break;
		migrate_object(pool, src, i, dst);
	}
	fix_fullness_group(pool, dst);
	if (src->inuse == 0) {
		remove_zspage(pool, src);
		list_del_init(&src->lru);
		free_zspage(pool, src);
		if (ZPOOL_BUG(zs_compact_pages_not_uncounted))
			atomic_store(&pool->pages_nr,
				     atomic_load(&pool->pages_nr) + c->pages_per_zspage);
		return (int)c->pages_per_zspage;
	}
	fix_fullness_group(pool, src);
	return 0;
}

/**
 * zs_compact() - move objects out of sparse zspages and free them
 * @p: the pool
 * @pages_freed: set to the pages given back to the arena
 *
 * For each class, compact_step() until no pair of partly used zspages is
 * left: each step empties its source or fills its destination, so the
 * walk ends. The pool lock is taken for one step at a time, so that
 * allocations, frees and maps of other threads go on between steps; a
 * zspage that is mapped is not moved out of, and one under reclaim is on
 * no list and is not seen at all.
 *
 * Return: 0.
 */
static int zs_compact(void *p, unsigned long *pages_freed)
{
	struct zs_pool *pool = p;
	uint64_t map[(ZS_NR_CLASSES + 63) / 64];
	unsigned long freed = 0;

	/* The classes that have zspages now; one that gains some later waits for the next pass. */
	pthread_mutex_lock(&pool->lock);
	memcpy(map, pool->class_map, sizeof(map));
	pthread_mutex_unlock(&pool->lock);
	for (unsigned int w = 0; w < (ZS_NR_CLASSES + 63) / 64; w++) {
		for (; map[w]; map[w] &= map[w] - 1) {
			struct size_class *c = pool->class[w * 64 + __builtin_ctzll(map[w])];
			int ret;

			/* Bounded: under a stream of frees, a class never runs out of pairs. */
			for (size_t step = 0; step <= pool->arena.max_pages; step++) {
				pthread_mutex_lock(&pool->lock);
				ret = compact_step(pool, c);
				pthread_mutex_unlock(&pool->lock);
				if (ret < 0)
					break;
				freed += (unsigned long)ret;
			}
		}
	}
	*pages_freed = freed;
	return 0;
}

/*****************
 * Size, check and statistics
 *****************/

/**
 * zs_total_size() - bytes held by the pool
 * @p: the pool
 *
 * Lock-free: pages_nr is atomic for exactly this reader.
 *
 * Return: pages of the pool times the page size.
 */
static uint64_t zs_total_size(const void *p)
{
	const struct zs_pool *pool = p;

	return (uint64_t)atomic_load(&pool->pages_nr) * ZPOOL_PAGE_SIZE;
}

/* Check the objects and free list of one zspage; counts its live objects into @live. */
static int check_zspage_objects(struct zs_pool *pool, struct zspage *zspage, size_t nr,
				size_t *live, char *why, size_t len)
{
	const struct size_class *c = zspage->class;
	unsigned int allocated = 0, zombies = 0, free_nr = 0;

	for (unsigned int i = 0; i < zspage->fresh_obj; i++) {
		unsigned long word = zspage->obj[i];
		size_t index = word >> OBJ_TAG_BITS;
		struct zs_slot *slot;

		if (!(word & OBJ_ALLOCATED))
			continue;
		if (index >= pool->slots_made)
			return zpool_why(why, len,
					 "zspage %zu object %u names slot %zu, never made", nr, i,
					 index);
		slot = slot_at(pool, index);
		if (slot->zspage != zspage || slot->obj != i)
			return zpool_why(why, len,
					 "zspage %zu object %u: its slot %zu does not point back",
					 nr, i, index);
		if (word & OBJ_ZOMBIE) {
			zombies++;
			if (slot->state != SLOT_ZOMBIE)
				return zpool_why(
				    why, len, "zspage %zu object %u is a zombie, its slot is not",
				    nr, i);
		} else if (slot->state != SLOT_LIVE) {
			return zpool_why(why, len, "zspage %zu object %u is live, its slot is not",
					 nr, i);
		}
		allocated++;
	}
	for (unsigned int o = zspage->freeobj; o != ZS_NO_OBJ;
	     o = (unsigned int)(zspage->obj[o] >> OBJ_TAG_BITS)) {
		if (o >= zspage->fresh_obj || ++free_nr > c->objs_per_zspage)
			return zpool_why(why, len, "zspage %zu: its free list is broken", nr);
		if (obj_is_allocated(zspage, o))
			return zpool_why(why, len,
					 "zspage %zu: allocated object %u on its free list", nr, o);
	}
	if (allocated - zombies != zspage->inuse || zombies != zspage->zombies)
		return zpool_why(
		    why, len,
		    "zspage %zu: inuse %u and %u zombies, but %u objects allocated and "
		    "%u zombies found",
		    nr, zspage->inuse, zspage->zombies, allocated, zombies);
	if (zspage->fresh_obj > c->objs_per_zspage ||
	    free_nr + allocated + (c->objs_per_zspage - zspage->fresh_obj) != c->objs_per_zspage)
		return zpool_why(
		    why, len,
		    "zspage %zu: %u listed free + %u allocated + %u never used objects, "
		    "not %u",
		    nr, free_nr, allocated, c->objs_per_zspage - zspage->fresh_obj,
		    c->objs_per_zspage);
	*live += allocated - zombies;
	return 0;
}

/* Check one zspage found on fullness list @group of @c. */
static int check_zspage(struct zs_pool *pool, struct size_class *c, struct zspage *zspage,
			unsigned int group, size_t nr, size_t *live, char *why, size_t len)
{
	if (zspage->class != c)
		return zpool_why(why, len, "zspage %zu of class %u is on a list of class %u", nr,
				 zspage->class->size, c->size);
	if (zspage->under_reclaim)
		return zpool_why(why, len, "zspage %zu under reclaim is on a fullness list", nr);
	if (zspage->check_gen == pool->check_gen)
		return zpool_why(why, len, "zspage %zu is on more than one fullness list", nr);
	zspage->check_gen = pool->check_gen;
	if (group == 0 || zspage->inuse == 0)
		return zpool_why(why, len, "empty zspage %zu of class %u is still in the pool", nr,
				 c->size);
	if (zspage->group != group || fullness_group(c, zspage->inuse) != group)
		return zpool_why(why, len,
				 "zspage %zu of class %u with %u of %u objects is in group %u "
				 "(filed as %u)",
				 nr, c->size, zspage->inuse, c->objs_per_zspage, group,
				 zspage->group);
	if (zspage->zombies)
		return zpool_why(why, len, "zspage %zu on a fullness list holds zombies", nr);
	for (unsigned int i = 0; i < c->pages_per_zspage; i++) {
		struct arena_page *pg = zspage->pages[i];

		if (!pg || !(pg->flags & ARENA_PG_USED))
			return zpool_why(why, len,
					 "zspage %zu page %u is not allocated in the arena", nr, i);
		if (pg->check_gen == pool->check_gen)
			return zpool_why(why, len, "arena page %zu is in two zspages",
					 (size_t)(pg - pool->arena.pages));
		pg->check_gen = pool->check_gen;
	}
	return check_zspage_objects(pool, zspage, nr, live, why, len);
}

/* Check one class: its lists (bounded, in case one is cyclic) and its zspage count. */
static int check_class(struct zs_pool *pool, struct size_class *c, size_t *zspages, size_t *pages,
		       size_t *live, char *why, size_t len)
{
	size_t found = 0;

	if (c->group_map >> ZS_NR_GROUPS)
		return zpool_why(why, len, "class %u: group map %#x names no group", c->size,
				 c->group_map);
	for (unsigned int map = c->group_map; map; map &= map - 1) {
		unsigned int g = (unsigned int)__builtin_ctz(map);
		struct list_head *pos;

		if (list_empty(&c->fullness[g]))
			return zpool_why(why, len, "class %u: group %u is marked but empty",
					 c->size, g);
		list_for_each(pos, &c->fullness[g]) {
			int err;

			if (++found > pool->arena.max_pages)
				return zpool_why(
				    why, len, "class %u: a fullness list is longer than the arena",
				    c->size);
			err = check_zspage(pool, c, list_entry(pos, struct zspage, list), g,
					   *zspages + found, live, why, len);
			if (err)
				return err;
		}
	}
	if (found != c->zspages)
		return zpool_why(why, len, "class %u counts %zu zspages but %zu are on its lists",
				 c->size, c->zspages, found);
	*zspages += found;
	*pages += found * c->pages_per_zspage;
	return 0;
}

/* Every zspage on the LRU is on a fullness list, once. */
static int check_lru(struct zs_pool *pool, size_t zspages, char *why, size_t len)
{
	struct list_head *pos;
	size_t on_lru = 0;

	list_for_each(pos, &pool->lru) {
		struct zspage *zspage = list_entry(pos, struct zspage, lru);

		if (++on_lru > zspages)
			return zpool_why(why, len, "the LRU holds more than the %zu zspages listed",
					 zspages);
		if (zspage->check_gen != pool->check_gen)
			return zpool_why(
			    why, len,
			    "a zspage on the LRU is on no fullness list, or on the LRU twice");
		zspage->check_gen = pool->check_gen - 1;
	}
	if (on_lru != zspages)
		return zpool_why(why, len, "%zu zspages listed but %zu on the LRU", zspages,
				 on_lru);
	return 0;
}

/**
 * zs_check() - verify the pool's invariants
 * @p: the pool
 * @why: receives the first broken invariant
 * @len: size of @why
 *
 * Each class's table entry agrees with its shape; each zspage not under
 * reclaim is on exactly one fullness list, of its class, under the group
 * its use says, and on the LRU exactly once; its pages are allocated and
 * in no other zspage; each allocated object's slot points back to it;
 * its free list is sound and inuse counts what is allocated; the live
 * slots are the live objects; pages_nr is the pages of the zspages found
 * plus those under reclaim, and agrees with the arena. Takes the pool lock.
 *
 * Return: 0, or -EUCLEAN with the first broken invariant in @why.
 */
static int zs_check(void *p, char *why, size_t len)
{
	struct zs_pool *pool = p;
	size_t zspages = 0, pages = 0, live = 0, pages_nr, in_use;
	int err = 0;

	pthread_mutex_lock(&pool->lock);
	pool->check_gen += 2; /* check_lru() marks with check_gen - 1 */
	/*
	 * Only the classes and groups the maps mark are walked (a check after
	 * every fuzzer operation must be cheap): a zspage on an unmarked list
	 * is still on the LRU, where check_lru() finds it unvisited, or else
	 * missing from the page count.
	 */
	for (unsigned int w = 0; w < (ZS_NR_CLASSES + 63) / 64 && !err; w++) {
		for (uint64_t map = pool->class_map[w]; map && !err; map &= map - 1) {
			unsigned int i = w * 64 + (unsigned int)__builtin_ctzll(map);
			struct size_class *c = i < ZS_NR_CLASSES ? pool->class[i] : NULL;

			if (!c || c->index != i || !c->zspages)
				err = zpool_why(
				    why, len, "class map marks entry %u, not a class with zspages",
				    i);
			else
				err = check_class(pool, c, &zspages, &pages, &live, why, len);
		}
	}
	if (!err)
		err = check_lru(pool, zspages, why, len);
	if (!err && pool->reclaim_nr == 0 && live != pool->slots_live)
		err = zpool_why(why, len, "%zu live slots but %zu live objects", pool->slots_live,
				live);
	if (!err && pool->reclaim_nr == 0 && pool->slots_zombie)
		err = zpool_why(why, len, "%zu zombie slots while nothing is under reclaim",
				pool->slots_zombie);
	pages_nr = atomic_load(&pool->pages_nr);
	in_use = atomic_load(&pool->arena.in_use);
	if (!err && pages + pool->reclaim_pages != pages_nr)
		err =
		    zpool_why(why, len, "pages_nr is %zu but %zu pages found and %zu under reclaim",
			      pages_nr, pages, pool->reclaim_pages);
	if (!err && in_use != pages_nr)
		err = zpool_why(why, len, "pages_nr is %zu but the arena has %zu in use", pages_nr,
				in_use);
	pthread_mutex_unlock(&pool->lock);
	return err;
}

/* zs_stats() - the page counters, from pages_nr and the arena; lock-free. */
static void zs_stats(const void *p, struct zpool_stats *st)
{
	const struct zs_pool *pool = p;
	const struct arena *a = &pool->arena;

	st->pages = atomic_load(&pool->pages_nr);
	st->peak_pages = atomic_load(&a->peak);
	st->max_pages = a->max_pages;
	st->page_allocs = atomic_load(&a->allocs);
	st->page_alloc_failures = atomic_load(&a->failures);
	st->injected_failures = atomic_load(&a->injected);
}

const struct zpool_driver zsmalloc_zpool_driver = {
	.type = "zsmalloc",
	.create = zs_create,
	.destroy = zs_destroy,
	.malloc = zs_malloc,
	.free = zs_free,
	.shrink = zs_shrink,
	.map = zs_map,
	.unmap = zs_unmap,
	.total_size = zs_total_size,
	.check = zs_check,
	.stats = zs_stats,
	.compact = zs_compact,
};
