// SPDX-License-Identifier: GPL-2.0
/*
 * range_lost_spill.bpf.c - NEGATIVE TWIN (deliberately rejected): bounds lost across a
 * spill/fill
 *
 * The single mistake: the checked offset is kept in a stack struct (volatile, as a
 * struct shared with a callback or an address-taken local is) whose u32 field sits at
 * fp-12 (clang-19), not at an 8-byte aligned slot. The verifier keeps a spilled register's bounds
 * only for 8-byte aligned slots; the 4-byte write at fp-12 turns the slot into plain
 * bytes and the fill reads back an unknown u32, so the check before the spill is lost.
 * The fix: re-establish the bound after the fill by masking (scratch_get8(),
 * lib/scratch.bpf.h), or keep walk counters in a map value and mask every index as
 * lib/dns_walk.bpf.h does (struct dns_walk_state).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "expect.bpf.h"
#include "dns_walk.bpf.h"

#include "neg_scratch.h"

struct walk_pos {
	__u32 hops;
	__u32 pos;	/* 4 bytes into the struct: not an 8-byte aligned slot */
} __attribute__((aligned(8)));

FQDNKIT_EXPECT_REJECT(neg_range_lost_spill, "range-lost-spill",
		      "R\\d+ unbounded memory access, make sure to bounds check any such access");
SEC("tc")
int neg_range_lost_spill(struct __sk_buff *skb)
{
	volatile struct walk_pos w = {};
	__u32 zero = 0, pos;
	struct neg_scratch *s = bpf_map_lookup_elem(&neg_scratch, &zero);

	if (!s)
		return TC_ACT_OK;
	pos = *(__u32 *)&s->msg[DNS_HDR_LEN];
	if (pos >= DNS_MSG_MAX)
		return TC_ACT_OK;
	w.pos = pos;			/* 4-byte spill of a bounded value at fp-12 */
	return s->msg[w.pos] ? TC_ACT_OK : TC_ACT_SHOT;	/* mistake: fill is unbounded */
}

char LICENSE[] SEC("license") = "GPL";
