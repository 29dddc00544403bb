"""ProgramScreen: one program's log, C source, register state and diagnosis side by side.

Contract: `ProgramScreen(entry)` shows `entry.result` (a LoadResult). The log pane is a
LogView; moving its cursor updates the state pane and marks the C line; choosing a
register in the state pane highlights its backward slice. `r` rebuilds the C source and
reloads the program (through the app, in a thread), `w` toggles rebuilding on file change.
"""
from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static

from ..build import display_path
from ..model import Verdict
from ..tui_model import (LogDoc, ProgramEntry, analyse_entry, diagnosis_for, kernel_report,
                         source_info, source_line_for_log, source_mtime)
from .diagnosis_pane import DiagnosisPane
from .log_view import LogView
from .source_view import SourceView
from .state_pane import StatePane


def verdict_markup(entry: ProgramEntry) -> str:
    r = entry.result
    if entry.error:
        return "[b $text-error]error[/]"
    if r is None:
        return "[$foreground-muted]pending[/]"
    if r.verdict is Verdict.ACCEPTED:
        return "[b $text-success]accepted[/]" + ("" if r.as_expected else " [b $text-error](NOT as expected)[/]")
    if entry.expected_failure and r.as_expected:
        return "[b $text-warning]rejected (expected failure)[/]"
    return "[b $text-error]rejected[/]"


AUTO_ANALYSE_MAX_LINES = 1_000_000


