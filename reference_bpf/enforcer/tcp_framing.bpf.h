/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcp_framing.bpf.h - frame DNS-over-TCP messages (2-byte length prefix, RFC 1035 4.2.2)
 * in both directions of a workload's connection to a resolver, with state per direction:
 *
 *   FQK_TCP_RX  answers: the skbs the sk_skb verdict sees (sk_skb.bpf.c); each complete
 *               message goes to fqk_process_msg (learn.bpf.h). State: fqk_tcp_state_map.
 *   FQK_TCP_TX  queries: the data of each sendmsg the sk_msg verdict sees (sk_msg.bpf.c);
 *               each complete message is recorded by fqk_record_query (datapath.bpf.h,
 *               the function UDP queries go through). State: socket storage fqk_sock_tx.
 *
 * Both programs see their direction's byte stream exactly once, in order, from the first
 * byte of each skb / sendmsg (the sk_skb verdict runs without a stream parser; sk_msg runs
 * before TCP and never sees a retransmission), and one skb or write can hold several
 * messages or part of one (FACTS). fqk_tcp_state keeps how much of the length prefix and
 * of the body has been seen and the body bytes so far. A message whole in the skb/write is
 * copied straight into the scratch; a split one is accumulated in state->buf and copied to
 * the scratch when it completes. A length prefix above DNS_MSG_MAX, an skb/write longer
 * than FQK_TCP_SKB_MAX or more messages in one than FQK_TCP_STEPS mark that direction
 * broken (nothing more is parsed or recorded on it: fail closed, FQK_TCP_FRAMING).
 *
 * fqk_tcp_frame() is the one framing step, inlined with a constant direction into the
 * two global step functions: fqk_tcp_consume() below (rx) and fqk_msg_consume()
 * (sk_msg.bpf.c, tx). Each step is normally one whole message (prefix and body), or the
 * part of a split prefix/body this skb/write holds; the programs call the step function
 * in a bounded loop of FQK_TCP_STEPS.
 */
#ifndef FQDNKIT_TCP_FRAMING_BPF_H
#define FQDNKIT_TCP_FRAMING_BPF_H

#include "datapath.bpf.h"	/* fqk_record_query; learn.bpf.h, dns_socks.bpf.h */

/* Steps per skb: one per whole message. A receive skb can carry a 64 KiB GSO segment of
 * the resolver's (veth keeps them whole) and a DNS response with its prefix is >= 19 bytes
 * (12-byte header, root question): 3450 messages at most. */
#define FQK_TCP_STEPS 3584
#define FQK_TCP_SKB_MAX 0xffff	/* a longer skb (GSO keeps them <= 64 KiB) breaks the stream */

/* an all-zero state to initialise new entries from (8 KiB does not fit the stack) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fqk_tcp_state);
} fqk_tcp_zero SEC(".maps");

struct fqk_copy_ctx {
	struct fqk_scratch *s;
	struct fqk_tcp_state *st;
	__u32 n;
};

static long fqk_copy_step(__u32 i, void *ctx)
{
	struct fqk_copy_ctx *c = ctx;
	__u32 o = i * 8;

	if (o >= c->n)
		return 1;
	*(__u64 *)&c->s->msg[o & (DNS_MSG_MASK & ~7)] =
		*(__u64 *)&c->st->buf[o & (DNS_MSG_MASK & ~7)];
	return 0;
}

#ifndef FQK_TCP_FIXED_CONN
/* fqk_conn_of_skb - the connection of an sk_skb skb: local = workload, remote = resolver */
static __always_inline void fqk_conn_of_skb(struct __sk_buff *skb, struct fqk_conn *c)
{
	__u32 rp = skb->remote_port;

	__builtin_memset(c, 0, sizeof(*c));
	if (skb->family == 2 /* AF_INET */) {
		ip_map4(c->waddr, skb->local_ip4);
		ip_map4(c->raddr, skb->remote_ip4);
	} else {
		__u32 *w = (__u32 *)c->waddr, *r = (__u32 *)c->raddr;

		w[0] = skb->local_ip6[0];
		w[1] = skb->local_ip6[1];
		w[2] = skb->local_ip6[2];
		w[3] = skb->local_ip6[3];
		r[0] = skb->remote_ip6[0];
		r[1] = skb->remote_ip6[1];
		r[2] = skb->remote_ip6[2];
		r[3] = skb->remote_ip6[3];
	}
	/* remote_port: network order, shifted into the upper half on little endian */
	c->rport = rp > 0xffff ? bpf_ntohl(rp) : bpf_ntohs(rp);
	c->wport = skb->local_port;
}
#endif

