// SPDX-License-Identifier: GPL-2.0
/*
 * trivial.bpf.c - the baseline of the in-kernel cost benchmark (fqdnkit bench).
 *
 * Two programs that return at once, one per program type the enforcer's DNS parsing can
 * run as. BPF_PROG_TEST_RUN's per-run time of these is the fixed cost of a run (context
 * set-up, the dispatcher, the timer); the parser's time is reported as a ratio to the
 * trivial program of the same type measured in the same run.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int trivial_tc(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

SEC("cgroup_skb/ingress")
int trivial_cgroup_ingress(struct __sk_buff *skb)
{
	return 1;
}

SEC("cgroup_skb/egress")
int trivial_cgroup_egress(struct __sk_buff *skb)
{
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
