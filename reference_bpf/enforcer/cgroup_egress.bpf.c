// SPDX-License-Identifier: GPL-2.0
/*
 * cgroup_egress.bpf.c - the enforcement point: cgroup_skb/egress of each workload cgroup.
 *
 * Per packet (IP header at offset 0):
 *   1. workload = the socket's cgroup id (or its nearest ancestor with a policy); none ->
 *      FQK_DROP_NO_WORKLOAD (fail closed: the program only runs where the agent attached)
 *   2. loopback destination -> allowed
 *   3. TCP/UDP to one of the policy's resolvers (address and port) -> allowed, and each
 *      DNS query in the packet is recorded in fqk_queries (5-tuple + id -> cgroup,
 *      question) so that only responses to real queries are learned from
 *   4. destination in fqk_allow[(workload, IP)] with expiry > now -> allowed
 *   5. else dropped (FQK_DROP_NOT_LEARNED / FQK_DROP_EXPIRED), or only counted when the
 *      policy is in audit mode. Each decision bumps fqk_counters[reason]; drops also
 *      emit an fqk_event.
 * TCP queries are recorded when whole messages (length prefix + body) sit in one
 * segment (what dig, unbound-style clients and Python sendall() produce); a query split
 * across segments is not recorded and its answer is therefore not learned (fail closed).
 */
#define DNS_LOOP_TECHNIQUE DNS_LOOP_BPF_LOOP
#include "learn.bpf.h"

#define FQK_TCP_QUERIES_PER_SEGMENT 4
#define FQK_ANCESTOR_LEVELS 8

/* fqk_record_query - record the DNS query in s->msg[0..len) for workload @cgid. */
static __always_inline void fqk_record_query(struct fqk_scratch *s, __u32 len, __u64 cgid,
					     const struct ip_tuple *t)
{
	struct fqk_query_key *qk = &s->qk;
	int off;

	if (len < DNS_HDR_LEN || len > DNS_MSG_MAX)
		return;
	if (scratch_get16(s->msg, DNS_OFF_FLAGS) & DNS_FLAG_QR) {
		fqk_count(FQK_DNS_IS_RESPONSE);
		return;
	}
	if (scratch_get16(s->msg, DNS_OFF_QDCOUNT) != 1) {
		fqk_count(FQK_DNS_QDCOUNT);
		return;
	}
	off = fqk_g_name_read(len, DNS_HDR_LEN, FQK_NAME_QUERY);
	if (off < 0 || (__u32)off + 4 > len) {
		fqk_count(off < 0 ? -off : DNS_E_TRUNCATED);
		return;
	}
	FQK_OPAQUE(off);
	s->q.qtype = scratch_get16(s->msg, off);
	s->q.qclass = scratch_get16(s->msg, off + 2);
	s->q.cgid = cgid;
	s->q.ts_ns = bpf_ktime_get_boot_ns();
	__builtin_memset(qk, 0, sizeof(*qk));
	__builtin_memcpy(qk->conn.waddr, t->saddr, 16);
	__builtin_memcpy(qk->conn.raddr, t->daddr, 16);
	qk->conn.wport = t->sport;
	qk->conn.rport = t->dport;
	qk->proto = t->proto;
	qk->id = scratch_get16(s->msg, DNS_OFF_ID);
	if (bpf_map_update_elem(&fqk_queries, qk, &s->q, BPF_ANY) == 0)
		fqk_count(FQK_QUERY_RECORDED);
	else
		fqk_count(FQK_QUERY_TABLE_FULL);
}

