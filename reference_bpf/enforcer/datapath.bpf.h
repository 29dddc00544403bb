/* SPDX-License-Identifier: GPL-2.0 */
/*
 * datapath.bpf.h - the enforcer's per-packet logic, shared by both attach points:
 *   cgroup_skb (cgroup_egress.bpf.c, cgroup_ingress.bpf.c): IP header at offset 0;
 *   tc/tcx     (tc_egress.bpf.c, tc_ingress.bpf.c): Ethernet header first (or IP at 0 on
 *              devices without a link-layer header), offset from tc_iface.bpf.h.
 * Every function takes the L3 offset @nh_off; nothing here knows which hook it runs in.
 *
 * Workload identity (one key space for every map keyed by "cgid"):
 *   a cgroup workload is its cgroup v2 id (kernfs id: bit 63 never set);
 *   an interface workload is FQK_WL_IFACE | (netns cookie & 0x7fffffff) << 32 | ifindex,
 *   computed by the agent in the interface's netns (toolkit/enforcer/maps.py iface_key)
 *   and handed to that interface's own instance of the tc programs (tc_iface.bpf.h):
 *   ifindexes repeat across network namespaces, and bpf_get_netns_cookie(skb) in tc is
 *   the socket's netns (init_net's without a socket, e.g. on ingress), so the kernel
 *   side cannot derive the key from the packet.
 *
 * One packet, one workload: a packet whose socket is in a cgroup workload (or below one)
 * belongs to that cgroup workload, even when it also leaves through an interface
 * workload: tc egress leaves it to the cgroup_skb program (which already enforced and
 * recorded it), and tc ingress leaves a response whose query was recorded for a cgroup
 * workload to cgroup_skb ingress (which runs later, at the socket). Everything else sent
 * or received on the interface belongs to the interface workload.
 *
 * Egress (fqk_egress_enforce): loopback allowed; TCP/UDP to one of the policy's resolvers
 * allowed and the DNS queries in it recorded (fqk_queries: 5-tuple + id -> workload,
 * question; UDP here; TCP by the sk_msg verdict from the socket's stream, egress only
 * tags the socket with its workload); a learned unexpired destination allowed; else
 * dropped, or only counted in audit mode. Ingress (fqk_ingress_udp): a UDP datagram goes
 * to fqk_process_msg (learn.bpf.h: anti-spoofing, parsing, policy, learning), the one
 * implementation used by cgroup ingress, tc ingress and sk_skb.
 * UDP payload length comes from the UDP header (tc sees Ethernet padding after the IP
 * packet and IP fragments before reassembly: a datagram longer than the skb is a first
 * fragment and is not looked at: nothing learned, fail closed).
 */
#ifndef FQDNKIT_DATAPATH_BPF_H
#define FQDNKIT_DATAPATH_BPF_H

#include "learn.bpf.h"
#include "dns_socks.bpf.h"

#define FQK_ANCESTOR_LEVELS 8		/* cgroup levels searched for a workload */
#define FQK_WL_IFACE (1ULL << 63)	/* interface workload tag (never set in a cgroup id) */
#define UDP_HDR_LEN 8
#define ICMPV6_ND_FIRST 133		/* router solicitation .. redirect (RFC 4861) */
#define ICMPV6_ND_LAST 137

/* what egress does with DNS to a resolver: record UDP queries; tag TCP sockets with their
 * workload (fqk_sock_tx) so that the sk_msg verdict (sk_msg.bpf.c) records the queries
 * of the outgoing stream: egress sees retransmissions and segments, not the stream */
#define FQK_REC_UDP 1
#define FQK_REC_TCP 2

/* fqk_find_cgroup_workload - cgroup id of the skb's socket or of its nearest ancestor
 * with a policy; 0 and *slot = -1 when none (or no socket). */
