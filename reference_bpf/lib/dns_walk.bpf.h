/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dns_walk.bpf.h - THE shared DNS name code: bounded walk of (compressed) DNS names.
 *
 * Representation: a DNS message copied into a buffer of DNS_MSG_MAX bytes (a per-CPU
 * scratch map value, see scratch.bpf.h: sk_skb programs can see data_end - data == 0,
 * so every program copies the message with bpf_skb_load_bytes first). @msg points at
 * byte 0 of the DNS header inside that buffer; @msg_len bytes of it are valid. Every
 * index into @msg is masked with DNS_MSG_MAX - 1 (the buffer is a power of two), so the
 * verifier proves each read in bounds without tracking the walk's arithmetic, and every
 * read is additionally checked against @msg_len (the protocol bound).
 *
 * Rules enforced (RFC 1035 4.1.4 plus hardening):
 *   - labels <= DNS_MAX_LABEL (63) bytes: length bytes 0x40..0xbf are the label types
 *     0x40/0x80, DNS_E_BAD_LABEL_TYPE (a 6-bit length cannot exceed 63, so the walk never
 *     returns DNS_E_LABEL_TOO_LONG; the code is for callers that build names otherwise);
 *   - names <= DNS_MAX_NAME (255) bytes in wire format including the root byte, checked
 *     when a label's length byte is read (DNS_E_NAME_TOO_LONG); this also caps labels
 *     at DNS_MAX_LABELS (127), so DNS_E_TOO_MANY_LABELS is never returned either;
 *   - compression pointers (0xc0): at most DNS_MAX_PTR_HOPS per name; the target must be
 *     >= DNS_HDR_LEN (else DNS_E_PTR_INTO_HEADER), strictly before the pointer's own
 *     offset (else DNS_E_PTR_FORWARD) and strictly before the start of the name segment
 *     that contains the pointer (else DNS_E_PTR_LOOP: it would re-read that segment).
 *     Targets therefore strictly decrease, so no loop is possible;
 *   - any read at or past @msg_len: DNS_E_TRUNCATED.
 *   - after each pointer, every byte read must lie before the start of the segment that
 *     held the pointer (the name pointed to is a "prior occurrence", RFC 1035 4.1.4, and
 *     may not overlap the name being read): else DNS_E_PTR_OVERLAP. This is dnspython's
 *     rule (name.from_wire_parser: parser.restrict_end(start) on every hop, dnspython
 *     2.x); the older "before the first pointer's end" let a target run into the labels
 *     or the pointer of the name itself, which dnspython rejects (fuzz, 2026-11-26).
 *     Truncation and overlap are one comparison with st->lim (msg_len, then the start of
 *     the segment holding the latest pointer: strictly decreasing).
 * Errors are returned negated (-DNS_E_PTR_LOOP); codes live in reasons.def.h.
 *
 * Loop technique: chosen at build time by DNS_LOOP_TECHNIQUE (default DNS_LOOP_BOUNDED):
 *   DNS_LOOP_UNROLL    #pragma unroll, straight-line code        kernel 5.2 (programs > 4096 insns)
 *   DNS_LOOP_BOUNDED   plain bounded loop                         kernel 5.3
 *   DNS_LOOP_BPF_LOOP  bpf_loop() helper + callback subprogram     kernel 5.17
 *   DNS_LOOP_ITER      open-coded iterator bpf_iter_num (bpf_for)  kernel 6.4
 *   DNS_LOOP_MAY_GOTO  may_goto / can_loop (clang-19 assembles it) kernel 6.9
 * DNS_LOOP_MIN_KERNEL is the matching string for FQDNKIT_EXPECT_ACCEPT_SINCE.
 * Every walk is written once as a step callback `long step(__u32 i, void *ctx)`
 * (0 = go on, 1 = stop) and driven by dns_loop(n, step, ctx) in the chosen technique.
 *
 * API: dns_name_read, dns_name_read_question, dns_name_skip, dns_name_skip_flat, dns_name_eq (here); dns_question_next, dns_rr_next
 * (dns_rr.bpf.h); dns_msg_load, scratch_get8/16/32 (scratch.bpf.h).
 *
 * Verification cost: the walk's counters live in the per-CPU map dns_walk_state (defined
 * here: every object including this header gets it), so the verifier sees them as
 * unknown scalars and prunes paths that differ only in them; only the loop index of the
 * unrolled/bounded techniques is a precise constant. Measured (reference_bpf/README.md),
 * one dns_name_read costs ~65k processed insns unrolled or bounded and ~1k with bpf_loop,
 * iter or may_goto: prefer those three where the kernel has them.
 */