static __always_inline void fqk_record_queries(struct __sk_buff *skb, __u64 cgid,
					       const struct ip_tuple *t)
{
	struct fqk_scratch *s = fqk_scratch_get();
	__u32 pos, end;
	__be16 plen;
	int n;

	if (!s || !t->payload_off || t->payload_off >= skb->len)
		return;
	if (t->proto == IPPROTO_UDP) {
		n = dns_msg_load(skb, t->payload_off, s->msg);
		if (n > 0)
			fqk_record_query(s, n, cgid, t);
		return;
	}
	pos = t->payload_off;
	end = skb->len;
	for (int i = 0; i < FQK_TCP_QUERIES_PER_SEGMENT; i++) {
		__u32 mlen;

		if (pos + 2 > end || bpf_skb_load_bytes(skb, pos, &plen, 2) < 0)
			return;
		mlen = bpf_ntohs(plen);
		if (mlen < DNS_HDR_LEN || mlen > DNS_MSG_MAX || pos + 2 + mlen > end)
			return;
		if (bpf_skb_load_bytes(skb, pos + 2, s->msg, mlen) < 0)
			return;
		fqk_record_query(s, mlen, cgid, t);
		pos += 2 + mlen;
	}
}

/* fqk_find_workload - cgroup id of the socket or of its nearest ancestor with a policy */
static __always_inline __u64 fqk_find_workload(struct __sk_buff *skb, int *slot)
{
	__u64 id = bpf_skb_cgroup_id(skb);
	int lvl;

	*slot = fqk_workload_slot(id);
	if (*slot >= 0)
		return id;
	for (lvl = FQK_ANCESTOR_LEVELS; lvl >= 1; lvl--) {
		id = bpf_skb_ancestor_cgroup_id(skb, lvl);
		if (!id)
			continue;
		*slot = fqk_workload_slot(id);
		if (*slot >= 0)
			return id;
	}
	return 0;
}

static __always_inline int fqk_verdict(__u32 reason, __u64 cgid, const struct ip_tuple *t,
				       __u32 flags)
{
	__u8 audit = flags & FQK_F_AUDIT;

	fqk_count(reason);
	if (reason >= FQK_DROP_NOT_LEARNED && reason <= FQK_DROP_NOT_IP) {
		fqk_event_emit(FQK_EV_DROP, reason, cgid, t ? t->daddr : 0, t ? t->dport : 0,
			       t ? t->proto : 0, 0, audit, 0);
		return audit ? 1 : 0;
	}
	return 1;
}

SEC("cgroup_skb/egress")
int fqk_egress(struct __sk_buff *skb)
{
	struct fqk_scratch *s = fqk_scratch_get();
	struct fqk_allow_val *av;
	struct fqk_policy *pol;
	struct ip_tuple *t;
	__u32 slot;
	__u64 cgid;
	int sl;

	cgid = fqk_find_workload(skb, &sl);
	if (sl < 0)
		return fqk_verdict(FQK_DROP_NO_WORKLOAD, 0, 0, 0);
	slot = sl;
	pol = bpf_map_lookup_elem(&fqk_policies, &slot);
	if (!pol)
		return fqk_verdict(FQK_DROP_NO_WORKLOAD, cgid, 0, 0);
	if (!s)
		return fqk_verdict(FQK_DROP_NOT_IP, cgid, 0, pol->flags);
	t = &s->t;
	if (ip_parse(skb, 0, t) < 0)
		return fqk_verdict(FQK_DROP_NOT_IP, cgid, 0, pol->flags);
	if (ip_is_loopback(t->daddr))
		return fqk_verdict(FQK_ALLOW_LOOPBACK, cgid, t, pol->flags);
	if ((t->proto == IPPROTO_UDP || t->proto == IPPROTO_TCP) && t->l4_off &&
	    fqk_is_resolver(pol, t->daddr, t->dport)) {
		fqk_record_queries(skb, cgid, t);
		return fqk_verdict(FQK_ALLOW_RESOLVER, cgid, t, pol->flags);
	}
	__builtin_memset(&s->ak, 0, sizeof(s->ak));
	s->ak.cgid = cgid;
	__builtin_memcpy(s->ak.ip, t->daddr, 16);
	av = bpf_map_lookup_elem(&fqk_allow, &s->ak);
	if (!av)
		return fqk_verdict(FQK_DROP_NOT_LEARNED, cgid, t, pol->flags);
	if (av->expiry_ns <= bpf_ktime_get_boot_ns())
		return fqk_verdict(FQK_DROP_EXPIRED, cgid, t, pol->flags);
	return fqk_verdict(FQK_ALLOW_LEARNED, cgid, t, pol->flags);
}

char LICENSE[] SEC("license") = "GPL";
