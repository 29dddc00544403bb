// SPDX-License-Identifier: GPL-2.0
/*
 * tc_egress.bpf.c - the enforcement point of interface workloads (tcx egress of the
 * workload's interface: `fqdnkit enforce --iface IF`; one instance per interface, see
 * tc_iface.bpf.h).
 *
 * Per packet:
 *   1. the socket's cgroup (or an ancestor) is a cgroup workload -> not ours: that
 *      workload's cgroup_skb egress already enforced and recorded it (one packet, one
 *      workload); passed on.
 *   2. instance not configured or workload without policy -> IPv4/IPv6 dropped as
 *      FQK_DROP_NO_WORKLOAD (fail closed), anything else passed.
 *   3. Ethernet devices: ARP passes (uncounted); any ethertype other than IPv4/IPv6
 *      (VLAN tags included) is dropped as FQK_DROP_NOT_IP.
 *   4. fqk_egress_enforce (datapath.bpf.h, the cgroup program's logic) at the L3 offset,
 *      recording UDP queries only (TCP DNS answers are parsed by sk_skb, which exists
 *      for cgroup workloads only), IPv6 neighbour discovery passing uncounted.
 * Returns TCX_NEXT (-1) to pass, so programs attached after this one still run, and
 * TCX_DROP (2) to drop.
 */
#define DNS_LOOP_TECHNIQUE DNS_LOOP_BPF_LOOP
#include "tc_iface.bpf.h"

static __always_inline int fqk_tc_action(int pass)
{
	return pass ? FQK_TC_PASS : FQK_TC_DROP;
}

SEC("tc")
int fqk_tc_egress(struct __sk_buff *skb)
{
	struct fqk_iface *ifc;
	int sl, nh_off;

	fqk_find_cgroup_workload(skb, &sl);
	if (sl >= 0)
		return FQK_TC_PASS;
	ifc = fqk_tc_iface();
	sl = ifc ? fqk_workload_slot(ifc->wid) : -1;
	if (sl < 0) {
		if (skb->protocol != bpf_htons(ETH_P_IP) && skb->protocol != bpf_htons(ETH_P_IPV6))
			return FQK_TC_PASS;
		return fqk_tc_action(fqk_verdict(FQK_DROP_NO_WORKLOAD, ifc ? ifc->wid : 0, 0, 0));
	}
	nh_off = fqk_tc_l3_off(skb, ifc);
	if (nh_off == -1)
		return FQK_TC_PASS;
	if (nh_off < 0)
		return fqk_tc_action(fqk_verdict(FQK_DROP_NOT_IP, ifc->wid, 0, 0));
	return fqk_tc_action(fqk_egress_enforce(skb, nh_off, ifc->wid, sl, FQK_REC_UDP, 1));
}

char LICENSE[] SEC("license") = "GPL";
