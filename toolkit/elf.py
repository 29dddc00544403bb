"""Read a BPF ELF object without loading it: programs, sections, maps, line info, expectations.

Contract: pure (no kernel, no root), deterministic, never modifies the file. pyelftools
reads the ELF; the BTF string table and the .BTF.ext line_info records (which pyelftools
does not decode) are read here from their documented layouts (kernel Documentation/bpf/btf.rst).
Errors: a missing file or a file that is not a BPF ELF object raises FqdnkitError naming it.

Program discovery follows libbpf: every global FUNC symbol in an executable section
other than .text is a program; .text holds subprograms. A program's `lines` also cover the
.text subprograms libbpf appends after its own instructions, laid out in libbpf's order
(`bpf_object__reloc_code`: depth first, each subprogram appended when its first call or
callback reference is met), so instruction numbers past the program's own code (as the
kernel prints them) map to the subprogram's source lines.
"""
from __future__ import annotations

import hashlib
import os
import struct
from functools import lru_cache

from .model import Expectation, FqdnkitError, ObjectSpec, ProgramSpec, SourceLine, Verdict
from .sections import section_type

EM_BPF = 247
BTF_MAGIC = 0xEB9F
EXPECT_SECTION = ".fqdnkit.expect"
EXPECT_MAGIC = "fqdnkit:expect"


def _btf_strings(data: bytes) -> bytes:
    magic, _ver, _flags, hdr_len, _toff, _tlen, str_off, str_len = struct.unpack_from("<HBBIIIII", data, 0)
    if magic != BTF_MAGIC:
        raise ValueError("bad .BTF magic")
    start = hdr_len + str_off
    return data[start:start + str_len]


def _cstr(table: bytes, off: int) -> str:
    end = table.find(b"\0", off)
    return table[off:end if end >= 0 else len(table)].decode("utf-8", "replace")


def parse_line_info(btf: bytes, btf_ext: bytes) -> dict[str, list[SourceLine]]:
    """Decode .BTF.ext line_info: section name -> SourceLine list sorted by instruction."""
    strings = _btf_strings(btf)
    magic, _ver, _flags, hdr_len = struct.unpack_from("<HBBI", btf_ext, 0)
    if magic != BTF_MAGIC:
        raise ValueError("bad .BTF.ext magic")
    _fi_off, _fi_len, li_off, li_len = struct.unpack_from("<IIII", btf_ext, 8)
    pos = hdr_len + li_off
    end = pos + li_len
    if li_len == 0:
        return {}
    (rec_size,) = struct.unpack_from("<I", btf_ext, pos)
    pos += 4
    out: dict[str, list[SourceLine]] = {}
    while pos + 8 <= end:
        sec_off, num = struct.unpack_from("<II", btf_ext, pos)
        pos += 8
        sec = _cstr(strings, sec_off)
        lines = out.setdefault(sec, [])
        for _ in range(num):
            insn_off, file_off, line_off, line_col = struct.unpack_from("<IIII", btf_ext, pos)
            pos += rec_size
            lines.append(SourceLine(insn_off=insn_off // 8, file=_cstr(strings, file_off),
                                    line=line_col >> 10, col=line_col & 0x3FF,
                                    text=_cstr(strings, line_off).strip()))
    for lines in out.values():
        lines.sort(key=lambda s: s.insn_off)
    return out


_CALL = 0x85           # BPF_JMP | BPF_CALL
_LD_IMM64 = 0x18       # BPF_LD | BPF_IMM | BPF_DW
_PSEUDO_CALL = 1


def _relocations(elf, symtab, sec_index: int) -> dict[int, tuple[int, object]]:
    """Byte offset in section -> (symbol value in bytes, section index of the symbol)."""
    out: dict[int, tuple[int, object]] = {}
    if symtab is None:
        return out
    for rel in elf.iter_sections():
        if rel["sh_type"] not in ("SHT_REL", "SHT_RELA") or rel["sh_info"] != sec_index:
            continue
        for r in rel.iter_relocations():
            sym = symtab.get_symbol(r["r_info_sym"])
            out[r["r_offset"]] = (sym["st_value"], sym["st_shndx"])
    return out


