"""ProgramsScreen: every program with verdict and statistics, loaded in the background.

Contract: shows the app's entries in a ProgramsTable; when the app has a loader, a thread
worker loads each pending entry at log level 1 (verdict and statistics), then each at
level 2 (the full log, rejected programs first; programs that processed more than
BACKGROUND_MAX_INSNS instructions get theirs only when opened), updating each row and a
progress bar. Enter opens the program screen, `d` the kernel diff, `E` the enforcer.
"""
from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, ProgressBar, Static

from ..tui_model import ProgramEntry
from .programs_table import ProgramsTable


BACKGROUND_MAX_INSNS = 100_000


class _Stopped(Exception):
    """The app is quitting: the loading thread stops."""


class ProgramsScreen(Screen):
    BINDINGS = [
        Binding("enter", "open", "Open", show=True),
        Binding("d", "diff", "Kernels diff"),
        Binding("R", "reload_all", "Reload all"),
    ]
    DEFAULT_CSS = """
    ProgramsScreen #progress-row { height: 1; padding: 0 1; }
    ProgramsScreen #progress-label { width: auto; padding-right: 2; }
    ProgramsScreen ProgressBar { width: 1fr; }
    ProgramsScreen #summary { height: 1; padding: 0 1; background: $panel; }
    """

    _generation = 0

    def compose(self) -> ComposeResult:
        from textual.containers import Horizontal
        yield Header()
        with Horizontal(id="progress-row"):
            yield Static("", id="progress-label")
            yield ProgressBar(total=None, show_eta=False, id="progress")
        yield ProgramsTable(id="programs")
        yield Static("", id="summary")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "fqdnkit"
        self.sub_title = "programs"
        table = self.query_one(ProgramsTable)
        for e in self.app.entries:
            table.set_entry(e)
        table.focus()
        self.update_summary()
        if self.app.load_fn is not None and any(e.result is None and not e.error for e in self.app.entries):
            self.load_all()
        else:
            self.query_one("#progress-row").display = False

    def update_summary(self) -> None:
        es = self.app.entries
        acc = sum(e.status == "accepted" for e in es)
        rej = sum(e.status == "rejected" for e in es)
        exp = sum(e.status == "rejected" and e.expected_failure and e.result.as_expected for e in es)
        bad = sum(e.result is not None and not e.result.as_expected for e in es)
        err = sum(e.status == "error" for e in es)
        pend = sum(e.status == "pending" for e in es)
        parts = [f"{len(es)} programs", f"[$text-success]{acc} accepted[/]",
                 f"[$text-error]{rej} rejected[/] ([$text-warning]{exp} expected failures[/])"]
        if bad:
            parts.append(f"[b $text-error]{bad} not as expected[/]")
        if err:
            parts.append(f"[$text-error]{err} errors[/]")
        if pend:
            parts.append(f"{pend} pending")
        self.query_one("#summary", Static).update("  ·  ".join(parts))

    def load_all(self) -> None:
        self._generation += 1
        self.app.in_daemon(self._load_all, self._generation)

    def _load_all(self, generation: int) -> None:
        """Level 1 for every pending entry, then level 2, rejected programs first (runs in
        a daemon thread; a newer `load_all` or quitting stops it between two programs)."""
        stop = self.app.stopping

        def cancelled() -> bool:
            return stop.is_set() or generation != self._generation

        def call(cb, *args) -> None:
            if not self.app.post(cb, *args):
                raise _Stopped
        try:
            self._load_phases(cancelled, call)
        except _Stopped:
            return

    def _load_phases(self, cancelled, call) -> None:
        todo = [e for e in self.app.entries if e.result is None and not e.error]
        call(self.progress, 0, len(todo), "verdicts")
        for n, e in enumerate(todo, 1):
            if cancelled():
                return
            if e.result is not None or e.error:
                continue            # opened (and loaded) by the user meanwhile
            call(self.loading, e, n, len(todo), "verdict")
            try:
                results = self.app.load_fn(e, 1)
                error = None
            except Exception as ex:  # FqdnkitError/OSError (no root, bad object): show in the row
                results, error = [], str(ex)
            call(self.loaded, e, results, error)
        # programs whose level-2 log would be huge (a 1M-insn program prints ~9M lines,
        # ~750 MB) get it only when opened
        full = [e for e in self.app.entries if self.app.needs_full(e)
                and (e.result is None or (e.result.stats.insns_processed or 0) <= BACKGROUND_MAX_INSNS)]
        full.sort(key=lambda e: e.status != "rejected")
        call(self.progress, 0, len(full), "level-2 logs")
        for n, e in enumerate(full, 1):
            if cancelled():
                return
            call(self.loading, e, n, len(full), "level-2 log")
            try:
                self.app.load_full(e)
                error = None
            except Exception as ex:  # keep the level-1 result, say why the log is missing
                error = str(ex)
            call(self.full_loaded, e, error)
        call(self.progress, len(full), len(full), "done")

    def progress(self, done: int, total: int, label: str) -> None:
        bar = self.query_one(ProgressBar)
        bar.update(total=max(total, 1), progress=done)
        self.query_one("#progress-label", Static).update(f"loading {label} {done}/{total}")
        if label == "done":
            self.query_one("#progress-row").display = False

    def loading(self, e: ProgramEntry, n: int, total: int, what: str) -> None:
        self.query_one(ProgramsTable).set_entry(e, loading=what == "verdict")
        self.query_one("#progress-label", Static).update(
            f"loading {what} {n}/{total}: {e.program or e.object}")

    def full_loaded(self, e: ProgramEntry, error) -> None:
        self.query_one(ProgressBar).advance(1)
        if not any(x is e for x in self.app.entries):
            return      # replaced by a rebuild meanwhile
        if error:
            self.notify(f"{e.program}: level-2 log not loaded: {error}", severity="error")
        self.query_one(ProgramsTable).set_entry(e)

    def loaded(self, e: ProgramEntry, results, error) -> None:
        table = self.query_one(ProgramsTable)
        if not any(x is e for x in self.app.entries):
            return
        if error:
            e.error = error
            table.set_entry(e)
        elif e.kind == "bcc":
            # a bcc source expands into one entry per function once compiled
            table.remove_entry(e.key)
            new = self.app.expand_bcc(e, results)
            for ne in new:
                table.set_entry(ne)
        elif results:
            e.result = results[0]
            table.set_entry(e)
        bar = self.query_one(ProgressBar)
        bar.advance(1)
        self.update_summary()

    def refresh_entry(self, old_key: str, e: ProgramEntry) -> None:
        table = self.query_one(ProgramsTable)
        if not any(x is e for x in self.app.entries):
            return
        if old_key != e.key and old_key in table.rows:
            table.remove_entry(old_key)
        table.set_entry(e)
        self.update_summary()

    def selected(self) -> ProgramEntry | None:
        table = self.query_one(ProgramsTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.app.entry_by_key(key)

    @on(DataTable.RowSelected)
    def row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        e = self.selected()
        if e is None:
            return
        if e.error or (e.result is None and not self.app.needs_full(e)):
            self.notify(e.error or "not loaded yet", severity="warning", timeout=3)
            return
        from .program_screen import ProgramScreen
        self.app.push_screen(ProgramScreen(e))

    def action_diff(self) -> None:
        e = self.selected()
        if e is None:
            return
        from .diff_screen import DiffScreen
        self.app.push_screen(DiffScreen(e))

    def action_reload_all(self) -> None:
        if self.app.load_fn is None:
            return
        table = self.query_one(ProgramsTable)
        for e in self.app.entries:
            if e.kind != "log":
                e.result, e.error = None, None
                table.set_entry(e)
        self.query_one("#progress-row").display = True
        self.load_all()
