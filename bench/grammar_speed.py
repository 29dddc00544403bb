#!/usr/bin/env python3
"""Benchmark: lines/s of the verifier-log grammar against a plain regex line splitter.

Usage: .venv/bin/python bench/grammar_speed.py [--lines N] [--log FILE] [--keep FILE]

With --record, compiles a byte-walking loop, loads it on this kernel at log level 2 (root)
and uses the first N lines of the real log. Otherwise, without --log, generates a level-2 log of about N lines (default 1,000,000) in the 6.18
format: a bounded loop walked iteration by iteration, as the verifier prints it (branch
headers, source lines, instruction lines with register states whose bounds change every
iteration, precision backtracking), so state entries do not simply repeat. With --log, a
recorded log (plain or .gz) is used instead. Both parsers run on the same lines in the same
process: the regex floor only splits each line into prefix/instruction/state (no typing),
the grammar produces typed LogLines (toolkit.logparse.parse_lines). Prints wall and CPU
time and lines/s for each, the ratio, the CPU and wall seconds per 1M lines and whether the
1M-lines-in-10-s goal is met (CPU time: the machine is shared), the hit rates of the parser's
bounded caches (state texts, state shapes, entry values) and the number of Lark parses, and
the peak RSS before and during parsing (it stays flat: parsing streams).
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def generate(n: int) -> list[str]:
    """A synthetic level-2 log of about n lines (6.18 spelling)."""
    head = [
        "func#0 @0",
        "0: R1=ctx() R10=fp0",
        "; int walk(struct __sk_buff *skb) @ walk.bpf.c:20",
        "0: (b7) r6 = 0                        ; R6=0",
        "1: (63) *(u32 *)(r10 -4) = r6         ; R6=0 R10=fp0 fp-8=0000????",
        "2: (bf) r2 = r10                      ; R2=fp0 R10=fp0",
        "3: (07) r2 += -4                      ; R2=fp-4",
        "4: (18) r1 = 0xffff8881395fb200       ; R1=map_ptr(map=scr,ks=4,vs=4096)",
        "6: (85) call bpf_map_lookup_elem#1    ; R0=map_value_or_null(id=1,map=scr,ks=4,vs=4096)",
        "7: (15) if r0 == 0x0 goto pc+26       ; R0=map_value(map=scr,ks=4,vs=4096)",
        "8: (b7) r1 = 0                        ; R1=0",
    ]
    body = [
        "from 19 to 11: R0=map_value(map=scr,ks=4,vs=4096) R1={i} R3=scalar(smin=smin32=0,smax=umax=smax32=umax32={h},var_off=(0x0; {m})) R6={h} R10=fp0 fp-8=mmmm????",
        "; for (__u32 i = 0; i < 4096; i++) {{ @ walk.bpf.c:24",
        "11: (07) r1 += 1                      ; R1_w={i1}",
        "12: (bf) r6 = r3                      ; R3=scalar(id={id},smin=smin32=0,smax=umax=smax32=umax32={h}) R6=scalar(id={id},smin=smin32=0,smax=umax=smax32=umax32={h})",
        "13: (55) if r1 != 0x1000 goto pc+2    ; R1={i1}",
        "; __u8 c = s->msg[i]; @ walk.bpf.c:25",
        "16: (bf) r3 = r0                      ; R0=map_value(map=scr,ks=4,vs=4096) R3=map_value(map=scr,ks=4,vs=4096)",
        "17: (0f) r3 += r1                     ; R1={i1} R3=map_value(map=scr,ks=4,vs=4096,off={i1})",
        "18: (71) r4 = *(u8 *)(r3 +0)          ; R3=map_value(map=scr,ks=4,vs=4096,off={i1}) R4=scalar(smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff))",
        "; if (c == 0) @ walk.bpf.c:26",
        "19: (15) if r4 == 0x0 goto pc-6       ; R4=scalar(smin=umin=smin32=umin32=1,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff))",
        "mark_precise: frame0: last_idx 19 first_idx 11 subseq_idx -1 ",
        "mark_precise: frame0: regs=r4 stack= before 18: (71) r4 = *(u8 *)(r3 +0)",
        "20: (bf) r5 = r4                      ; R4=scalar(id={id2},smin=umin=smin32=umin32=1,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff)) R5_w=scalar(id={id2},smin=umin=smin32=umin32=1,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff))",
        "21: (07) r5 += -66                    ; R5_w=scalar(smin=smin32=-65,smax=smax32=189)",
        "22: (57) r5 &= 255                    ; R5_w=scalar(smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff))",
        "; h = h * 31 + c; @ walk.bpf.c:28",
        "27: (27) r6 *= 31                     ; R6_w=scalar(smin=smin32=0,smax=umax=smax32=umax32={h31},var_off=(0x0; {m2}))",
        "28: (0f) r3 += r6                     ; R3_w=scalar(smin=smin32=0,smax=umax=smax32=umax32={h2},var_off=(0x0; {m2}))",
        "29: (bf) r4 = r3                      ; R3_w=scalar(id={id3},smin=smin32=0,smax=umax=smax32=umax32={h2}) R4_w=scalar(id={id3},smin=smin32=0,smax=umax=smax32=umax32={h2})",
        "30: (57) r4 &= 65536                  ; R4_w=scalar(smin=smin32=0,smax=umax=smax32=umax32=0x10000,var_off=(0x0; 0x10000))",
        "31: (15) if r4 == 0x0 goto pc-21      ; R4_w=0x10000",
        "32: (a7) r3 ^= 4660                   ; R3_w=scalar(smin=smin32=0,smax=umax=smax32=umax32={h3},var_off=(0x0; {m2}))",
        "33: (05) goto pc-23",
        "11: safe",
        "mark_precise: frame0: parent state regs=r1 stack=:  R0=map_value(map=scr,ks=4,vs=4096) R1_rw=P{i} R6=scalar() R10=fp0 fp-8=mmmm????",
        "SCC backedge (1)",
    ]
    tail = [
        "BPF program is too large. Processed 1000001 insn",
        "verification time 5123456 usec",
        "stack depth 8",
        "processed 1000001 insns (limit 1000000) max_states_per_insn 4 total_states 9000 peak_states 9000 mark_read 12",
    ]
    out = list(head)
    i = 0
    while len(out) + len(body) + len(tail) <= n:
        h = (i * 2654435761) & 0xffff
        fill = {"i": i & 0xfff, "i1": (i + 1) & 0xfff, "h": h, "m": hex((1 << h.bit_length()) - 1 if h else 0),
                "h31": h * 31, "m2": hex((1 << (h * 31).bit_length()) - 1 if h else 0),
                "h2": h * 31 + 255, "h3": (h * 31 + 255) ^ 4660, "id": 2 * i + 3, "id2": 2 * i + 4,
                "id3": 2 * i + 5}
        out.extend(line.format(**fill) for line in body)
        i += 1
    out.extend(tail)
    return out


LOOP_C = r"""
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
struct scratch { __u8 msg[4096]; };
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 1);
	 __type(key, __u32); __type(value, struct scratch); } scr SEC(".maps");
