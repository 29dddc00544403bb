"""`fqdnkit check` as a user runs it: output formats and exit codes."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from toolkit.cli import main

REPO = Path(__file__).resolve().parents[2]
REQUIRED_KEYS = {"object", "program", "section", "prog_type", "verdict", "errno", "insns_processed",
                 "total_states", "peak_states", "verification_time_us", "stack_depth", "insn_count", "log"}


@pytest.mark.root
def test_json_has_one_entry_per_program_with_required_keys(example_obj, capsys):
    rc = main(["check", example_obj("dns_count_cgroup"), example_obj("dns_qname_unchecked"),
               "--output", "json"])
    items = json.loads(capsys.readouterr().out)
    assert rc == 0  # the rejection is annotated, so every verdict is as expected
    assert [i["program"] for i in items] == ["dns_count_egress", "dns_count_ingress", "dns_qname_unchecked"]
    for i in items:
        assert REQUIRED_KEYS <= set(i)
    bad = items[-1]
    assert bad["verdict"] == "rejected" and bad["errno"] == 13 and bad["as_expected"]
    assert "invalid access to packet" in bad["log"]


@pytest.mark.root
def test_unexpected_rejection_exits_1(tmp_path, capsys):
    src = tmp_path / "oops.bpf.c"
    src.write_text(
        '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n'
        'SEC("tc") int oops(struct __sk_buff *skb) {\n'
        '  unsigned char *d = (void *)(long)skb->data;\n  return d[3];\n}\n'
        'char LICENSE[] SEC("license") = "GPL";\n')
    rc = main(["check", str(src), "--output", "csv"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "oops,failure" in out and "NO (accept)" in out


@pytest.mark.root
def test_save_logs_writes_log_and_sidecar(example_obj, tmp_path, capsys):
    assert main(["check", example_obj("dns_qname_unchecked"), "--log-level", "2",
                 "--save-logs", str(tmp_path)]) == 0
    logs = list(tmp_path.rglob("dns_qname_unchecked.level2.log"))
    metas = list(tmp_path.rglob("dns_qname_unchecked.meta.json"))
    assert len(logs) == 1 and len(metas) == 1
    meta = json.loads(metas[0].read_text())
    assert meta["verdict"] == "rejected" and meta["errno"] == 13 and "log" not in meta
    assert "invalid access to packet" in logs[0].read_text()


def test_missing_path_is_usage_error_naming_it(tmp_path, capsys):
    rc = main(["check", str(tmp_path / "absent.o")])
    assert rc == 2
    assert "absent.o: no such file" in capsys.readouterr().err


def test_console_script_is_installed():
    exe = REPO / ".venv" / "bin" / "fqdnkit"
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "check" in out.stdout