def subprogram_layout(code: bytes, start: int, count: int, relocs: dict[int, tuple[int, object]],
                      text_code: bytes, text_relocs: dict[int, tuple[int, object]],
                      text_funcs: list[tuple[int, int]], text_idx: int,
                      same_is_text: bool = False) -> list[tuple[int, int, int]]:
    """Where libbpf puts .text subprograms after a program: [(text_start, count, offset)].

    `code` is the program's section, [start, start+count) its instructions; `text_funcs`
    the (start, count) of every .text function, in instructions. Offsets are relative to
    the program's first instruction. Pure: follows libbpf's reloc_code walk."""
    placed: dict[int, int] = {}
    layout: list[tuple[int, int, int]] = []
    total = count

    def func_at(idx: int):
        for fs, fc in text_funcs:
            if fs <= idx < fs + fc:
                return fs, fc
        return None

    def walk(sec_code: bytes, sec_relocs, f_start: int, f_count: int, in_text: bool):
        nonlocal total
        for i in range(f_start, f_start + f_count):
            off = i * 8
            if off + 8 > len(sec_code):
                break
            op, regs, _o, imm = struct.unpack_from("<BBhi", sec_code, off)
            rel = sec_relocs.get(off)
            is_call = op == _CALL and regs >> 4 == _PSEUDO_CALL
            # clang emits a callback's address as a plain ld_imm64 relocated against .text;
            # libbpf turns it into BPF_PSEUDO_FUNC
            is_func = op == _LD_IMM64 and rel is not None and rel[1] == text_idx
            if not (is_call or is_func):
                continue
            if rel is not None:
                sym_off = rel[0]
                target = sym_off // 8 + imm + 1 if is_call else (sym_off + imm) // 8
            elif is_call and in_text:
                target = i + imm + 1
            else:
                continue
            fn = func_at(target)
            if fn is None or fn[0] in placed:
                continue
            placed[fn[0]] = total
            layout.append((fn[0], fn[1], total))
            total += fn[1]
            walk(text_code, text_relocs, fn[0], fn[1], True)

    walk(code, relocs, start, count, same_is_text)
    return layout


def parse_expectations(raw: bytes, path: str) -> tuple[Expectation, ...]:
    """Decode FQDNKIT_EXPECT records (see reference_bpf/lib/expect.bpf.h)."""
    tokens = raw.split(b"\0")
    out = []
    i = 0
    while i < len(tokens):
        if tokens[i].decode("utf-8", "replace") != EXPECT_MAGIC:
            i += 1
            continue
        fields = [t.decode("utf-8", "replace") for t in tokens[i + 1:i + 6]]
        if len(fields) < 5:
            raise FqdnkitError(f"{path}: truncated {EXPECT_SECTION} record")
        prog, verdict, cls, msg, minkver = fields
        try:
            v = Verdict(verdict)
        except ValueError:
            raise FqdnkitError(f"{path}: expectation for {prog}: verdict {verdict!r} "
                               "is neither 'accepted' nor 'rejected'") from None
        out.append(Expectation(program=prog, verdict=v, failure_class=cls, message=msg,
                               min_kernel=minkver))
        i += 6
    return tuple(out)


