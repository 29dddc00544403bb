// SPDX-License-Identifier: GPL-2.0
/*
 * unbounded_label_loop.bpf.c - NEGATIVE TWIN (deliberately rejected): label loop with no bound
 *
 * The single mistake: the label walk loops `while (label length != 0)` with nothing bounding the number of
 * iterations; the loop state repeats and the verifier reports an infinite loop.
 * The fix: walk with dns_name_skip()/dns_name_read() (lib/dns_walk.bpf.h), bounded by
 * DNS_SKIP_STEPS / DNS_READ_STEPS in every loop technique.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "expect.bpf.h"
#include "dns_walk.bpf.h"

#include "neg_scratch.h"

FQDNKIT_EXPECT_REJECT(neg_unbounded_label_loop, "infinite-loop",
		      "infinite loop detected at insn");
SEC("tc")
int neg_unbounded_label_loop(struct __sk_buff *skb)
{
	__u32 len, pos = DNS_HDR_LEN;
	__u8 *msg = neg_msg(skb, &len);
	__u8 c;

	if (!msg)
		return TC_ACT_OK;
	c = msg[pos & DNS_MSG_MASK];
	while (c != 0) {			/* mistake: no bound on the label count */
		pos = (pos + c + 1) & DNS_MSG_MASK;
		c = msg[pos];
	}
	return pos < len ? TC_ACT_OK : TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
