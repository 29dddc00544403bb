// SPDX-License-Identifier: GPL-2.0
/*
 * sk_skb stream parser + stream verdict on fqk_dns_socks: DNS responses over TCP.
 *
 * The parser returns skb->len: every skb is handed to the verdict whole, and the verdict
 * does the DNS framing itself with per-connection state (tcp_framing.bpf.h), because
 * both programs see each skb from byte 0 (FACTS) and messages can be coalesced or split.
 * The verdict always passes the data on to the socket (SK_PASS): the application gets
 * its responses unchanged; only learning depends on parsing.
 * libbpf 1.1 does not know the section names "sk_skb/stream_parser|verdict": the agent
 * sets the program type (BPF_PROG_TYPE_SK_SKB) itself before loading.
 */
#define DNS_LOOP_TECHNIQUE DNS_LOOP_BPF_LOOP
#include "tcp_framing.bpf.h"

#include "dns_socks.bpf.h"

SEC("sk_skb/stream_parser")
int fqk_stream_parser(struct __sk_buff *skb)
{
	return skb->len;
}

SEC("sk_skb/stream_verdict")
int fqk_stream_verdict(struct __sk_buff *skb)
{
	int pos = 0;

	for (int i = 0; i < FQK_TCP_STEPS; i++) {
		pos = fqk_tcp_consume(skb, pos, FQK_MODE_ENFORCE);
		if (pos < 0)
			return SK_PASS;
	}
	/* more steps than FQK_TCP_STEPS in one skb: framing would be lost from here */
	fqk_tcp_mark_broken(skb);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
