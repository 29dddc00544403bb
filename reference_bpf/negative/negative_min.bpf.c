// SPDX-License-Identifier: GPL-2.0
/*
 * negative_min.bpf.c - NEGATIVE TWIN (deliberately rejected): signed index into the scratch buffer
 *
 * The single mistake: the offset is a signed int checked only from above (< DNS_MSG_MAX); its minimum is
 * negative, so the access may precede the map value.
 * The fix: use unsigned offsets and mask them (scratch_get8(), lib/scratch.bpf.h).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "expect.bpf.h"
#include "dns_walk.bpf.h"

#include "neg_scratch.h"

FQDNKIT_EXPECT_REJECT(neg_negative_min, "negative-min",
		      "R\\d+ min value is negative, either use unsigned index or do a if \\(index >=0\\) check");
SEC("tc")
int neg_negative_min(struct __sk_buff *skb)
{
	__u32 len;
	__u8 *msg = neg_msg(skb, &len);
	int off;

	if (!msg)
		return TC_ACT_OK;
	off = (__s8)msg[DNS_HDR_LEN] + DNS_HDR_LEN;	/* mistake: signed */
	if (off >= DNS_MSG_MAX)
		return TC_ACT_OK;
	return msg[off] ? TC_ACT_OK : TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
