/* SPDX-License-Identifier: GPL-2.0 */
/*
 * enforcer.bpf.h - the FQDN egress enforcer's shared types and maps.
 *
 * Every struct here is mirrored by ctypes in toolkit/enforcer/maps.py (natural C
 * alignment on both sides); change both together. Maps listed in FQK_SHARED_MAPS
 * (toolkit/enforcer/maps.py) are created once by the first object the agent loads
 * and handed to the other objects with bpf_map__reuse_fd, so the programs of all
 * attach points (cgroup_skb egress/ingress, sockops, sk_skb) share one state; all of
 * them are pinned under /sys/fs/bpf/fqdnkit/maps/.
 *
 * Policy indirection (atomic updates): fqk_workloads maps a cgroup id to a policy slot;
 * a slot is one fqk_policies entry (resolvers, min TTL, cap, flags) plus FQK_MAX_RULES
 * entries of fqk_rules. The agent writes a new policy into an unused slot and then
 * switches the workload with one update of fqk_workloads: a packet sees either the old
 * or the new policy, never a mix.
 */
#ifndef FQDNKIT_ENFORCER_BPF_H
#define FQDNKIT_ENFORCER_BPF_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "dns_walk.bpf.h"

#define FQK_POLICY_SLOTS 32	/* 2 per workload: 16 workloads */
#define FQK_MAX_RULES 64	/* names + patterns per policy */
#define FQK_PAT_LABELS 16	/* labels of one pattern (after a leading "**.") */
#define FQK_MAX_RESOLVERS 4
#define FQK_NAME_CAP_MAX 64	/* per-name IP cap upper bound (default 50) */
#define DNS_MAX_ANSWERS 32	/* answer RRs looked at; more = message rejected */
#define DNS_MAX_OTHER_RRS 64	/* authority + additional RRs walked (validated) */
#define DNS_MAX_CNAME_HOPS 8	/* CNAME hops from the question name that are credited */
#define FQK_QUERY_MAX_AGE_NS (30ULL * 1000000000ULL)
#define FQK_NS_PER_S 1000000000ULL

/* rule kinds */
#define FQK_RULE_LABELS 1	/* label-by-label match (matchName or matchPattern) */
#define FQK_RULE_ALL 2		/* matchPattern "*" */

/* policy flags */
#define FQK_F_AUDIT 1		/* count and report drops, do not drop */

/* one pattern label: buf[0..plen) must prefix the name label; with star, buf[plen..plen+slen)
 * must suffix it (and the label must be >= plen + slen long); without star it must equal it */
struct fqk_label {
	__u8 plen;
	__u8 slen;
	__u8 star;
	__u8 pad;
	__u8 buf[64];
};

struct fqk_rule {
	__u8 kind;		/* 0 = unused (end of the list), FQK_RULE_* */
	__u8 multi;		/* leading "**.": one or more extra labels on the left */
	__u8 nlabels;		/* labels in label[] (label[0] is the rightmost, e.g. "com") */
	__u8 pad;
	struct fqk_label label[FQK_PAT_LABELS];
};

struct fqk_resolver {
	__u8 addr[16];		/* v4-mapped or IPv6 */
	__u16 port;		/* host order */
	__u16 pad;
};

struct fqk_policy {
	__u32 nrules;
	__u32 nresolvers;
	__u32 min_ttl;		/* seconds */
	__u32 per_name_cap;	/* 1..FQK_NAME_CAP_MAX */
	__u32 flags;		/* FQK_F_* */
	__u32 generation;	/* agent's counter, shown by --status */
	struct fqk_resolver resolvers[FQK_MAX_RESOLVERS];
};

struct fqk_allow_key {
	__u64 cgid;
	__u8 ip[16];
};

struct fqk_allow_val {
	__u64 expiry_ns;	/* bpf_ktime_get_boot_ns() based */
	__u64 name_hash;	/* fqk_names entry that gave the latest expiry */
};

struct fqk_name_key {
	__u64 cgid;
	__u64 name_hash;	/* FNV-1a 64 of the lower-cased wire name */
};

struct fqk_name_slot {
	__u8 ip[16];
	__u64 expiry_ns;	/* 0 = free */
};

struct fqk_name_ips {
	__u32 n;		/* slots in use (high-water mark) */
	__u32 pad;
	struct fqk_name_slot slot[FQK_NAME_CAP_MAX];
	struct dns_name name;	/* for --status */
};

/* one TCP/UDP conversation between a workload socket and a resolver */
struct fqk_conn {
	__u8 waddr[16];		/* workload side */
	__u8 raddr[16];		/* resolver side */
	__u16 wport;		/* host order */
	__u16 rport;
};

struct fqk_query_key {
	struct fqk_conn conn;
	__u8 proto;
	__u8 pad;
	__u16 id;		/* DNS id, host order */
};

struct fqk_query {
	__u64 cgid;
	__u64 ts_ns;
	__u16 qtype;
	__u16 qclass;
	__u32 pad;
	struct dns_name qname;
};

