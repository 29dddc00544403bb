/* SPDX-License-Identifier: GPL-2.0 */
/*
 * neg_scratch.h - the per-CPU message buffer the negative twins read from.
 *
 * The twins copy (or pretend to copy) the DNS message into a map value as the enforcer
 * does, so that each twin's single mistake is about the walk, not the set-up. Shared
 * here so the twins differ only in the mistake they demonstrate.
 */
#ifndef FQDNKIT_NEG_SCRATCH_H
#define FQDNKIT_NEG_SCRATCH_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "dns_walk.bpf.h"

struct neg_scratch {
	__u8 msg[DNS_MSG_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct neg_scratch);
} neg_scratch SEC(".maps");

/* The DNS message copied from the packet (as the enforcer does), or NULL. */
static __always_inline __u8 *neg_msg(struct __sk_buff *skb, __u32 *len)
{
	__u32 zero = 0;
	struct neg_scratch *s = bpf_map_lookup_elem(&neg_scratch, &zero);

	if (!s)
		return 0;
	*len = skb->len > DNS_MSG_MAX ? DNS_MSG_MAX : skb->len;
	return s->msg;
}

#endif
