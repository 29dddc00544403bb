// SPDX-License-Identifier: GPL-2.0
/*
 * pkt_off_by_one.bpf.c - NEGATIVE TWIN (deliberately rejected): pointer bytes read one past the checked range
 *
 * The single mistake: the check proves bytes [p, p+1) but the code reads the two bytes of a compression
 * pointer, [p, p+2): `p + 1 > data_end` should be `p + 2 > data_end`.
 * The fix: cursor_pull(&c, 2) (lib/cursor.bpf.h) pulls exactly the bytes it hands out.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "expect.bpf.h"
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>

#define DNS_OFF (sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct udphdr))

FQDNKIT_EXPECT_REJECT(neg_pkt_off_by_one, "pkt-off-by-one",
		      "invalid access to packet, off=54 size=2, R\\d+\\(id=0,off=54,r=55\\)");
SEC("tc")
int neg_pkt_off_by_one(struct __sk_buff *skb)
{
	__u8 *data = (void *)(long)skb->data;
	__u8 *end = (void *)(long)skb->data_end;
	__u8 *p = data + DNS_OFF + 12;

	if (p + 1 > end)			/* mistake: should be p + 2 */
		return TC_ACT_OK;
	return *(__u16 *)p == 0xffff ? TC_ACT_SHOT : TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
