/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cursor.bpf.h - a packet cursor over direct packet access (skb->data .. skb->data_end).
 *
 *   struct cursor c;
 *   cursor_init_skb(&c, skb);
 *   struct ethhdr *eth = cursor_pull(&c, sizeof(*eth));   (NULL: packet too short)
 *
 * Every pull compares the would-be end with data_end right before handing out the
 * pointer, so the verifier sees "pkt pointer + n <= pkt_end" for exactly the bytes the
 * caller reads (the check the pkt-no-check and pkt-off-by-one twins lack). Sizes must be
 * constants or bounded scalars (<= CURSOR_MAX_PULL): a packet pointer plus an unbounded
 * scalar is rejected (the pkt-unbounded-min twin). Kernel: 4.x (direct packet access
 * for tc since 4.7). For sk_skb, where data_end - data can be 0, copy with
 * dns_msg_load (scratch.bpf.h) instead.
 */
#ifndef FQDNKIT_CURSOR_BPF_H
#define FQDNKIT_CURSOR_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define CURSOR_MAX_PULL 0xff	/* largest variable pull: keeps pkt offsets far below 0xffff */

struct cursor {
	void *data;	/* start of the packet (for offsets) */
	void *pos;	/* next unread byte */
	void *end;	/* data_end */
};

/** cursor_init_skb - start at skb->data. Kernel: 4.7. */
static __always_inline void cursor_init_skb(struct cursor *c, struct __sk_buff *skb)
{
	c->data = (void *)(long)skb->data;
	c->pos = c->data;
	c->end = (void *)(long)skb->data_end;
}

/**
 * cursor_pull - hand out @n bytes at the cursor and advance past them.
 * @c: cursor
 * @n: byte count, a constant or a scalar the verifier knows is <= CURSOR_MAX_PULL
 *
 * Bounds relied on: the comparison pos + n <= end right here (revalidated on every pull;
 * never cache a "remaining" count across pulls: the verifier tracks the packet range
 * per pointer, not arithmetic on lengths).
 * Return: pointer to the n bytes, or NULL when fewer than n bytes remain.
 */
static __always_inline void *cursor_pull(struct cursor *c, __u32 n)
{
	void *p = c->pos;

	if (n > CURSOR_MAX_PULL)
		return NULL;
	if (p + n > c->end)
		return NULL;
	c->pos = p + n;
	return p;
}

/** cursor_offset - bytes consumed since skb->data (for bpf_skb_load_bytes offsets). */
static __always_inline __u32 cursor_offset(const struct cursor *c)
{
	return (__u32)(c->pos - c->data);
}

#endif
