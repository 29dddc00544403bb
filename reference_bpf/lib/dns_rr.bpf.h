/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dns_rr.bpf.h - walk the question and resource-record sections of a DNS message in a
 * DNS_MSG_MAX scratch buffer (see dns_walk.bpf.h for the representation and the rules).
 *
 *   int off = DNS_HDR_LEN;
 *   off = dns_question_next(msg, len, off, &q);        (q.qtype, q.qclass, q.name_off)
 *   off = dns_rr_next(msg, len, off, &rr);             (one answer; off < 0 on error)
 *   dns_question_fixed / dns_rr_fixed: the same after a name the caller walked itself
 *
 * Owner names are skipped with dns_name_skip (read them with dns_name_read at
 * rr.name_off if you need them). No loop of its own: the caller loops over RRs.
 */
#ifndef FQDNKIT_DNS_RR_BPF_H
#define FQDNKIT_DNS_RR_BPF_H

#include "dns_walk.bpf.h"
#include "scratch.bpf.h"

#define DNS_RR_FIXED_LEN 10	/* type, class, ttl, rdlength */
#define DNS_Q_FIXED_LEN 4	/* qtype, qclass */

/* DNS header fields, as offsets into the message */
#define DNS_OFF_ID 0
#define DNS_OFF_FLAGS 2
#define DNS_OFF_QDCOUNT 4
#define DNS_OFF_ANCOUNT 6
#define DNS_OFF_NSCOUNT 8
#define DNS_OFF_ARCOUNT 10
#define DNS_FLAG_QR 0x8000
#define DNS_TYPE_A 1
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_AAAA 28

struct dns_rr {
	__u16 type;
	__u16 class;
	__u32 ttl;
	__u16 rdlength;
	__u16 rdata_off;	/* offset of RDATA in the message */
	__u16 name_off;		/* offset of the owner name */
	__u16 next_off;		/* offset of the next RR */
};

struct dns_question {
	__u16 qtype;
	__u16 qclass;
	__u16 name_off;
	__u16 next_off;
};

/**
 * dns_question_fixed - the part of dns_question_next after the name: the question whose
 * name starts at @name_off and ends at @name_end (a walk's result, e.g. dns_name_read's).
 * For callers that walked the name already (or in a global function of their own, to keep
 * the walk's stack out of their frame). Return: offset of the next entry, or -DNS_E_*.
 */
static __always_inline int dns_question_fixed(const __u8 *msg, __u32 msg_len, __u32 name_off,
					      __u32 name_end, struct dns_question *q)
{
	if (name_end + DNS_Q_FIXED_LEN > msg_len)
		return -DNS_E_TRUNCATED;
	q->qtype = scratch_get16(msg, name_end);
	q->qclass = scratch_get16(msg, name_end + 2);
	q->name_off = name_off;
	q->next_off = name_end + DNS_Q_FIXED_LEN;
	return name_end + DNS_Q_FIXED_LEN;
}

/**
 * dns_question_next - parse the question entry at @off.
 * @msg, @msg_len: message buffer (DNS_MSG_MAX bytes) and its valid length
 * @off: offset of the question's name
 * @q:   filled with qtype, qclass, name_off, next_off
 *
 * Bounds: name walk as dns_name_skip; fixed fields checked against @msg_len, read at
 * masked indices. Kernel: that of the loop technique.
 * Return: offset of the next entry, or a negative DNS_E_* code.
 */
static __always_inline int dns_question_next(const __u8 *msg, __u32 msg_len, __u32 off,
					     struct dns_question *q)
{
	int p = dns_name_skip(msg, msg_len, off);

	if (p < 0)
		return p;
	return dns_question_fixed(msg, msg_len, off, p, q);
}

/**
 * dns_rr_fixed - the part of dns_rr_next after the owner name: the RR whose owner starts
 * at @name_off and ends at @name_end (a walk's result). Return: offset of the next RR,
 * or -DNS_E_RR_TRUNCATED.
 */
static __always_inline int dns_rr_fixed(const __u8 *msg, __u32 msg_len, __u32 name_off,
					__u32 name_end, struct dns_rr *rr)
{
	__u32 rdata = name_end + DNS_RR_FIXED_LEN, end;

	if (rdata > msg_len)
		return -DNS_E_RR_TRUNCATED;
	rr->type = scratch_get16(msg, name_end);
	rr->class = scratch_get16(msg, name_end + 2);
	rr->ttl = scratch_get32(msg, name_end + 4);
	rr->rdlength = scratch_get16(msg, name_end + 8);
	end = rdata + rr->rdlength;
	if (end > msg_len)
		return -DNS_E_RR_TRUNCATED;
	rr->rdata_off = rdata;
	rr->name_off = name_off;
	rr->next_off = end;
	return end;
}

/**
 * dns_rr_next - parse the resource record at @off (answer, authority or additional).
 * @msg, @msg_len: message buffer (DNS_MSG_MAX bytes) and its valid length
 * @off: offset of the RR's owner name
 * @rr:  filled with type, class, ttl, rdlength, rdata_off, name_off, next_off
 *
 * Bounds: owner name as dns_name_skip; the 10 fixed bytes and the RDATA must lie within
 * @msg_len (else -DNS_E_RR_TRUNCATED). Kernel: that of the loop technique.
 * Return: offset of the next RR, or a negative DNS_E_* code.
 */
static __always_inline int dns_rr_next(const __u8 *msg, __u32 msg_len, __u32 off,
				       struct dns_rr *rr)
{
	int p = dns_name_skip(msg, msg_len, off);

	if (p < 0)
		return p;
	return dns_rr_fixed(msg, msg_len, off, p, rr);
}

#endif
