// SPDX-License-Identifier: GPL-2.0
/*
 * sk_skb stream verdict on fqk_dns_socks: DNS responses over TCP (the queries they answer
 * are recorded from the outgoing stream by the sk_msg verdict, sk_msg.bpf.c).
 *
 * Verdict only, no stream parser. Without a parser the kernel runs the verdict on every
 * skb it takes off the socket's receive queue (sk_psock_verdict_data_ready -> read_skb):
 * each byte of the stream is seen exactly once, skbs whole and from their first byte, and
 * the verdict does the DNS framing itself with per-connection state (tcp_framing.bpf.h,
 * direction FQK_TCP_RX).
 * A stream parser would add nothing (DNS framing cannot be done in the parser: it sees
 * the skb from byte 0, not from where the strparser's message starts, FACTS) and it made
 * the socket stall on kernel 6.18: with a parser attached, responses that TCP had already
 * received stayed in the receive queue, unparsed and unread, until the next segment
 * arrived (ss showed Recv-Q 0 with the bytes still charged to the socket), so pipelined
 * DNS over TCP crawled and the last answers of a burst were lost (docs/ENFORCER.md).
 * The verdict always passes the data on to the socket (SK_PASS): the application gets
 * its responses unchanged; only learning depends on parsing.
 * libbpf 1.1 does not know the section name "sk_skb/stream_verdict": the agent sets the
 * program type (BPF_PROG_TYPE_SK_SKB) itself before loading.
 */
#define DNS_LOOP_TECHNIQUE DNS_LOOP_BPF_LOOP
#include "tcp_framing.bpf.h"

#include "dns_socks.bpf.h"

SEC("sk_skb/stream_verdict")
int fqk_stream_verdict(struct __sk_buff *skb)
{
	int pos = 0;

	for (int i = 0; i < FQK_TCP_STEPS; i++) {
		pos = fqk_tcp_consume(skb, pos, FQK_MODE_ENFORCE);
		if (pos < 0)
			return SK_PASS;
	}
	/* more messages than FQK_TCP_STEPS in one skb: framing would be lost from here */
	fqk_tcp_mark_broken(skb);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
