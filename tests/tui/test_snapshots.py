"""Snapshot tests (pytest-textual-snapshot) of every screen at 160x48 on fixed data.

Update after an intended change with `pytest tests/tui --snapshot-update` and review the
SVGs under tests/tui/__snapshots__/.
"""
from __future__ import annotations

from tuidata import DATA, SIZE, fake_status, make_app


async def settle(pilot):
    await pilot.pause()
    for _ in range(400):        # toolkit.analysis runs in a thread on the program screen
        if getattr(pilot.app.screen, "analysed", True):
            break
        await pilot.pause(0.05)
    await pilot.pause(0.15)     # side panes update 60 ms after the cursor settles
    await pilot.pause()


def test_programs_screen(snap_compare):
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=settle)


def test_program_screen_failing_twin(snap_compare):
    async def before(pilot):
        await pilot.press("down", "enter")
        await settle(pilot)
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=before)


def test_program_screen_slice_of_r2(snap_compare):
    async def before(pilot):
        from toolkit.tui.state_pane import StatePane
        await pilot.press("down", "enter")
        await settle(pilot)
        await pilot.press("up")
        await settle(pilot)
        state = pilot.app.screen.query_one(StatePane)
        await pilot.press("s")
        state.move_cursor(row=2)      # R2
        await pilot.press("enter")
        await settle(pilot)
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=before)


def test_program_screen_kernel_73_report(snap_compare):
    from toolkit.tui_model import entry_for_log
    e = entry_for_log(str(DATA / "dns_qname_unchecked.k73.level2.log"))
    e.object = "verifier_logs/7.3.4-test/dns_qname_unchecked/dns_qname_unchecked.level2.log"
    e.source = str(DATA / "dns_qname_unchecked.bpf.c")

    async def before(pilot):
        await pilot.press("enter")
        await settle(pilot)
    assert snap_compare(make_app([e]), terminal_size=SIZE, run_before=before)


def test_diff_screen(snap_compare):
    async def before(pilot):
        await pilot.press("down", "d")
        await settle(pilot)
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=before)


def test_enforcer_screen_without_enforcer(snap_compare):
    async def before(pilot):
        await pilot.press("E")
        await settle(pilot)
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=before)


def test_help_screen(snap_compare):
    async def before(pilot):
        await pilot.press("question_mark")
        await settle(pilot)
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=before)


def test_enforcer_screen_running(snap_compare):
    async def before(pilot):
        await pilot.press("E")
        await settle(pilot)
    assert snap_compare(make_app(status_fn=fake_status), terminal_size=SIZE, run_before=before)


def test_program_screen_light_theme(snap_compare):
    app = make_app()

    async def before(pilot):
        app.theme = "textual-light"
        await pilot.press("down", "enter")
        await settle(pilot)
    assert snap_compare(app, terminal_size=SIZE, run_before=before)