static __always_inline __u64 fqk_find_cgroup_workload(struct __sk_buff *skb, int *slot)
{
	__u64 id = bpf_skb_cgroup_id(skb);
	int lvl;

	*slot = -1;
	if (!id)
		return 0;
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

/**
 * fqk_udp_msg_load - copy the UDP payload of the datagram described by @t into @buf.
 * The length is the UDP header's (not skb->len: tc sees link-layer padding).
 * Return: bytes copied (>= DNS_HDR_LEN), or -DNS_E_MSG_TOO_SHORT / -DNS_E_MSG_TOO_LONG /
 * -DNS_E_LOAD (also for a datagram longer than the skb: an IP fragment).
 */
static __always_inline int fqk_udp_msg_load(struct __sk_buff *skb, const struct ip_tuple *t,
					    __u8 *buf)
{
	__be16 ulen;
	__u64 len;

	if (!t->l4_off || bpf_skb_load_bytes(skb, t->l4_off + 4, &ulen, 2) < 0)
		return -DNS_E_LOAD;
	len = bpf_ntohs(ulen);
	if ((__u64)t->l4_off + len > skb->len)
		return -DNS_E_LOAD;
	/* verifier: test the difference itself, as dns_msg_load does (kernel 6.18) */
	if (len < UDP_HDR_LEN + DNS_HDR_LEN)
		return -DNS_E_MSG_TOO_SHORT;
	len -= UDP_HDR_LEN;
	if (len > DNS_MSG_MAX)
		return -DNS_E_MSG_TOO_LONG;
	barrier_var(len);
	/* verifier: rebuild the size so that [1, DNS_MSG_MAX] is proven on the register the
	 * helper gets (see dns_msg_load; kernel 7.3) */
	len = ((len - 1) & (DNS_MSG_MAX - 1)) + 1;
	if (bpf_skb_load_bytes(skb, t->payload_off, buf, len) < 0)
		return -DNS_E_LOAD;
	return len;
}

/* fqk_record_query - record the DNS query in s->msg[0..len) for workload @wid. */
static __always_inline void fqk_record_query(struct fqk_scratch *s, __u32 len, __u64 wid,
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
	off = fqk_g_qname_read(len, FQK_NAME_QUERY);
	if (off < 0 || (__u32)off + 4 > len) {
		fqk_count(off < 0 ? -off : DNS_E_TRUNCATED);
		return;
	}
	FQK_OPAQUE(off);
	s->q.qtype = scratch_get16(s->msg, off);
	s->q.qclass = scratch_get16(s->msg, off + 2);
	s->q.cgid = wid;
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

/* fqk_sock_tag - remember the workload of the skb's socket for the sk_msg verdict */
static __always_inline void fqk_sock_tag(struct __sk_buff *skb, __u64 wid)
{
	struct bpf_sock *sk = skb->sk;
	struct fqk_sock_tx *tx;

	if (!sk)
		return;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return;
	tx = bpf_sk_storage_get(&fqk_sock_tx, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (tx && tx->wid != wid)
		tx->wid = wid;
}

/* fqk_record_queries - record the DNS queries in the packet @t describes (@rec: FQK_REC_*);
 * TCP: only tag the socket (its queries are recorded from the stream, by sk_msg) */
static __always_inline void fqk_record_queries(struct __sk_buff *skb, __u64 wid,
					       const struct ip_tuple *t, __u32 rec)
{
	struct fqk_scratch *s = fqk_scratch_get();
	int n;

	if (t->proto == IPPROTO_TCP) {
		if (rec & FQK_REC_TCP)
			fqk_sock_tag(skb, wid);
		return;
	}
	if (!s || !t->payload_off || t->payload_off >= skb->len || !(rec & FQK_REC_UDP))
		return;
	n = fqk_udp_msg_load(skb, t, s->msg);
	if (n > 0)
		fqk_record_query(s, n, wid, t);
}

/* fqk_verdict - count @reason; drops also emit an event. Return: 1 pass, 0 drop (a drop
 * reason passes in audit mode). */
static __always_inline int fqk_verdict(__u32 reason, __u64 wid, const struct ip_tuple *t,
				       __u32 flags)
{
	__u8 audit = flags & FQK_F_AUDIT;

	fqk_count(reason);
	if (reason >= FQK_DROP_NOT_LEARNED && reason <= FQK_DROP_NOT_IP) {
		fqk_event_emit(FQK_EV_DROP, reason, wid, t ? t->daddr : 0, t ? t->dport : 0,
			       t ? t->proto : 0, 0, audit, 0);
		return audit ? 1 : 0;
	}
	return 1;
}

/* fqk_is_nd - IPv6 neighbour discovery (ICMPv6 133..137 right after the IPv6 header):
 * link-layer plumbing an interface workload needs to reach anything, resolvers included */
static __always_inline int fqk_is_nd(struct __sk_buff *skb, __u32 nh_off,
				     const struct ip_tuple *t)
{
	__u8 type;

	if (t->family != 6 || t->proto != IPPROTO_ICMPV6)
		return 0;
	if (bpf_skb_load_bytes(skb, nh_off + sizeof(struct ipv6hdr), &type, 1) < 0)
		return 0;
	return type >= ICMPV6_ND_FIRST && type <= ICMPV6_ND_LAST;
}

/**
 * fqk_egress_enforce - the egress decision for workload @wid with policy slot @slot.
 * @nh_off: offset of the IP header (0 cgroup_skb, ETH_HDR_LEN tc on Ethernet)
 * @rec:    FQK_REC_* - which DNS queries to record when the packet goes to a resolver
 * @nd_ok:  let IPv6 neighbour discovery pass uncounted (interfaces)
 * Return: 1 pass, 0 drop.
 */
static __always_inline int fqk_egress_enforce(struct __sk_buff *skb, __u32 nh_off, __u64 wid,
					      __u32 slot, __u32 rec, int nd_ok)
{
	struct fqk_scratch *s = fqk_scratch_get();
	struct fqk_allow_val *av;
	struct fqk_policy *pol;
	struct ip_tuple *t;

	pol = bpf_map_lookup_elem(&fqk_policies, &slot);
	if (!pol)
		return fqk_verdict(FQK_DROP_NO_WORKLOAD, wid, 0, 0);
	if (!s)
		return fqk_verdict(FQK_DROP_NOT_IP, wid, 0, pol->flags);
	t = &s->t;
	if (ip_parse(skb, nh_off, t) < 0)
		return fqk_verdict(FQK_DROP_NOT_IP, wid, 0, pol->flags);
	if (nd_ok && fqk_is_nd(skb, nh_off, t))
		return 1;
	if (ip_is_loopback(t->daddr))
		return fqk_verdict(FQK_ALLOW_LOOPBACK, wid, t, pol->flags);
	if ((t->proto == IPPROTO_UDP || t->proto == IPPROTO_TCP) && t->l4_off &&
	    fqk_is_resolver(pol, t->daddr, t->dport)) {
		fqk_record_queries(skb, wid, t, rec);
		return fqk_verdict(FQK_ALLOW_RESOLVER, wid, t, pol->flags);
	}
	__builtin_memset(&s->ak, 0, sizeof(s->ak));
	s->ak.cgid = wid;
	__builtin_memcpy(s->ak.ip, t->daddr, 16);
	av = bpf_map_lookup_elem(&fqk_allow, &s->ak);
	if (!av)
		return fqk_verdict(FQK_DROP_NOT_LEARNED, wid, t, pol->flags);
	if (av->expiry_ns <= bpf_ktime_get_boot_ns())
		return fqk_verdict(FQK_DROP_EXPIRED, wid, t, pol->flags);
	return fqk_verdict(FQK_ALLOW_LEARNED, wid, t, pol->flags);
}

/* fqk_query_owner - workload that recorded the query s->msg answers on s->conn (UDP), or 0 */
static __always_inline __u64 fqk_query_owner(struct fqk_scratch *s)
{
	struct fqk_query *q;

	__builtin_memset(&s->qk, 0, sizeof(s->qk));
	__builtin_memcpy(&s->qk.conn, &s->conn, sizeof(s->qk.conn));
	s->qk.proto = IPPROTO_UDP;
	s->qk.id = scratch_get16(s->msg, DNS_OFF_ID);
	q = bpf_map_lookup_elem(&fqk_queries, &s->qk);
	return q ? q->cgid : 0;
}

/**
 * fqk_ingress_udp - hand the UDP datagram at @nh_off to fqk_process_msg.
 * @iface_only: tc ingress: leave responses to queries recorded for a cgroup workload to
 *              that cgroup's ingress program (it runs later, at the socket)
 * Return: fqk_process_msg's result, or -1 when the packet was not looked at.
 */
static __always_inline int fqk_ingress_udp(struct __sk_buff *skb, __u32 nh_off, int iface_only)
{
	struct fqk_scratch *s = fqk_scratch_get();
	__u64 owner;
	int n;

	if (!s)
		return -1;
	if (ip_parse(skb, nh_off, &s->t) < 0 || s->t.proto != IPPROTO_UDP || !s->t.payload_off)
		return -1;
	n = fqk_udp_msg_load(skb, &s->t, s->msg);
	if (n < 0) {
		if (s->t.sport == 53)
			fqk_count(-n);
		return -1;
	}
	__builtin_memcpy(s->conn.waddr, s->t.daddr, 16);
	__builtin_memcpy(s->conn.raddr, s->t.saddr, 16);
	s->conn.wport = s->t.dport;
	s->conn.rport = s->t.sport;
	s->proto = IPPROTO_UDP;
	if (iface_only) {
		owner = fqk_query_owner(s);
		if (owner && !(owner & FQK_WL_IFACE))
			return -1;
	}
	return fqk_process_msg(n, FQK_MODE_ENFORCE);
}

#endif
