"""toolkit.tui_model: the log document, state, slice, source, diagnosis fallback, kernel
report, alignment and enforcer status (pure Python, no Textual, no root)."""
from __future__ import annotations

import sys

from toolkit.model import Verdict
from toolkit.tui_model import (LogDoc, align_logs, corpus_logs, diagnosis_for, enforcer_status,
                               entry_for_log, format_slot, kernel_report, source_info)

from tuidata import DATA, make_entries


def twin():
    return make_entries()[1]


def test_domain_modules_do_not_import_textual():
    import subprocess
    code = ("import sys, toolkit.tui_model, toolkit.tui_logdoc, toolkit.commands.tui; "
            "print(any(m == 'textual' or m.startswith('textual.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_error_line_and_failing_source_line():
    e = twin()
    doc = LogDoc(e.result.log)
    err = doc.error_line()
    assert doc.lines[err].startswith("invalid access to packet, off=54 size=1")
    info = source_info(e, doc)
    assert info.failing_line == 33
    assert "dns[DNS_HDR_LEN] > 63" in info.lines[32]


def test_state_at_error_marks_the_changed_register():
    doc = LogDoc(twin().result.log)
    slots, changed = doc.state_at(doc.error_line())
    by = {s.name: format_slot(s) for s in slots}
    assert by["R2"] == "pkt(off=54,r=54)"
    assert by["R1"] == "pkt_end()"
    assert changed == {"R2"}


def test_local_backward_slice_before_the_analysis_finished():
    doc = LogDoc(twin().result.log)
    err = doc.error_line()
    lines = doc.slice_of(err, "R2")
    assert [doc.lines[i].split(";")[0].strip() for i in lines] == [
        "1: (61) r2 = *(u32 *)(r1 +76)", "2: (07) r2 += 54"]


def test_backward_slice_through_toolkit_analysis():
    from toolkit.tui_model import analyse_entry
    e = twin()
    doc = LogDoc(e.result.log)
    a = analyse_entry(e, doc)
    assert a.diagnosis["class"] == "pkt-off-by-one"
    doc.set_trace(a.trace)
    lines = doc.slice_of(doc.error_line(), "R2")
    assert doc.last_slice_source == "toolkit.analysis"
    assert [doc.lines[i].split(";")[0].strip() for i in lines] == [
        "1: (61) r2 = *(u32 *)(r1 +76)", "2: (07) r2 += 54",
        "4: (2d) if r2 > r1 goto pc+5", "5: (71) r1 = *(u8 *)(r2 +0)"]


def test_paths_and_search_on_an_accepted_log():
    doc = LogDoc(make_entries()[0].result.log)
    p = doc.paths()
    assert p and all(doc.lines[i].startswith("from ") for i in p)
    assert doc.next_path(0, 1) == p[0]
    assert doc.next_path(p[1], -1) == p[0]
    hit = doc.search("BPF_MAP_LOOKUP", 0)
    assert hit is not None and "bpf_map_lookup" in doc.lines[hit].lower()
    assert doc.search("no such text anywhere", 0) is None


def test_one_million_lines_open_lazily():
    text = "0: R1=ctx() R10=fp0\n" + "1: (b7) r0 = 0                        ; R0=0\n" * 999_999
    doc = LogDoc(text)
    assert len(doc) == 1_000_000
    doc.parsed(500_000, 500_048)
    assert len(doc._cache) <= 100        # only what was asked for is classified
    assert doc.group(500_000) == "insn"


def test_diagnosis_fallback_names_the_message_and_numbers():
    e = twin()
    d = diagnosis_for(e.result, LogDoc(e.result.log))
    text = " ".join(str(v) for v in d.values())
    assert "invalid access to packet" in text or d.get("class")
    assert "54" in text


def test_kernel_73_report_is_structured():
    e = entry_for_log(str(DATA / "dns_qname_unchecked.k73.level2.log"))
    assert e.result.verdict is Verdict.REJECTED and e.expected_failure
    doc = LogDoc(e.result.log)
    assert doc.lines[doc.error_line()].startswith("invalid access to packet")
    r = kernel_report(doc)
    assert r["category"] == "Memory Safety: Access outside bounds"
    assert r["location"]["line"] == 33 and r["location"]["col"] == 6
    assert len(r["causal_path"]) == 3
    assert r["suggestion"].startswith("Compare the end")


def test_align_two_kernels_marks_first_divergence():
    logs = corpus_logs(DATA / "verifier_logs", "build/examples/dns_qname_unchecked.bpf.o",
                       "dns_qname_unchecked")
    assert [k for k, _ in logs] == ["6.1.0-test", "6.18.44-test"]
    a, b = (p.read_text().splitlines() for _, p in logs)
    al = align_logs(a, b)
    i, j = al.rows[al.first_divergence]
    assert a[i].startswith("2: (04) w2 += 54") and b[j].startswith("2: (07) r2 += 54")


def test_no_enforcer_when_nothing_is_pinned(tmp_path):
    assert enforcer_status(str(tmp_path / "missing")) is None
    assert enforcer_status(str(tmp_path)) is None


def test_kernel_61_log_gets_its_c_line_from_btf_line_info(example_obj):
    """6.1 prints `; code` without `@ file:LINE`: the failing line comes from the object."""
    from toolkit.elf import read_object
    from toolkit.tui_model import ProgramEntry, result_from_log, source_line_for_log
    obj = example_obj("dns_qname_unchecked")
    log = DATA / "verifier_logs" / "6.1.0-test" / "dns_qname_unchecked" / "dns_qname_unchecked.level2.log"
    e = ProgramEntry(object=obj, program="dns_qname_unchecked",
                     spec=read_object(obj).program("dns_qname_unchecked"),
                     result=result_from_log(str(log)))
    doc = LogDoc(e.result.log)
    assert " @ " not in "".join(l for l in doc.lines if l.startswith(";"))
    assert source_info(e, doc).failing_line == 33
    first_insn = next(i for i, l in enumerate(doc.lines) if l.startswith("1: (61)"))
    assert source_line_for_log(e, doc, first_insn) == 26


def test_bcc_line_numbers_are_mapped_back_to_the_file():
    from toolkit.tui_model import line_offset
    src = ("#include <uapi/linux/bpf.h>", "int bad(struct __sk_buff *skb) {",
           "    unsigned char *p = (unsigned char *)(long)skb->data;", "    return p[20];", "}")
    doc = LogDoc("0: R1=ctx() R10=fp0\n"
                 "; unsigned char *p = (unsigned char *)(long)skb->data; @ main.c:17\n"
                 "0: (61) r1 = *(u32 *)(r1 +76)         ; R1=pkt(r=0)\n"
                 "; return p[20]; @ main.c:18\n"
                 "1: (71) r0 = *(u8 *)(r1 +20)\n")
    assert line_offset(doc, src) == 14


def test_level2_log_buffer_is_sized_from_the_level1_statistics():
    from dataclasses import replace
    from toolkit.loader import DEFAULT_LOG_SIZE
    from toolkit.model import VerifierStats
    from toolkit.tui_model import level2_log_size
    r = twin().result
    assert level2_log_size(None) == DEFAULT_LOG_SIZE
    assert level2_log_size(r) == DEFAULT_LOG_SIZE
    big = replace(r, stats=VerifierStats(insns_processed=516_657))
    size = level2_log_size(big)
    assert size >= 516_657 * 256 and size & (size - 1) == 0
