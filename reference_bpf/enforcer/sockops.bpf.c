// SPDX-License-Identifier: GPL-2.0
/*
 * sockops of each workload cgroup: put the workload's TCP connections to a configured
 * resolver into fqk_dns_socks, the sockhash whose sk_skb verdict (sk_skb.bpf.c) parses
 * the DNS responses arriving on them and whose sk_msg verdict (sk_msg.bpf.c) records the
 * queries the workload writes. When such a connection closes (BPF_SOCK_OPS_STATE_CB,
 * asked for on insertion) its rx framing state (fqk_tcp_state_map) is deleted, so that
 * map holds live connections only and never evicts one (the tx state is socket storage,
 * freed with the socket).
 *
 * Runs on BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB (the workload connected out). The resolver
 * set is the union over all workloads (fqk_resolvers): at this point the connection has
 * no workload identity that the program can read reliably (softirq context); responses
 * are tied to a workload later through the queries recorded on egress.
 */
#define DNS_LOOP_TECHNIQUE DNS_LOOP_BPF_LOOP
#include "enforcer.bpf.h"
#include "ip.bpf.h"

#include "dns_socks.bpf.h"

/* fqk_sockops_conn - the connection of @skops: local = workload, remote = resolver.
 * Return: 0, or -1 for a family other than IPv4/IPv6. */
static __always_inline int fqk_sockops_conn(struct bpf_sock_ops *skops, struct fqk_conn *c)
{
	__u32 rp = skops->remote_port;

	if (skops->family == 2 /* AF_INET */) {
		ip_map4(c->waddr, skops->local_ip4);
		ip_map4(c->raddr, skops->remote_ip4);
	} else if (skops->family == 10 /* AF_INET6 */) {
		__u32 *w = (__u32 *)c->waddr, *ra = (__u32 *)c->raddr;

		w[0] = skops->local_ip6[0];
		w[1] = skops->local_ip6[1];
		w[2] = skops->local_ip6[2];
		w[3] = skops->local_ip6[3];
		ra[0] = skops->remote_ip6[0];
		ra[1] = skops->remote_ip6[1];
		ra[2] = skops->remote_ip6[2];
		ra[3] = skops->remote_ip6[3];
	} else {
		return -1;
	}
	/* remote_port: network order, shifted into the upper half on little endian */
	c->rport = rp > 0xffff ? bpf_ntohl(rp) : bpf_ntohs(rp);
	c->wport = skops->local_port;
	return 0;
}

SEC("sockops")
int fqk_sockops(struct bpf_sock_ops *skops)
{
	struct fqk_resolver r = {};
	struct fqk_conn c = {};

	if (skops->op == BPF_SOCK_OPS_STATE_CB) {
		/* args[1]: the new state; only connections we inserted asked for this */
		if (skops->args[1] == BPF_TCP_CLOSE && fqk_sockops_conn(skops, &c) == 0)
			bpf_map_delete_elem(&fqk_tcp_state_map, &c);
		return 1;
	}
	if (skops->op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB)
		return 1;
	if (fqk_sockops_conn(skops, &c) < 0)
		return 1;
	__builtin_memcpy(r.addr, c.raddr, 16);
	r.port = c.rport;
	if (!bpf_map_lookup_elem(&fqk_resolvers, &r))
		return 1;
	if (bpf_sock_hash_update(skops, &fqk_dns_socks, &c, BPF_NOEXIST) == 0)
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags |
					  BPF_SOCK_OPS_STATE_CB_FLAG);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
