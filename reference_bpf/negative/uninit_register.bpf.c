// SPDX-License-Identifier: GPL-2.0
/*
 * uninit_register.bpf.c - NEGATIVE TWIN (deliberately rejected): argument register read after a helper call clobbered it
 *
 * The single mistake: R1-R5 are caller-saved: after a helper call they are uninitialised, and the code
 * still uses R1 (the context) - written in asm because clang never emits it, as a
 * hand-written or JIT-generated program can. (Uninitialised STACK reads are accepted
 * with full root capabilities on this kernel, see FACTS, so the twin uses a register.)
 * The fix: keep the value in a callee-saved register (R6-R9) or on the stack across calls.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "expect.bpf.h"

FQDNKIT_EXPECT_REJECT(neg_uninit_register, "uninit-read",
		      "R1 !read_ok");
SEC("tc")
__attribute__((naked)) int neg_uninit_register(struct __sk_buff *skb)
{
	asm volatile(
		"call %[get_prandom];"
		"r0 = *(u32 *)(r1 + 0);"	/* mistake: r1 is clobbered by the call */
		"r0 = 0;"
		"exit;"
		:
		: [get_prandom] "i"(BPF_FUNC_get_prandom_u32)
		: "memory");
}

char LICENSE[] SEC("license") = "GPL";
