/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dns_msg.bpf.h - parse one DNS response (already in a DNS_MSG_MAX scratch buffer) into
 * struct fqk_result: is it valid, its question, and the IPs credited to the question name.
 *
 * This is THE parsing code of the enforcer: the UDP ingress program, the sk_skb verdict
 * program and the dns-parse test-run programs all call fqk_parse_response().
 *
 * Rules (issue 3): QR=1, opcode QUERY, exactly one question; every RR of every section is
 * walked with the shared name code (dns_walk.bpf.h / dns_rr.bpf.h: compression only to
 * earlier offsets, never into the header, <= 16 hops, labels <= 63, names <= 255); A/AAAA
 * of class IN must have 4/16 bytes of RDATA and CNAME targets must fill their RDATA exactly
 * (in every section); no bytes after the last RR. At most DNS_MAX_ANSWERS answers and
 * DNS_MAX_OTHER_RRS authority+additional RRs. Any violation: valid = 0, nothing learned.
 * Credited: A/AAAA RRs of class IN in the ANSWER section whose owner is the question name
 * or reachable from it through at most DNS_MAX_CNAME_HOPS class-IN CNAME RRs of the answer
 * section (in any order). Names compare case-insensitively. TTLs are per RR, 0 when
 * >= 2^31 (RFC 2181 8).
 *
 * Name equality classes: every relevant name (question, owners, CNAME targets) gets the
 * index of the first equal name (FNV-1a 64 hash compared first, dns_name_eq confirms),
 * so the CNAME closure is a small BFS over integers.
 * Aliases (cost, not rules): a name whose walk starts at the same message offset as an
 * earlier relevant name's (after the first compression pointer, if it starts with one:
 * its "canonical offset") is that name: both walks read the same bytes, and both were
 * validated. Such a name is only walked (dns_name_skip, per label), not copied, hashed
 * or compared; it takes the earlier name's class. The owners of a typical answer are a
 * pointer to the question name: 4 A answers cost 4 label skips instead of 4 byte-by-byte
 * copies, 4 hashes and 4 comparisons (fqk_test_udp four-A by BPF_PROG_TEST_RUN: 2.1 us
 * -> 0.8 us with the early end of the CNAME BFS, 2026-11-26).
 */
#ifndef FQDNKIT_DNS_MSG_BPF_H
#define FQDNKIT_DNS_MSG_BPF_H

#include "enforcer.bpf.h"
#include "eth.bpf.h"
#include "ip.bpf.h"
#include "dns_rr.bpf.h"
#include "dns_policy.bpf.h"

#define DNS_CLASS_IN 1
#define DNS_NAMES (1 + 2 * DNS_MAX_ANSWERS)	/* question + owner and target per answer */

struct fqk_rr_info {
	struct dns_name owner;
	struct dns_name target;
	__u64 owner_h;
	__u64 target_h;
	__u32 ttl;
	__u16 type;
	__u16 class;
	__u16 rdata_off;
	__u16 rdlen;
	__u8 relevant;		/* A/AAAA/CNAME of class IN */
	__u8 pad[3];
};

/* per-CPU scratch of every program that parses DNS (one map per object) */
struct fqk_scratch {
	__u8 msg[DNS_MSG_MAX];
	struct fqk_result res;
	struct fqk_rr_info rr[DNS_MAX_ANSWERS];
	__u64 qname_h;
	__u8 cls[128];		/* per name (< DNS_NAMES): index of the first equal name */
	__u8 depth[128];	/* per class: CNAME hops from qname + 1, 0 unreached */
	__u16 canon[128];	/* per name: canonical offset (see Aliases), FQK_NO_CANON unused */
	__u8 alias[128];	/* per name: earlier name with the same canon, FQK_NO_ALIAS none */
	struct dns_label_pos lp;
	struct fqk_query q;		/* egress: query being recorded; ingress: the matched one */
	struct fqk_conn conn;		/* conversation of the message in msg */
	__u32 eq_off[2];		/* fqk_g_name_eq's name offsets (see there) */
	__u32 nopt;			/* OPT records seen */
	struct ip_tuple t;		/* packet being handled (cgroup programs) */
	struct fqk_query_key qk;	/* key of the query a response answers */
	struct fqk_allow_key ak;	/* learning: allow-map key and value */
	struct fqk_allow_val av;
	struct {			/* learning context (learn.bpf.h) */
		struct fqk_name_key nk;
		__u64 now;
		__u32 min_ttl;
		__u32 cap;
		int same;
		int free;
		int oldest;
		__u32 pad;
		__u64 oldest_exp;
	} lc;
	__u32 proto;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fqk_scratch);
} fqk_scratch_map SEC(".maps");