#ifndef FQDNKIT_DNS_WALK_BPF_H
#define FQDNKIT_DNS_WALK_BPF_H

#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include "reasons.bpf.h"

#define DNS_MSG_MAX 4096	/* buffer size, power of two; indices are masked with DNS_MSG_MAX-1 */
#define DNS_MSG_MASK (DNS_MSG_MAX - 1)
#define DNS_HDR_LEN 12
#define DNS_MAX_NAME 255	/* wire length incl. final zero label */
#define DNS_MAX_LABEL 63
#define DNS_MAX_LABELS 127
#define DNS_MAX_PTR_HOPS 16
#define DNS_NAME_MASK DNS_MAX_NAME	/* wire[] has DNS_MAX_NAME + 1 = 256 bytes */

/* flattened: no pointers, ASCII lower-cased */
struct dns_name {
	__u16 len;			/* wire length incl. root 0 */
	__u16 labels;			/* labels before the root */
	__u8 wire[DNS_MAX_NAME + 1];
};

/* ------------------------------------------------------------------------------------ */
/* Loop techniques                                                                       */
/* ------------------------------------------------------------------------------------ */
#define DNS_LOOP_UNROLL   1
#define DNS_LOOP_BOUNDED  2
#define DNS_LOOP_BPF_LOOP 3
#define DNS_LOOP_ITER     4
#define DNS_LOOP_MAY_GOTO 5

#ifndef DNS_LOOP_TECHNIQUE
#define DNS_LOOP_TECHNIQUE DNS_LOOP_BOUNDED
#endif

/*
 * dns_loop(n, cb, ctx):       cb(i, ctx) for i = 0..n-1 until it returns non-zero.
 * dns_loop_until(n, cb, ctx): the same for callbacks that ignore i and end the walk
 *                             themselves within n steps (only may_goto differs: there
 *                             it loops without an index, see below).
 * DNS_LOOP_CB declares a callback: `DNS_LOOP_CB my_step(__u32 i, void *ctx) {...}`.
 */

#if DNS_LOOP_TECHNIQUE == DNS_LOOP_UNROLL
#define DNS_LOOP_NAME "unroll"
#define DNS_LOOP_MIN_KERNEL "5.2"
#define DNS_LOOP_CB static __always_inline long
#define dns_loop(n, cb, ctx)                                                        \
	do {                                                                         \
		_Pragma("unroll")                                                    \
		for (__u32 __dns_i = 0; __dns_i < (n); __dns_i++)                     \
			if (cb(__dns_i, (ctx)))                                      \
				break;                                               \
	} while (0)

#elif DNS_LOOP_TECHNIQUE == DNS_LOOP_BOUNDED
#define DNS_LOOP_NAME "bounded"
#define DNS_LOOP_MIN_KERNEL "5.3"
#define DNS_LOOP_CB static __always_inline long
/* unroll(disable): clang would otherwise unroll small constant-trip loops itself */
#define dns_loop(n, cb, ctx)                                                        \
	do {                                                                         \
		_Pragma("clang loop unroll(disable)")                               \
		for (__u32 __dns_i = 0; __dns_i < (n); __dns_i++)                     \
			if (cb(__dns_i, (ctx)))                                      \
				break;                                               \
	} while (0)

#elif DNS_LOOP_TECHNIQUE == DNS_LOOP_BPF_LOOP
#define DNS_LOOP_NAME "bpf_loop"
#define DNS_LOOP_MIN_KERNEL "5.17"
/* the callback must be a real subprogram: bpf_loop() takes its address */
#define DNS_LOOP_CB static __attribute__((noinline)) long
#define dns_loop(n, cb, ctx) bpf_loop((n), (cb), (ctx), 0)

#elif DNS_LOOP_TECHNIQUE == DNS_LOOP_ITER
#define DNS_LOOP_NAME "iter"
#define DNS_LOOP_MIN_KERNEL "6.4"
#define DNS_LOOP_CB static __always_inline long
/* UAPI linux/bpf.h >= 6.4 has this type; Debian 12's linux-libc-dev (6.1) does not, and
 * the verifier matches the kfunc argument by the name "bpf_iter_num". */
