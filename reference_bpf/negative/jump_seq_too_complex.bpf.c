// SPDX-License-Identifier: GPL-2.0
/*
 * jump_seq_too_complex.bpf.c - NEGATIVE TWIN (deliberately rejected): too many pending branches
 *
 * The single mistake: a bounded loop whose every iteration branches on packet data and keeps a precise
 * counter: each iteration leaves one unexplored branch on the verifier's stack, and
 * after 8192 of them it gives up.
 * The fix: keep the loop short (DNS_SKIP_STEPS) or keep counters in a map value so branches
 * prune (struct dns_walk_state, lib/dns_walk.bpf.h).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "expect.bpf.h"
#include "dns_walk.bpf.h"

#include "neg_scratch.h"

FQDNKIT_EXPECT_REJECT(neg_jump_seq_too_complex, "jump-seq-too-complex",
		      "The sequence of 8193 jumps is too complex\\.");
SEC("tc")
int neg_jump_seq_too_complex(struct __sk_buff *skb)
{
	__u32 len, zeros = 0;
	__u8 *msg = neg_msg(skb, &len);

	if (!msg)
		return TC_ACT_OK;
	for (__u32 i = 0; i < 10000; i++) {	/* mistake: 10000 data-dependent branches */
		if (msg[i & DNS_MSG_MASK] == 0)
			zeros++;
	}
	return zeros > 100 ? TC_ACT_SHOT : TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