static __always_inline struct fqk_scratch *fqk_scratch_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&fqk_scratch_map, &zero);
}

/*
 * Verification strategy: every walk that loops is a GLOBAL function (verified once, on
 * its own, whatever the number of callers and of iterations of the caller's loop); its
 * arguments are scalars and it finds its data in the per-CPU scratch. Callers loop over
 * RRs / names with plain bounded loops around calls, which the verifier walks cheaply.
 * verifier: nested bpf_loop callbacks holding dns_name_read blew the 1M-insn budget
 * (callbacks are re-verified per caller state, kernel 6.18).
 */
/* verifier: make @v opaque to clang so that it keeps index masks it could prove
 * redundant from an earlier 32-bit compare the verifier did on a zero-extended copy
 * (clang-19, kernel 6.18) */
#define FQK_OPAQUE(v) asm volatile("" : "+r"(v))

/* verifier: fqk_lim(n) - @n made opaque to clang at each use. In a loop
 * `for (i = 0; i < CONST; i++) { if (i >= n) break; ... }` with no other exit, clang
 * folds both tests into `i != min(n, CONST)` and drops the index masks it then proves
 * redundant; the 6.1 verifier decides JNE only against a constant register, so it never
 * takes that exit while i is a constant and min(...) a range, walks i past CONST and
 * indexes past the array (fqk_g_parse_response's class loop: "invalid access to map
 * value, value_size=23864 off=23864 size=1" = s->cls + 1048, kernel 6.1). With @n opaque
 * the `i < CONST` test stays a separate exit on a constant (kernel 6.1) */
static __always_inline __u32 fqk_lim(__u32 n)
{
	FQK_OPAQUE(n);
	return n;
}

#define FQK_NO_CANON 0xffff
#define FQK_NO_ALIAS 0xff
#define FQK_NAME_Q 0			/* s->res.qname */
#define FQK_NAME_OWNER(i) (1 + 2 * (i))	/* s->rr[i].owner */
#define FQK_NAME_TARGET(i) (2 + 2 * (i))	/* s->rr[i].target */
#define FQK_NAME_QUERY 126		/* s->q.qname (egress query, response scratch) */
/* highest offset of a name slot in the scratch (q.qname comes last) */
#define FQK_NAME_OFF_MAX (__builtin_offsetof(struct fqk_scratch, q.qname))

static __always_inline struct dns_name *fqk_name_at(struct fqk_scratch *s, __u32 x)
{
	FQK_OPAQUE(x);
	if (x == FQK_NAME_QUERY)
		return &s->q.qname;
	if (x == 0)
		return &s->res.qname;
	x -= 1;
	if (x & 1)
		return &s->rr[(x >> 1) & (DNS_MAX_ANSWERS - 1)].target;
	return &s->rr[(x >> 1) & (DNS_MAX_ANSWERS - 1)].owner;
}

/* fqk_g_name_read - dns_name_read of the name at @off into name slot @which. */
__attribute__((noinline)) int fqk_g_name_read(__u32 len, __u32 off, __u32 which)
{
	struct fqk_scratch *s = fqk_scratch_get();

	if (!s)
		return -DNS_E_LOAD;
	return dns_name_read(s->msg, len, off, fqk_name_at(s, which));
}

/* fqk_g_qname_read - dns_name_read_question (the question name at DNS_HDR_LEN, a walk per
 * label and a word copy) into name slot @which: FQK_NAME_Q or FQK_NAME_QUERY. */
__attribute__((noinline)) int fqk_g_qname_read(__u32 len, __u32 which)
{
	struct fqk_scratch *s = fqk_scratch_get();

	if (!s)
		return -DNS_E_LOAD;
	return dns_name_read_question(s->msg, len,
				      which == FQK_NAME_QUERY ? &s->q.qname : &s->res.qname);
}

/**
 * fqk_g_name_eq - are name slots @a and @b the same name? (1 equal, 0 not)
 * The comparison is lib's dns_name_eq (dns_walk.bpf.h: case-insensitive, 8 bytes at a
 * time); this global wrapper only turns slot numbers into the two name pointers, so that
 * the comparator is verified once for all callers.
 */
