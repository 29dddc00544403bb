// SPDX-License-Identifier: GPL-2.0
/*
 * map_value_oob.bpf.c - NEGATIVE TWIN (deliberately rejected): scratch index masked with the wrong mask
 *
 * The single mistake: the index is masked with 0x1fff for a 4096-byte buffer (DNS_MSG_MAX * 2 - 1):
 * bounded, but up to 8191, past the end of the map value.
 * The fix: mask with DNS_MSG_MASK (DNS_MSG_MAX - 1), as scratch_get8() (lib/scratch.bpf.h) does.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "expect.bpf.h"
#include "dns_walk.bpf.h"

#include "neg_scratch.h"

FQDNKIT_EXPECT_REJECT(neg_map_value_oob, "map-value-oob",
		      "invalid access to map value, value_size=4096 off=\\d+ size=1");
SEC("tc")
int neg_map_value_oob(struct __sk_buff *skb)
{
	__u32 len, pos;
	__u8 *msg = neg_msg(skb, &len);

	if (!msg)
		return TC_ACT_OK;
	pos = DNS_HDR_LEN + msg[DNS_HDR_LEN] * 64;
	return msg[pos & 0x1fff] ? TC_ACT_OK : TC_ACT_SHOT;	/* mistake: 0x1fff */
}

char LICENSE[] SEC("license") = "GPL";
