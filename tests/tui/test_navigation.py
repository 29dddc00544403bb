"""Pilot tests of the TUI on fixed data: screens, keys, mouse, the failing twin's diagnosis."""
from __future__ import annotations


from tuidata import SIZE, make_app



async def open_twin(pilot):
    from toolkit.tui.program_screen import ProgramScreen
    await pilot.press("down", "enter")
    await pilot.pause()
    assert isinstance(pilot.app.screen, ProgramScreen)
    await pilot.pause(0.1)   # side panes update after the cursor settles
    await wait_analysed(pilot)
    return pilot.app.screen


async def wait_analysed(pilot, timeout=20.0):
    for _ in range(int(timeout / 0.05)):
        if getattr(pilot.app.screen, "analysed", True):
            return
        await pilot.pause(0.05)
    raise AssertionError("toolkit.analysis did not finish")


def run(coro):
    import asyncio
    return asyncio.run(coro)


def test_programs_screen_lists_verdicts_and_marks_the_twin():
    async def go():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            from toolkit.tui.programs_table import ProgramsTable
            table = app.screen.query_one(ProgramsTable)
            assert table.row_count == 2
            cells = [table.get_row_at(i) for i in range(2)]
            verdicts = [c[0].plain for c in cells]
            assert verdicts == ["✓ accepted", "✗ rejected (expected)"]
            summary = str(app.screen.query_one("#summary").render())
            assert "1 expected failures" in summary
    run(go())


def test_failing_twin_shows_error_line_c_line_and_diagnosis():
    async def go():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_twin(pilot)
            from toolkit.tui.diagnosis_pane import DiagnosisPane
            from toolkit.tui.log_view import LogView
            from toolkit.tui.source_view import SourceView
            log = screen.query_one(LogView)
            assert log.doc.lines[log.cursor].startswith("invalid access to packet, off=54 size=1")
            src = screen.query_one(SourceView)
            assert src.info.failing_line == 33
            assert "dns[DNS_HDR_LEN] > 63" in src.info.lines[32]
            ours = str(screen.query_one(DiagnosisPane).query_one("#ours").render())
            assert "invalid access to packet" in ours and "54" in ours
            assert "pkt-off-by-one" in ours            # the class, from toolkit.analysis
            assert "cursor_pull" in ours               # the helper that fixes it
            assert not screen.query_one(DiagnosisPane).has_class("-with-report")
    run(go())


def test_log_keys_paths_error_search_and_state_slice():
    async def go():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("enter")          # the accepted program (many paths)
            await pilot.pause()
            from toolkit.tui.log_view import LogView
            from toolkit.tui.state_pane import StatePane
            screen = app.screen
            log = screen.query_one(LogView)
            assert log.cursor == 0
            await pilot.press("right_square_bracket")
            first = log.cursor
            assert log.doc.lines[first].startswith("from ")
            await pilot.press("right_square_bracket")
            assert log.cursor > first and log.doc.lines[log.cursor].startswith("from ")
            await pilot.press("left_square_bracket")
            assert log.cursor == first
            await pilot.press("slash")
            await pilot.press(*"bpf_map_lookup_elem", "enter")
            await pilot.pause()
            assert "bpf_map_lookup_elem" in log.doc.lines[log.cursor]
            hit = log.cursor
            await pilot.press("n")
            assert log.cursor != hit and "bpf_map_lookup_elem" in log.doc.lines[log.cursor]
            await pilot.press("N")
            assert log.cursor == hit
            await pilot.press("escape")          # back to the programs
            await pilot.press("down", "enter")
            await pilot.pause(0.1)
            screen = app.screen
            log = screen.query_one(LogView)
            await wait_analysed(pilot)
            await pilot.press("home")
            await pilot.press("e")
            assert log.doc.lines[log.cursor].startswith("invalid access")
            await pilot.press("up")              # the faulting load, which wrote nothing
            await pilot.pause(0.1)
            state = screen.query_one(StatePane)
            names = [state.get_row_at(i)[1] for i in range(state.row_count)]
            names = [getattr(n, "plain", n) for n in names]
            assert "R2" in names
            await pilot.press("s")
            state.move_cursor(row=names.index("R2"))
            await pilot.press("enter")
            await pilot.pause()
            sliced = sorted(log.slice_lines)
            # toolkit.analysis's slice: the definitions, the bounds check and the use
            assert [log.doc.lines[i].split(";")[0].strip() for i in sliced] == [
                "1: (61) r2 = *(u32 *)(r1 +76)", "2: (07) r2 += 54",
                "4: (2d) if r2 > r1 goto pc+5", "5: (71) r1 = *(u8 *)(r2 +0)"]
            await pilot.press("x")
            assert not screen.query_one(LogView).slice_lines
    run(go())


def test_mouse_click_moves_the_cursor_and_marks_the_c_line():
    async def go():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_twin(pilot)
            from toolkit.tui.log_view import LogView
            from toolkit.tui.source_view import SourceView
            log = screen.query_one(LogView)
            log.scroll_to(y=0, animate=False, immediate=True)
            await pilot.pause()
            # line 18 of the log (1-based) is "1: (61) r2 = *(u32 *)(r1 +76)" under source line 26
            await pilot.click(LogView, offset=(10, 1 + 17))
            await pilot.pause(0.1)
            assert log.cursor == 17
            assert screen.query_one(SourceView).marked == 26
    run(go())


