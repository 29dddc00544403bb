// SPDX-License-Identifier: GPL-2.0
/*
 * cgroup_skb/ingress of each workload cgroup: where DNS responses over UDP are seen.
 *
 * Why cgroup_skb ingress for cgroup workloads: the attachment is per workload without
 * knowing interfaces, runs before the socket receives the datagram (the IP is learned
 * before the application can connect to it), and sees the reassembled packet from the
 * IP header with the socket already looked up (only traffic for the workload's own
 * sockets). Interface workloads learn at tc ingress instead (tc_ingress.bpf.c), which
 * leaves responses to cgroup workloads' queries to this program.
 *
 * Every UDP datagram goes through fqk_ingress_udp (datapath.bpf.h) -> fqk_process_msg
 * (learn.bpf.h): only one whose (5-tuple, DNS id) matches a recorded query is learned
 * from. Always returns 1: responses are never dropped here (a forged one is simply not
 * learned from; counted as FQK_SPOOF_*).
 */
#define DNS_LOOP_TECHNIQUE DNS_LOOP_BPF_LOOP
#include "datapath.bpf.h"

SEC("cgroup_skb/ingress")
int fqk_ingress(struct __sk_buff *skb)
{
	fqk_ingress_udp(skb, 0, 0);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
