/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * list.h - intrusive circular doubly linked lists, internal to zpool-harness
 *
 * The backends keep their pages on lists threaded through the page
 * descriptors, as the kernel does through struct page; this is the minimum
 * of that idiom the project needs.
 */
#ifndef ZPOOL_LIST_H
#define ZPOOL_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list_head {
	struct list_head *next, *prev;
};

#define container_of(ptr, type, member)	     ((type *)((char *)(ptr)-offsetof(type, member)))
#define list_entry(ptr, type, member)	     container_of(ptr, type, member)
#define list_first_entry(head, type, member) list_entry((head)->next, type, member)
#define list_last_entry(head, type, member)  list_entry((head)->prev, type, member)
#define list_for_each(pos, head)	     for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)

static inline void list_init(struct list_head *h)
{
	h->next = h;
	h->prev = h;
}

static inline bool list_empty(const struct list_head *h)
{
	return h->next == h;
}

static inline void list_insert_between(struct list_head *n, struct list_head *prev,
				       struct list_head *next)
{
	next->prev = n;
	n->next = next;
	n->prev = prev;
	prev->next = n;
}

/* list_add() - insert @n at the head of @h (the hot end of an LRU). */
static inline void list_add(struct list_head *n, struct list_head *h)
{
	list_insert_between(n, h, h->next);
}

/* list_add_tail() - insert @n at the tail of @h. */
static inline void list_add_tail(struct list_head *n, struct list_head *h)
{
	list_insert_between(n, h->prev, h);
}

/*
 * list_del_init() - unlink @n and leave it self-linked, so that a later
 * list_empty(n) tells it is on no list.
 */
static inline void list_del_init(struct list_head *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	list_init(n);
}

#endif /* ZPOOL_LIST_H */