def test_help_enforcer_and_diff_screens_open_and_close():
    async def go():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            from toolkit.tui.diff_screen import DiffScreen
            from toolkit.tui.diff_view import DiffView
            from toolkit.tui.enforcer_screen import EnforcerScreen
            from toolkit.tui.help_screen import HelpScreen
            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape")
            await pilot.press("E")
            assert isinstance(app.screen, EnforcerScreen)
            assert "no enforcer running" in str(app.screen.query_one("#enf-status").render())
            await pilot.press("escape")
            await pilot.press("down", "d")
            await pilot.pause()
            assert isinstance(app.screen, DiffScreen)
            view = app.screen.query_one(DiffView)
            i, j = view.aligned.rows[view.aligned.first_divergence]
            assert view.a[i].startswith("2: (04) w2 += 54")
            assert view.b[j].startswith("2: (07) r2 += 54")
            await pilot.press("escape")
            from toolkit.tui.programs_screen import ProgramsScreen
            assert isinstance(app.screen, ProgramsScreen)
    run(go())


def test_kernel_73_report_shown_beside_ours():
    async def go():
        from toolkit.tui_model import entry_for_log
        from tuidata import DATA
        e = entry_for_log(str(DATA / "dns_qname_unchecked.k73.level2.log"))
        e.source = str(DATA / "dns_qname_unchecked.bpf.c")
        app = make_app([e])
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("enter")
            await pilot.pause(0.1)
            await wait_analysed(pilot)
            from toolkit.tui.diagnosis_pane import DiagnosisPane
            pane = app.screen.query_one(DiagnosisPane)
            assert pane.has_class("-with-report")
            report = str(pane.query_one("#kernel-report").render())
            assert "Memory Safety: Access outside bounds" in report
            assert "dns_qname_unchecked.bpf.c:33:6" in report
    run(go())


def test_sorting_by_a_column():
    async def go():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            from toolkit.tui.programs_table import ProgramsTable
            table = app.screen.query_one(ProgramsTable)
            table.sort_by("insns")
            assert [table.get_row_at(i)[2] for i in range(2)] == ["dns_qname_unchecked", "dns_count_tc"]
            table.sort_by("insns")
            assert [table.get_row_at(i)[2] for i in range(2)] == ["dns_count_tc", "dns_qname_unchecked"]
    run(go())


def test_rebuild_key_and_watch_mode_reload_the_program(tmp_path):
    import shutil
    from toolkit.model import Verdict
    from tuidata import DATA, accepted_rebuild, make_entries

    src = tmp_path / "copy.bpf.c"
    shutil.copy(DATA / "dns_qname_unchecked.bpf.c", src)
    entries = make_entries()
    entries[1].source = str(src)
    calls = []

    def rebuild(entry, tmp_dir):
        calls.append(entry.program)
        return accepted_rebuild(entry, tmp_dir)

    async def go():
        app = make_app(entries, rebuild_fn=rebuild)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_twin(pilot)
            await pilot.press("r")
            for _ in range(100):
                if screen.entry.result.verdict is Verdict.ACCEPTED:
                    break
                await pilot.pause(0.05)
            assert calls == ["dns_qname_unchecked"]
            assert screen.entry.result.verdict is Verdict.ACCEPTED
            assert app.entries[1] is screen.entry          # the programs list follows
            await pilot.press("w")                          # watch: rebuild on save
            assert screen.watching
            import os
            st = src.stat()
            os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
            for _ in range(60):
                if len(calls) == 2:
                    break
                await pilot.pause(0.1)
            assert len(calls) == 2
            await pilot.press("w")
            assert not screen.watching
    run(go())


def test_two_phase_loading_and_opening_a_pending_program():
    """Level 1 for every program first, then level 2; opening a pending program loads it
    at once (fake loader: fixed results, no kernel)."""
    import threading
    from dataclasses import replace
    from toolkit.tui.programs_table import ProgramsTable
    from toolkit.tui_model import ProgramEntry
    from tuidata import make_entries

    fixed = {e.program: e.result for e in make_entries()}
    gate = threading.Event()
    calls = []

    def load(entry, level):
        calls.append((entry.program, level))
        if entry.program == "dns_count_tc" and level == 1:
            gate.wait(10)       # hold the first program so the second is still pending
        r = fixed[entry.program]
        return [replace(r, log_level=level | 4, log=r.log if level == 2 else r.log[-400:])]

    entries = [ProgramEntry(object=e.object, program=e.program, source=e.source,
                            expectation=e.expectation) for e in make_entries()]

    async def go():
        app = make_app(entries, load_fn=load)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.2)
            await pilot.press("down", "enter")           # the twin, still pending
            for _ in range(100):
                if entries[1].result is not None and app.screen.doc.error_line() is not None:
                    break
                await pilot.pause(0.05)
            assert ("dns_qname_unchecked", 2) in calls
            assert app.screen.doc.lines[app.screen.doc.error_line()].startswith("invalid access")
            gate.set()
            await pilot.press("escape")
            for _ in range(100):
                if all(e.result is not None and e.result.log_level & 3 == 2 for e in entries):
                    break
                await pilot.pause(0.05)
            assert ("dns_count_tc", 1) in calls and ("dns_count_tc", 2) in calls
            assert ("dns_qname_unchecked", 1) not in calls      # opened first: loaded once
            table = app.screen.query_one(ProgramsTable)
            await pilot.pause(0.1)
            assert [table.get_row_at(i)[-1] for i in range(2)] == ["level 2", "level 2"]
    run(go())
