"""The TUI on the real kernel: load in the background, diagnose the failing twin, and the
edit-rebuild-reload loop on a copy of its source (root: programs are really loaded)."""
from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from tuidata import SIZE

REPO = Path(__file__).resolve().parents[2]


async def wait_until(pilot, cond, timeout=30.0):
    for _ in range(int(timeout / 0.05)):
        if cond():
            return
        await pilot.pause(0.05)
    raise AssertionError("timed out waiting for the TUI")


@pytest.mark.root
def test_twin_loaded_live_is_diagnosed(example_obj, tmp_path):
    from toolkit.tui.app import FqdnkitApp
    from toolkit.tui.diagnosis_pane import DiagnosisPane
    from toolkit.tui.log_view import LogView
    from toolkit.tui.source_view import SourceView
    from toolkit.tui_model import entries_for_object, load_entry

    entries = entries_for_object(example_obj("dns_qname_unchecked"))

    async def go():
        app = FqdnkitApp(entries, load_fn=load_entry, tmp_dir=str(tmp_path))
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: all(e.result is not None for e in app.entries))
            assert app.entries[0].result.verdict.value == "rejected"
            assert app.entries[0].expected_failure
            await pilot.press("enter")
            await pilot.pause(0.1)
            log = app.screen.query_one(LogView)
            assert log.doc.lines[log.cursor].startswith("invalid access to packet, off=54 size=1")
            assert app.screen.query_one(SourceView).info.failing_line == 33
            ours = str(app.screen.query_one(DiagnosisPane).query_one("#ours").render())
            assert "invalid access to packet" in ours
    asyncio.run(go())


@pytest.mark.root
def test_fix_source_rebuild_and_reload_is_accepted(tmp_path):
    from toolkit.build import compile_source
    from toolkit.model import Verdict
    from toolkit.tui.app import FqdnkitApp
    from toolkit.tui.program_screen import ProgramScreen
    from toolkit.tui_model import entries_for_object, load_entry

    src = tmp_path / "qname.bpf.c"
    shutil.copy(REPO / "reference_bpf" / "examples" / "dns_qname_unchecked.bpf.c", src)
    entries = entries_for_object(compile_source(str(src), str(tmp_path / "o1")), source=str(src))

    async def go():
        app = FqdnkitApp(entries, load_fn=load_entry, tmp_dir=str(tmp_path / "o2"))
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.entries[0].result is not None)
            assert app.entries[0].result.verdict is Verdict.REJECTED
            await pilot.press("enter")
            await pilot.pause()
            text = src.read_text()
            fixed = text.replace("if ((void *)(dns + DNS_HDR_LEN) > data_end)",
                                 "if ((void *)(dns + DNS_HDR_LEN + 1) > data_end)")
            assert fixed != text
            src.write_text(fixed)
            await pilot.press("r")
            await wait_until(pilot, lambda: app.entries[0].result.verdict is Verdict.ACCEPTED)
            screen = app.screen
            assert isinstance(screen, ProgramScreen)
            assert screen.entry.result.verdict is Verdict.ACCEPTED
            assert screen.doc.error_line() is None
    asyncio.run(go())
