// SPDX-License-Identifier: GPL-2.0
/*
 * tc_ingress.bpf.c - where interface workloads learn: tcx ingress of the workload's
 * interface (`fqdnkit enforce --iface IF`; one instance per interface, tc_iface.bpf.h).
 *
 * Every IPv4/IPv6 UDP datagram arriving goes through fqk_ingress_udp (datapath.bpf.h)
 * -> fqk_process_msg (learn.bpf.h), the parser and learner of the cgroup path, except
 * responses to queries recorded for a cgroup workload: those are left to that cgroup's
 * cgroup_skb ingress (one packet, one workload). The workload is the one that recorded
 * the query (fqk_queries), as on the cgroup path. The packet is seen before IP
 * reassembly: a fragmented response teaches nothing (fail closed). TCP DNS is not parsed
 * here (stream framing is done by sk_skb, socket-level, cgroup workloads only).
 * Never drops: returns TCX_NEXT.
 */
#define DNS_LOOP_TECHNIQUE DNS_LOOP_BPF_LOOP
#include "tc_iface.bpf.h"

SEC("tc")
int fqk_tc_ingress(struct __sk_buff *skb)
{
	struct fqk_iface *ifc = fqk_tc_iface();
	int nh_off;

	if (!ifc)
		return FQK_TC_PASS;
	nh_off = fqk_tc_l3_off(skb, ifc);
	if (nh_off < 0)
		return FQK_TC_PASS;
	fqk_ingress_udp(skb, nh_off, 1);
	return FQK_TC_PASS;
}

char LICENSE[] SEC("license") = "GPL";
