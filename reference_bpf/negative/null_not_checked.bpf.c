// SPDX-License-Identifier: GPL-2.0
/*
 * null_not_checked.bpf.c - NEGATIVE TWIN (deliberately rejected): map lookup result used without a NULL check
 *
 * The single mistake: bpf_map_lookup_elem() may return NULL; the scratch pointer is dereferenced directly.
 * The fix: check the pointer (`if (!s) return ...`) as dns_walk_init() (lib/dns_walk.bpf.h) and
 * every example do.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "expect.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} neg_counts SEC(".maps");

FQDNKIT_EXPECT_REJECT(neg_null_not_checked, "null-not-checked",
		      "R\\d+ invalid mem access 'map_value_or_null'");
SEC("tc")
int neg_null_not_checked(struct __sk_buff *skb)
{
	__u32 key = skb->protocol;
	__u64 *v = bpf_map_lookup_elem(&neg_counts, &key);

	*v += 1;				/* mistake: v may be NULL */
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