/* fqk_tcp_mark_broken - stop parsing the stream of @skb (framing can no longer be kept) */
static __always_inline void fqk_tcp_mark_broken(struct __sk_buff *skb)
{
	struct fqk_scratch *s = fqk_scratch_get();
	struct fqk_tcp_state *st;

	if (!s)
		return;
	st = bpf_map_lookup_elem(&fqk_tcp_state_map, &s->conn);
	if (st)
		st->broken = 1;
	fqk_count(FQK_TCP_FRAMING);
}

#define FQK_TCP_RX 0	/* resolver -> workload: answers (sk_skb) */
#define FQK_TCP_TX 1	/* workload -> resolver: queries (sk_msg) */

/* fqk_msg_load - copy @sz bytes at offset @off of an sk_msg's data into @dst (the
 * data is a scatterlist: bpf_msg_pull_data makes the range linear first; it moves no
 * byte of the message, so SK_PASS still sends the application's data unchanged) */
static __always_inline long fqk_msg_load(struct sk_msg_md *msg, __u32 off, void *dst, __u32 sz)
{
	void *d, *end;

	if (bpf_msg_pull_data(msg, off, off + sz, 0))
		return -1;
	d = (void *)(long)msg->data;
	end = (void *)(long)msg->data_end;
	if (d + sz > end)
		return -1;
	return bpf_probe_read_kernel(dst, sz, d);
}

/* fqk_tcp_load - bytes of the stream of direction @dir (a constant) */
static __always_inline long fqk_tcp_load(void *ctx, __u32 dir, __u32 off, void *dst, __u32 sz)
{
	if (dir == FQK_TCP_RX)
		return bpf_skb_load_bytes(ctx, off, dst, sz);
	return fqk_msg_load(ctx, off, dst, sz);
}

/* fqk_tcp_deliver - a complete message of @need bytes is in s->msg */
static __always_inline void fqk_tcp_deliver(struct fqk_scratch *s, __u32 need, __u32 dir,
					    __u32 mode, __u64 wid)
{
	if (dir == FQK_TCP_RX)
		fqk_process_msg(need, mode);
	else
		fqk_record_query(s, need, wid, &s->t);
}

/**
 * fqk_tcp_frame - one framing step of direction @dir at payload offset @pos.
 * @ctx:  the skb (rx) or sk_msg (tx); payload byte i is at @base + i, @len bytes in all
 * @st:   this direction's state; @wid: the workload (tx: the owner of recorded queries)
 * Return: the next position, or -1 when the data is used up (or the stream is broken).
 */