#ifndef FQDNKIT_HAVE_BPF_ITER_NUM
struct bpf_iter_num {
	__u64 __opaque[1];
} __attribute__((aligned(8)));
#endif
extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __weak __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __weak __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __weak __ksym;
#define dns_loop(n, cb, ctx)                                                        \
	do {                                                                         \
		struct bpf_iter_num __dns_it;                                        \
		int *__dns_p;                                                        \
		bpf_iter_num_new(&__dns_it, 0, (n));                                 \
		while ((__dns_p = bpf_iter_num_next(&__dns_it)))                     \
			if (cb((__u32)*__dns_p, (ctx)))                              \
				break;                                               \
		bpf_iter_num_destroy(&__dns_it);                                     \
	} while (0)

#elif DNS_LOOP_TECHNIQUE == DNS_LOOP_MAY_GOTO
#define DNS_LOOP_NAME "may_goto"
#define DNS_LOOP_MIN_KERNEL "6.9"
#define DNS_LOOP_CB static __always_inline long
/* can_loop as in the kernel's bpf_experimental.h; clang >= 19 assembles may_goto */
#ifndef can_loop
#define can_loop                                                                    \
	({                                                                           \
		__label__ l_break, l_continue;                                       \
		int __ret = 1;                                                       \
		asm volatile goto("may_goto %l[l_break]" :::: l_break);              \
		goto l_continue;                                                     \
	l_break:                                                                     \
		__ret = 0;                                                           \
	l_continue:;                                                                 \
		__ret;                                                               \
	})
#endif
/* verifier: may_goto convergence compares states with RANGE_WITHIN and does not widen
 * scalars, so a loop index that is used keeps states apart; index loops are therefore
 * bounded by n as well (the verifier walks them like bounded loops: keep n small), and
 * dns_loop_until has no index at all, so its iterations converge after a few rounds
 * (kernel 6.18). */
#define dns_loop(n, cb, ctx)                                                        \
	do {                                                                         \
		for (__u32 __dns_i = 0; __dns_i < (n) && can_loop; __dns_i++)        \
			if (cb(__dns_i, (ctx)))                                      \
				break;                                               \
	} while (0)
#define dns_loop_until(n, cb, ctx)                                                  \
	do {                                                                         \
		while (can_loop)                                                     \
			if (cb(0, (ctx)))                                            \
				break;                                               \
	} while (0)

#else
#error "DNS_LOOP_TECHNIQUE must be one of DNS_LOOP_{UNROLL,BOUNDED,BPF_LOOP,ITER,MAY_GOTO}"
#endif

#ifndef dns_loop_until
#define dns_loop_until(n, cb, ctx) dns_loop(n, cb, ctx)
#endif

/* ------------------------------------------------------------------------------------ */
/* Walk state and its steps                                                              */
/* ------------------------------------------------------------------------------------ */

/* steps a walk may take: one per output byte (read) or label (skip), plus one per hop,
 * plus the step that detects too many hops */
#define DNS_READ_STEPS (DNS_MAX_NAME + DNS_MAX_PTR_HOPS + 1)
#define DNS_SKIP_STEPS (DNS_MAX_LABELS + 1 + DNS_MAX_PTR_HOPS + 1)

/*
 * The walk's counters live in a per-CPU map value, not on the stack.
 * verifier: every load from a map value is an unknown scalar, so no counter becomes a
 * precise constant and paths that differ only in (pos, hops, length) are pruned as
 * equal; with the counters on the stack the verifier tracked each (step, hops, length)
 * combination and walk_qname hit the 1M-insn limit (kernel 6.18, bounded and bpf_loop)
 * or "8193 jumps" (iter, may_goto). One slot per CPU: a program runs one walk at a time
 * (walks do not nest). Caveat shared with every per-CPU scratch buffer (including the
 * message copy): a program that runs with bottom halves enabled (cgroup_skb egress in
 * process context) can be interrupted on its CPU by a softirq program (tc, sk_skb,
 * cgroup_skb ingress) that walks too and overwrites the slot; the interrupted walk then
 * returns a wrong result. Programs that care keep one state map per hook (include this
 * header from one object per hook: each object gets its own map) or re-check results.
 */
