// SPDX-License-Identifier: GPL-2.0
/*
 * allowlist.bpf.c - the data plane of the user-space DNS proxy design the benchmark
 * compares the in-kernel enforcer against (toolkit/bench/dnsproxy.py).
 *
 * A cgroup_skb egress program: a packet leaves the workload's cgroup only if it goes to
 * the proxy's DNS address (proxy_addr, IPv4 and port in host order, set by the bench) or
 * to an IPv4/IPv6 address in allow_ips, which the proxy fills from the DNS answers it
 * forwards. Loopback is allowed. Every drop is counted in drops[0]. No name knowledge,
 * no TTL: that lives in the proxy, as in the design being replaced.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct allow_key {
	__u8 ip[16];		/* IPv4 as ::ffff:a.b.c.d */
};

struct proxy_addr {
	__u32 addr;		/* IPv4, network order */
	__u16 port;		/* network order */
	__u16 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct allow_key);
	__type(value, __u64);	/* expiry in CLOCK_BOOTTIME ns; 0 = no expiry */
} allow_ips SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct proxy_addr);
} proxy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

static __always_inline int allow_drop(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&drops, &zero);

	if (n)
		*n += 1;
	return 0;
}

static __always_inline int allow_lookup(struct allow_key *k)
{
	__u64 *exp = bpf_map_lookup_elem(&allow_ips, k);

	if (!exp)
		return 0;
	return *exp == 0 || *exp > bpf_ktime_get_boot_ns();
}

SEC("cgroup_skb/egress")
int allowlist_egress(struct __sk_buff *skb)
{
	struct allow_key k = {};
	__u32 zero = 0;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;
		struct proxy_addr *p;

		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) < 0)
			return allow_drop();
		if ((bpf_ntohl(ip.daddr) >> 24) == 127)
			return 1;
		p = bpf_map_lookup_elem(&proxy, &zero);
		if (p && ip.daddr == p->addr &&
		    (ip.protocol == IPPROTO_UDP || ip.protocol == IPPROTO_TCP)) {
			__u16 ports[2];

			if (bpf_skb_load_bytes(skb, ip.ihl * 4, ports, sizeof(ports)) == 0 &&
			    ports[1] == p->port)
				return 1;
		}
		k.ip[10] = 0xff;
		k.ip[11] = 0xff;
		__builtin_memcpy(&k.ip[12], &ip.daddr, 4);
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)) < 0)
			return allow_drop();
		__builtin_memcpy(k.ip, &ip6.daddr, 16);
		if (ip6.daddr.in6_u.u6_addr32[0] == 0 && ip6.daddr.in6_u.u6_addr32[1] == 0 &&
		    ip6.daddr.in6_u.u6_addr32[2] == 0 && ip6.daddr.in6_u.u6_addr32[3] == bpf_htonl(1))
			return 1;
	} else {
		return allow_drop();
	}
	if (allow_lookup(&k))
		return 1;
	return allow_drop();
}

char LICENSE[] SEC("license") = "GPL";
