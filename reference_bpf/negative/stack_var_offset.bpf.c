// SPDX-License-Identifier: GPL-2.0
/*
 * stack_var_offset.bpf.c - NEGATIVE TWIN (deliberately rejected): unbounded variable offset into a stack buffer
 *
 * The single mistake: a name is assembled in a 64-byte stack array at an index read from the message,
 * with no bound: a variable-offset stack write must be bounded to the stack frame.
 * The fix: build names in a map value with a masked index (dns_name_read()'s out->wire[olen &
 * DNS_NAME_MASK], lib/dns_walk.bpf.h) or mask the stack index (& 63).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "expect.bpf.h"
#include "dns_walk.bpf.h"

#include "neg_scratch.h"

FQDNKIT_EXPECT_REJECT(neg_stack_var_offset, "stack-var-offset",
		      "invalid unbounded variable-offset (write|read) (to|from) stack R\\d+");
SEC("tc")
int neg_stack_var_offset(struct __sk_buff *skb)
{
	__u8 name[64] = {};
	__u32 len, i;
	__u8 *msg = neg_msg(skb, &len);

	if (!msg)
		return TC_ACT_OK;
	i = *(__u32 *)&msg[DNS_HDR_LEN];
	name[i] = 1;				/* mistake: i not bounded to 0..63 */
	return name[0] ? TC_ACT_OK : TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
