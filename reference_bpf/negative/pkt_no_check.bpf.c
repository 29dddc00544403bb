// SPDX-License-Identifier: GPL-2.0
/*
 * pkt_no_check.bpf.c - NEGATIVE TWIN (deliberately rejected): label byte read from the packet without a bounds check
 *
 * The single mistake: the first label length (byte 12 of the DNS message) is read through direct packet
 * access with no comparison against data_end at all.
 * The fix: cursor_pull() (lib/cursor.bpf.h) before every read, or copy the message with
 * dns_msg_load() (lib/scratch.bpf.h) and walk the copy.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "expect.bpf.h"
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>

#define DNS_OFF (sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct udphdr))

FQDNKIT_EXPECT_REJECT(neg_pkt_no_check, "pkt-no-check",
		      "invalid access to packet, off=54 size=1, R\\d+\\(id=0,off=54,r=0\\)");
SEC("tc")
int neg_pkt_no_check(struct __sk_buff *skb)
{
	__u8 *data = (void *)(long)skb->data;

	/* mistake: no `if (data + DNS_OFF + 13 > data_end)` before the read */
	return data[DNS_OFF + 12] > 63 ? TC_ACT_SHOT : TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
