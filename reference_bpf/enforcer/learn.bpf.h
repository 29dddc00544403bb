/* SPDX-License-Identifier: GPL-2.0 */
/*
 * learn.bpf.h - what the enforcer does with a DNS response: anti-spoofing checks, policy
 * match, learning (workload, IP) -> expiry with a per-name cap.
 *
 * fqk_process_msg() is a global (separately verified) function shared by the UDP ingress
 * program, the sk_skb verdict program and the test-run programs. Its input is the
 * per-CPU scratch: msg[0..len), conn (workload side / resolver side) and proto.
 *
 *   mode FQK_MODE_ENFORCE: the response must answer an outstanding query recorded on
 *     egress (fqk_queries: same 5-tuple and DNS id, not older than 30 s, deleted when
 *     answered), come from one of the workload policy's resolvers, carry the same
 *     question (name case-insensitively, type, class), and its question name must match
 *     the policy; then each credited IP is learned.
 *   mode FQK_MODE_TEST: parse only; the result is appended to fqk_test_results.
 *
 * Learning: expiry = now + max(TTL, min_ttl) seconds (TTLs >= 2^31 count as 0, RFC 2181).
 * fqk_names[(cgroup, name)] keeps up to per_name_cap (IP, expiry) slots. A new IP takes a
 * free or expired slot; when all are live, the slot with the EARLIEST expiry is evicted
 * (Cilium keeps the most recently seen IPs of a name; earliest expiry is our equivalent)
 * and its fqk_allow entry deleted if that entry's latest expiry came from this name. An
 * IP already present has its expiry raised. fqk_allow[(cgroup, IP)] holds the latest
 * expiry over all names; the data path checks only that map. An existing allow entry is
 * raised in place (no bpf_map_update_elem: an LRU update allocates and swaps an element
 * per answer), as fqk_names slots always were.
 * Events: FQK_LEARNED is counted for every credited IP of every answer; a LEARN event
 * is emitted only when the (name, IP) pair becomes live (a new slot, or its slot had
 * expired), not for every answer that refreshes it (an event per answer cost the agent
 * ~40% of a CPU at max DNS load; --status and the TUI read the maps, not events).
 * Races: two CPUs learning the same name at once may lose one slot update (no locks in
 * the data path); the allow entry is still written, so the effect is a missed cap count.
 * An in-place allow write racing the deletion of that entry (eviction on another CPU,
 * the agent revoking a name) may land in the freed element: the entry is then gone (not
 * learned until the next answer), or, if another learn has reused the element for its
 * own (workload, IP) in that window, that entry's expiry is raised to this answer's.
 * Only learning inserts into fqk_allow, so no IP that was never learned becomes allowed.
 * In place saves ~80-100 ns per learned IP (an LRU update per answer, test-run,
 * 2026-11-26).
 */
#ifndef FQDNKIT_LEARN_BPF_H
#define FQDNKIT_LEARN_BPF_H

#include "dns_msg.bpf.h"

#define FQK_MODE_ENFORCE 0
#define FQK_MODE_TEST 1
#define FQK_TEST_RESULTS 16

struct fqk_test_out {
	__u32 n;		/* results written (may exceed FQK_TEST_RESULTS: extra ones lost) */
	__u32 pad;
	struct fqk_result r[FQK_TEST_RESULTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fqk_test_out);
} fqk_test_results SEC(".maps");

/* Copy a struct @T of a map value word by word: clang refuses __builtin_memcpy of these
 * sizes for BPF. One callback per type so that the verifier sees a constant bound
 * (verifier: a bound read from the context is not tied to the index, kernel 6.18). */
