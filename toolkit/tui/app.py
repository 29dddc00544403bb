"""FqdnkitApp: the `fqdnkit tui` application — holds the program entries and their logs.

Contract: `FqdnkitApp(entries, load_fn=..., tmp_dir=..., corpus_root=..., pin_dir=...)`.
`load_fn(entry, level) -> list[LoadResult]` is called in worker threads: first at level 1
for every entry without a result (verdicts and statistics in seconds), then at level 2
(the full log) for each, rejected programs first, and at once for a program being opened
(`load_full`, one load per entry at a time). None: show the entries as given (tests).
`rebuild_fn(entry, tmp_dir)` recompiles and reloads one entry; `status_fn(pin_dir)`
reads the enforcer's state (tests pass fixed data). The app keeps one LogDoc
per entry (`doc_for`) so reopening a program does not split its log again.
"""
from __future__ import annotations

import threading
from typing import Callable, Optional

from textual.app import App
from textual.binding import Binding

from ..model import LoadResult
from ..tui_model import (LogDoc, ProgramEntry, enforcer_status, load_entry, log_level_of,
                         rebuild_entry)
from .programs_screen import ProgramsScreen


class FqdnkitApp(App):
    TITLE = "fqdnkit"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
        Binding("E", "enforcer", "Enforcer"),
    ]

    def __init__(self, entries: list[ProgramEntry], *,
                 load_fn: Optional[Callable[[ProgramEntry, int], list[LoadResult]]] = load_entry,
                 rebuild_fn: Callable = rebuild_entry, tmp_dir: str = "/tmp",
                 corpus_root: str = "verifier_logs", pin_dir: str = "/sys/fs/bpf/fqdnkit",
                 enforcer_interval: float = 1.0, open_first: bool = False,
                 status_fn: Callable[[str], Optional[dict]] = enforcer_status) -> None:
        super().__init__()
        self.entries = list(entries)
        self.load_fn = load_fn
        self.rebuild_fn = rebuild_fn
        self.tmp_dir = tmp_dir
        self.corpus_root = corpus_root
        self.pin_dir = pin_dir
        self.enforcer_interval = enforcer_interval
        self.status_fn = status_fn
        self.open_first = open_first
        self._docs: dict[int, tuple[str, LogDoc]] = {}
        self._full_locks: dict[int, threading.Lock] = {}
        self.stopping = threading.Event()
        self._locks_guard = threading.Lock()

    def on_mount(self) -> None:
        self.push_screen(ProgramsScreen())
        if self.open_first and self.entries and self.entries[0].result is not None:
            from .program_screen import ProgramScreen
            self.push_screen(ProgramScreen(self.entries[0]))

    # ---- entries
    def entry_by_key(self, key: str) -> Optional[ProgramEntry]:
        for e in self.entries:
            if e.key == key:
                return e
        return None

    def doc_for(self, entry: ProgramEntry) -> LogDoc:
        log = entry.result.log if entry.result else ""
        got = self._docs.get(id(entry))
        if got is None or got[0] is not log:
            got = (log, LogDoc(log))
            self._docs[id(entry)] = got
        return got[1]

    def replace_entry(self, old: ProgramEntry, new: ProgramEntry) -> None:
        for n, e in enumerate(self.entries):
            if e is old:
                self.entries[n] = new
                break
        self._docs.pop(id(old), None)
        for screen in self.screen_stack:
            if isinstance(screen, ProgramsScreen):
                screen.refresh_entry(old.key, new)

    def expand_bcc(self, entry: ProgramEntry, results: list[LoadResult]) -> list[ProgramEntry]:
        """Replace a bcc source's placeholder entry by one entry per loaded function."""
        new = [ProgramEntry(object=entry.object, program=r.program, kind="bcc", source=entry.source,
                            expectation=r.expectation, result=r) for r in results]
        n = self.entries.index(entry)
        self.entries[n:n + 1] = new
        return new

    def needs_full(self, entry: ProgramEntry) -> bool:
        """True when `entry` is an object's program without its level-2 log yet."""
        return (self.load_fn is not None and entry.kind == "object" and not entry.error
                and log_level_of(entry.result) < 2)

    def load_full(self, entry: ProgramEntry) -> bool:
        """Called from worker threads: load `entry` at level 2 unless done meanwhile.
        True when this call loaded it. Raises what the loader raises."""
        with self._locks_guard:
            lock = self._full_locks.setdefault(id(entry), threading.Lock())
        with lock:
            if not self.needs_full(entry):
                return False
            results = self.load_fn(entry, 2)
            if results:
                entry.result = results[0]
            return True

    def rebuild(self, entry: ProgramEntry):
        """Called from a worker thread: recompile the entry's source and load it again."""
        return self.rebuild_fn(entry, self.tmp_dir)

    # ---- background threads
    def in_daemon(self, fn: Callable, *args) -> threading.Thread:
        """Run fn(*args) in a daemon thread. Kernel loads can take minutes (a program that
        hits the 1M-instruction limit) and cannot be interrupted; Textual's thread workers
        run in an executor that Python joins at exit, so quitting would wait for them."""
        t = threading.Thread(target=fn, args=args, daemon=True, name=f"fqdnkit-{fn.__name__}")
        t.start()
        return t

    def post(self, callback: Callable, *args) -> bool:
        """From a daemon thread: run callback(*args) in the app's loop; False (and nothing
        done) once the app is quitting."""
        if self.stopping.is_set():
            return False
        try:
            self.call_from_thread(callback, *args)
        except RuntimeError:     # the app stopped between the check and the call
            return False
        return True

    async def action_quit(self) -> None:
        self.stopping.set()
        await super().action_quit()

    def on_unmount(self) -> None:
        self.stopping.set()

    # ---- actions
    def action_help(self) -> None:
        from .help_screen import HelpScreen
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_enforcer(self) -> None:
        from .enforcer_screen import EnforcerScreen
        if not isinstance(self.screen, EnforcerScreen):
            self.push_screen(EnforcerScreen())
