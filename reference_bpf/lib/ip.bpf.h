/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ip.bpf.h - IPv4/IPv6 + TCP/UDP header parsing into one address-family-neutral tuple.
 *
 * Addresses are 16 bytes: IPv6 as is, IPv4 as the v4-mapped form ::ffff:a.b.c.d (the
 * same form the agent writes into maps, so one key layout serves both families). Ports
 * are host byte order. Headers are read with bpf_skb_load_bytes (works when the headers
 * are not in the linear part and in every skb program type).
 * Limits: IPv6 extension headers are not walked (a packet whose next header is not
 * TCP/UDP gets proto = that next header and no ports); IPv4 non-first fragments have
 * no ports (l4_off = 0).
 */
#ifndef FQDNKIT_IP_BPF_H
#define FQDNKIT_IP_BPF_H

#include <linux/types.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct ip_tuple {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;		/* host order, 0 if no L4 header */
	__u16 dport;
	__u8 proto;		/* IPPROTO_* */
	__u8 family;		/* 4 or 6 */
	__u16 l4_off;		/* offset of the L4 header, 0 if none */
	__u32 payload_off;	/* offset of the L4 payload, 0 if none */
};

/* ip_map4 - write IPv4 address @a (network order) as ::ffff:a into @out. */
static __always_inline void ip_map4(__u8 *out, __be32 a)
{
	__builtin_memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	__builtin_memcpy(out + 12, &a, 4);
}

/* ip_is_loopback - 127.0.0.0/8 (v4-mapped) or ::1. */
static __always_inline int ip_is_loopback(const __u8 *a)
{
	const __u32 *w = (const __u32 *)a;

	if (w[0] == 0 && w[1] == 0 && w[2] == bpf_htonl(0xffff))
		return a[12] == 127;
	return w[0] == 0 && w[1] == 0 && w[2] == 0 && w[3] == bpf_htonl(1);
}

/**
 * ip_parse - parse the IP header at @nh_off and the TCP/UDP ports behind it.
 * @skb:    the packet
 * @nh_off: offset of the IP header (0 for cgroup_skb, ETH_HDR_LEN for tc)
 * @t:      output
 * Return: 0 on success, -1 when the packet is not IPv4/IPv6 or is too short.
 */
static __always_inline int ip_parse(struct __sk_buff *skb, __u32 nh_off, struct ip_tuple *t)
{
	__u8 first;
	__u32 l4 = 0;

	__builtin_memset(t, 0, sizeof(*t));
	if (bpf_skb_load_bytes(skb, nh_off, &first, 1) < 0)
		return -1;
	if ((first >> 4) == 4) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, nh_off, &ip, sizeof(ip)) < 0 || ip.ihl < 5)
			return -1;
		t->family = 4;
		t->proto = ip.protocol;
		ip_map4(t->saddr, ip.saddr);
		ip_map4(t->daddr, ip.daddr);
		if (ip.frag_off & bpf_htons(0x1fff))	/* non-first fragment: no ports */
			return 0;
		l4 = nh_off + ip.ihl * 4;
	} else if ((first >> 4) == 6) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, nh_off, &ip6, sizeof(ip6)) < 0)
			return -1;
		t->family = 6;
		t->proto = ip6.nexthdr;
		__builtin_memcpy(t->saddr, &ip6.saddr, 16);
		__builtin_memcpy(t->daddr, &ip6.daddr, 16);
		l4 = nh_off + sizeof(ip6);
	} else {
		return -1;
	}
	if (t->proto == IPPROTO_UDP) {
		struct udphdr udp;

		if (bpf_skb_load_bytes(skb, l4, &udp, sizeof(udp)) < 0)
			return 0;
		t->sport = bpf_ntohs(udp.source);
		t->dport = bpf_ntohs(udp.dest);
		t->l4_off = l4;
		t->payload_off = l4 + sizeof(udp);
	} else if (t->proto == IPPROTO_TCP) {
		struct tcphdr tcp;

		if (bpf_skb_load_bytes(skb, l4, &tcp, sizeof(tcp)) < 0)
			return 0;
		t->sport = bpf_ntohs(tcp.source);
		t->dport = bpf_ntohs(tcp.dest);
		t->l4_off = l4;
		t->payload_off = l4 + tcp.doff * 4;
	}
	return 0;
}

#endif
