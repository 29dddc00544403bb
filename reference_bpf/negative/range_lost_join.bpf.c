// SPDX-License-Identifier: GPL-2.0
/*
 * range_lost_join.bpf.c - NEGATIVE TWIN (deliberately rejected): bounds lost at a join
 *
 * The single mistake: the offset of the answer section comes from one of two paths -
 * the question walk (bounded: checked < DNS_MSG_MAX) or a cached offset read from the
 * message (not checked) - and the check sits on the first path only, before the join.
 * The verifier explores the paths separately, and on the second one the read after
 * the join is unbounded. (Programmers read the code as "off is checked"; it is only
 * checked on one incoming edge.)
 * The fix: check (or mask) after the join, where every path meets: index with
 * `& DNS_MSG_MASK` as scratch_get8() (lib/scratch.bpf.h) does.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "expect.bpf.h"
#include "dns_walk.bpf.h"

#include "neg_scratch.h"

FQDNKIT_EXPECT_REJECT(neg_range_lost_join, "range-lost-join",
		      "R\\d+ unbounded memory access, make sure to bounds check any such access");
SEC("tc")
int neg_range_lost_join(struct __sk_buff *skb)
{
	__u32 zero = 0, off;
	struct neg_scratch *s = bpf_map_lookup_elem(&neg_scratch, &zero);

	if (!s)
		return TC_ACT_OK;
	if (skb->mark & 1) {
		off = DNS_HDR_LEN + 1 + s->msg[DNS_HDR_LEN];
		if (off >= DNS_MSG_MAX)		/* checked on this path ... */
			return TC_ACT_OK;
	} else {
		off = *(__u32 *)&s->msg[DNS_HDR_LEN];	/* ... not on this one */
	}
	return s->msg[off] ? TC_ACT_OK : TC_ACT_SHOT;	/* mistake: check before the join */
}

char LICENSE[] SEC("license") = "GPL";
