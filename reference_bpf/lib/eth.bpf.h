/* SPDX-License-Identifier: GPL-2.0 */
/*
 * eth.bpf.h - Ethernet framing for programs that see the MAC header.
 *
 * cgroup_skb programs see the packet from the IP header (offset 0 = IP); tc (SCHED_CLS)
 * programs and BPF_PROG_TEST_RUN of SCHED_CLS see it from the Ethernet header. The
 * enforcer's test-run harness programs are SCHED_CLS: the harness prepends ETH_HLEN
 * zero bytes to each DNS message and the program starts reading at eth_payload_off().
 */
#ifndef FQDNKIT_ETH_BPF_H
#define FQDNKIT_ETH_BPF_H

#include <linux/types.h>

#define ETH_HDR_LEN 14		/* destination, source, ethertype */

/* eth_payload_off - offset of the byte after the Ethernet header (no VLAN tags). */
static __always_inline __u32 eth_payload_off(void)
{
	return ETH_HDR_LEN;
}

#endif
