// SPDX-License-Identifier: GPL-2.0
/*
 * scratch_index_unmasked.bpf.c - NEGATIVE TWIN (deliberately rejected): scratch-buffer index not masked
 *
 * The single mistake: the read offset into the 4096-byte scratch copy is checked against the message
 * length (a runtime value), not masked: the verifier cannot bound it by the map value.
 * The fix: index with `& DNS_MSG_MASK` as every helper of lib/dns_walk.bpf.h does, or use
 * scratch_get8() (lib/scratch.bpf.h).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "expect.bpf.h"
#include "dns_walk.bpf.h"

#include "neg_scratch.h"

FQDNKIT_EXPECT_REJECT(neg_scratch_index_unmasked, "scratch-index-unmasked",
		      "R\\d+ unbounded memory access, make sure to bounds check any such access");
SEC("tc")
int neg_scratch_index_unmasked(struct __sk_buff *skb)
{
	__u32 len, pos;
	__u8 *msg = neg_msg(skb, &len);

	if (!msg)
		return TC_ACT_OK;
	pos = *(__u32 *)&msg[DNS_HDR_LEN];	/* e.g. an offset kept from an earlier walk */
	if (pos >= skb->len)			/* the packet's length, not the buffer's */
		return TC_ACT_OK;
	return msg[pos] ? TC_ACT_OK : TC_ACT_SHOT;	/* mistake: msg[pos], not msg[pos & DNS_MSG_MASK] */
}

char LICENSE[] SEC("license") = "GPL";
