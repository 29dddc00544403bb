/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dns_socks.bpf.h - the sockhash shared by sockops.bpf.c (which inserts the workload's
 * connections to a resolver) and sk_skb.bpf.c (whose stream parser and verdict are
 * attached to it). One definition for both objects: the agent pins the map once and
 * reuses it by name (toolkit/enforcer/maps.py).
 */
#ifndef FQDNKIT_DNS_SOCKS_BPF_H
#define FQDNKIT_DNS_SOCKS_BPF_H

#include "enforcer.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 4096);
	__type(key, struct fqk_conn);
	__type(value, __u64);
} fqk_dns_socks SEC(".maps");

#endif