class ProgramScreen(Screen):
    BINDINGS = [
        Binding("escape", "back", "Programs"),
        Binding("e", "goto_error", "Error"),
        Binding("right_square_bracket", "path(1)", "Next path"),
        Binding("left_square_bracket", "path(-1)", "Prev path", show=False),
        Binding("slash", "search", "Search"),
        Binding("n", "search_next(1)", "Next match", show=False),
        Binding("N", "search_next(-1)", "Prev match", show=False),
        Binding("r", "rebuild", "Rebuild+reload"),
        Binding("w", "toggle_watch", "Watch"),
        Binding("s", "focus_state", "State", show=False),
        Binding("x", "clear_slice", "Clear slice", show=False),
        Binding("d", "diff", "Kernels diff"),
        Binding("m", "maximize_diagnosis", "Diagnosis ⤢"),
    ]
    DEFAULT_CSS = """
    ProgramScreen #left { width: 5fr; }
    ProgramScreen #right { width: 4fr; }
    ProgramScreen #title { height: 1; padding: 0 1; background: $panel; }
    ProgramScreen LogView { height: 1fr; border: round $foreground-muted; }
    ProgramScreen LogView:focus { border: round $accent; }
    ProgramScreen SourceView { height: 2fr; border: round $foreground-muted; }
    ProgramScreen SourceView:focus { border: round $accent; }
    ProgramScreen StatePane { height: 1fr; border: round $foreground-muted; }
    ProgramScreen StatePane:focus { border: round $accent; }
    ProgramScreen DiagnosisPane { height: 2fr; border: round $foreground-muted; }
    ProgramScreen #search { display: none; }
    ProgramScreen #search.-visible { display: block; }
    """

    def __init__(self, entry: ProgramEntry) -> None:
        super().__init__()
        self.entry = entry
        self.doc = self.app.doc_for(entry)
        self.search_term = ""
        self.watching = False
        self._mtime = None
        self._watch_timer = None
        self._busy = False
        self._pending_line: int | None = None
        self._pane_timer = None
        self.analysed = False
        self._analysing = False
        self.source = None

    PANE_DELAY = 0.06

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with Vertical(id="left"):
                yield Static("", id="title")
                yield LogView(self.doc, id="log")
                yield Input(placeholder="search the log (Enter: find, Esc: close)", id="search")
            with Vertical(id="right"):
                yield SourceView(id="source")
                yield StatePane(id="state")
                yield DiagnosisPane(id="diagnosis")
        yield Footer()

    def on_mount(self) -> None:
        log = self.query_one(LogView)
        log.border_title = "verifier log"
        self.query_one(SourceView).border_title = "C source"
        self.query_one(StatePane).border_title = "state at cursor (Enter: slice)"
        self.query_one(DiagnosisPane).border_title = "diagnosis"
        self.refresh_all()
        log.focus()
        if self.app.needs_full(self.entry):
            self.app.in_daemon(self.full_worker, self.entry)

    def full_worker(self, entry: ProgramEntry) -> None:
        """Daemon thread: load `entry`'s level-2 log (see FqdnkitApp.in_daemon)."""
        try:
            self.app.load_full(entry)
            self.app.doc_for(entry)      # split the (maybe 750 MB) log here, not in the UI
            error = None
        except Exception as e:  # keep showing the level-1 log, say why
            error = str(e)
        self.app.post(self.full_done, entry, error)

    def full_done(self, entry: ProgramEntry, error) -> None:
        if entry is not self.entry or not self.is_attached:
            if not error:
                self.app.replace_entry(entry, entry)    # refresh its row
            return
        if error:
            self.notify(f"level-2 log not loaded: {error}", severity="error", timeout=8)
            return
        self.doc = self.app.doc_for(entry)
        self.refresh_all()
        self.app.replace_entry(entry, entry)
        if len(self.doc) and self.query_one(LogView).has_focus is False:
            self.query_one(LogView).focus()

    # ---- filling the panes
    def refresh_all(self) -> None:
        e = self.entry
        r = e.result
        self.title = f"{e.program}"
        self.sub_title = display_path(e.object)
        log = self.query_one(LogView)
        if log.doc is not self.doc:
            log.set_doc(self.doc)
        err = self.doc.error_line()
        log.error_line = err
        log.border_title = f"verifier log — {len(self.doc):,} lines"
        self.refresh_title()
        self.source = source_info(e, self.doc)
        self.query_one(SourceView).show(self.source)
        if r is not None and self.doc.analysis is not None:
            # analysed when this program was open before
            self.analysed = True
            self.query_one(DiagnosisPane).show(self.doc.analysis.diagnosis, self.doc.analysis.report)
        elif r is not None:
            quick = diagnosis_for(r, self.doc)
            if self.doc.trace is None:
                quick["source"] = "error line (toolkit.analysis is reading the whole log …)"
            self.query_one(DiagnosisPane).show(quick, kernel_report(self.doc))
            self.analysed = False
            self._analysing = False     # a new analysis (exclusive) cancels the previous one
            # the analysis reads the whole log (~30 us a line): in a thread, after the first
            # frame; for a long log of an accepted program only when a slice asks for it
            if r.verdict is Verdict.REJECTED or len(self.doc) <= AUTO_ANALYSE_MAX_LINES:
                # after the first frame is on screen: the thread competes for the GIL
                self.call_after_refresh(self.set_timer, 0.1, self.start_analysis)
            else:
                quick["source"] = (f"verdict (toolkit.analysis runs on this {len(self.doc):,}-line "
                                   "log when a slice is asked for)")
                self.query_one(DiagnosisPane).show(quick, kernel_report(self.doc))
        log.clear_cache()
        if err is not None:
            log.goto(err)
        else:
            log.goto(len(self.doc) - 1 if r and r.verdict is Verdict.REJECTED else 0)

    def start_analysis(self) -> None:
        if not self._analysing:
            self._analysing = True
            self.analyse_worker(self.entry, self.doc)

    # description: without it Textual builds one from repr(args), i.e. the whole log
    @work(thread=True, exclusive=True, group="analyse", description="toolkit.analysis")
    def analyse_worker(self, entry: ProgramEntry, doc: LogDoc) -> None:
        from textual.worker import get_current_worker
        worker = get_current_worker()
        try:
            a = analyse_entry(entry, doc, cancelled=lambda: worker.is_cancelled)
        except Exception as e:  # the analysis is a colleague's moving API: show, stay up
            if not worker.is_cancelled:
                self.app.call_from_thread(self.analysed_with, entry, doc, None, repr(e))
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self.analysed_with, entry, doc, a, None)

    def analysed_with(self, entry: ProgramEntry, doc: LogDoc, a, error) -> None:
        if entry is not self.entry or doc is not self.doc:
            return     # a rebuild replaced the program meanwhile
        self._analysing = False
        self.analysed = True
        pane = self.query_one(DiagnosisPane)
        if error is not None:
            d = diagnosis_for(entry.result, doc)
            d["source"] = f"error line (toolkit.analysis failed: {error})"
            pane.show(d, kernel_report(doc))
            return
        if a is None:
            d = diagnosis_for(entry.result, doc)
            d["source"] = "error line (toolkit.analysis not installed)"
            pane.show(d, kernel_report(doc))
            return
        doc.set_trace(a.trace)
        doc.analysis = a
        pane.show(a.diagnosis, a.report)

    def doc_stats(self) -> str:
        r = self.entry.result
        if r is None:
            return ""
        s = r.stats
        return (f"insns {s.insns_processed if s.insns_processed is not None else '-'}  "
                f"states {s.total_states if s.total_states is not None else '-'}")

    @on(LogView.CursorMoved)
    def cursor_moved(self, event: LogView.CursorMoved) -> None:
        # debounced: while keys repeat (scrolling), the side panes update once at the end
        self._pending_line = event.line
        if self._pane_timer is not None:
            self._pane_timer.stop()
        self._pane_timer = self.set_timer(self.PANE_DELAY, self.update_side_panes)

    def update_side_panes(self) -> None:
        self._pane_timer = None
        line = self._pending_line
        if line is None or line >= len(self.doc):
            return
        slots, changed = self.doc.state_at(line)
        self.query_one(StatePane).show(slots, changed, line)
        self.query_one(SourceView).mark(
            source_line_for_log(self.entry, self.doc, line, self.source.offset if self.source else 0))

    @on(StatePane.SliceRequested)
    def slice_requested(self, event: StatePane.SliceRequested) -> None:
        log = self.query_one(LogView)
        if self.doc.trace is None and not self.analysed:
            self.start_analysis()       # a long accepted log: analysed on demand
        lines = self.doc.slice_of(log.cursor, event.name)
        log.set_slice(lines)
        where = ", ".join(str(i + 1) for i in lines[-8:])
        self.notify(f"backward slice of {event.name}: {len(lines)} lines"
                    + (f" (… {where})" if lines else "") + f" — {self.doc.last_slice_source}",
                    timeout=4)

    # ---- actions
    def action_back(self) -> None:
        if self.maximized is not None:
            self.minimize()
            return
        search = self.query_one("#search", Input)
        if search.has_class("-visible"):
            search.remove_class("-visible")
            self.query_one(LogView).focus()
            return
        self.app.pop_screen()

    def action_goto_error(self) -> None:
        err = self.doc.error_line()
        if err is None:
            self.notify("no error line in this log", severity="warning")
            return
        self.query_one(LogView).goto(err)

    def action_path(self, direction: int) -> None:
        log = self.query_one(LogView)
        target = self.doc.next_path(log.cursor, direction)
        if target is None:
            self.notify("no further path (`from X to Y`) in this direction", timeout=2)
            return
        log.goto(target)

    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        box.add_class("-visible")
        box.focus()

    @on(Input.Submitted, "#search")
    def search_submitted(self, event: Input.Submitted) -> None:
        self.search_term = event.value
        log = self.query_one(LogView)
        log.set_search(event.value)
        event.input.remove_class("-visible")
        log.focus()
        self.action_search_next(1)

    def action_search_next(self, direction: int) -> None:
        if not self.search_term:
            self.action_search()
            return
        log = self.query_one(LogView)
        hit = self.doc.search(self.search_term, log.cursor, direction)
        if hit is None:
            self.notify(f"{self.search_term!r} not found", severity="warning", timeout=2)
        else:
            log.goto(hit)

    def action_maximize_diagnosis(self) -> None:
        pane = self.query_one(DiagnosisPane)
        if self.maximized is not None:
            self.minimize()
        else:
            self.maximize(pane, container=False)

    def action_focus_state(self) -> None:
        self.query_one(StatePane).focus()

    def action_clear_slice(self) -> None:
        self.query_one(LogView).set_slice(())

    def action_diff(self) -> None:
        from .diff_screen import DiffScreen
        self.app.push_screen(DiffScreen(self.entry))

    def action_rebuild(self) -> None:
        if self._busy:
            return
        self._busy = True
        self.notify(f"rebuilding {self.entry.program} …", timeout=2)
        self.app.in_daemon(self.rebuild_worker, self.entry)

    def rebuild_worker(self, entry: ProgramEntry) -> None:
        """Daemon thread: compile and load again (see FqdnkitApp.in_daemon)."""
        try:
            new_entry, results = self.app.rebuild(entry)
        except Exception as e:  # FqdnkitError (clang output) or OSError: show it, stay up
            self.app.post(self.rebuild_failed, str(e))
            return
        self.app.post(self.rebuilt, new_entry, results)

    def rebuild_failed(self, message: str) -> None:
        self._busy = False
        if not self.is_attached:
            return
        self.notify(message, title="rebuild failed", severity="error", timeout=10)

    def rebuilt(self, new_entry: ProgramEntry, results) -> None:
        self._busy = False
        mine = [r for r in results if r.program == self.entry.program] or results
        if not mine:
            self.notify("the rebuilt object has no such program", severity="error")
            return
        new_entry.result = mine[0]
        self.app.replace_entry(self.entry, new_entry)
        if not self.is_attached:
            return
        self.entry = new_entry
        self.doc = self.app.doc_for(new_entry)
        self._mtime = source_mtime(new_entry)
        self.refresh_all()
        self.notify(f"{new_entry.program}: {mine[0].verdict.value}", title="reloaded",
                    severity="information" if mine[0].verdict is Verdict.ACCEPTED else "warning")

    def action_toggle_watch(self) -> None:
        self.watching = not self.watching
        if self.watching:
            self._mtime = source_mtime(self.entry)
            if self._mtime is None:
                self.watching = False
                self.notify("no C source on disk to watch", severity="warning")
                return
            self._watch_timer = self.set_interval(1.0, self.poll_source)
        elif self._watch_timer is not None:
            self._watch_timer.stop()
            self._watch_timer = None
        self.notify("rebuilding on source change" if self.watching else "stopped watching",
                    timeout=2)
        self.refresh_title()

    def refresh_title(self) -> None:
        e = self.entry
        kernel = e.result.kernel_release if e.result else "?"
        watch = "  [b $text-accent]watching source[/]" if self.watching else ""
        if self.app.needs_full(e):
            watch += ("  [b $text-warning]loading …[/]" if e.result is None else
                      "  [b $text-warning]level-1 log: loading the level-2 log …[/]")
        self.query_one("#title", Static).update(
            f"[b]{e.program}[/]  {verdict_markup(e)}  [$foreground-muted]kernel {kernel}  "
            f"{self.doc_stats()}[/]{watch}")

    def poll_source(self) -> None:
        m = source_mtime(self.entry)
        if m is not None and m != self._mtime:
            self._mtime = m
            self.action_rebuild()