SEC("tc")
int bench_walk(struct __sk_buff *skb)
{
	__u32 k = 0, h = 5381;
	struct scratch *s = bpf_map_lookup_elem(&scr, &k);
	if (!s)
		return TC_ACT_OK;
	for (__u32 i = 0; i < ITERS; i++) {
		__u8 c = s->msg[i & 4095];
		if (c >= 'A' && c <= 'Z')
			c |= 0x20;
		h = (h << 5) + h + c;
	}
	return h & 1;
}
char LICENSE[] SEC("license") = "GPL";
"""


def record(n: int) -> list[str]:
    """Compile a byte-walking loop and load it at log level 2 on this kernel (root): the
    verifier walks it iteration by iteration; keep the first n lines of the log."""
    import subprocess
    import tempfile
    from toolkit.loader import load_program
    iters = max(1000, n // 100)
    with tempfile.TemporaryDirectory() as tmp:
        src, obj = os.path.join(tmp, "walk.bpf.c"), os.path.join(tmp, "walk.bpf.o")
        with open(src, "w") as f:
            f.write(LOOP_C)
        subprocess.run(["clang-19", "-target", "bpf", "-O2", "-g", f"-DITERS={iters}",
                        f"-I/usr/include/{os.uname().machine}-linux-gnu", "-c", src, "-o", obj],
                       check=True)
        log = load_program(obj, "bench_walk", log_level=2).log
    lines = log.splitlines()
    while len(lines) < n:       # not enough: repeat the loop part (still a real log's lines)
        lines = lines + lines[: n - len(lines)]
    return lines[:n]


_FLOOR = re.compile(r"^(?:(\d+): (?:\(([0-9a-f]{2})\) ([^;]*?)\s*(?:; (.*))?|(.*))|(.*))$")


def regex_floor(lines: list[str]) -> int:
    """The floor: split each line into index, opcode, insn text and state words."""
    n = 0
    m = _FLOOR.match
    for line in lines:
        g = m(line)
        st = g.group(4) or g.group(5)
        if st:
            st.split(" ")
        n += 1
    return n


def grammar_run(lines: list[str], rss: list) -> tuple[int, int]:
    """Parse every line with the grammar (toolkit.logparse.parse_lines); note the peak RSS
    at each quarter of the log in rss (it must not grow once the bounded caches are full)."""
    from toolkit.logparse import parse_lines
    n = unknown = 0
    marks = {len(lines) * q // 4 for q in (1, 2, 3)}
    for ln in parse_lines(lines):
        n += 1
        if ln.kind == "unknown":
            unknown += 1
        if n in marks:
            rss.append(_peak_rss_mb())
    rss.append(_peak_rss_mb())
    return n, unknown


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(f, *a):
    w, c = time.perf_counter(), time.process_time()
    r = f(*a)
    return r, time.perf_counter() - w, time.process_time() - c


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--log", help="a recorded verifier log (plain or .gz) instead of the generated one")
    ap.add_argument("--record", action="store_true",
                    help="record a real level-2 log on this kernel (root, clang-19) instead")
    ap.add_argument("--keep", help="write the generated log to this file")
    a = ap.parse_args()
    if a.record:
        lines = record(a.lines)
        src = f"recorded on {os.uname().release} (level-2 log of a byte-walking loop)"
        if a.keep:
            with open(a.keep, "w") as f:
                f.write("\n".join(lines) + "\n")
    elif a.log:
        from toolkit.logparse import read_log_lines
        lines = [l.rstrip("\n") for l in read_log_lines(a.log)]
        src = a.log
    else:
        lines = generate(a.lines)
        src = "generated (6.18 level-2 loop)"
        if a.keep:
            with open(a.keep, "w") as f:
                f.write("\n".join(lines) + "\n")
    from toolkit.logparse import grammar, lines as lines_mod, shapes
    grammar.parser()    # build once, outside the timing (it is cached for the process)
    rss0 = _peak_rss_mb()
    n0, w0, c0 = timed(regex_floor, lines)
    rss: list = []
    (n1, unk), w1, c1 = timed(grammar_run, lines, rss)
    per_m_cpu, per_m_wall = 1e6 * c1 / max(n1, 1), 1e6 * w1 / max(n1, 1)
    st, sh = lines_mod.parse_state.cache_info(), shapes.shape_stats()
    # (figure lines last: `fqdnkit bench` quotes the last four in docs/BENCHMARKS.md)
    print(f"log: {src}, {len(lines)} lines")
    print(f"caches (bounded): state texts {st.hits / max(st.hits + st.misses, 1):.1%} hits "
          f"({st.currsize}/{st.maxsize} kept); state shapes {sh['planned']} planned, "
          f"{sh['fallback']} entry by entry; entry values {sh['value_hits']:.1%} hits; "
          f"Lark parses {grammar.LARK_PARSES[0]} (each distinct instruction and entry shape "
          f"once while cached; every line is typed from those parses)")
    print(f"peak RSS: {rss0:.0f} MB with the log in memory before parsing; at 1/4, 1/2, 3/4, "
          f"end of parsing: {', '.join(f'{r:.0f}' for r in rss)} MB")
    print(f"regex floor: {n0 / w0:12,.0f} lines/s wall  {n0 / c0:12,.0f} lines/s cpu  ({w0:.2f} s wall, {c0:.2f} s cpu)")
    print(f"grammar:     {n1 / w1:12,.0f} lines/s wall  {n1 / c1:12,.0f} lines/s cpu  ({w1:.2f} s wall, {c1:.2f} s cpu)")
    print(f"grammar / floor: {(n1 / c1) / (n0 / c0):.3f} (cpu); unknown lines {unk}")
    print(f"1M lines: {per_m_cpu:.1f} s cpu, {per_m_wall:.1f} s wall "
          f"({'meets' if per_m_cpu <= 10 else 'misses'} the 10 s goal)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
