// SPDX-License-Identifier: GPL-2.0
/*
 * dns_qname_unchecked.bpf.c - deliberately failing: reads the first label length of
 * the question name one byte past the range the bounds check proved.
 *
 * The check proves the DNS header (12 bytes after UDP) but the read is of byte 12 of
 * the DNS message, i.e. [12, 13): the classic off-by-one the diagnosis must explain.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "expect.bpf.h"

#define DNS_HDR_LEN 12

FQDNKIT_EXPECT_REJECT(dns_qname_unchecked, "pkt-off-by-one",
		      "invalid access to packet, off=54 size=1");
SEC("tc")
int dns_qname_unchecked(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u8 *dns = data + sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct udphdr);

	if ((void *)(dns + DNS_HDR_LEN) > data_end)
		return TC_ACT_OK;
	/* expected failure: the first label length is at dns[12], one past the check */
	if (dns[DNS_HDR_LEN] > 63)
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
