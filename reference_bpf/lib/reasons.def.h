/* SPDX-License-Identifier: GPL-2.0 */
/*
 * reasons.def.h - X-macro table of every reason code fqdnkit's BPF code returns.
 *
 * One entry per line, exactly:  FQDNKIT_REASON(NAME, value, "text")
 * (toolkit/reasons.py parses this file line by line; keep that shape, no line breaks
 * inside an entry, no macros in the value, value a decimal integer literal.)
 * Functions return the NEGATED value (-DNS_E_TRUNCATED) on error; 0 is never a reason.
 * Expand the table with reasons.bpf.h (C enum) or your own FQDNKIT_REASON definition.
 *
 * Ranges: 1..99 DNS wire parsing (reference_bpf/lib/dns_walk.bpf.h, dns_rr.bpf.h),
 *         100.. enforcement / drop reasons (block at the end, owned by the enforcer).
 */
#ifndef FQDNKIT_REASON
#error "define FQDNKIT_REASON(name, value, text) before including reasons.def.h"
#endif

/* --- DNS wire parsing (owner: reference_bpf/lib/dns_walk.bpf.h, dns_rr.bpf.h) --- */
FQDNKIT_REASON(DNS_E_TRUNCATED, 1, "read past the end of the DNS message")
FQDNKIT_REASON(DNS_E_LABEL_TOO_LONG, 2, "label longer than 63 bytes")
FQDNKIT_REASON(DNS_E_NAME_TOO_LONG, 3, "name longer than 255 bytes in wire format")
FQDNKIT_REASON(DNS_E_PTR_LOOP, 4, "compression pointer into the name segment being read (loop)")
FQDNKIT_REASON(DNS_E_PTR_FORWARD, 5, "compression pointer to its own or a later offset")
FQDNKIT_REASON(DNS_E_PTR_INTO_HEADER, 6, "compression pointer into the 12-byte DNS header")
FQDNKIT_REASON(DNS_E_BAD_LABEL_TYPE, 7, "label type 0x40 or 0x80 (extended/reserved)")
FQDNKIT_REASON(DNS_E_TOO_MANY_LABELS, 8, "more than 127 labels")
FQDNKIT_REASON(DNS_E_PTR_TOO_MANY_HOPS, 9, "more than 16 compression pointers in one name")
FQDNKIT_REASON(DNS_E_STEP_BUDGET, 10, "walk stopped by the loop budget before the name ended")
FQDNKIT_REASON(DNS_E_MSG_TOO_SHORT, 11, "message shorter than the 12-byte DNS header")
FQDNKIT_REASON(DNS_E_MSG_TOO_LONG, 12, "message longer than the DNS_MSG_MAX buffer")
FQDNKIT_REASON(DNS_E_RR_TRUNCATED, 13, "resource record fixed fields or RDATA past the end of the message")
FQDNKIT_REASON(DNS_E_LOAD, 14, "copying the message out of the packet failed")
FQDNKIT_REASON(DNS_E_PTR_OVERLAP, 15, "name reached through a compression pointer runs into the name segment holding the pointer")
FQDNKIT_REASON(DNS_E_PTR_FORBIDDEN, 16, "compression pointer in a name that must not be compressed (DNAME target, RRSIG signer)")

/* ===== BEGIN enforcer reasons (owner: enforcer engineer; append below, values 100+) ===== */
FQDNKIT_REASON(FQK_ALLOW_RESOLVER, 100, "allowed: DNS to a configured resolver")
FQDNKIT_REASON(FQK_ALLOW_LEARNED, 101, "allowed: destination learned from DNS, not expired")
FQDNKIT_REASON(FQK_ALLOW_LOOPBACK, 102, "allowed: loopback destination")
FQDNKIT_REASON(FQK_DROP_NOT_LEARNED, 103, "dropped: destination not learned for this workload")
FQDNKIT_REASON(FQK_DROP_EXPIRED, 104, "dropped: destination learned but its TTL expired")
FQDNKIT_REASON(FQK_DROP_NO_WORKLOAD, 105, "dropped: cgroup has no policy (fail closed)")
FQDNKIT_REASON(FQK_DROP_NOT_IP, 106, "dropped: not IPv4/IPv6 or unparsable IP header")
FQDNKIT_REASON(FQK_DNS_NOT_RESPONSE, 110, "DNS message is not a response (QR=0)")
FQDNKIT_REASON(FQK_DNS_BAD_OPCODE, 111, "DNS opcode is not QUERY")
FQDNKIT_REASON(FQK_DNS_QDCOUNT, 112, "DNS message does not have exactly one question")
FQDNKIT_REASON(FQK_DNS_TOO_MANY_ANSWERS, 113, "more answers than DNS_MAX_ANSWERS (32)")
FQDNKIT_REASON(FQK_DNS_TRAILING, 114, "bytes after the last resource record")
FQDNKIT_REASON(FQK_DNS_BAD_RDATA, 115, "RDATA not of its type's shape (A/AAAA length, names or strings not filling it exactly)")
FQDNKIT_REASON(FQK_DNS_TOO_MANY_RRS, 116, "more records than the walk budget (authority+additional > 64)")
FQDNKIT_REASON(FQK_DNS_IS_RESPONSE, 117, "egress DNS message is not a query")
FQDNKIT_REASON(FQK_DNS_RR_TYPE, 118, "RR of a type or class whose RDATA the kernel does not check (fail closed)")
FQDNKIT_REASON(FQK_DNS_BAD_OPT, 119, "OPT record outside the additional section, not owned by the root, repeated, or with malformed options")
FQDNKIT_REASON(FQK_SPOOF_NO_QUERY, 120, "response answers no outstanding query of a workload (id/5-tuple)")
FQDNKIT_REASON(FQK_SPOOF_NOT_RESOLVER, 121, "response source is not a configured resolver of the workload")
FQDNKIT_REASON(FQK_SPOOF_QUESTION, 122, "response question differs from the recorded query")
FQDNKIT_REASON(FQK_NAME_NOT_ALLOWED, 123, "question name matches no allowed name or pattern")
FQDNKIT_REASON(FQK_LEARNED, 124, "IP learned (or its expiry extended)")
FQDNKIT_REASON(FQK_LEARN_EVICTED, 125, "IP evicted: per-name cap reached")
FQDNKIT_REASON(FQK_TCP_FRAMING, 126, "TCP stream broken (length prefix over DNS_MSG_MAX, skb over 64 KiB or more messages in one skb than framing steps): stream not parsed further")
FQDNKIT_REASON(FQK_QUERY_RECORDED, 127, "outstanding query recorded on egress")
FQDNKIT_REASON(FQK_QUERY_TABLE_FULL, 128, "outstanding query not recorded (map update failed)")
FQDNKIT_REASON(FQK_DNS_NO_ANSWER, 129, "valid response, nothing learned for the question name")
/* ===== END enforcer reasons ===== */
