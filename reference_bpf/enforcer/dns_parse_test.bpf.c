// SPDX-License-Identifier: GPL-2.0
/*
 * Test-run entry points of the enforcer's DNS parsing, for `fqdnkit dns-parse`
 * (BPF_PROG_TEST_RUN, SCHED_CLS: data = ETH_HDR_LEN zero bytes + payload).
 *
 *   fqk_test_udp: payload = one DNS message; runs fqk_process_msg(FQK_MODE_TEST), the
 *                 function the UDP ingress program runs, parse part only.
 *   fqk_test_tcp: payload = one segment of a TCP stream; runs the same framing code as
 *                 the sk_skb verdict (fqk_tcp_consume) with the state of a fixed
 *                 connection key, so consecutive runs continue one stream.
 * Each parsed message is appended to fqk_test_results (the harness resets it and the
 * TCP state before a run).
 */
#define DNS_LOOP_TECHNIQUE DNS_LOOP_BPF_LOOP
#define FQK_TCP_FIXED_CONN
#include "tcp_framing.bpf.h"

SEC("tc")
int fqk_test_udp(struct __sk_buff *skb)
{
	struct fqk_scratch *s = fqk_scratch_get();
	int n;

	if (!s)
		return 0;
	n = dns_msg_load(skb, ETH_HDR_LEN, s->msg);
	if (n < 0) {
		/* report load errors (too short/long) as a result entry as well */
		return fqk_process_msg(skb->len > ETH_HDR_LEN ? skb->len - ETH_HDR_LEN : 0,
				       FQK_MODE_TEST);
	}
	return fqk_process_msg(n, FQK_MODE_TEST);
}

SEC("tc")
int fqk_test_tcp(struct __sk_buff *skb)
{
	int pos = 0;

	for (int i = 0; i < FQK_TCP_STEPS; i++) {
		pos = fqk_tcp_consume(skb, pos, FQK_MODE_TEST);
		if (pos < 0)
			return 0;
	}
	fqk_tcp_mark_broken(skb);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
