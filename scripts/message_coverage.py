#!/usr/bin/env python3
"""Coverage of the verifier's message formats by the log grammar's message catalog.

Usage:
  scripts/message_coverage.py [--data DIR] [--show-missing]
      For every tests/logparse/data/verifier_formats_<tag>.txt: instantiate each format with
      plausible values (%d -> -8, %u -> 8, %s -> a typical word such as map_value, %llx ->
      0x10, ...), parse the line with toolkit.logparse.parse_lines and count how many
      *error* formats come out as kind "error" (classify_message found a family) and how
      many *info* formats come out recognised (not "unknown", not "error"). Prints the
      coverage per tag and, with --show-missing, the formats that miss.
  scripts/message_coverage.py extract VMLINUX --tag TAG [--out FILE]
      Rebuild a data file from a kernel image's .rodata (an uncompressed vmlinux ELF; see
      below). The kernel's source was not available here (the torvalds/linux snapshot is
      8.6 GB), so the formats come from the binary: the NUL-separated strings of .rodata
      near known verifier/btf/log strings ("seeds"), kept when they end in a newline (a
      complete log line; fragments that verbose() glues together are left out), with no
      printk level prefix and no tab (fdinfo/BTF dumps). The `source` column names the
      file of the closest seed before the string (the linker keeps the objects' order):
      an attribution by position, not by reading the source (no function names), and
      rough at the verifier.c/btf.c boundary. A hand-kept EXCLUDE list drops the few neighbours that
      are not verifier-log lines.

Data file: one format per line, `source<TAB>kind<TAB>format`, kind "error" or "info";
`#` lines are comments. A format that prints several lines is stored line by line (the
lines after the first are kind "info": continuation text).
"""
from __future__ import annotations

import argparse
import re
import struct
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DATA = REPO / "tests" / "logparse" / "data"

# ------------------------------------------------------------------ instantiation
_CONV = re.compile(r"%(?P<flags>[-+ #0]*)(?P<width>\*|\d+)?(?:\.\d+)?(?P<len>hh|h|ll|l|z|j|t)?(?P<conv>[diuxXcspS%]|p[a-zA-Z]*)")

# kernel values a %s typically takes, by what follows it
_S_BEFORE = (
    (" pointer", "pkt"), (" ptr", "map_value"), (" access", "ctx"), (" prohibited", "map_value"),
    ("()", "bpf_map_lookup_elem"), ("#", "bpf_map_lookup_elem"), ("'", "foo"),
)


def instantiate(fmt: str) -> str:
    """One plausible line the kernel could print for `fmt`."""
    out = []
    pos = 0
    for m in _CONV.finditer(fmt):
        out.append(fmt[pos:m.start()])
        conv, flags = m.group("conv"), m.group("flags")
        if conv == "%":
            out.append("%")
        elif conv in "di":
            # negative where the kernel prints offsets and values, small and positive where
            # it prints register numbers, instruction indices and counts
            before = fmt[:m.start()]
            neg = re.search(r"(?:off[=: ]|value |smin[=: ]|min=|\(|=\[)$", before)
            out.append("+8" if "+" in flags else "-8" if neg else
                       "1" if re.search(r"(?:\bR|\br|#|arg|frame|func)$", before) else "8")
        elif conv == "u":
            out.append("8")
        elif conv in "xX":
            out.append("10" if fmt[:m.start()].endswith("0x") else "0x10")
        elif conv == "c":
            out.append("r")
        elif conv.startswith("p"):
            out.append("0xffff888100000000")
        else:                                   # %s
            before, after = fmt[:m.start()], fmt[m.end():]
            word = "map_value"
            if (not before or before.endswith(("register ", "in ", "by ", "stack ", "ptr ", ", "))) and \
                    (after[:1] in (" ", "") or after.startswith("(id=")):
                word = "R1"                     # 7.x prints register (argument) names with %s
            elif before.endswith(("enter ", "exit ", "backedge ")):
                word = "(1)"                    # SCC enter (1)
            elif before[-1:].isspace() and after[:1].isalpha():
                word = ""                       # "%sfunction": "" or "global "
            elif before and not before[-1].isspace() and before[-1] not in "('=:[" and \
                    (not after or after[0].isspace()):
                word = ""                       # "invalid%s stack": " read from" or ""
            else:
                for tail, w in _S_BEFORE:
                    if after.startswith(tail):
                        word = w
                        break
            out.append(word)
        pos = m.end()
    out.append(fmt[pos:])
    return "".join(out)


