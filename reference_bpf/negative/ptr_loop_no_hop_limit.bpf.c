// SPDX-License-Identifier: GPL-2.0
/*
 * ptr_loop_no_hop_limit.bpf.c - NEGATIVE TWIN (deliberately rejected): compression-pointer loop without a hop limit
 *
 * The single mistake: pointers are followed while the byte at the cursor is a pointer, with no hop
 * counter: a message whose pointer points at itself loops forever, and the verifier
 * sees the same state at the loop head again.
 * The fix: dns_ptr_follow() (lib/dns_walk.bpf.h): at most DNS_MAX_PTR_HOPS hops and targets
 * strictly below the current segment.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "expect.bpf.h"
#include "dns_walk.bpf.h"

#include "neg_scratch.h"

FQDNKIT_EXPECT_REJECT(neg_ptr_loop_no_hop_limit, "infinite-loop",
		      "infinite loop detected at insn");
SEC("tc")
int neg_ptr_loop_no_hop_limit(struct __sk_buff *skb)
{
	__u32 len, pos = DNS_HDR_LEN;
	__u8 *msg = neg_msg(skb, &len);
	__u8 c;

	if (!msg)
		return TC_ACT_OK;
	c = msg[pos & DNS_MSG_MASK];
	while (c >= 0xc0) {			/* mistake: no hop limit */
		pos = (((__u32)(c & 0x3f) << 8) | msg[(pos + 1) & DNS_MSG_MASK]) & DNS_MSG_MASK;
		c = msg[pos];
	}
	return pos < len ? TC_ACT_OK : TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