@lru_cache(maxsize=256)
def _read_cached(path: str, mtime_ns: int, size: int) -> ObjectSpec:
    from elftools.elf.elffile import ELFFile
    from elftools.common.exceptions import ELFError

    with open(path, "rb") as f:
        blob = f.read()
    try:
        import io
        elf = ELFFile(io.BytesIO(blob))
    except ELFError as e:
        raise FqdnkitError(f"{path}: not an ELF file ({e})") from None
    if elf["e_machine"] not in ("EM_BPF", EM_BPF):
        raise FqdnkitError(f"{path}: not a BPF object (ELF machine {elf['e_machine']})")

    sections = list(elf.iter_sections())
    by_name = {s.name: s for s in sections}
    lines_by_sec: dict[str, list[SourceLine]] = {}
    if ".BTF" in by_name and ".BTF.ext" in by_name:
        try:
            lines_by_sec = parse_line_info(by_name[".BTF"].data(), by_name[".BTF.ext"].data())
        except (ValueError, struct.error) as e:
            raise FqdnkitError(f"{path}: malformed BTF line info ({e})") from None

    symtab = elf.get_section_by_name(".symtab")
    text_idx = next((i for i, sec in enumerate(sections) if sec.name == ".text"), None)
    text_code = sections[text_idx].data() if text_idx is not None else b""
    text_relocs = _relocations(elf, symtab, text_idx) if text_idx is not None else {}
    text_funcs = sorted({(sym["st_value"] // 8, sym["st_size"] // 8)
                         for sym in (symtab.iter_symbols() if symtab else ())
                         if sym["st_info"]["type"] == "STT_FUNC" and sym["st_shndx"] == text_idx
                         and sym["st_size"]}) if text_idx is not None else []
    text_lines = lines_by_sec.get(".text", [])
    programs: list[ProgramSpec] = []
    maps: list[str] = []
    maps_idx = next((i for i, s in enumerate(sections) if s.name == ".maps"), None)
    for sym in (symtab.iter_symbols() if symtab else ()):
        shndx = sym["st_shndx"]
        if not isinstance(shndx, int):
            continue
        sec = sections[shndx]
        if (sym["st_info"]["type"] == "STT_FUNC" and sym["st_info"]["bind"] == "STB_GLOBAL"
                and sec["sh_flags"] & 0x4 and sec.name != ".text"):
            ptype, atype = section_type(sec.name)
            start = sym["st_value"] // 8
            count = sym["st_size"] // 8
            sec_lines = lines_by_sec.get(sec.name, [])
            own = [l for l in sec_lines if start <= l.insn_off < start + count]
            if text_funcs:
                layout = subprogram_layout(sec.data(), start, count, _relocations(elf, symtab, shndx),
                                           text_code, text_relocs, text_funcs, text_idx)
                for t_start, t_count, at in layout:
                    own += [SourceLine(insn_off=start + at + (l.insn_off - t_start), file=l.file,
                                       line=l.line, col=l.col, text=l.text)
                            for l in text_lines if t_start <= l.insn_off < t_start + t_count]
            own = tuple(own)
            programs.append(ProgramSpec(name=sym.name, section=sec.name, prog_type=ptype,
                                        attach_type=atype, sec_insn_off=start, insn_count=count,
                                        lines=own))
        elif maps_idx is not None and shndx == maps_idx and sym["st_info"]["type"] == "STT_OBJECT":
            maps.append(sym.name)
    programs.sort(key=lambda p: (p.section, p.sec_insn_off))

    expectations: tuple[Expectation, ...] = ()
    if EXPECT_SECTION in by_name:
        expectations = parse_expectations(by_name[EXPECT_SECTION].data(), path)
    license_ = ""
    if "license" in by_name:
        license_ = by_name["license"].data().split(b"\0")[0].decode("utf-8", "replace")
    return ObjectSpec(path=path, sha256=hashlib.sha256(blob).hexdigest(), programs=tuple(programs),
                      maps=tuple(sorted(maps)), expectations=expectations, license=license_)


def read_object(path: str) -> ObjectSpec:
    """Read a BPF object's programs, maps, line info and expectations (no loading)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FqdnkitError(f"{path}: no such file") from None
    if not os.path.isfile(path):
        raise FqdnkitError(f"{path}: not a regular file")
    return _read_cached(os.path.abspath(path), st.st_mtime_ns, st.st_size)


def source_line_for(prog: ProgramSpec, insn: int) -> SourceLine | None:
    """The line-info entry that covers instruction `insn` of the program (log numbering)."""
    target = prog.sec_insn_off + insn
    best = None
    for l in prog.lines:
        if l.insn_off <= target:
            best = l
        else:
            break
    return best