struct dns_walk_state {
	__u32 pos;		/* next byte to read */
	__u32 seg;		/* start of the segment being read: pointers must go below it */
	__u32 left;		/* bytes left in the current label (read walk only) */
	__u32 olen;		/* bytes written to out->wire / wire length so far */
	__u32 labels;		/* labels seen */
	__u32 hops;		/* compression pointers followed */
	__u32 end;		/* offset just past the name at the start offset; 0 = not yet */
	__u32 lim;		/* reads must stay below: msg_len, then the start of the segment
				 * holding the latest pointer taken */
	__u32 flat;		/* 1: a pointer is an error (DNS_E_PTR_FORBIDDEN) */
	__s32 ret;		/* 0 while walking, then end offset (> 0) or -DNS_E_* */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dns_walk_state);
} dns_walk_state SEC(".maps");

/* The loop callback's context (on the caller's stack: it carries the pointers). */
struct dns_walk {
	const __u8 *msg;		/* message buffer (DNS_MSG_MAX bytes) */
	struct dns_name *out;		/* NULL for skip */
	struct dns_walk_state *st;	/* counters (map value) */
	__u32 msg_len;			/* valid bytes in msg */
};

/*
 * verifier: a compiler barrier at the top of each step makes clang reload the counters
 * from the map value; without it clang keeps them in registers across the (unrolled or
 * bounded) iterations, the verifier sees them as constants again and the states explode
 * (clang-19 -O2, kernel 6.18: walk_qname at 1M insns).
 */
#define dns_reload() asm volatile("" ::: "memory")

/* dns_lower - ASCII lower-case one byte. Length bytes (<= 63) are never changed. */
static __always_inline __u8 dns_lower(__u8 c)
{
	return (c >= 'A' && c <= 'Z') ? c | 0x20 : c;
}

/* dns_walk_fail - stop the walk with error @code (a positive DNS_E_* value). Returns 1. */
static __always_inline long dns_walk_fail(struct dns_walk_state *st, int code)
{
	st->ret = -code;
	return 1;
}

/**
 * dns_ptr_follow - the pointer follower: follow the compression pointer at @pos.
 * @w:   walk state; w->pos == @pos
 * @pos: offset of the pointer's first byte (already checked < w->msg_len)
 * @c:   that byte (top two bits set)
 *
 * Reads the second byte (checked against msg_len, index masked with DNS_MSG_MASK),
 * applies the target rules (header, forward, loop, hop limit) and moves the walk to the
 * target. Bounds relied on: msg buffer of DNS_MSG_MAX bytes. Kernel: any (no loop).
 * Return: 0 to continue the walk, 1 when it stopped with an error in w->ret.
 */
static __always_inline long dns_ptr_follow(struct dns_walk *w, struct dns_walk_state *st,
					   __u32 pos, __u8 c)
{
	__u32 target;

	if (st->flat)
		return dns_walk_fail(st, DNS_E_PTR_FORBIDDEN);
	if (pos + 2 > st->lim)
		return dns_walk_fail(st, st->end ? DNS_E_PTR_OVERLAP : DNS_E_TRUNCATED);
	target = ((__u32)(c & 0x3f) << 8) | w->msg[(pos + 1) & DNS_MSG_MASK];
	if (target < DNS_HDR_LEN)
		return dns_walk_fail(st, DNS_E_PTR_INTO_HEADER);
	if (target >= pos)
		return dns_walk_fail(st, DNS_E_PTR_FORWARD);
	if (target >= st->seg)
		return dns_walk_fail(st, DNS_E_PTR_LOOP);
	if (st->hops >= DNS_MAX_PTR_HOPS)
		return dns_walk_fail(st, DNS_E_PTR_TOO_MANY_HOPS);
	st->hops++;
	if (!st->end)
		st->end = pos + 2;
	st->lim = st->seg;	/* the target's name must end before this segment */
	st->seg = target;
	st->pos = target;
	return 0;
}

/**
 * dns_read_step - one step of the label walker that copies: reads one byte at st->pos.
 * @i:   step number (unused; the walk state says where we are)
 * @ctx: struct dns_walk * with w->out set
 *
 * A length byte starts a label (written as is), ends the name (0) or is a pointer
 * (dns_ptr_follow); a label byte is lower-cased and written. Output index masked with
 * DNS_NAME_MASK; the whole label is checked to fit DNS_MAX_NAME (with the root byte)
 * when its length byte is read, so no per-byte length check is needed.
 * Return: 0 to continue, 1 when the walk ended (st->ret set).
 */
