// SPDX-License-Identifier: GPL-2.0
/*
 * dns_count_tc.bpf.c - count DNS questions seen on a tc hook (IPv4/IPv6, UDP port 53).
 *
 * A small, real program for the toolkit's own tests: it exercises direct packet access
 * with bounds checks, a per-CPU array map and the BTF line info the diagnosis uses.
 * Attach: tc clsact ingress or egress. Returns TC_ACT_OK always (it only counts).
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

#define DNS_PORT 53

enum dns_count_slot { COUNT_PACKETS, COUNT_QUERIES, COUNT_RESPONSES, COUNT_QUESTIONS, COUNT_MAX };

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, COUNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} dns_counts SEC(".maps");

struct dns_hdr {
	__be16 id;
	__be16 flags;
	__be16 qdcount;
	__be16 ancount;
	__be16 nscount;
	__be16 arcount;
};

static __always_inline void count_add(__u32 slot, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&dns_counts, &slot);

	if (v)
		*v += n;
}

FQDNKIT_EXPECT_ACCEPT(dns_count_tc);
SEC("tc")
int dns_count_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct udphdr *udp;
	struct dns_hdr *dns;
	__u8 proto;

	count_add(COUNT_PACKETS, 1);
	if ((void *)(eth + 1) > data_end)
		return TC_ACT_OK;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end || ip->ihl != 5)
			return TC_ACT_OK;
		proto = ip->protocol;
		udp = (void *)(ip + 1);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return TC_ACT_OK;
		proto = ip6->nexthdr;
		udp = (void *)(ip6 + 1);
	} else {
		return TC_ACT_OK;
	}
	if (proto != IPPROTO_UDP)
		return TC_ACT_OK;
	dns = (void *)(udp + 1);
	if ((void *)(dns + 1) > data_end)
		return TC_ACT_OK;
	if (udp->dest != bpf_htons(DNS_PORT) && udp->source != bpf_htons(DNS_PORT))
		return TC_ACT_OK;
	if (dns->flags & bpf_htons(0x8000))
		count_add(COUNT_RESPONSES, 1);
	else
		count_add(COUNT_QUERIES, 1);
	count_add(COUNT_QUESTIONS, bpf_ntohs(dns->qdcount));
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
