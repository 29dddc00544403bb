// SPDX-License-Identifier: GPL-2.0
/*
 * pkt_offset_too_large.bpf.c - NEGATIVE TWIN (deliberately rejected): packet offset that can exceed 0xffff
 *
 * The single mistake: a 17-bit offset (mask 0x1ffff) is added to a packet pointer. The
 * verifier accepts the addition, but a comparison with data_end proves nothing for a
 * pointer whose offset may exceed MAX_PACKET_OFF (0xffff): the range stays r=0 and the
 * read after the (apparently correct) check is refused.
 * The fix: bound the offset below 0xffff first (compression targets are 14 bits), e.g.
 * cursor_pull() caps variable pulls at CURSOR_MAX_PULL (lib/cursor.bpf.h).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "expect.bpf.h"
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>

#define DNS_OFF (sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct udphdr))

FQDNKIT_EXPECT_REJECT(neg_pkt_offset_too_large, "pkt-offset-too-large",
		      "invalid access to packet, off=0 size=1, R\\d+\\(id=\\d+,off=0,r=0\\)");
SEC("tc")
int neg_pkt_offset_too_large(struct __sk_buff *skb)
{
	__u8 *data = (void *)(long)skb->data;
	__u8 *end = (void *)(long)skb->data_end;
	__u8 *p = data + DNS_OFF + 12;
	__u32 off;

	if (p + 4 > end)
		return TC_ACT_OK;
	off = *(__u32 *)p & 0x1ffff;		/* mistake: up to 0x1ffff, above 0xffff */
	p = data + off;
	if (p + 1 > end)
		return TC_ACT_OK;
	return *p ? TC_ACT_OK : TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
