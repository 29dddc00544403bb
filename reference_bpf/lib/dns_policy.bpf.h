/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dns_policy.bpf.h - match a question name against a workload's compiled toFQDNs rules.
 *
 * Rules are compiled by the agent (toolkit/enforcer/policy.py) into struct fqk_rule
 * entries (enforcer.bpf.h): Cilium toFQDNs semantics,
 *   matchName "www.example.com"      -> every label literal
 *   matchPattern "*.example.com"     -> label "*" (star, empty prefix/suffix) + literals:
 *                                       '*' matches within ONE label (not a.b.example.com)
 *   matchPattern "api-*.example.com" -> label with prefix "api-" and a star
 *   matchPattern "**.example.com"    -> multi = 1: one or more labels, then literals
 *   matchPattern "*"                 -> FQK_RULE_ALL: every name
 * Names are compared lower-cased (dns_name_read lower-cases; the agent lower-cases rules).
 *
 * Cost: rules are tried in order (at most FQK_MAX_RULES); each rule compares at most
 * FQK_PAT_LABELS labels of at most 63 bytes. Only DNS responses are matched, never
 * data packets (those look up the learned-IP map only).
 */
#ifndef FQDNKIT_DNS_POLICY_BPF_H
#define FQDNKIT_DNS_POLICY_BPF_H

#include "enforcer.bpf.h"

/* dns_pol_idx - @v & @mask, with @v made opaque to clang first.
 * verifier: clang drops a mask it proves redundant from a preceding 32-bit compare that
 * the verifier applied to a zero-extended copy only, leaving the index unbounded for the
 * verifier (clang-19, kernel 6.18). */
static __always_inline __u32 dns_pol_idx(__u32 v, __u32 mask)
{
	asm volatile("" : "+r"(v));
	return v & mask;
}

/* label positions of a flattened name: off[i] = offset of label i's length byte,
 * counted from the RIGHT (i = 0 is the top-level label) */
struct dns_label_pos {
	__u32 n;
	__u8 fwd[DNS_MAX_LABELS + 1];	/* left to right (work area) */
	__u8 off[DNS_MAX_LABELS + 1];	/* right to left */
};

/**
 * dns_label_positions - fill @lp with the label offsets of @name, right to left.
 * Bounds: at most DNS_MAX_LABELS labels (dns_name_read guarantees it), offsets < 256.
 * Cost: two bounded loops of DNS_MAX_LABELS + 1; call it from a global function.
 */
static __always_inline void dns_label_positions(const struct dns_name *name,
						struct dns_label_pos *lp)
{
	__u32 pos = 0, n = 0;

	for (__u32 i = 0; i < DNS_MAX_LABELS + 1; i++) {
		__u8 c;

		if (pos >= name->len || pos >= DNS_MAX_NAME)
			break;
		c = name->wire[dns_pol_idx(pos, DNS_NAME_MASK)];
		if (c == 0)
			break;
		lp->fwd[dns_pol_idx(i, DNS_MAX_LABELS)] = pos;
		n++;
		pos += c + 1;
	}
	lp->n = n;
	for (__u32 i = 0; i < DNS_MAX_LABELS + 1; i++) {
		if (i >= n)
			break;
		lp->off[dns_pol_idx(i, DNS_MAX_LABELS)] = lp->fwd[dns_pol_idx(n - 1 - i, DNS_MAX_LABELS)];
	}
}

/**
 * dns_label_match - name label at wire offset @o against pattern label @pl.
 * Cost: two bounded loops of DNS_MAX_LABEL (prefix, suffix); call it from a global
 * function, one label per call, so that the verifier walks it once.
 */
static __always_inline int dns_label_match(const struct dns_name *name, __u32 o,
					   const struct fqk_label *pl)
{
	__u32 len = name->wire[dns_pol_idx(o, DNS_NAME_MASK)];
	__u32 plen = pl->plen, slen = pl->slen;
	__u32 sfx;

	if (pl->star) {
		if (len < plen + slen)
			return 0;
	} else if (len != plen) {
		return 0;
	}
	for (__u32 k = 0; k < DNS_MAX_LABEL; k++) {
		if (k >= plen)
			break;
		if (name->wire[dns_pol_idx(o + 1 + k, DNS_NAME_MASK)] != pl->buf[dns_pol_idx(k, 63)])
			return 0;
	}
	sfx = o + 1 + len - slen;	/* where the suffix starts in the name */
	for (__u32 k = 0; k < DNS_MAX_LABEL; k++) {
		if (k >= slen)
			break;
		if (name->wire[dns_pol_idx(sfx + k, DNS_NAME_MASK)] !=
		    pl->buf[dns_pol_idx(plen + k, 63)])
			return 0;
	}
	return 1;
}

/**
 * dns_rule_shape - the label-count part of matching @name (positions @lp) to rule @r.
 * Return: 1 the rule matches every name, 0 it cannot match, 2 labels 0..r->nlabels-1
 * must each pass dns_label_match(name, lp->off[j], &r->label[j]).
 */
static __always_inline int dns_rule_shape(const struct dns_label_pos *lp,
					  const struct fqk_rule *r)
{
	__u32 n = lp->n;

	if (r->kind == FQK_RULE_ALL)
		return 1;
	if (r->kind != FQK_RULE_LABELS || r->nlabels > FQK_PAT_LABELS)
		return 0;
	if (r->multi ? n <= r->nlabels : n != r->nlabels)
		return 0;
	return 2;
}

#endif