#define FQK_DEFINE_COPY(fn, T)                                                      \
	struct fn##_ctx {                                                            \
		__u32 *dst;                                                          \
		const __u32 *src;                                                    \
	};                                                                           \
	static long fn##_step(__u64 i, void *ctx)                                    \
	{                                                                            \
		struct fn##_ctx *c = ctx;                                            \
									             \
		if (i >= sizeof(T) / 4)                                              \
			return 1;                                                    \
		c->dst[i] = c->src[i];                                               \
		return 0;                                                            \
	}                                                                            \
	static __always_inline void fn(T *d, const T *s)                             \
	{                                                                            \
		struct fn##_ctx c = { .dst = (__u32 *)d, .src = (const __u32 *)s };  \
									             \
		bpf_loop(sizeof(T) / 4, fn##_step, &c, 0);                           \
	}

_Static_assert(sizeof(struct dns_name) % 4 == 0, "dns_name copied by words");
_Static_assert(sizeof(struct fqk_result) % 4 == 0, "fqk_result copied by words");
FQK_DEFINE_COPY(fqk_copy_name, struct dns_name)
FQK_DEFINE_COPY(fqk_copy_result, struct fqk_result)

/* per-CPU all-zero fqk_names value used to create entries (never written) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fqk_name_ips);
} fqk_names_zero SEC(".maps");

static __always_inline int fqk_ip_eq(const __u8 *a, const __u8 *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	return x[0] == y[0] && x[1] == y[1];
}

/* the per-name slot scan's context: the entry and the IP, for the bpf_loop callback */
struct fqk_scan_ctx {
	struct fqk_name_ips *e;
	struct fqk_learned *l;
	struct fqk_scratch *s;
	__u32 cap;
};

/**
 * fqk_slot_step - one step of the per-name slot scan: slot @k of c->e against c->l.
 * Updates s->lc.same / free / oldest / oldest_exp.
 * verifier: a bpf_loop callback (verified once, the entry pointer in its context) whose
 * running results live in the map value, not in registers: as a plain loop body they
 * multiplied the caller's states past 1M insns. It used to be a global function per
 * slot, which had to look the fqk_names entry up again at every slot (a hash lookup
 * per slot and learned IP: 10 lookups for the 4th IP of a name).
 * Return: 1 when slot @k holds the IP or the scan is over, else 0.
 */
static long fqk_slot_step(__u64 k, void *ctx)
{
	struct fqk_scan_ctx *c = ctx;
	struct fqk_scratch *s = c->s;
	struct fqk_name_slot *sl;

	if (k >= FQK_NAME_CAP_MAX || k >= c->cap)
		return 1;
	sl = &c->e->slot[k & (FQK_NAME_CAP_MAX - 1)];
	if (sl->expiry_ns && fqk_ip_eq(sl->ip, c->l->ip)) {
		s->lc.same = k;
		return 1;
	}
	if (sl->expiry_ns <= s->lc.now) {
		if (s->lc.free < 0)
			s->lc.free = k;
		return 0;
	}
	if (s->lc.oldest < 0 || sl->expiry_ns < s->lc.oldest_exp) {
		s->lc.oldest = k;
		s->lc.oldest_exp = sl->expiry_ns;
	}
	return 0;
}

/* fqk_g_learn_one - learn s->res.learned[@i] under the context in s->lc. */
__attribute__((noinline)) int fqk_g_learn_one(__u32 i)
{
	struct fqk_scratch *s = fqk_scratch_get();
	struct fqk_allow_val *cur;
	struct fqk_name_ips *e;
	struct fqk_name_slot *sl;
	struct fqk_learned *l;
	int same = -1, free = -1, oldest = -1, idx, fresh;
	__u64 exp, now;
	__u32 ttl, cap;

	if (!s || i >= DNS_MAX_ANSWERS)
		return 0;
	e = bpf_map_lookup_elem(&fqk_names, &s->lc.nk);
	if (!e)
		return 0;
	now = s->lc.now;
	cap = s->lc.cap;
	FQK_OPAQUE(i);
	l = &s->res.learned[i & (DNS_MAX_ANSWERS - 1)];
	ttl = l->ttl;		/* already clamped by the parser (RFC 2181 8) */
	if (ttl < s->lc.min_ttl)
		ttl = s->lc.min_ttl;
	exp = now + (__u64)ttl * FQK_NS_PER_S;
	/* verifier: the scan's running results live in the map value, not in registers,
	 * so the verifier does not fork a state per (same, free, oldest) combination */
	s->lc.same = -1;
	s->lc.free = -1;
	s->lc.oldest = -1;
	s->lc.oldest_exp = 0;
	{
		struct fqk_scan_ctx c = { .e = e, .l = l, .s = s, .cap = cap };

		bpf_loop(FQK_NAME_CAP_MAX, fqk_slot_step, &c, 0);
	}
	same = s->lc.same;
	free = s->lc.free;
	oldest = s->lc.oldest;
	idx = same >= 0 ? same : free >= 0 ? free : oldest;
	if (idx < 0)
		return 0;
	sl = &e->slot[idx & (FQK_NAME_CAP_MAX - 1)];
	/* the pair becomes live: a new slot, or the IP's own slot had expired */
	fresh = same < 0 || sl->expiry_ns <= now;
	s->ak.cgid = s->lc.nk.cgid;
	if (same < 0 && free < 0) {
		/* evict: drop the allow entry if this name gave it its latest expiry */
		__builtin_memcpy(s->ak.ip, sl->ip, 16);
		cur = bpf_map_lookup_elem(&fqk_allow, &s->ak);
		if (cur && cur->name_hash == s->lc.nk.name_hash)
			bpf_map_delete_elem(&fqk_allow, &s->ak);
		fqk_count(FQK_LEARN_EVICTED);
		fqk_event_emit(FQK_EV_EVICT, FQK_LEARN_EVICTED, s->ak.cgid, sl->ip, 0, 0, 0, 0,
			       &s->res.qname);
	}
	if (same < 0 || sl->expiry_ns < exp) {
		__builtin_memcpy(sl->ip, l->ip, 16);
		sl->expiry_ns = exp;
	}
	if ((__u32)idx + 1 > e->n)
		e->n = idx + 1;

	__builtin_memcpy(s->ak.ip, l->ip, 16);
	cur = bpf_map_lookup_elem(&fqk_allow, &s->ak);
	if (!cur) {
		s->av.expiry_ns = exp;
		s->av.name_hash = s->lc.nk.name_hash;
		bpf_map_update_elem(&fqk_allow, &s->ak, &s->av, BPF_ANY);
	} else if (cur->expiry_ns <= exp) {
		/* in place: the expiry only moves forward; egress reads one 8-byte word */
		cur->expiry_ns = exp;
		if (cur->name_hash != s->lc.nk.name_hash)
			cur->name_hash = s->lc.nk.name_hash;
	}
	fqk_count(FQK_LEARNED);
	if (fresh)
		fqk_event_emit(FQK_EV_LEARN, FQK_LEARNED, s->ak.cgid, l->ip, 0, 0, ttl, 0,
			       &s->res.qname);
	return 1;
}

/* fqk_g_label_match - label @j of rule @idx (fqk_rules index) against the question. */
__attribute__((noinline)) int fqk_g_label_match(__u32 idx, __u32 j)
{
	struct fqk_scratch *s = fqk_scratch_get();
	struct fqk_rule *rule = bpf_map_lookup_elem(&fqk_rules, &idx);

	if (!s || !rule || j >= FQK_PAT_LABELS)
		return 0;
	FQK_OPAQUE(j);
	j &= FQK_PAT_LABELS - 1;
	return dns_label_match(&s->res.qname, s->lp.off[j], &rule->label[j]);
}

/* fqk_g_rule_match - does the question name match rule @r of policy slot @slot? */
__attribute__((noinline)) int fqk_g_rule_match(__u32 slot, __u32 r)
{
	struct fqk_scratch *s = fqk_scratch_get();
	__u32 idx = slot * FQK_MAX_RULES + r;
	struct fqk_rule *rule;
	__u32 nl;
	int shape;

	if (!s || slot >= FQK_POLICY_SLOTS || r >= FQK_MAX_RULES)
		return 0;
	rule = bpf_map_lookup_elem(&fqk_rules, &idx);
	if (!rule)
		return 0;
	shape = dns_rule_shape(&s->lp, rule);
	if (shape != 2)
		return shape;
	nl = rule->nlabels;
	for (__u32 j = 0; j < FQK_PAT_LABELS; j++) {
		if (j >= fqk_lim(nl))
			break;
		if (!fqk_g_label_match(idx, j))
			return 0;
	}
	return 1;
}

/* fqk_g_policy_match - index + 1 of the first rule of @slot matching the question name */
__attribute__((noinline)) int fqk_g_policy_match(__u32 slot, __u32 nrules)
{
	struct fqk_scratch *s = fqk_scratch_get();

	if (!s)
		return 0;
	dns_label_positions(&s->res.qname, &s->lp);
	for (__u32 r = 0; r < FQK_MAX_RULES; r++) {
		if (r >= fqk_lim(nrules))
			break;
		if (fqk_g_rule_match(slot, r))
			return r + 1;
	}
	return 0;
}

/* fqk_learn - learn s->res.learned[] for workload @cgid under policy @pol. */
static __always_inline void fqk_learn(struct fqk_scratch *s, __u64 cgid,
				      const struct fqk_policy *pol)
{
	struct fqk_name_ips *e;
	__u32 zero = 0, n;

	s->lc.nk.cgid = cgid;
	s->lc.nk.name_hash = s->qname_h;	/* fqk_g_name_hash(FQK_NAME_Q), by the parser */
	s->lc.now = bpf_ktime_get_boot_ns();
	s->lc.min_ttl = pol->min_ttl;
	s->lc.cap = pol->per_name_cap;
	if (s->lc.cap == 0 || s->lc.cap > FQK_NAME_CAP_MAX)
		s->lc.cap = FQK_NAME_CAP_MAX;
	e = bpf_map_lookup_elem(&fqk_names, &s->lc.nk);
	if (!e) {
		struct fqk_name_ips *z = bpf_map_lookup_elem(&fqk_names_zero, &zero);

		if (!z)
			return;
		bpf_map_update_elem(&fqk_names, &s->lc.nk, z, BPF_NOEXIST);
		e = bpf_map_lookup_elem(&fqk_names, &s->lc.nk);
		if (!e)
			return;
		fqk_copy_name(&e->name, &s->res.qname);
	}
	n = s->res.nlearned;
	for (__u32 i = 0; i < DNS_MAX_ANSWERS; i++) {
		if (i >= fqk_lim(n))
			break;
		fqk_g_learn_one(i);
	}
}

/* fqk_workload_slot - policy slot of workload @cgid, or -1. */
static __always_inline int fqk_workload_slot(__u64 cgid)
{
	__u32 *slot = bpf_map_lookup_elem(&fqk_workloads, &cgid);

	return slot && *slot < FQK_POLICY_SLOTS ? (int)*slot : -1;
}

/* fqk_is_resolver - is (addr, port) one of @pol's resolvers? */
static __always_inline int fqk_is_resolver(const struct fqk_policy *pol, const __u8 *addr,
					   __u16 port)
{
	#pragma unroll
	for (int i = 0; i < FQK_MAX_RESOLVERS; i++) {
		if (i >= pol->nresolvers)
			break;
		if (pol->resolvers[i].port == port && fqk_ip_eq(pol->resolvers[i].addr, addr))
			return 1;
	}
	return 0;
}

/* verifier: a global function, not inlined at each of fqk_process_msg's five rejects
 * (the unrolled name-to-text copy made that frame 168 bytes of spills; kernel 6.1 limits
 * the combined stack of the deepest call chain to 512 bytes, kernel 6.1) */
__attribute__((noinline)) int fqk_g_reject(__u32 reason, __u64 cgid)
{
	struct fqk_scratch *s = fqk_scratch_get();

	if (!s)
		return 0;
	fqk_count(reason);
	fqk_event_emit(FQK_EV_REJECT, reason, cgid, s->conn.raddr, s->conn.rport, s->proto, 0, 0,
		       s->res.qname.len ? &s->res.qname : 0);
	return 0;
}

/* fqk_reject - count @reason and report it (the scratch @s holds conn, proto, qname) */
static __always_inline void fqk_reject(struct fqk_scratch *s, __u32 reason, __u64 cgid)
{
	fqk_g_reject(reason, cgid);
}

/**
 * fqk_process_msg - handle the DNS response in the scratch (msg, conn, proto).
 * @len:  message length
 * @mode: FQK_MODE_ENFORCE or FQK_MODE_TEST
 * Global function: verified once, whatever the number of call sites.
 * Return: 0 if learned/parsed, else a reason.
 */
__attribute__((noinline)) int fqk_process_msg(__u32 len, __u32 mode)
{
	struct fqk_scratch *s = fqk_scratch_get();
	struct fqk_query *q;
	struct fqk_policy *pol;
	__u32 zero = 0, slot;
	__u64 cgid;
	int reason, sl;

	if (!s)
		return DNS_E_LOAD;
	if (mode == FQK_MODE_TEST) {
		struct fqk_test_out *out = bpf_map_lookup_elem(&fqk_test_results, &zero);

		reason = fqk_g_parse_response(len);
		if (!out)
			return reason;
		if (out->n < FQK_TEST_RESULTS)
			fqk_copy_result(&out->r[out->n & (FQK_TEST_RESULTS - 1)], &s->res);
		out->n++;
		return reason;
	}

	s->res.qname.len = 0;
	if (len < 2)
		return DNS_E_MSG_TOO_SHORT;
	__builtin_memset(&s->qk, 0, sizeof(s->qk));
	__builtin_memcpy(&s->qk.conn, &s->conn, sizeof(s->qk.conn));
	s->qk.proto = s->proto;
	s->qk.id = scratch_get16(s->msg, DNS_OFF_ID);
	q = bpf_map_lookup_elem(&fqk_queries, &s->qk);
	if (!q || bpf_ktime_get_boot_ns() - q->ts_ns > FQK_QUERY_MAX_AGE_NS) {
		fqk_reject(s, FQK_SPOOF_NO_QUERY, 0);
		return FQK_SPOOF_NO_QUERY;
	}
	__builtin_memcpy(&s->q, q, sizeof(s->q));
	bpf_map_delete_elem(&fqk_queries, &s->qk);
	cgid = s->q.cgid;
	sl = fqk_workload_slot(cgid);
	if (sl < 0) {
		fqk_reject(s, FQK_DROP_NO_WORKLOAD, cgid);
		return FQK_DROP_NO_WORKLOAD;
	}
	slot = sl;
	pol = bpf_map_lookup_elem(&fqk_policies, &slot);
	if (!pol)
		return FQK_DROP_NO_WORKLOAD;
	if (!fqk_is_resolver(pol, s->conn.raddr, s->conn.rport)) {
		fqk_reject(s, FQK_SPOOF_NOT_RESOLVER, cgid);
		return FQK_SPOOF_NOT_RESOLVER;
	}
	reason = fqk_g_parse_response(len);
	if (reason) {
		fqk_reject(s, reason, cgid);
		return reason;
	}
	if (s->res.qtype != s->q.qtype || s->res.qclass != s->q.qclass ||
	    !fqk_g_name_eq(FQK_NAME_Q, FQK_NAME_QUERY)) {
		fqk_reject(s, FQK_SPOOF_QUESTION, cgid);
		return FQK_SPOOF_QUESTION;
	}
	if (!fqk_g_policy_match(slot, pol->nrules)) {
		fqk_reject(s, FQK_NAME_NOT_ALLOWED, cgid);
		return FQK_NAME_NOT_ALLOWED;
	}
	if (!s->res.nlearned) {
		fqk_count(FQK_DNS_NO_ANSWER);
		return FQK_DNS_NO_ANSWER;
	}
	fqk_learn(s, cgid, pol);
	return 0;
}

#endif
