// SPDX-License-Identifier: GPL-2.0
/*
 * r0_not_set.bpf.c - NEGATIVE TWIN (deliberately rejected): exit without a return value
 *
 * The single mistake: a path reaches `exit` without writing R0 (the return value): naked asm, since clang
 * always sets it.
 * The fix: return a value on every path (TC_ACT_OK).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "expect.bpf.h"

FQDNKIT_EXPECT_REJECT(neg_r0_not_set, "r0-not-set",
		      "R0 !read_ok");
SEC("tc")
__attribute__((naked)) int neg_r0_not_set(struct __sk_buff *skb)
{
	asm volatile(
		"r2 = *(u32 *)(r1 + 0);"	/* skb->len */
		"if r2 > 100 goto +1;"
		"r0 = 0;"
		"exit;"			/* mistake: r0 unset when len > 100 */
		::: "memory");
}

char LICENSE[] SEC("license") = "GPL";