DNS_LOOP_CB dns_read_step(__u32 i, void *ctx)
{
	struct dns_walk *w = ctx;
	struct dns_walk_state *st;
	struct dns_name *out;
	__u32 pos, olen;
	__u8 c;

	dns_reload();
	st = w->st;
	out = w->out;
	pos = st->pos;
	olen = st->olen;

	if (pos >= st->lim)
		return dns_walk_fail(st, st->end ? DNS_E_PTR_OVERLAP : DNS_E_TRUNCATED);
	c = w->msg[pos & DNS_MSG_MASK];
	if (st->left) {
		out->wire[olen & DNS_NAME_MASK] = dns_lower(c);
		st->olen = olen + 1;
		st->left--;
		st->pos = pos + 1;
		return 0;
	}
	if ((c & 0xc0) == 0xc0)
		return dns_ptr_follow(w, st, pos, c);
	if (c & 0xc0)
		return dns_walk_fail(st, DNS_E_BAD_LABEL_TYPE);
	if (c == 0) {
		out->wire[olen & DNS_NAME_MASK] = 0;
		out->len = olen + 1;
		out->labels = st->labels;
		st->ret = st->end ? st->end : pos + 1;
		return 1;
	}
	/* label of c bytes: length byte + c bytes + (at least) the root byte must fit */
	if (olen + c + 2 > DNS_MAX_NAME)
		return dns_walk_fail(st, DNS_E_NAME_TOO_LONG);
	out->wire[olen & DNS_NAME_MASK] = c;
	st->olen = olen + 1;
	st->labels++;
	st->left = c;
	st->pos = pos + 1;
	return 0;
}

/**
 * dns_skip_step - one step of the label walker that does not copy: one label or pointer.
 * @i:   step number (unused)
 * @ctx: struct dns_walk *
 *
 * Same rules as dns_read_step; jumps over a whole label at once (st->olen counts the
 * wire length the flattened name would have, to enforce DNS_MAX_NAME).
 * Return: 0 to continue, 1 when the walk ended (st->ret set).
 */
DNS_LOOP_CB dns_skip_step(__u32 i, void *ctx)
{
	struct dns_walk *w = ctx;
	struct dns_walk_state *st;
	__u32 pos, olen;
	__u8 c;

	dns_reload();
	st = w->st;
	pos = st->pos;
	olen = st->olen;

	if (pos >= st->lim)
		return dns_walk_fail(st, st->end ? DNS_E_PTR_OVERLAP : DNS_E_TRUNCATED);
	c = w->msg[pos & DNS_MSG_MASK];
	if ((c & 0xc0) == 0xc0)
		return dns_ptr_follow(w, st, pos, c);
	if (c & 0xc0)
		return dns_walk_fail(st, DNS_E_BAD_LABEL_TYPE);
	if (c == 0) {
		st->ret = st->end ? st->end : pos + 1;
		return 1;
	}
	if (olen + c + 2 > DNS_MAX_NAME)
		return dns_walk_fail(st, DNS_E_NAME_TOO_LONG);
	if (pos + 1 + c > st->lim)	/* the label's bytes, which dns_read_step reads one by one */
		return dns_walk_fail(st, st->end ? DNS_E_PTR_OVERLAP : DNS_E_TRUNCATED);
	st->olen = olen + c + 1;
	st->labels++;
	st->pos = pos + 1 + c;
	return 0;
}

/* dns_walk_init - reset the per-CPU counters and fill the callback context.
 * Return: 0, or -DNS_E_LOAD if the state map lookup failed (it cannot for an array
 * map with key 0, but the verifier requires the NULL check). */
static __always_inline int dns_walk_init(struct dns_walk *w, const __u8 *msg, __u32 msg_len,
					 __u32 off, struct dns_name *out)
{
	__u32 zero = 0;
	struct dns_walk_state *st = bpf_map_lookup_elem(&dns_walk_state, &zero);

	if (!st)
		return -DNS_E_LOAD;
	__builtin_memset(st, 0, sizeof(*st));
	st->pos = off;
	st->seg = off;
	st->lim = msg_len;
	w->msg = msg;
	w->out = out;
	w->st = st;
	w->msg_len = msg_len;
	return 0;
}