# ------------------------------------------------------------------ data files
def read_formats(path: Path) -> list[tuple[str, str, str]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t", 2)
        if len(parts) != 3 or parts[1] not in ("error", "info"):
            raise SystemExit(f"{path}:{n}: expected 'source<TAB>error|info<TAB>format', got {line!r}")
        rows.append((parts[0], parts[1], parts[2]))
    return rows


def data_files(data: Path) -> dict[str, Path]:
    files = sorted(data.glob("verifier_formats_*.txt"))
    return {p.stem[len("verifier_formats_"):]: p for p in files}


def kind_of(line: str) -> str:
    from toolkit.logparse import parse_lines
    return next(iter(parse_lines([line]))).kind


def coverage(rows) -> dict:
    """{"error": (ok, total, misses), "info": (ok, total, misses)}."""
    res = {}
    for want in ("error", "info"):
        ok, misses, total = 0, [], 0
        for src, kind, fmt in rows:
            if kind != want:
                continue
            total += 1
            text = instantiate(fmt)
            got = kind_of(text)
            good = got == "error" if want == "error" else got not in ("error", "unknown")
            if good:
                ok += 1
            else:
                misses.append((src, fmt, text, got))
        res[want] = (ok, total, misses)
    return res


# ------------------------------------------------------------------ extraction
SEEDS = {
    "verifier.c": [
        "back-edge from insn %d to %d\n", "R%d !read_ok\n", "frame pointer is read only\n",
        "jump out of range from insn %d to %d\n", "last insn is not an exit or jmp\n",
        "invalid access to packet, off=%d size=%d, R%d(id=%d,off=%d,r=%d)\n",
        "math between %s pointer and register with unbounded min value is not allowed\n",
        "The sequence of %d jumps is too complex.\n", "infinite loop detected at insn %d\n",
        "invalid bpf_context access off=%d size=%d\n", "attach to unsupported member %s of struct %s\n",
        "number of funcs in func_info doesn't match number of subprogs\n",
        "Cannot recursively attach\n", "invalid size of register spill\n",
        "R%d unbounded memory access, use 'var &= const' or 'if (var < const)'\n",
        "BPF program is too large. Processed %d insn\n", "unreachable insn %d\n",
        "R%d has unknown scalar with mixed signed bounds, %s\n", "R%d pointer comparison prohibited\n",
        "R%d tried to %s beyond pointer bounds, %s\n", "Possibly NULL pointer passed to helper arg%d\n",
        "invalid access to map value, value_size=%d off=%d size=%d\n", "R%d invalid mem access '%s'\n",
        "value %lld makes %s pointer be out of bounds\n", "Unreleased reference id=%d alloc_insn=%d\n",
        "math between %s pointer and %lld is not allowed\n", "R%d leaks addr into map\n",
        "misaligned packet access off %d+%s+%d+%d size %d\n", "invalid zero-sized read\n",
    ],
    "log.c": ["verifier log line truncated - local buffer too short\n"],
    "btf.c": [
        "access beyond struct %s at off %u size %u\n", "The function %s has %d arguments. Too many.\n",
        "Global function %s() doesn't return scalar. Only those are supported.\n",
        "kern ctx type id %u is not a struct\n", "func '%s' doesn't have %d-th argument\n",
        "btf_vmlinux is malformed\n", "func '%s' arg%d type %s is not a struct\n",
        "arg%d in %s() is not a pointer to context\n", "arg#%d type isn't a pointer\n",
    ],
}
GAP = 2500       # seeds further apart than this many strings are in different blocks
# neighbours of the verifier's strings that are not verifier-log lines (WARN texts, dumps,
# other subsystems' messages in the same block)
EXCLUDE = re.compile(
    r"^(?:missing BPF_LINK_TYPE|# WARNING|bpf_prog_pack bug|RTNL:|Driver BUG|Failed to |"
    r"bpf_dynptr_\w+: unknown dynptr type|A call to BPF exception callback should never return|"
    r"prog '%s': relo|unexpected kind %s relocated|Please fix kernel include|"
    r"Can not register|hw_breakpoint|inconsistent breakpoint|unexpected event refcount|"
    r"perf: |can't patch static call|%s: Invalid KSYMBOL|attempt to execute device eBPF|"
    r"failed to register for BPF offload|metadata kfuncs|cachefiles|errmsg=|"
    r"bpf setsockopt|bpf getsockopt|target candidate search failed|CO-RE relocating|"
    r"String section is not at the end|Member |Max chain length|Type tags don't precede|"
    r"Unsupported check_kflag_member|\[%u\] meta_left|type_id=%u|size=%u bits_offset|"
    r"%s<failed to allocate|(?:magic|version|flags|hdr_len|type_off|type_len|str_off|str_len|layout_off|layout_len|"
    r"btf_total_size): |BUG_\w*%02x|%s%\.\*s|%u: \{| |expected=%s$|doesn't match map pointer in %s)")
INFO_FORMATS = re.compile(
    r"^(?:processed %d insns|mark_precise: |force_precise: |from %d to %d|%d: safe|"
    r"Validating %s\(\) func#%d|Func#%d \('%s'\) is (?:global and assumed valid|safe for any args)|"
    r"frame %d: propagating|propagating |cur state:|old state:|returning from callee:|"
    r"use static function instead|"
    r"to caller at %d:|caller:|callee:|func#%d @%d|stack depth (?:%d(?! exceeds)|max)|verification time |"
    r"Note, |marking pointer arg%d as scalar|Cannot find btf of tracepoint template, fall back|"
    r"reg type unsupported for arg#|"
    r"Live regs before insn:|SCC |live stack update|last_idx |parent (?:didn't have|already had)|"
    r"regs=%s stack=%s before|CO-RE relocating|%s%s%s|insn %d: |  |Source context:|"
    r"Instruction context:|topo_order\[|subprog#%d: analyzing|subprog %d \(%s\) %s insns_self|"
    r"signature verification passed|Func#%d is (?:global and valid|safe for any args))")


def _rodata(path: str) -> bytes:
    d = Path(path).read_bytes()
    if d[:4] != b"\x7fELF" or d[4] != 2:
        raise SystemExit(f"{path}: not a 64-bit ELF vmlinux (decompress the bzImage first)")
    shoff = struct.unpack_from("<Q", d, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", d, 0x3a)
    secs = [struct.unpack_from("<IIQQQQ", d, shoff + i * shentsize) for i in range(shnum)]
    names_off = secs[shstrndx][4]
    for name, _t, _f, _a, off, size in secs:
        if d[names_off + name: d.index(b"\0", names_off + name)] == b".rodata":
            return d[off: off + size]
    raise SystemExit(f"{path}: no .rodata section")


def extract(vmlinux: str) -> list[tuple[str, str, str]]:
    strs = [s.decode("latin-1") for s in _rodata(vmlinux).split(b"\0")]
    wanted = {s: src for src, seeds in SEEDS.items() for s in seeds}
    where = {i: wanted[t] for i, t in enumerate(strs) if t in wanted}
    if not where:
        raise SystemExit(f"{vmlinux}: none of the seed strings found")
    hits = sorted(where)
    blocks, cur = [], [hits[0]]
    for i in hits[1:]:
        if i - cur[-1] > GAP:
            blocks.append(cur)
            cur = [i]
        else:
            cur.append(i)
    blocks.append(cur)
    rows, seen = [], set()
    for blk in blocks:
        for i in range(blk[0], blk[-1] + 1):
            s = strs[i]
            if not s.endswith("\n") or not s.strip() or s[0] < " " or "\t" in s or \
                    s.startswith("field \"") or s.startswith("(%02x)") or EXCLUDE.match(s):
                continue
            before = [j for j in blk if j <= i]     # strings keep the objects' order
            src = where[before[-1] if before else blk[0]]
            for k, part in enumerate(s.rstrip("\n").split("\n")):
                if not part.strip() or (src, part) in seen:
                    continue
                seen.add((src, part))
                kind = "info" if k > 0 or INFO_FORMATS.match(part) else "error"
                rows.append((src, kind, part))
    return rows


def cmd_extract(args) -> int:
    rows = extract(args.vmlinux)
    out = Path(args.out) if args.out else DATA / f"verifier_formats_{args.tag}.txt"
    head = [f"# verifier log formats of kernel {args.tag}, from {Path(args.vmlinux).name}",
            "# by scripts/message_coverage.py extract (see its docstring); source<TAB>kind<TAB>format"]
    out.write_text("\n".join(head + ["\t".join(r) for r in rows]) + "\n", encoding="utf-8")
    n_err = sum(1 for r in rows if r[1] == "error")
    print(f"{out}: {len(rows)} formats ({n_err} error, {len(rows) - n_err} info)")
    return 0


def cmd_report(args) -> int:
    files = data_files(Path(args.data))
    if not files:
        raise SystemExit(f"{args.data}: no verifier_formats_<tag>.txt files")
    worst = 1.0
    for tag, path in files.items():
        res = coverage(read_formats(path))
        eok, etot, emiss = res["error"]
        iok, itot, imiss = res["info"]
        worst = min(worst, eok / etot if etot else 1.0)
        print(f"{tag:8} errors {eok}/{etot} ({100 * eok / max(etot, 1):.1f}%)  "
              f"info {iok}/{itot} ({100 * iok / max(itot, 1):.1f}%)")
        if args.show_missing:
            for src, fmt, text, got in emiss:
                print(f"   error-miss [{src}] {fmt!r} -> {text!r} ({got})")
            for src, fmt, text, got in imiss:
                print(f"   info-miss  [{src}] {fmt!r} -> {text!r} ({got})")
    return 0 if worst == 1.0 or not args.strict else 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd")
    ex = sub.add_parser("extract", help="rebuild a data file from a vmlinux")
    ex.add_argument("vmlinux")
    ex.add_argument("--tag", required=True)
    ex.add_argument("--out")
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--show-missing", action="store_true")
    ap.add_argument("--strict", action="store_true", help="exit 1 below 100%% error coverage")
    args = ap.parse_args(argv)
    if args.cmd == "extract":
        return cmd_extract(args)
    return cmd_report(args)


if __name__ == "__main__":
    sys.exit(main())
