// SPDX-License-Identifier: GPL-2.0
/*
 * cgroup_skb/ingress of each workload cgroup: where DNS responses over UDP are seen.
 *
 * Why cgroup_skb ingress and not tc ingress: the workload is a cgroup, so attaching here
 * gives per-workload scope without knowing interfaces, runs before the socket receives
 * the datagram (the IP is learned before the application can connect to it), and sees
 * the packet from the IP header with the socket already looked up (only traffic for the
 * workload's own sockets). tc would see every packet of the interface, before
 * defragmentation and socket lookup, and need the interface <-> workload mapping.
 *
 * Every UDP datagram whose (5-tuple, DNS id) matches a recorded query goes through
 * fqk_process_msg (learn.bpf.h). Always returns 1: responses are never dropped here
 * (a forged one is simply not learned from; counted as FQK_SPOOF_*).
 */
#define DNS_LOOP_TECHNIQUE DNS_LOOP_BPF_LOOP
#include "learn.bpf.h"

SEC("cgroup_skb/ingress")
int fqk_ingress(struct __sk_buff *skb)
{
	struct fqk_scratch *s = fqk_scratch_get();
	int n;

	if (!s)
		return 1;
	if (ip_parse(skb, 0, &s->t) < 0 || s->t.proto != IPPROTO_UDP || !s->t.payload_off)
		return 1;
	n = dns_msg_load(skb, s->t.payload_off, s->msg);
	if (n < 0) {
		if (s->t.sport == 53)
			fqk_count(-n);
		return 1;
	}
	__builtin_memcpy(s->conn.waddr, s->t.daddr, 16);
	__builtin_memcpy(s->conn.raddr, s->t.saddr, 16);
	s->conn.wport = s->t.dport;
	s->conn.rport = s->t.sport;
	s->proto = IPPROTO_UDP;
	fqk_process_msg(n, FQK_MODE_ENFORCE);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
