// SPDX-License-Identifier: GPL-2.0
/*
 * dns_walk_tc.bpf.c - exercise the shared DNS walk (label walker, pointer follower,
 * RR walker, comparator) in the loop technique chosen by -DDNS_LOOP_TECHNIQUE.
 *
 * Built once per technique (build/techniques/dns_walk_tc.<technique>.bpf.o). Both
 * programs are SCHED_CLS: they find the UDP payload of an Ethernet/IPv4-or-IPv6 packet
 * with the packet cursor, copy it into the per-CPU scratch map and write what the walk
 * found into walk_out[0] (struct walk_result), which the functional test reads after
 * BPF_PROG_TEST_RUN. They return TC_ACT_OK, or TC_ACT_SHOT when the walk failed.
 *
 *   walk_qname    dns_name_read on the question name, dns_name_read on the first
 *                 answer's owner name, dns_name_eq of the two
 *   walk_answers  dns_question_next, then dns_rr_next over up to WALK_MAX_RR answers
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "expect.bpf.h"
#include "cursor.bpf.h"
#include "dns_walk.bpf.h"
#include "dns_rr.bpf.h"
#include "scratch.bpf.h"

#define WALK_MAX_RR 4	/* answers parsed: each is a full name walk for the verifier */

struct dns_scratch {
	__u8 msg[DNS_MSG_MAX];
};

/* What the walk found; layout mirrored by tests/reference_bpf/walk_result.py */
struct walk_result {
	__s32 msg_len;		/* dns_msg_load result */
	__s32 qname_ret;	/* dns_name_read(question name) */
	__s32 owner_ret;	/* dns_name_read(first answer's owner) */
	__s32 eq;		/* dns_name_eq(qname, owner) */
	__s32 an_ret;		/* last dns_question_next / dns_rr_next result */
	__u32 an_parsed;	/* answers parsed */
	struct dns_rr rr[WALK_MAX_RR];
	struct dns_name qname;
	struct dns_name owner;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dns_scratch);
} dns_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct walk_result);
} walk_out SEC(".maps");

/* Offset of the UDP payload, or -1 if the packet is not Ethernet + IPv4/IPv6 + UDP. */
static __always_inline int udp_payload_offset(struct __sk_buff *skb)
{
	struct cursor c;
	struct ethhdr *eth;
	__u8 proto;

	cursor_init_skb(&c, skb);
	eth = cursor_pull(&c, sizeof(*eth));
	if (!eth)
		return -1;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = cursor_pull(&c, sizeof(*ip));

		if (!ip || ip->ihl < 5)
			return -1;
		proto = ip->protocol;
		/* options: ihl is 4 bits, so this pull is <= 40 bytes */
		if (!cursor_pull(&c, (ip->ihl - 5) * 4))
			return -1;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = cursor_pull(&c, sizeof(*ip6));

		if (!ip6)
			return -1;
		proto = ip6->nexthdr;
	} else {
		return -1;
	}
	if (proto != IPPROTO_UDP || !cursor_pull(&c, sizeof(struct udphdr)))
		return -1;
	return cursor_offset(&c);
}

/* Copy the DNS message into the scratch buffer; NULL when there is none. */
static __always_inline __u8 *load_message(struct __sk_buff *skb, struct walk_result *res)
{
	struct dns_scratch *s;
	__u32 zero = 0;
	int off;

	s = bpf_map_lookup_elem(&dns_scratch, &zero);
	if (!s)
		return 0;
	off = udp_payload_offset(skb);
	if (off < 0) {
		res->msg_len = -DNS_E_MSG_TOO_SHORT;
		return 0;
	}
	res->msg_len = dns_msg_load(skb, off, s->msg);
	return res->msg_len < 0 ? 0 : s->msg;
}

FQDNKIT_EXPECT_ACCEPT_SINCE(walk_qname, DNS_LOOP_MIN_KERNEL);
SEC("tc")
int walk_qname(struct __sk_buff *skb)
{
	struct walk_result *res;
	__u32 zero = 0, len;
	__u8 *msg;
	int off;

	res = bpf_map_lookup_elem(&walk_out, &zero);
	if (!res)
		return TC_ACT_OK;
	__builtin_memset(res, 0, sizeof(*res));
	msg = load_message(skb, res);
	if (!msg)
		return TC_ACT_SHOT;
	len = res->msg_len;
	res->qname_ret = dns_name_read(msg, len, DNS_HDR_LEN, &res->qname);
	if (res->qname_ret < 0)
		return TC_ACT_SHOT;
	off = res->qname_ret + DNS_Q_FIXED_LEN;
	if (scratch_get16(msg, DNS_OFF_ANCOUNT) == 0)
		return TC_ACT_OK;
	res->owner_ret = dns_name_read(msg, len, off, &res->owner);
	if (res->owner_ret < 0)
		return TC_ACT_SHOT;
	res->eq = dns_name_eq(&res->qname, &res->owner);
	return TC_ACT_OK;
}

struct rr_walk {
	const __u8 *msg;
	struct walk_result *res;
	__u32 len;
	__u32 count;	/* answers announced (ANCOUNT) */
	int off;	/* next RR, or negative error */
};

/*
 * One RR as a BPF-to-BPF call (kernel 4.16): fully unrolled, 9 inlined copies of the
 * unrolled owner-name walk overflow clang's 16-bit jump offsets ("Branch target out of
 * insn range"); as a subprogram the walk's code exists once in every technique.
 */
static __attribute__((noinline)) int walk_one_rr(const __u8 *msg, __u32 len, __u32 off,
						 struct dns_rr *rr)
{
	return dns_rr_next(msg, len, off, rr);
}

/* one answer per step; the RR loop uses the same technique as the name walks */
DNS_LOOP_CB walk_rr_step(__u32 i, void *ctx)
{
	struct rr_walk *r = ctx;
	struct walk_result *res = r->res;
	__u32 n = res->an_parsed;
	int next;

	if (n >= r->count || n >= WALK_MAX_RR)
		return 1;
	/* verifier: keep the index mask clang would drop after the test above (6.18) */
	barrier_var(n);
	next = walk_one_rr(r->msg, r->len, r->off, &res->rr[n & (WALK_MAX_RR - 1)]);
	res->an_ret = next;
	if (next < 0)
		return 1;
	r->off = next;
	res->an_parsed = n + 1;
	return 0;
}

FQDNKIT_EXPECT_ACCEPT_SINCE(walk_answers, DNS_LOOP_MIN_KERNEL);
SEC("tc")
int walk_answers(struct __sk_buff *skb)
{
	struct dns_question q = {};
	struct walk_result *res;
	struct rr_walk r;
	__u32 zero = 0;
	__u8 *msg;

	res = bpf_map_lookup_elem(&walk_out, &zero);
	if (!res)
		return TC_ACT_OK;
	__builtin_memset(res, 0, sizeof(*res));
	msg = load_message(skb, res);
	if (!msg)
		return TC_ACT_SHOT;
	r.msg = msg;
	r.res = res;
	r.len = res->msg_len;
	r.count = scratch_get16(msg, DNS_OFF_ANCOUNT);
	r.off = dns_question_next(msg, r.len, DNS_HDR_LEN, &q);
	res->an_ret = r.off;
	if (r.off < 0)
		return TC_ACT_SHOT;
	dns_loop(WALK_MAX_RR + 1, walk_rr_step, &r);
	return res->an_ret < 0 ? TC_ACT_SHOT : TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