/* dns_walk_result - what the walk left in st->ret, or the budget error. */
static __always_inline int dns_walk_result(const struct dns_walk *w)
{
	int ret = w->st->ret;

	return ret ? ret : -DNS_E_STEP_BUDGET;
}

/**
 * dns_name_read - read the possibly compressed name at @off into a flattened name.
 * @msg:     DNS message buffer, DNS_MSG_MAX bytes (a map value: the verifier must know
 *           its size), byte 0 = first byte of the DNS header
 * @msg_len: valid bytes in @msg (<= DNS_MSG_MAX)
 * @off:     offset of the name (>= DNS_HDR_LEN for meaningful results)
 * @out:     output; put it in a map value too (256+4 bytes, written at masked indices)
 *
 * Output: out->wire is the uncompressed wire form, ASCII lower-cased, ending in the root
 * byte; out->len its length (1..255); out->labels the label count. Runs at most
 * DNS_READ_STEPS steps. Bounds: msg indices & DNS_MSG_MASK, out indices & DNS_NAME_MASK.
 * Oldest kernel: DNS_LOOP_MIN_KERNEL of the chosen technique.
 * Return: offset just past the name as it sits at @off (after the first pointer if any),
 * or a negative DNS_E_* code (out is then partially written).
 */
static __always_inline int dns_name_read(const __u8 *msg, __u32 msg_len, __u32 off,
					 struct dns_name *out)
{
	struct dns_walk w;
	int err = dns_walk_init(&w, msg, msg_len, off, out);

	if (err)
		return err;
	dns_loop_until(DNS_READ_STEPS, dns_read_step, &w);
	return dns_walk_result(&w);
}

/**
 * dns_name_skip - walk the name at @off without copying it (for owner names of RRs).
 * @msg, @msg_len, @off: as for dns_name_read
 *
 * Same rules and errors as dns_name_read; at most DNS_SKIP_STEPS steps, one per label.
 * Return: offset just past the name as it sits at @off, or a negative DNS_E_* code.
 */
static __always_inline int dns_name_skip(const __u8 *msg, __u32 msg_len, __u32 off)
{
	struct dns_walk w;
	int err = dns_walk_init(&w, msg, msg_len, off, 0);

	if (err)
		return err;
	dns_loop_until(DNS_SKIP_STEPS, dns_skip_step, &w);
	return dns_walk_result(&w);
}

/**
 * dns_name_skip_flat - dns_name_skip for a name that must not be compressed (RFC 3597 4:
 * DNAME targets; RFC 4034 3.1.7: RRSIG signer names): any compression pointer is
 * -DNS_E_PTR_FORBIDDEN, as dnspython's get_name(decompress=False) refuses it.
 * Return: offset just past the name, or a negative DNS_E_* code.
 */
static __always_inline int dns_name_skip_flat(const __u8 *msg, __u32 msg_len, __u32 off)
{
	struct dns_walk w;
	int err = dns_walk_init(&w, msg, msg_len, off, 0);

	if (err)
		return err;
	w.st->flat = 1;
	dns_loop_until(DNS_SKIP_STEPS, dns_skip_step, &w);
	return dns_walk_result(&w);
}

/* ------------------------------------------------------------------------------------ */
/* Comparison                                                                            */
/* ------------------------------------------------------------------------------------ */

struct dns_eq_walk {
	const struct dns_name *a;
	const struct dns_name *b;
	__u32 len;
	int diff;	/* a byte differed */
	int done;	/* all len bytes compared */
};

#define DNS_EQ_WORDS ((DNS_MAX_NAME + 1) / 8)	/* 32 words of 8 bytes */

/* dns_lower64 - ASCII lower-case 8 bytes at once, without branches (SWAR). */
static __always_inline __u64 dns_lower64(__u64 x)
{
	__u64 h = x & 0x7f7f7f7f7f7f7f7fULL;
	__u64 ge_a = h + 0x3f3f3f3f3f3f3f3fULL;	/* bit 7 set where byte >= 'A' */
	__u64 gt_z = h + 0x2525252525252525ULL;	/* bit 7 set where byte > 'Z' */
	__u64 upper = ~x & (ge_a ^ gt_z) & 0x8080808080808080ULL;

	return x | (upper >> 2);
}

