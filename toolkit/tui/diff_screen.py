"""DiffScreen: the same program on two kernels, from `verifier_logs/<kernel>/<object>/`.

Contract: `DiffScreen(entry)` lists the logs of entry's program in the app's corpus root
(plus the log loaded on this kernel, if any); `a`/`b` cycle the left/right kernel, `f`
jumps to the first divergence. With fewer than two logs it says which exist and where
it looked.
"""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from ..corpus import read_log
from ..tui_model import ProgramEntry, align_logs, corpus_logs
from .diff_view import DiffView


class DiffScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("a", "cycle(0)", "Left kernel"),
        Binding("b", "cycle(1)", "Right kernel"),
        Binding("f", "first", "First divergence"),
    ]
    DEFAULT_CSS = """
    DiffScreen #diff-title { height: auto; max-height: 4; padding: 0 1; background: $panel; }
    DiffScreen DiffView { height: 1fr; }
    """

    def __init__(self, entry: ProgramEntry) -> None:
        super().__init__()
        self.entry = entry
        self.candidates: list[tuple[str, object]] = []   # (label, path or text)
        self.pick = [0, 1]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="diff-title")
        yield DiffView(id="diff")
        yield Footer()

    def on_mount(self) -> None:
        e = self.entry
        self.title = f"{e.program}: kernels side by side"
        obj = e.result.object if e.result is not None else e.object
        for kernel, path in corpus_logs(self.app.corpus_root, obj, e.program):
            self.candidates.append((kernel, path))
        if e.result is not None and e.kind != "log":
            self.candidates.append((f"{e.result.kernel_release} (loaded now)", e.result.log))
        if len(self.candidates) >= 2:
            self.pick = [0, len(self.candidates) - 1]
        self.show()
        self.query_one(DiffView).focus()

    def _lines(self, k: int) -> list[str]:
        src = self.candidates[k][1]
        return read_log(src).splitlines() if not isinstance(src, str) else src.splitlines()

    def show(self) -> None:
        title = self.query_one("#diff-title", Static)
        if len(self.candidates) < 2:
            have = ", ".join(c[0] for c in self.candidates) or "none"
            title.update(f"[b $text-warning]need two logs of {self.entry.program} to compare[/]; "
                         f"found: {have}\n[$foreground-muted]looked in {self.app.corpus_root}/<kernel>/"
                         f"<object>/{self.entry.program}.level2.log[.gz][/]")
            return
        a, b = self.pick
        la, lb = self._lines(a), self._lines(b)
        aligned = align_logs(la, lb)
        title.update(f"[b]{self.candidates[a][0]}[/]  ⟷  [b]{self.candidates[b][0]}[/]\n"
                     f"[$foreground-muted]{aligned.summary}[/]")
        view = self.query_one(DiffView)
        view.show(la, lb, aligned)
        self.call_after_refresh(view.goto_divergence)

    def action_cycle(self, side: int) -> None:
        if len(self.candidates) < 2:
            return
        self.pick[side] = (self.pick[side] + 1) % len(self.candidates)
        self.show()

    def action_first(self) -> None:
        self.query_one(DiffView).goto_divergence()
