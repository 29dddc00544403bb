/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tc_iface.bpf.h - what the tc programs of an interface workload know about their
 * interface. The agent loads one instance of tc_egress.bpf.o and tc_ingress.bpf.o per
 * interface workload and writes fqk_tc_cfg[0] (workload id, flags, ifindex) before
 * pinning and attaching them; the map is per instance (not shared, not pinned: it lives
 * as long as the program). A program whose config is still zero has no workload.
 */
#ifndef FQDNKIT_TC_IFACE_BPF_H
#define FQDNKIT_TC_IFACE_BPF_H

#include <linux/if_ether.h>
#include "datapath.bpf.h"

#define FQK_IF_L2 1		/* packets start with a 14-byte Ethernet header */
#define FQK_TC_PASS (-1)	/* TCX_NEXT / TC_ACT_UNSPEC: the next program decides */
#define FQK_TC_DROP 2		/* TCX_DROP / TC_ACT_SHOT */

/* this instance's interface; mirrored by maps.Iface */
struct fqk_iface {
	__u64 wid;		/* workload id (FQK_WL_IFACE | ...), 0 = not configured */
	__u32 flags;		/* FQK_IF_* */
	__u32 ifindex;		/* for --status and checks */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fqk_iface);
} fqk_tc_cfg SEC(".maps");

/* fqk_tc_iface - this instance's interface, or NULL when not configured */
static __always_inline struct fqk_iface *fqk_tc_iface(void)
{
	__u32 zero = 0;
	struct fqk_iface *ifc = bpf_map_lookup_elem(&fqk_tc_cfg, &zero);

	return ifc && ifc->wid ? ifc : 0;
}

/**
 * fqk_tc_l3_off - offset of the IP header, from the interface's link type.
 * Return: 0 or ETH_HDR_LEN for IPv4/IPv6; -1 for ARP; -2 for any other ethertype
 * (VLAN-tagged frames included: the IP inside is not looked at) or an unreadable frame.
 */
static __always_inline int fqk_tc_l3_off(struct __sk_buff *skb, const struct fqk_iface *ifc)
{
	__be16 proto;

	if (!(ifc->flags & FQK_IF_L2))
		return 0;
	if (bpf_skb_load_bytes(skb, ETH_HDR_LEN - 2, &proto, 2) < 0)
		return -2;
	if (proto == bpf_htons(ETH_P_IP) || proto == bpf_htons(ETH_P_IPV6))
		return ETH_HDR_LEN;
	return proto == bpf_htons(ETH_P_ARP) ? -1 : -2;
}

#endif