__attribute__((noinline)) int fqk_g_name_eq(__u32 a, __u32 b)
{
	struct fqk_scratch *s = fqk_scratch_get();
	volatile __u32 *vo;
	__u32 oa, ob;
	const __u8 *base;

	if (!s)
		return 0;
	/* verifier: the two names can each be one of four fields; going through
	 * unknown offsets (stored and reloaded through a volatile map value) gives the
	 * verifier ONE state with a bounded variable offset instead of 16 pointer
	 * combinations walked through 32 words each (that cost 500 k insns, kernel 6.18) */
	vo = &s->eq_off[0];
	vo[0] = (__u32)((const __u8 *)fqk_name_at(s, a) - (const __u8 *)s);
	vo[1] = (__u32)((const __u8 *)fqk_name_at(s, b) - (const __u8 *)s);
	oa = vo[0];
	ob = vo[1];
	if (oa > FQK_NAME_OFF_MAX || ob > FQK_NAME_OFF_MAX)
		return 0;
	base = (const __u8 *)s;
	return dns_name_eq((const struct dns_name *)(base + oa), (const struct dns_name *)(base + ob));
}

/* fqk_g_name_hash - FNV-1a 64 over name slot @which (wire form, lower-cased). The agent
 * computes the same hash (toolkit/enforcer/maps.py) to find fqk_names entries. */
