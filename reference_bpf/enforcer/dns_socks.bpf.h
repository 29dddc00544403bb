/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dns_socks.bpf.h - the per-socket state of the workload's TCP connections to a resolver,
 * shared by every object that touches it (the agent pins each map once and reuses it by
 * name, toolkit/enforcer/maps.py and agent.py):
 *
 *   fqk_dns_socks      sockhash: sockops.bpf.c inserts the connection on
 *                      ACTIVE_ESTABLISHED_CB; the sk_skb verdict (sk_skb.bpf.c, answers)
 *                      and the sk_msg verdict (sk_msg.bpf.c, queries) are attached to it.
 *   fqk_sock_tx        socket storage (freed with the socket): the workload id, written
 *                      by cgroup egress (datapath.bpf.h) from the first packet on (the
 *                      SYN), and the framing state of the outgoing stream (sk_msg).
 *   fqk_tcp_state_map  framing state of the incoming stream, keyed by the connection
 *                      (sk_skb programs cannot use socket storage, kernel 6.18): a hash
 *                      sized to the sockhash, allocated on first use, deleted by
 *                      sockops when the connection closes (BPF_SOCK_OPS_STATE_CB), so a
 *                      live connection's state is never evicted.
 */
#ifndef FQDNKIT_DNS_SOCKS_BPF_H
#define FQDNKIT_DNS_SOCKS_BPF_H

#include "enforcer.bpf.h"

#define FQK_DNS_SOCKS_MAX 4096

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, FQK_DNS_SOCKS_MAX);
	__type(key, struct fqk_conn);
	__type(value, __u64);
} fqk_dns_socks SEC(".maps");

/* framing state of one direction of one connection (tcp_framing.bpf.h) */
struct fqk_tcp_state {
	__u64 cookie;		/* socket cookie of the connection this state belongs to (rx) */
	__u16 need;		/* body length from the prefix */
	__u16 have;		/* body bytes in buf */
	__u8 plen;		/* prefix bytes seen (0, 1, 2) */
	__u8 p0;		/* first prefix byte */
	__u8 broken;
	__u8 pad;
	__u8 buf[2 * DNS_MSG_MAX];	/* verifier: [have & mask] + n (<= DNS_MSG_MAX) in bounds */
};

struct fqk_sock_tx {
	__u64 wid;		/* workload of the socket (cgroup egress), 0 = not seen yet */
	__u32 seq_next;		/* TCP sequence number after the last byte framed (sk_msg) */
	__u8 seq_ok;		/* seq_next is set */
	__u8 pad[3];
	struct fqk_tcp_state fr;	/* outgoing stream (queries) */
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct fqk_sock_tx);
} fqk_sock_tx SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, FQK_DNS_SOCKS_MAX);
	__type(key, struct fqk_conn);
	__type(value, struct fqk_tcp_state);
} fqk_tcp_state_map SEC(".maps");

#endif
