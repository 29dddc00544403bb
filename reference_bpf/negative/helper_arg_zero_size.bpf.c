// SPDX-License-Identifier: GPL-2.0
/*
 * helper_arg_zero_size.bpf.c - NEGATIVE TWIN (deliberately rejected): helper size argument that may be zero
 *
 * The single mistake: the length given to bpf_skb_load_bytes() is bounded above (<= DNS_MSG_MAX) but not
 * below: 0 is possible, and the helper's size argument must be > 0.
 * The fix: dns_msg_load() (lib/scratch.bpf.h) proves the size is in [DNS_HDR_LEN, DNS_MSG_MAX].
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "expect.bpf.h"
#include "dns_walk.bpf.h"

#include "neg_scratch.h"

FQDNKIT_EXPECT_REJECT(neg_helper_arg_zero_size, "helper-arg",
		      "R4 invalid zero-sized read");
SEC("tc")
int neg_helper_arg_zero_size(struct __sk_buff *skb)
{
	__u32 zero = 0;
	struct neg_scratch *s = bpf_map_lookup_elem(&neg_scratch, &zero);
	__u64 len = skb->len;

	if (!s)
		return TC_ACT_OK;
	if (len > DNS_MSG_MAX)			/* mistake: no `len == 0` check */
		return TC_ACT_OK;
	bpf_skb_load_bytes(skb, 0, s->msg, len);
	return s->msg[0] ? TC_ACT_OK : TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