/* the result of parsing one DNS response (what the harness reports) */
struct fqk_learned {
	__u8 ip[16];
	__u32 ttl;
	__u32 family;		/* 4 or 6 */
};

struct fqk_result {
	__u32 valid;
	__u32 reason;		/* 0 when valid; else a reasons.def.h value */
	__u16 id;
	__u16 qtype;
	__u16 qclass;
	__u16 nlearned;
	__u32 msg_len;
	struct dns_name qname;
	struct fqk_learned learned[DNS_MAX_ANSWERS];
};

#define FQK_EV_DROP 1
#define FQK_EV_LEARN 2
#define FQK_EV_REJECT 3		/* a DNS response not learned from (spoof, invalid, not allowed) */
#define FQK_EV_EVICT 4

struct fqk_event {
	__u64 ts_ns;
	__u64 cgid;
	__u8 ip[16];
	__u32 type;		/* FQK_EV_* */
	__u32 reason;
	__u32 ttl;
	__u16 port;
	__u8 proto;
	__u8 audit;
	__u8 name[64];		/* question name, dotted text, truncated; "" if none */
};

/* --- maps shared by all enforcer objects (reused by fd, pinned by the agent) --- */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FQK_POLICY_SLOTS);
	__type(key, __u64);
	__type(value, __u32);
} fqk_workloads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FQK_POLICY_SLOTS);
	__type(key, __u32);
	__type(value, struct fqk_policy);
} fqk_policies SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FQK_POLICY_SLOTS * FQK_MAX_RULES);
	__type(key, __u32);
	__type(value, struct fqk_rule);
} fqk_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct fqk_allow_key);
	__type(value, struct fqk_allow_val);
} fqk_allow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct fqk_name_key);
	__type(value, struct fqk_name_ips);
} fqk_names SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct fqk_query_key);
	__type(value, struct fqk_query);
} fqk_queries SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FQDNKIT_REASON_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} fqk_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} fqk_events SEC(".maps");

/* union of every workload's resolvers (sockops has no workload identity at connect) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FQK_POLICY_SLOTS * FQK_MAX_RESOLVERS);
	__type(key, struct fqk_resolver);
	__type(value, __u32);
} fqk_resolvers SEC(".maps");

/* fqk_count - bump the per-CPU counter of @reason (a reasons.def.h value). */
static __always_inline void fqk_count(__u32 reason)
{
	__u64 *c = bpf_map_lookup_elem(&fqk_counters, &reason);

	if (c)
		*c += 1;
}

/* fqk_name_text - write @n as dotted text (truncated to 63 chars) into @out[64]. */
static __always_inline void fqk_name_text(const struct dns_name *n, __u8 *out)
{
	__u32 left = n->wire[0];

	#pragma unroll
	for (int i = 0; i < 63; i++) {
		__u8 c = n->wire[(i + 1) & DNS_NAME_MASK];

		if (i + 1 >= n->len) {
			out[i] = 0;
			continue;
		}
		/* wire[0] is the first length byte; later length bytes become dots */
		if (left == 0) {
			left = c;
			out[i] = c ? '.' : 0;
		} else {
			left--;
			out[i] = c;
		}
	}
	out[63] = 0;
}

/* Event wake-ups (the agent drains the ring on a short timer, toolkit/commands/enforce.py):
 * drops wake the agent at once (BPF_RB_FORCE_WAKEUP: with earlier records unconsumed the
 * default adaptive wake-up would not fire); every other event is submitted with
 * BPF_RB_NO_WAKEUP unless the ring holds FQK_EV_WAKE_BYTES or more unconsumed (then it
 * forces a wake-up so that the ring does not fill). A wake-up is an irq_work plus a
 * context switch of the agent: one per learned answer cost the agent ~40% of a CPU at
 * 15 k answers/s (measured 2026-11-26). */
#define FQK_EV_WAKE_BYTES (64 * 1024)

/* fqk_event_emit - reserve, fill and submit one event (dropped silently when full). */
static __always_inline void fqk_event_emit(__u32 type, __u32 reason, __u64 cgid,
					   const __u8 *ip, __u16 port, __u8 proto, __u32 ttl,
					   __u8 audit, const struct dns_name *name)
{
	struct fqk_event *e = bpf_ringbuf_reserve(&fqk_events, sizeof(*e), 0);

	if (!e)
		return;
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->cgid = cgid;
	if (ip)
		__builtin_memcpy(e->ip, ip, 16);
	else
		__builtin_memset(e->ip, 0, 16);
	e->type = type;
	e->reason = reason;
	e->ttl = ttl;
	e->port = port;
	e->proto = proto;
	e->audit = audit;
	if (name)
		fqk_name_text(name, e->name);
	else
		__builtin_memset(e->name, 0, sizeof(e->name));
	bpf_ringbuf_submit(e, type == FQK_EV_DROP ||
			   bpf_ringbuf_query(&fqk_events, BPF_RB_AVAIL_DATA) >= FQK_EV_WAKE_BYTES ?
			   BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

#endif
