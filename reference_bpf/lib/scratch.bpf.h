/* SPDX-License-Identifier: GPL-2.0 */
/*
 * scratch.bpf.h - copy a DNS message into a per-CPU scratch buffer and read it back at
 * masked indices.
 *
 * The buffer is a map value of at least DNS_MSG_MAX bytes (power of two). Reading with
 * `buf[i & DNS_MSG_MASK]` is in bounds for the verifier whatever it knows about i, which
 * is what lets walks keep their offsets in memory (or lose track of them at a join)
 * without failing verification. Every read is still checked against the message length
 * by the caller: the mask proves memory safety, the length check proves protocol sanity.
 *
 *   struct dns_scratch { __u8 msg[DNS_MSG_MAX]; ... };   (define the map in your program)
 *   int n = dns_msg_load(skb, payload_off, s->msg);      (n = bytes copied, or -DNS_E_*)
 */
#ifndef FQDNKIT_SCRATCH_BPF_H
#define FQDNKIT_SCRATCH_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "dns_walk.bpf.h"

/**
 * scratch_get8 - byte @i of a DNS_MSG_MAX buffer (index masked).
 * Return: the byte. Kernel: any.
 */
static __always_inline __u8 scratch_get8(const __u8 *buf, __u32 i)
{
	return buf[i & DNS_MSG_MASK];
}

/**
 * scratch_get16 - big-endian 16-bit value at @i of a DNS_MSG_MAX buffer (indices masked,
 * so i = DNS_MSG_MAX - 1 wraps the second byte to 0: check i + 2 <= msg_len first).
 */
static __always_inline __u16 scratch_get16(const __u8 *buf, __u32 i)
{
	return ((__u16)buf[i & DNS_MSG_MASK] << 8) | buf[(i + 1) & DNS_MSG_MASK];
}

/** scratch_get32 - big-endian 32-bit value at @i (indices masked; check i + 4 <= msg_len). */
static __always_inline __u32 scratch_get32(const __u8 *buf, __u32 i)
{
	return ((__u32)scratch_get16(buf, i) << 16) | scratch_get16(buf, i + 2);
}

/**
 * scratch_put8 - the masked name copier's store: buf[i & mask] = v.
 * @mask: buffer size - 1 (size a power of two; the map value must hold mask + 1 bytes)
 */
static __always_inline void scratch_put8(__u8 *buf, __u32 mask, __u32 i, __u8 v)
{
	buf[i & mask] = v;
}

/**
 * dns_msg_load - copy the DNS message that starts at packet offset @off into @buf.
 * @skb: the packet (any program type with bpf_skb_load_bytes: tc, cgroup_skb, sk_skb...)
 * @off: offset of the DNS header from skb->data's start as bpf_skb_load_bytes counts it
 * @buf: DNS_MSG_MAX bytes of a map value
 *
 * Copies skb->len - @off bytes (the DNS message over UDP; for TCP pass the length from
 * the 2-byte prefix through your own code). Bounds: the size passed to the helper is
 * proven in [DNS_HDR_LEN, DNS_MSG_MAX]. Kernel: 4.7+ (helper with variable size).
 * Return: bytes copied (>= DNS_HDR_LEN), or -DNS_E_MSG_TOO_SHORT / -DNS_E_MSG_TOO_LONG /
 * -DNS_E_LOAD.
 */
static __always_inline int dns_msg_load(struct __sk_buff *skb, __u32 off, __u8 *buf)
{
	/* verifier: a 64-bit length makes clang test and pass the same register; with a
	 * __u32 it checks a zero-extended copy and the helper's size stays unbounded
	 * ("R4 min value is negative", seen on 6.18) */
	__u64 len = skb->len;

	if (len < off)
		return -DNS_E_MSG_TOO_SHORT;
	len -= off;
	/* verifier: test the difference itself, not len < off + 12 (kernel 6.18) */
	if (len < DNS_HDR_LEN)
		return -DNS_E_MSG_TOO_SHORT;
	if (len > DNS_MSG_MAX)
		return -DNS_E_MSG_TOO_LONG;
	barrier_var(len);
	/* verifier: on 7.3 the size register reaches the helper as u64=[0,4096] (the
	 * lower bound is proven on a copy): "R4 invalid zero-sized read". Rebuilding it
	 * as ((len - 1) & (DNS_MSG_MAX - 1)) + 1 is the identity for len in [1, 4096]
	 * and proves [1, DNS_MSG_MAX] on every kernel (kernel 7.3) */
	len = ((len - 1) & (DNS_MSG_MAX - 1)) + 1;
	if (bpf_skb_load_bytes(skb, off, buf, len) < 0)
		return -DNS_E_LOAD;
	return len;
}

#endif
