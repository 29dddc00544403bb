// SPDX-License-Identifier: GPL-2.0
/*
 * sk_msg verdict on fqk_dns_socks: DNS queries over TCP, recorded from the stream.
 *
 * The kernel runs this program on the data of each sendmsg (tcp_bpf_sendmsg) of a socket
 * in the sockhash, before TCP queues it: every byte the application writes is seen once,
 * in order, whatever the writes look like (one query in several writes, many queries in
 * one write), and never again (retransmissions are TCP's, below this hook). Each complete
 * query is recorded in fqk_queries by fqk_record_query (datapath.bpf.h, the UDP path's
 * function) for the workload cgroup egress tagged the socket with (fqk_sock_tx, socket
 * storage: its SYN went through cgroup egress before sockops put the connection in the
 * sockhash, so the tag is there before the first write). The framing is
 * tcp_framing.bpf.h's, direction FQK_TCP_TX, with its state in the same socket storage
 * (freed with the socket).
 *
 * Bytes seen again: when TCP cannot queue all of a write's data (a non-blocking socket
 * whose send buffer fills while tcp_bpf pushes it), tcp_bpf drops the unqueued tail after
 * this program saw it and returns a short write; the application writes the tail again
 * and the program sees it a second time (measured: pipelined writes to a resolver that
 * reads slowly desynchronised the framing, 173 of 3000 queries recorded). So the socket
 * storage keeps the TCP sequence number after the last byte framed (seq_next), and each
 * run starts at tcp_sock->write_seq (the sequence number of this data's first byte, the
 * data is not queued yet): bytes below seq_next were framed already and are skipped; a
 * gap (bytes queued that this program never saw) marks the direction broken. The
 * application must write the same bytes again (it does: the short write told it those
 * bytes were not sent); if it wrote others, queries it never sent may be recorded (its
 * own, harmless) and the framing can be lost (fail closed).
 *
 * Always SK_PASS; bpf_msg_pull_data only linearises the scatterlist, it changes no byte:
 * the resolver gets the application's data unchanged. A socket without a workload tag
 * (its SYN did not pass a workload's egress) has nothing recorded (FQK_TCP_FRAMING):
 * its answers teach nothing (fail closed). Data sent before the connection is in the
 * sockhash (TCP Fast Open: data in the SYN) is not seen either: not learned.
 * libbpf 1.1 knows the section name "sk_msg"; the agent sets the type anyway, like the
 * other sockhash programs.
 */
#define DNS_LOOP_TECHNIQUE DNS_LOOP_BPF_LOOP
#include "tcp_framing.bpf.h"

/* the one field of the kernel's tcp_sock read here (CO-RE: libbpf relocates the offset
 * against the running kernel's BTF); from bpf_skc_to_tcp_sock() */
struct tcp_sock {
	__u32 write_seq;	/* sequence number of the next byte the application queues */
} __attribute__((preserve_access_index));

/* fqk_msg_tuple - the connection of @msg as egress would see it: workload -> resolver */
static __always_inline void fqk_msg_tuple(struct sk_msg_md *msg, struct ip_tuple *t)
{
	__u32 rp = msg->remote_port;

	__builtin_memset(t, 0, sizeof(*t));
	if (msg->family == 2 /* AF_INET */) {
		ip_map4(t->saddr, msg->local_ip4);
		ip_map4(t->daddr, msg->remote_ip4);
		t->family = 4;
	} else {
		__u32 *w = (__u32 *)t->saddr, *r = (__u32 *)t->daddr;

		w[0] = msg->local_ip6[0];
		w[1] = msg->local_ip6[1];
		w[2] = msg->local_ip6[2];
		w[3] = msg->local_ip6[3];
		r[0] = msg->remote_ip6[0];
		r[1] = msg->remote_ip6[1];
		r[2] = msg->remote_ip6[2];
		r[3] = msg->remote_ip6[3];
		t->family = 6;
	}
	/* remote_port: network order, shifted into the upper half on little endian */
	t->dport = rp > 0xffff ? bpf_ntohl(rp) : bpf_ntohs(rp);
	t->sport = msg->local_port;
	t->proto = IPPROTO_TCP;
}

/**
 * fqk_msg_consume - one tx framing step of @msg's data at offset @pos.
 * Return: the next position, or -1 when the data is used up (or not recorded).
 */
__attribute__((noinline)) int fqk_msg_consume(struct sk_msg_md *msg, __u32 pos)
{
	struct fqk_scratch *s = fqk_scratch_get();
	struct fqk_sock_tx *tx;
	struct bpf_sock *sk;
	__u32 len = msg->size;

	if (!s || pos >= len)
		return -1;
	sk = msg->sk;
	if (!sk)
		return -1;
	tx = bpf_sk_storage_get(&fqk_sock_tx, sk, 0, 0);
	if (!tx || !tx->wid) {
		if (pos == 0)
			fqk_count(FQK_TCP_FRAMING);	/* no workload tag: nothing recorded */
		return -1;
	}
	fqk_msg_tuple(msg, &s->t);
	return fqk_tcp_frame(msg, s, &tx->fr, pos, len, 0, FQK_TCP_TX, FQK_MODE_ENFORCE, tx->wid);
}

/**
 * fqk_msg_start - where this run's new bytes start in @msg's data (see "Bytes seen
 * again" above), and note that everything up to its end is framed.
 * Return: the offset of the first byte not framed yet (msg->size when there is none), or
 * -1 when nothing is to be framed (no socket, broken stream: a gap in the sequence).
 */
static __always_inline int fqk_msg_start(struct sk_msg_md *msg)
{
	struct bpf_sock *sk = msg->sk;
	struct fqk_sock_tx *tx;
	struct tcp_sock *tp;
	__u32 seq, end, skip = 0;

	if (!sk)
		return -1;
	tx = bpf_sk_storage_get(&fqk_sock_tx, sk, 0, 0);
	if (!tx)
		return 0;	/* not tagged: fqk_msg_consume counts it */
	tp = bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return -1;
	seq = tp->write_seq;
	end = seq + msg->size;
	if (tx->seq_ok) {
		skip = tx->seq_next - seq;
		if ((__s32)skip < 0) {
			/* bytes were queued that this program did not see: framing lost */
			if (!tx->fr.broken)
				fqk_count(FQK_TCP_FRAMING);
			tx->fr.broken = 1;
			return -1;
		}
		if ((__s32)(end - tx->seq_next) <= 0)
			return msg->size;	/* all seen before */
	}
	tx->seq_next = end;
	tx->seq_ok = 1;
	return skip;
}

SEC("sk_msg")
int fqk_msg_verdict(struct sk_msg_md *msg)
{
	struct fqk_sock_tx *tx;
	struct bpf_sock *sk;
	int pos = fqk_msg_start(msg);

	if (pos < 0)
		return SK_PASS;
	for (int i = 0; i < FQK_TCP_STEPS; i++) {
		pos = fqk_msg_consume(msg, pos);
		if (pos < 0)
			return SK_PASS;
	}
	/* more messages than FQK_TCP_STEPS in one write: framing would be lost from here */
	sk = msg->sk;
	if (sk) {
		tx = bpf_sk_storage_get(&fqk_sock_tx, sk, 0, 0);
		if (tx)
			tx->fr.broken = 1;
	}
	fqk_count(FQK_TCP_FRAMING);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
