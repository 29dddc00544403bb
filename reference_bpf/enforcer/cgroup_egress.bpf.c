// SPDX-License-Identifier: GPL-2.0
/*
 * cgroup_egress.bpf.c - the enforcement point of cgroup workloads: cgroup_skb/egress.
 *
 * Per packet (IP header at offset 0):
 *   1. workload = the socket's cgroup id (or its nearest ancestor with a policy); none ->
 *      FQK_DROP_NO_WORKLOAD (fail closed: the program only runs where the agent attached)
 *   2. fqk_egress_enforce (datapath.bpf.h, shared with tc_egress.bpf.c): loopback
 *      allowed; TCP/UDP to one of the policy's resolvers allowed and each DNS query in
 *      the packet recorded in fqk_queries; destination in fqk_allow[(workload, IP)] with
 *      expiry > now allowed; else dropped (FQK_DROP_NOT_LEARNED / FQK_DROP_EXPIRED), or
 *      only counted when the policy is in audit mode.
 * TCP queries are not parsed here: egress tags the socket with its workload in the
 * socket storage fqk_sock_tx, and the sk_msg verdict (sk_msg.bpf.c) records them from the
 * stream the application writes (once, in order, however it is split into writes).
 */
#define DNS_LOOP_TECHNIQUE DNS_LOOP_BPF_LOOP
#include "datapath.bpf.h"

SEC("cgroup_skb/egress")
int fqk_egress(struct __sk_buff *skb)
{
	__u64 cgid;
	int sl;

	cgid = fqk_find_cgroup_workload(skb, &sl);
	if (sl < 0)
		return fqk_verdict(FQK_DROP_NO_WORKLOAD, 0, 0, 0);
	return fqk_egress_enforce(skb, 0, cgid, sl, FQK_REC_UDP | FQK_REC_TCP, 0);
}

char LICENSE[] SEC("license") = "GPL";