/* dns_eq_step - compare word @i (bytes 8i..8i+7) of the two names. */
DNS_LOOP_CB dns_eq_step(__u32 i, void *ctx)
{
	struct dns_eq_walk *e = ctx;
	__u32 at, rest;
	__u64 x, y, mask = ~0ULL;

	/* verifier: keep the mask below; clang could prove it redundant (i < 32) and
	 * drop it, leaving an index the verifier cannot bound (may_goto: a pointer walk;
	 * bpf_loop, iter: the bound was checked on another register), kernel 6.18 */
	barrier_var(i);
	if (i >= DNS_EQ_WORDS || i * 8 >= e->len) {
		e->done = 1;
		return 1;
	}
	at = i * 8;
	barrier_var(at);
	at &= DNS_MAX_NAME + 1 - 8;
	rest = e->len - at;
	if (rest < 8)
		mask = (1ULL << (rest * 8)) - 1;	/* little-endian: low bytes first */
	x = *(const __u64 *)&e->a->wire[at];
	y = *(const __u64 *)&e->b->wire[at];
	if ((dns_lower64(x) ^ dns_lower64(y)) & mask) {
		e->diff = 1;
		return 1;
	}
	return 0;
}

/**
 * dns_name_eq - compare two flattened names, ASCII case-insensitively.
 * @a, @b: names as filled by dns_name_read (or built by the caller in the same format),
 *         in map values (8-byte loads at 4-byte aligned offsets: fine on x86-64/arm64)
 *
 * Compares len and then len wire bytes, 8 at a time with a branch-free lower-casing
 * (length bytes <= 63 are unaffected by it, so the whole wire form is compared).
 * Indices masked to the 256-byte wire[]; at most DNS_EQ_WORDS + 1 steps.
 * Little-endian byte order assumed for the tail mask (x86-64, arm64).
 * Return: 1 when equal, 0 otherwise (also when a budget-limited loop stopped early).
 */
static __always_inline int dns_name_eq(const struct dns_name *a, const struct dns_name *b)
{
	struct dns_eq_walk e = { .a = a, .b = b, .len = a->len };

	if (a->len != b->len || a->len > DNS_MAX_NAME)
		return 0;
	dns_loop(DNS_EQ_WORDS + 1, dns_eq_step, &e);
	return e.done && !e.diff;
}

/**
 * dns_name_read_question - dns_name_read of the question name (at DNS_HDR_LEN), faster:
 * the label walk of dns_name_skip (the same steps, rules and error codes), then one copy
 * of the name's bytes 8 at a time, lower-cased with dns_lower64 (equal to dns_lower on
 * every byte; length bytes <= 63 are unchanged).
 * Why a copy is enough: a compression pointer in the question name cannot be valid (its
 * target must be >= DNS_HDR_LEN, else DNS_E_PTR_INTO_HEADER, and below the start of the
 * segment holding it, which is DNS_HDR_LEN, else DNS_E_PTR_LOOP), so once the walk has
 * succeeded the flattened name is the end - DNS_HDR_LEN bytes at DNS_HDR_LEN.
 * dns_name_read copies byte by byte, one loop step per byte (~14 ns a byte with
 * bpf_loop, kernel 6.18); this is one step per label plus ~1 ns a byte.
 * @msg, @msg_len: as for dns_name_read (reads stay below DNS_HDR_LEN + 256 + 8)
 * @out: as for dns_name_read; out->wire bytes past out->len are unspecified (as there)
 * Return: offset just past the name, or a negative DNS_E_* code (out unchanged then).
 */
static __always_inline int dns_name_read_question(const __u8 *msg, __u32 msg_len,
						  struct dns_name *out)
{
	struct dns_walk w;
	int err = dns_walk_init(&w, msg, msg_len, DNS_HDR_LEN, 0);
	__u32 len;

	if (err)
		return err;
	dns_loop_until(DNS_SKIP_STEPS, dns_skip_step, &w);
	err = dns_walk_result(&w);
	if (err < 0)
		return err;
	len = err - DNS_HDR_LEN;
	for (__u32 j = 0; j < DNS_EQ_WORDS; j++) {
		if (j * 8 >= len)
			break;
		*(__u64 *)&out->wire[j * 8] =
			dns_lower64(*(const __u64 *)&msg[DNS_HDR_LEN + j * 8]);
	}
	out->len = len;
	out->labels = w.st->labels;
	return err;
}

#endif
