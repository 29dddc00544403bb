"""fqdnkit's benchmark and fault-injection package (`fqdnkit bench`, tests/faults/).

Modules: `messages` (the DNS responses measured), `kernel_cost` (BPF_PROG_TEST_RUN cost
against a trivial program), `topology` (fqbench- namespaces, cgroup, unbound), `dnsperf`
(load generation and latency percentiles), `dnsproxy` (the user-space proxy design being
replaced), `dnspath` (the three DNS-path configurations), `race` (first-connection race),
`fuzz` (mutation fuzzing of the in-kernel parser against dnspython), `oracle` (what a
response teaches, computed with dnspython), `tools` (the toolkit's own benchmark scripts),
`report` (results.json, plots, docs/BENCHMARKS.md), `progress`.
"""