static __always_inline int fqk_tcp_frame(void *ctx, struct fqk_scratch *s,
					 struct fqk_tcp_state *st, __u32 pos, __u32 len,
					 __u32 base, __u32 dir, __u32 mode, __u64 wid)
{
	struct fqk_copy_ctx cc;
	__u32 n, need;
	__u8 b[2];

	if (st->broken)
		return -1;
	if (len > FQK_TCP_SKB_MAX) {
		st->broken = 1;
		fqk_count(FQK_TCP_FRAMING);
		return -1;
	}
	if (st->plen < 2) {
		if (st->plen == 0) {
			if (len - pos < 2) {
				/* one prefix byte at the end of this skb/write */
				if (fqk_tcp_load(ctx, dir, base + pos, b, 1) < 0)
					return -1;
				st->p0 = b[0];
				st->plen = 1;
				return pos + 1;
			}
			if (fqk_tcp_load(ctx, dir, base + pos, b, 2) < 0)
				return -1;
			pos += 2;
		} else {
			if (fqk_tcp_load(ctx, dir, base + pos, &b[1], 1) < 0)
				return -1;
			b[0] = st->p0;
			pos += 1;
		}
		need = ((__u32)b[0] << 8) | b[1];
		if (need > DNS_MSG_MAX) {
			st->broken = 1;
			fqk_count(FQK_TCP_FRAMING);
			return -1;
		}
		st->need = need;
		st->have = 0;
		st->plen = 2;
		/* the body follows in the same step (zero-length message: complete at once) */
	}
	need = st->need;
	if (need > DNS_MSG_MAX || st->have > need)
		return -1;
	n = need - st->have;
	if (n > len - pos)
		n = len - pos;
	if (n > 0 && n <= DNS_MSG_MAX) {
		__u32 sz = ((n - 1) & DNS_MSG_MASK) + 1;	/* verifier: size in [1, DNS_MSG_MAX] */

		if (st->have == 0 && n == need) {
			/* whole message in this skb/write: straight into the scratch */
			if (fqk_tcp_load(ctx, dir, base + pos, s->msg, sz) < 0)
				return -1;
		} else {
			if (fqk_tcp_load(ctx, dir, base + pos, &st->buf[st->have & DNS_MSG_MASK], sz) < 0)
				return -1;
		}
	}
	pos += n;
	if (st->have == 0 && n == need) {
		st->plen = 0;
		fqk_tcp_deliver(s, need, dir, mode, wid);
		return pos;
	}
	st->have += n;
	if (st->have < need)
		return pos;
	cc.s = s;
	cc.st = st;
	cc.n = need;
	bpf_loop(DNS_MSG_MAX / 8, fqk_copy_step, &cc, 0);
	st->plen = 0;
	st->have = 0;
	fqk_tcp_deliver(s, need, dir, mode, wid);
	return pos;
}

/* fqk_tcp_state_of - the framing state of s->conn, created (all zero) if missing */
static __always_inline struct fqk_tcp_state *fqk_tcp_state_of(struct fqk_scratch *s)
{
	struct fqk_tcp_state *st = bpf_map_lookup_elem(&fqk_tcp_state_map, &s->conn);
	struct fqk_tcp_state *init;
	__u32 zero = 0;

	if (st)
		return st;
	init = bpf_map_lookup_elem(&fqk_tcp_zero, &zero);
	if (!init)
		return 0;
	bpf_map_update_elem(&fqk_tcp_state_map, &s->conn, init, BPF_NOEXIST);
	return bpf_map_lookup_elem(&fqk_tcp_state_map, &s->conn);
}

/**
 * fqk_tcp_consume - one rx framing step of the skb at payload offset @pos.
 * @skb:  sk_skb skb (mode ENFORCE, payload at 0) or SCHED_CLS test skb (mode TEST,
 *        payload after ETH_HDR_LEN, state under the all-zero connection key)
 * Return: the next position, or -1 when the skb is used up (or the stream is broken).
 */
__attribute__((noinline)) int fqk_tcp_consume(struct __sk_buff *skb, __u32 pos, __u32 mode)
{
	struct fqk_scratch *s = fqk_scratch_get();
	struct fqk_tcp_state *st;
	__u32 base = mode == FQK_MODE_TEST ? ETH_HDR_LEN : 0;
	__u32 len = skb->len;

	if (!s || len <= base)
		return -1;
	len -= base;
	if (pos >= len)
		return -1;
#ifdef FQK_TCP_FIXED_CONN
	/* test-run object (SCHED_CLS has no socket fields): one stream, all-zero key */
	__builtin_memset(&s->conn, 0, sizeof(s->conn));
#else
	fqk_conn_of_skb(skb, &s->conn);
#endif
	s->proto = IPPROTO_TCP;
	st = fqk_tcp_state_of(s);
	if (!st) {
		fqk_count(FQK_TCP_FRAMING);	/* state table full: this skb is not parsed */
		return -1;
	}
#ifndef FQK_TCP_FIXED_CONN
	if (pos == 0) {
		/* first step of an skb: state left by an earlier socket with the same 4-tuple
		 * (closed before sockops could delete it) must not frame this one */
		__u64 cookie = bpf_get_socket_cookie(skb);

		if (st->cookie != cookie) {
			st->cookie = cookie;
			st->need = 0;
			st->have = 0;
			st->plen = 0;
			st->broken = 0;
		}
	}
#endif
	return fqk_tcp_frame(skb, s, st, pos, len, base, FQK_TCP_RX, mode, 0);
}

#endif
