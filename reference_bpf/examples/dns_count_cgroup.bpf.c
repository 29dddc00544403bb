// SPDX-License-Identifier: GPL-2.0
/*
 * dns_count_cgroup.bpf.c - count DNS questions a cgroup sends and receives.
 *
 * cgroup_skb programs see the packet from the IP header (no Ethernet header), and
 * direct packet access is read-only; this one uses bpf_skb_load_bytes instead, which
 * also works when the headers are not in the linear part. Returns 1 (allow) always.
 */
#include <linux/bpf.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "expect.bpf.h"

#define DNS_PORT 53

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} dns_questions SEC(".maps");

static __always_inline int count_questions(struct __sk_buff *skb, __u32 slot)
{
	struct iphdr ip;
	struct udphdr udp;
	__be16 qdcount;
	__u64 *v;

	if (skb->protocol != bpf_htons(0x0800))
		return 1;
	if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) < 0 || ip.protocol != IPPROTO_UDP)
		return 1;
	if (bpf_skb_load_bytes(skb, ip.ihl * 4, &udp, sizeof(udp)) < 0)
		return 1;
	if (udp.dest != bpf_htons(DNS_PORT) && udp.source != bpf_htons(DNS_PORT))
		return 1;
	/* qdcount is the third 16-bit word of the DNS header */
	if (bpf_skb_load_bytes(skb, ip.ihl * 4 + sizeof(udp) + 4, &qdcount, sizeof(qdcount)) < 0)
		return 1;
	v = bpf_map_lookup_elem(&dns_questions, &slot);
	if (v)
		__sync_fetch_and_add(v, bpf_ntohs(qdcount));
	return 1;
}

SEC("cgroup_skb/egress")
int dns_count_egress(struct __sk_buff *skb)
{
	return count_questions(skb, 0);
}

SEC("cgroup_skb/ingress")
int dns_count_ingress(struct __sk_buff *skb)
{
	return count_questions(skb, 1);
}

char LICENSE[] SEC("license") = "GPL";