__attribute__((noinline)) __u64 fqk_g_name_hash(__u32 which)
{
	struct fqk_scratch *s = fqk_scratch_get();
	struct dns_name *n;
	__u64 h = 0xcbf29ce484222325ULL;

	if (!s)
		return 0;
	n = fqk_name_at(s, which);
	for (__u32 i = 0; i < DNS_MAX_NAME + 1; i++) {
		if (i >= fqk_lim(n->len))
			break;
		h ^= n->wire[i & DNS_NAME_MASK];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define FQK_SEC_ANSWER 1
#define FQK_SEC_AUTHORITY 2
#define FQK_SEC_ADDITIONAL 3
#define DNS_TYPE_OPT 41
#define FQK_MAX_OPTIONS 16

/**
 * fqk_g_opt - the OPT pseudo-RR (RFC 6891) as dnspython accepts it: in the additional
 * section, owned by the root name, at most one, RDATA a sequence of (code, length, data)
 * options filling it exactly (at most FQK_MAX_OPTIONS looked at; more: rejected).
 * Return: 0, or -FQK_DNS_BAD_OPT.
 */
__attribute__((noinline)) int fqk_g_opt(__u32 len, __u32 name_off, __u32 off, __u32 end,
					__u32 section)
{
	struct fqk_scratch *s = fqk_scratch_get();
	__u32 p = off;

	if (!s || section != FQK_SEC_ADDITIONAL || s->nopt)
		return -FQK_DNS_BAD_OPT;
	s->nopt = 1;
	if (name_off >= len || s->msg[name_off & DNS_MSG_MASK] != 0)
		return -FQK_DNS_BAD_OPT;
	for (__u32 k = 0; k < FQK_MAX_OPTIONS; k++) {
		if (p >= end)
			break;
		if (p + 4 > end)
			return -FQK_DNS_BAD_OPT;
		p += 4 + scratch_get16(s->msg, p + 2);
	}
	if (p != end)
		return -FQK_DNS_BAD_OPT;
	return 0;
}

/* fqk_g_name_skip - dns_name_skip at @off (global: verified once). */
__attribute__((noinline)) int fqk_g_name_skip(__u32 len, __u32 off)
{
	struct fqk_scratch *s = fqk_scratch_get();

	if (!s)
		return -DNS_E_LOAD;
	return dns_name_skip(s->msg, len, off);
}

/**
 * fqk_g_alias - record the canonical offset of name slot @x, whose name starts at @off
 * (the pointer's target if the name starts with a compression pointer, else @off), and
 * find the first earlier slot with the same one (slots < @x are all set for this
 * message: the question, then owner and target of each answer in order).
 * Return: that slot (the name need not be read), or FQK_NO_ALIAS.
 */
__attribute__((noinline)) int fqk_g_alias(__u32 x, __u32 off)
{
	struct fqk_scratch *s = fqk_scratch_get();
	__u32 canon = off;
	__u8 c;

	if (!s || x >= DNS_NAMES)
		return FQK_NO_ALIAS;
	FQK_OPAQUE(x);		/* verifier: keep the masks below (see FQK_OPAQUE) */
	c = s->msg[off & DNS_MSG_MASK];
	if ((c & 0xc0) == 0xc0)
		canon = ((__u32)(c & 0x3f) << 8) | s->msg[(off + 1) & DNS_MSG_MASK];
	s->canon[x & 127] = canon;
	s->alias[x & 127] = FQK_NO_ALIAS;
	for (__u32 y = 0; y < DNS_NAMES; y++) {
		if (y >= fqk_lim(x))
			break;
		if (s->canon[y & 127] == canon) {
			s->alias[x & 127] = y;
			return y;
		}
	}
	return FQK_NO_ALIAS;
}

/* fqk_no_name - name slot @x holds no relevant name in this message */
static __always_inline void fqk_no_name(struct fqk_scratch *s, __u32 x)
{
	s->canon[x & 127] = FQK_NO_CANON;
	s->alias[x & 127] = FQK_NO_ALIAS;
}

#define DNS_TYPE_NS 2
#define DNS_TYPE_SOA 6
#define DNS_TYPE_PTR 12
#define DNS_TYPE_MINFO 14
#define DNS_TYPE_MX 15
#define DNS_TYPE_RP 17
#define DNS_TYPE_SRV 33

#define DNS_TYPE_DNAME 39
#define DNS_TYPE_RRSIG 46
#define DNS_SIG_FIXED 18	/* type covered .. key tag (RFC 4034 3.1) */

#define DNS_TYPE_HINFO 13
#define DNS_TYPE_TXT 16
#define DNS_TYPE_SPF 99
#define FQK_MAX_STRINGS 64

/**
 * fqk_g_counted_strings - RDATA [off, end) is a sequence of <length><bytes> strings:
 * exactly @want of them (HINFO), or at least one (TXT, SPF: @want 0). More than
 * FQK_MAX_STRINGS strings are not checked: the message is rejected (fail closed).
 * Return: 0, or -FQK_DNS_BAD_RDATA.
 */
__attribute__((noinline)) int fqk_g_counted_strings(__u32 off, __u32 end, __u32 want)
{
	struct fqk_scratch *s = fqk_scratch_get();
	__u32 p = off, n = 0;

	if (!s)
		return -DNS_E_LOAD;
	for (__u32 k = 0; k < FQK_MAX_STRINGS; k++) {
		if (p >= end)
			break;
		p += 1 + s->msg[p & DNS_MSG_MASK];
		n++;
	}
	if (p < end)
		return -FQK_DNS_RR_TYPE;	/* more strings than we look at: fail closed */
	if (p != end || n == 0 || (want && n != want))
		return -FQK_DNS_BAD_RDATA;
	return 0;
}

/**
 * fqk_g_rdata_names - check the RDATA of the types whose RDATA holds (compressible) names
 * the way dnspython parses them: NS, MD, MF, MB, MG, MR, PTR (a name), MX (u16 + name),
 * SOA (2 names + 20 bytes), MINFO, RP (2 names), SRV of class IN (6 bytes + name), and
 * the counted strings of TXT, SPF (>= 1) and HINFO (2); DNAME (an uncompressed name) and
 * RRSIG (18 bytes + an uncompressed signer name + any signature bytes, as dnspython
 * reads them); the fields must fill RDATA exactly. Any other type: -FQK_DNS_RR_TYPE
 * (fail closed, see docs/ENFORCER.md).
 * Return: 0, or -reason.
 */
__attribute__((noinline)) int fqk_g_rdata_names(__u32 len, __u32 off, __u32 end, __u32 type,
						__u32 class)
{
	struct fqk_scratch *s = fqk_scratch_get();
	__u32 fixed_before = 0, fixed_after = 0, names = 1;
	int p;

	/* verifier: the name walks are inlined here rather than calls to the global
	 * fqk_g_name_skip: one frame less on the deepest call chain (main, fqk_process_msg,
	 * fqk_g_parse_response, fqk_g_rr, here, the walk step), which kernel 6.1 limits to
	 * 512 bytes of combined stack ("combined stack size of 7 calls is 544", kernel 6.1) */
	if (!s)
		return -DNS_E_LOAD;

	switch (type) {
	case DNS_TYPE_NS: case 3: case 4: case 7: case 8: case 9: case DNS_TYPE_PTR:
		break;
	case DNS_TYPE_MX:
		fixed_before = 2;
		break;
	case DNS_TYPE_SOA:
		names = 2;
		fixed_after = 20;
		break;
	case DNS_TYPE_MINFO: case DNS_TYPE_RP:
		names = 2;
		break;
	case DNS_TYPE_SRV:
		if (class != DNS_CLASS_IN)
			return -FQK_DNS_RR_TYPE;
		fixed_before = 6;
		break;
	case DNS_TYPE_HINFO:
		return fqk_g_counted_strings(off, end, 2);
	case DNS_TYPE_TXT: case DNS_TYPE_SPF:
		return fqk_g_counted_strings(off, end, 0);
	case DNS_TYPE_DNAME:
		p = dns_name_skip_flat(s->msg, len, off);
		if (p < 0)
			return p;
		return (__u32)p == end ? 0 : -FQK_DNS_BAD_RDATA;
	case DNS_TYPE_RRSIG:
		if (off + DNS_SIG_FIXED > end)
			return -FQK_DNS_BAD_RDATA;
		p = dns_name_skip_flat(s->msg, len, off + DNS_SIG_FIXED);
		if (p < 0)
			return p;
		return (__u32)p <= end ? 0 : -FQK_DNS_BAD_RDATA;
	default:
		return -FQK_DNS_RR_TYPE;
	}
	if (off + fixed_before > end)
		return -FQK_DNS_BAD_RDATA;
	p = dns_name_skip(s->msg, len, off + fixed_before);
	if (p < 0)
		return p;
	if (names == 2) {
		if ((__u32)p > end)
			return -FQK_DNS_BAD_RDATA;
		p = dns_name_skip(s->msg, len, p);
		if (p < 0)
			return p;
	}
	if ((__u32)p + fixed_after != end)
		return -FQK_DNS_BAD_RDATA;
	return 0;
}

/**
 * fqk_g_rr - walk the RR at @off: answer number @i (@section FQK_SEC_ANSWER), or RR @i
 * after the answers (@section 0: authority when @i < @ns, else additional).
 * Checks RDATA like dnspython for the types the kernel knows (A/AAAA of class IN, CNAME,
 * the other name-bearing types of fqk_g_rdata_names, TXT/SPF/HINFO, OPT in the
 * additional section); any other type (or A/AAAA of another class) makes the message
 * invalid: fail closed rather than learn from a message dnspython might reject.
 * For answers records type, class, TTL, RDATA offset, and reads the owner (and CNAME
 * target) of A/AAAA/CNAME class IN.
 * Return: offset of the next RR, or -reason.
 */
__attribute__((noinline)) int fqk_g_rr(__u32 len, __u32 off, __u32 i, __u32 section, __u32 ns)
{
	struct fqk_scratch *s = fqk_scratch_get();
	__u32 answer = section == FQK_SEC_ANSWER;
	struct fqk_rr_info *ri;
	struct dns_rr rr;
	int next, end, relevant, oalias = FQK_NO_ALIAS, talias = FQK_NO_ALIAS;

	if (!s)
		return -DNS_E_LOAD;
	/* verifier: dns_rr_next split in two (owner walk in the global fqk_g_name_skip, the
	 * fixed fields here) keeps the walk's context out of this frame: kernel 6.1 limits
	 * the combined stack of a call chain to 512 bytes (kernel 6.1) */
	if (s->msg[off & DNS_MSG_MASK] == 0xc0 && s->msg[(off + 1) & DNS_MSG_MASK] == DNS_HDR_LEN)
		/* the owner is the pointer to the question name, as in nearly every answer:
		 * the walk's result is known. Past the question (off >= its end + 4) the
		 * pointer passes every target rule, and the question's bytes, walked without
		 * error, all lie below off, the limit after the hop (dns_walk.bpf.h); so the
		 * walk ends at off + 2, or fails with DNS_E_TRUNCATED when the pointer's
		 * second byte is not in the message (what dns_ptr_follow returns). */
		next = off + 2 <= len ? (int)(off + 2) : -DNS_E_TRUNCATED;
	else
		next = fqk_g_name_skip(len, off);
	if (next < 0)
		return next;
	next = dns_rr_fixed(s->msg, len, off, next, &rr);
	if (next < 0)
		return next;
	if (rr.type == DNS_TYPE_A || rr.type == DNS_TYPE_AAAA) {
		if (rr.class != DNS_CLASS_IN)
			return -FQK_DNS_RR_TYPE;
		if (rr.rdlength != (rr.type == DNS_TYPE_A ? 4 : 16))
			return -FQK_DNS_BAD_RDATA;
	}
	if (!answer)
		section = i < ns ? FQK_SEC_AUTHORITY : FQK_SEC_ADDITIONAL;
	relevant = answer && rr.class == DNS_CLASS_IN &&
		   (rr.type == DNS_TYPE_A || rr.type == DNS_TYPE_AAAA || rr.type == DNS_TYPE_CNAME);
	if (answer) {
		/* owner before target: alias slots must be set in slot order */
		if (relevant)
			oalias = fqk_g_alias(FQK_NAME_OWNER(i & 31), rr.name_off);
		else
			fqk_no_name(s, FQK_NAME_OWNER(i & 31));
		if (relevant && rr.type == DNS_TYPE_CNAME)
			talias = fqk_g_alias(FQK_NAME_TARGET(i & 31), rr.rdata_off);
		else
			fqk_no_name(s, FQK_NAME_TARGET(i & 31));
	}
	if (rr.type == DNS_TYPE_OPT) {
		end = fqk_g_opt(len, rr.name_off, rr.rdata_off, rr.next_off, section);
		if (end < 0)
			return end;
	} else if (rr.type == DNS_TYPE_CNAME) {
		/* only targets of relevant answers are needed as text; the others are only
		 * checked (authority/additional CNAMEs used to be read into FQK_NAME_QUERY,
		 * overwriting the recorded query's name before the question check) */
		if (relevant && talias == FQK_NO_ALIAS)
			end = fqk_g_name_read(len, rr.rdata_off, FQK_NAME_TARGET(i & 31));
		else
			end = fqk_g_name_skip(len, rr.rdata_off);
		if (end < 0)
			return end;
		if ((__u32)end != rr.next_off)
			return -FQK_DNS_BAD_RDATA;
	} else if (rr.type != DNS_TYPE_A && rr.type != DNS_TYPE_AAAA) {
		end = fqk_g_rdata_names(len, rr.rdata_off, rr.next_off, rr.type, rr.class);
		if (end < 0)
			return end;
	}
	if (!answer)
		return next;
	ri = &s->rr[i & (DNS_MAX_ANSWERS - 1)];
	ri->type = rr.type;
	ri->class = rr.class;
	ri->ttl = rr.ttl;
	ri->rdata_off = rr.rdata_off;
	ri->rdlen = rr.rdlength;
	ri->relevant = relevant;
	/* aliased names are not read nor hashed: fqk_g_class_of gives them their alias's
	 * class (the owner was validated by fqk_g_name_skip above, with the same rules) */
	if (relevant && oalias == FQK_NO_ALIAS) {
		end = fqk_g_name_read(len, rr.name_off, FQK_NAME_OWNER(i & 31));
		if (end < 0)
			return end;
		ri->owner_h = fqk_g_name_hash(FQK_NAME_OWNER(i & 31));
	}
	if (relevant && rr.type == DNS_TYPE_CNAME && talias == FQK_NO_ALIAS)
		ri->target_h = fqk_g_name_hash(FQK_NAME_TARGET(i & 31));
	return next;
}

/* name slot @x exists (question, or owner/target of a relevant answer)? hash in *h */
static __always_inline int fqk_name_exists(struct fqk_scratch *s, __u32 x, __u32 nans, __u64 *h)
{
	struct fqk_rr_info *ri;

	FQK_OPAQUE(x);
	if (x == 0) {
		*h = s->qname_h;
		return 1;
	}
	x -= 1;
	if ((x >> 1) >= nans)
		return 0;
	ri = &s->rr[(x >> 1) & (DNS_MAX_ANSWERS - 1)];
	if (!ri->relevant)
		return 0;
	if (x & 1) {
		if (ri->type != DNS_TYPE_CNAME)
			return 0;
		*h = ri->target_h;
	} else {
		*h = ri->owner_h;
	}
	return 1;
}

/* fqk_g_class_of - equality class of name slot @x: the first slot y <= x naming the same
 * name (hash, then dns_name_eq), 0xff if slot x is unused. */
__attribute__((noinline)) int fqk_g_class_of(__u32 x, __u32 nans)
{
	struct fqk_scratch *s = fqk_scratch_get();
	__u64 hx, hy;
	__u8 a;

	if (!s || x >= DNS_NAMES)
		return 0xff;
	if (!fqk_name_exists(s, x, nans, &hx))
		return 0xff;
	FQK_OPAQUE(x);		/* verifier: keep the mask (see FQK_OPAQUE) */
	a = s->alias[x & 127];
	if (a != FQK_NO_ALIAS)		/* a < x: its class is known */
		return s->cls[a & 127];
	/* the first slot equal to x is never an alias (its alias would be earlier and
	 * equal), so only names that were read are compared */
	for (__u32 y = 0; y < DNS_NAMES; y++) {
		if (y >= fqk_lim(x))
			break;
		if (s->alias[y & 127] != FQK_NO_ALIAS)
			continue;
		if (!fqk_name_exists(s, y, nans, &hy) || hy != hx)
			continue;
		if (fqk_g_name_eq(y, x))
			return y;
	}
	return x;
}

/* fqk_g_bfs_pass - pass @p of the CNAME BFS: targets of CNAMEs whose owner class is at
 * depth @p get depth p + 1. Return: classes reached in this pass (0: the BFS is over,
 * nothing is at depth p + 1 for a later pass to extend). */
__attribute__((noinline)) int fqk_g_bfs_pass(__u32 p, __u32 nans)
{
	struct fqk_scratch *s = fqk_scratch_get();
	struct fqk_rr_info *ri;
	__u8 oc, tc;
	int reached = 0;

	if (!s)
		return 0;
	for (__u32 i = 0; i < DNS_MAX_ANSWERS; i++) {
		if (i >= fqk_lim(nans))
			break;
		ri = &s->rr[i];
		if (!ri->relevant || ri->type != DNS_TYPE_CNAME)
			continue;
		oc = s->cls[(1 + 2 * i) & 127];
		tc = s->cls[(2 + 2 * i) & 127];
		if (s->depth[oc & 127] == p && !s->depth[tc & 127]) {
			s->depth[tc & 127] = p + 1;
			reached++;
		}
	}
	return reached;
}

/* fqk_ttl - RFC 2181 8: a TTL with the top bit set counts as 0 */
static __always_inline __u32 fqk_ttl(__u32 ttl)
{
	return ttl > 0x7fffffff ? 0 : ttl;
}

/* fqk_g_credit - credit answer @i (A/AAAA whose owner class was reached) as learned[@n].
 * Return: 1 if credited. */
__attribute__((noinline)) int fqk_g_credit(__u32 i, __u32 n)
{
	struct fqk_scratch *s = fqk_scratch_get();
	struct fqk_rr_info *ri;
	struct fqk_learned *l;
	__u32 o;
	__u8 oc;

	if (!s || i >= DNS_MAX_ANSWERS || n >= DNS_MAX_ANSWERS)
		return 0;
	FQK_OPAQUE(i);
	FQK_OPAQUE(n);
	ri = &s->rr[i & (DNS_MAX_ANSWERS - 1)];
	if (!ri->relevant || ri->type == DNS_TYPE_CNAME)
		return 0;
	oc = s->cls[(1 + 2 * i) & 127];
	if (!s->depth[oc & 127])
		return 0;
	l = &s->res.learned[n & (DNS_MAX_ANSWERS - 1)];
	l->ttl = fqk_ttl(ri->ttl);
	o = ri->rdata_off;
	if (ri->type == DNS_TYPE_A) {
		__builtin_memset(l->ip, 0, 10);
		l->ip[10] = 0xff;
		l->ip[11] = 0xff;
		for (int k = 0; k < 4; k++)
			l->ip[12 + k] = s->msg[(o + k) & DNS_MSG_MASK];
		l->family = 4;
	} else {
		for (int k = 0; k < 16; k++)
			l->ip[k] = s->msg[(o + k) & DNS_MSG_MASK];
		l->family = 6;
	}
	return 1;
}

/* fqk_closure - CNAME BFS from the question's class, then credit A/AAAA answers. */
static __always_inline void fqk_closure(struct fqk_scratch *s, __u32 nans)
{
	__u32 n = 0;

	__builtin_memset(s->depth, 0, sizeof(s->depth));
	s->depth[0] = 1;
	for (__u32 p = 1; p <= DNS_MAX_CNAME_HOPS; p++)
		if (!fqk_g_bfs_pass(p, nans))
			break;
	for (__u32 i = 0; i < DNS_MAX_ANSWERS; i++) {
		if (i >= fqk_lim(nans))
			break;
		n += fqk_g_credit(i, n);
	}
	s->res.nlearned = n;
}

/* fqk_fail - mark the result invalid with @reason; returns @reason. */
static __always_inline int fqk_fail(struct fqk_result *res, int reason)
{
	res->valid = 0;
	res->reason = reason;
	res->nlearned = 0;
	return reason;
}

/**
 * fqk_g_parse_response - parse the response in s->msg[0..len) into s->res.
 * Return: 0 when valid (s->res.nlearned IPs credited to s->res.qname), else the reason.
 */
__attribute__((noinline)) int fqk_g_parse_response(__u32 len)
{
	struct fqk_scratch *s = fqk_scratch_get();
	struct fqk_result *res;
	struct dns_question q;
	__u32 an, ns, other;
	int off, c;

	if (!s)
		return DNS_E_LOAD;
	res = &s->res;
	res->valid = 0;
	res->reason = 0;
	res->nlearned = 0;
	res->msg_len = len;
	res->qname.len = 0;
	res->qtype = res->qclass = 0;
	if (len < DNS_HDR_LEN)
		return fqk_fail(res, DNS_E_MSG_TOO_SHORT);
	if (len > DNS_MSG_MAX)
		return fqk_fail(res, DNS_E_MSG_TOO_LONG);
	/* verifier: hide len <= DNS_MSG_MAX from clang, or it drops the index masks of
	 * scratch_get16() as redundant and the verifier, which compared a zero-extended
	 * copy, sees an unbounded offset (clang-19, kernel 6.18) */
	asm volatile("" : "+r"(len));
	res->id = scratch_get16(s->msg, DNS_OFF_ID);
	if (!(scratch_get16(s->msg, DNS_OFF_FLAGS) & DNS_FLAG_QR))
		return fqk_fail(res, FQK_DNS_NOT_RESPONSE);
	if ((scratch_get16(s->msg, DNS_OFF_FLAGS) >> 11) & 0xf)
		return fqk_fail(res, FQK_DNS_BAD_OPCODE);
	if (scratch_get16(s->msg, DNS_OFF_QDCOUNT) != 1)
		return fqk_fail(res, FQK_DNS_QDCOUNT);
	an = scratch_get16(s->msg, DNS_OFF_ANCOUNT);
	ns = scratch_get16(s->msg, DNS_OFF_NSCOUNT);
	other = ns + scratch_get16(s->msg, DNS_OFF_ARCOUNT);
	off = fqk_g_qname_read(len, FQK_NAME_Q);
	if (off < 0)
		return fqk_fail(res, -off);
	/* the question cannot start with a pointer (it would point into the header) */
	s->canon[0] = DNS_HDR_LEN;
	s->alias[0] = FQK_NO_ALIAS;
	/* the name was walked by fqk_g_name_read: only the fixed fields are left (and no
	 * walk context in this frame, see fqk_g_rr) */
	off = dns_question_fixed(s->msg, len, DNS_HDR_LEN, off, &q);
	if (off < 0)
		return fqk_fail(res, -off);
	res->qtype = q.qtype;
	res->qclass = q.qclass;
	if (an > DNS_MAX_ANSWERS)
		return fqk_fail(res, FQK_DNS_TOO_MANY_ANSWERS);
	if (other > DNS_MAX_OTHER_RRS)
		return fqk_fail(res, FQK_DNS_TOO_MANY_RRS);
	for (__u32 i = 0; i < DNS_MAX_ANSWERS; i++) {
		if (i >= fqk_lim(an))
			break;
		off = fqk_g_rr(len, off, i, FQK_SEC_ANSWER, 0);
		if (off < 0)
			return fqk_fail(res, -off);
	}
	s->nopt = 0;
	for (__u32 i = 0; i < DNS_MAX_OTHER_RRS; i++) {
		if (i >= fqk_lim(other))
			break;
		off = fqk_g_rr(len, off, i, 0, ns);
		if (off < 0)
			return fqk_fail(res, -off);
	}
	if ((__u32)off != len)
		return fqk_fail(res, FQK_DNS_TRAILING);

	s->qname_h = fqk_g_name_hash(FQK_NAME_Q);
	for (__u32 x = 0; x < DNS_NAMES; x++) {
		if (x >= fqk_lim(1 + 2 * an))
			break;
		c = fqk_g_class_of(x, an);
		s->cls[x & 127] = c;
	}
	fqk_closure(s, an);
	res->valid = 1;
	return 0;
}

#endif
