// SPDX-License-Identifier: GPL-2.0
/*
 * too_many_insns.bpf.c - NEGATIVE TWIN (deliberately rejected): loop too long to verify
 *
 * The single mistake: a byte-by-byte checksum over 2^20 iterations: a bounded loop the verifier walks one
 * iteration at a time, so it runs out of its 1M processed-instruction budget.
 * The fix: walk at most DNS_READ_STEPS steps, or use bpf_loop / bpf_for (DNS_LOOP_BPF_LOOP,
 * DNS_LOOP_ITER in lib/dns_walk.bpf.h), whose bodies are verified once or until they
 * converge.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "expect.bpf.h"
#include "dns_walk.bpf.h"

#include "neg_scratch.h"

FQDNKIT_EXPECT_REJECT(neg_too_many_insns, "too-many-insns",
		      "BPF program is too large\\. Processed 1000001 insn");
SEC("tc")
int neg_too_many_insns(struct __sk_buff *skb)
{
	__u32 len, sum = 0;
	__u8 *msg = neg_msg(skb, &len);

	if (!msg)
		return TC_ACT_OK;
	for (__u32 i = 0; i < (1u << 20); i++)	/* mistake: 2^20 verifier iterations */
		sum += msg[i & DNS_MSG_MASK];
	return sum & 1;
}

char LICENSE[] SEC("license") = "GPL";
