// SPDX-License-Identifier: GPL-2.0
/*
 * pkt_unbounded_min.bpf.c - NEGATIVE TWIN (deliberately rejected): signed compression offset added to a packet pointer
 *
 * The single mistake: the 16-bit offset read from the packet is kept as a signed value and added to
 * the packet pointer; its minimum is unbounded (it can be negative), which the verifier
 * refuses for packet pointers before any range check can help.
 * The fix: mask the offset to 14 unsigned bits (c & 0x3f) << 8 | c2, or better walk the copied
 * message with dns_ptr_follow() (lib/dns_walk.bpf.h), which masks every index.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "expect.bpf.h"
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>

#define DNS_OFF (sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct udphdr))

FQDNKIT_EXPECT_REJECT(neg_pkt_unbounded_min, "pkt-unbounded-min",
		      "math between pkt pointer and register with unbounded min value is not allowed");
SEC("tc")
int neg_pkt_unbounded_min(struct __sk_buff *skb)
{
	__u8 *data = (void *)(long)skb->data;
	__u8 *end = (void *)(long)skb->data_end;
	__u8 *p = data + DNS_OFF + 12;
	__s64 off;

	if (p + 8 > end)
		return TC_ACT_OK;
	off = *(__s64 *)p;			/* mistake: signed 64-bit, not masked */
	p = data + DNS_OFF + off;
	if (p + 1 > end)
		return TC_ACT_OK;
	return *p ? TC_ACT_OK : TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
