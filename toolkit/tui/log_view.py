"""LogView: a Line-API widget over a `LogDoc` that renders only the visible lines.

Contract: `LogView(doc)` shows every line of the log with a line-number gutter; a line is
classified (toolkit.logparse, through LogDoc) only when it is drawn, so a 1M-line log costs
the same to show as a short one. Colours come from component classes styled with theme
variables. The cursor (`cursor` reactive) is moved with keys or the mouse and posts
`LogView.CursorMoved`; `slice_lines`, `search_term` and `error_line` add highlights.
"""
from __future__ import annotations

import time

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..tui_model import LogDoc

GROUPS = ("insn", "live", "state", "from", "source", "info", "precision", "stat", "error",
          "report", "blank", "unknown")


class LogView(ScrollView, can_focus=True):
    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown,space", "page(1)", "Page down", show=False),
        Binding("home,g", "edge(0)", "Top", show=False),
        Binding("end,G", "edge(1)", "Bottom", show=False),
    ]
    COMPONENT_CLASSES = {f"logview--{g}" for g in GROUPS} | {
        "logview--gutter", "logview--cursor", "logview--slice", "logview--match",
        "logview--state-part", "logview--error-line"}
    DEFAULT_CSS = """
    LogView {
        background: $surface;
        color: $foreground;
        scrollbar-gutter: stable;
        & > .logview--gutter { color: $foreground-muted; }
        & > .logview--insn { color: $foreground; }
        & > .logview--state-part { color: $text-secondary; }
        & > .logview--live { color: $foreground-muted; }
        & > .logview--state { color: $text-secondary; }
        & > .logview--from { color: $text-accent; text-style: bold; }
        & > .logview--source { color: $text-success; text-style: italic; }
        & > .logview--info { color: $foreground-muted; }
        & > .logview--precision { color: $foreground-muted; }
        & > .logview--stat { color: $text-primary; }
        & > .logview--error { color: $text-error; text-style: bold; }
        & > .logview--report { color: $text-warning; }
        & > .logview--blank { color: $foreground; }
        & > .logview--unknown { color: $text-disabled; }
        & > .logview--cursor { background: $accent 35%; }
        & > .logview--slice { background: $warning 25%; }
        & > .logview--match { background: $secondary 35%; }
        & > .logview--error-line { background: $error 20%; }
    }
    """

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)

    class CursorMoved(Message):
        def __init__(self, view: "LogView", line: int) -> None:
            super().__init__()
            self.view = view
            self.line = line

        @property
        def control(self) -> "LogView":
            return self.view

    def __init__(self, doc: LogDoc, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.doc = doc
        self.slice_lines: frozenset[int] = frozenset()
        self.search_term = ""
        self.error_line: int | None = None
        self._cache: LRUCache[tuple, Strip] = LRUCache(1024)
        self._style_cache: dict[str, Style] | None = None
        self.first_render_at: float | None = None   # perf_counter() of the first frame (bench)
        self.last_top_render_at = 0.0               # of the last frame's top line (bench)
        self._gutter = len(str(max(1, len(doc)))) + 1
        self.virtual_size = Size(self._gutter + 1 + doc.width, len(doc))

    # ---- data
    def set_doc(self, doc: LogDoc) -> None:
        self.doc = doc
        self._gutter = len(str(max(1, len(doc)))) + 1
        self.virtual_size = Size(self._gutter + 1 + doc.width, len(doc))
        self.slice_lines = frozenset()
        self.error_line = None
        self.clear_cache()
        self.cursor = 0

    def _widen(self) -> None:
        self.virtual_size = Size(self._gutter + 1 + self.doc.width, len(self.doc))

    def set_slice(self, lines) -> None:
        self.slice_lines = frozenset(lines)
        self.clear_cache()

    def set_search(self, term: str) -> None:
        self.search_term = term.lower()
        self.clear_cache()

    def clear_cache(self) -> None:
        self._cache.clear()
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style_cache = None
        self._cache.clear()

    # ---- cursor and scrolling
    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self.doc) - 1)) if len(self.doc) else 0

    def watch_cursor(self, old: int, new: int) -> None:
        self.show_line(new)
        self.refresh()
        self.post_message(self.CursorMoved(self, new))

    def show_line(self, line: int, center: bool = False) -> None:
        h = max(1, self.scrollable_content_region.height)
        top = int(self.scroll_y)
        if center:
            self.scroll_to(y=max(0, line - h // 2), animate=False, immediate=True)
        elif line < top:
            self.scroll_to(y=line, animate=False, immediate=True)
        elif line >= top + h:
            self.scroll_to(y=line - h + 1, animate=False, immediate=True)

    def goto(self, line: int) -> None:
        """Move the cursor to `line` and put it in the middle of the view."""
        line = self.validate_cursor(line)
        self.show_line(line, center=True)
        self.cursor = line

    def action_cursor(self, delta: int) -> None:
        self.cursor = self.cursor + delta

    def action_page(self, direction: int) -> None:
        h = max(1, self.scrollable_content_region.height)
        self.scroll_to(y=max(0, self.scroll_y + direction * h), animate=False, immediate=True)
        self.cursor = self.cursor + direction * h

    def action_edge(self, end: int) -> None:
        self.cursor = len(self.doc) - 1 if end else 0

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None:
            self.cursor = int(self.scroll_y) + offset.y

    # ---- rendering
    def render_line(self, y: int) -> Strip:
        if self.first_render_at is None:
            self.first_render_at = time.perf_counter()
        if y == 0:
            self.last_top_render_at = time.perf_counter()
        scroll_x, scroll_y = self.scroll_offset
        i = scroll_y + y
        width = self.scrollable_content_region.width
        if i >= len(self.doc):
            return Strip.blank(width, self._styles()["base"])
        key = (i, i == self.cursor, i in self.slice_lines, scroll_x, width)
        strip = self._cache.get(key)
        if strip is None:
            if not self.doc.is_parsed(i):
                # classify the whole visible window in one go
                self.doc.parsed(scroll_y, scroll_y + self.size.height)
            strip = self._render(i, scroll_x, width)
            self._cache[key] = strip
        return strip

    def _styles(self) -> dict[str, Style]:
        """Rich styles of the component classes, resolved once per theme/style change."""
        st = self._style_cache
        if st is None:
            st = {g: self.get_component_rich_style(f"logview--{g}") for g in
                  (*GROUPS, "gutter", "cursor", "slice", "match", "state-part", "error-line")}
            st["base"] = self.rich_style
            self._style_cache = st
        return st

    def _render(self, i: int, scroll_x: int, width: int) -> Strip:
        st = self._styles()
        text = self.doc.lines[i]
        if len(text) > self.doc.width:
            # LogDoc measured a sample of the lines: widen the scrollable area lazily
            self.doc.width = len(text)
            self.call_after_refresh(self._widen)
        group = self.doc.group(i)
        extra = None
        if i == self.cursor:
            extra = st["cursor"]
        elif i in self.slice_lines:
            extra = st["slice"]
        elif i == self.error_line:
            extra = st["error-line"]
        elif self.search_term and self.search_term in text.lower():
            extra = st["match"]
        over = Style(bgcolor=extra.bgcolor, bold=extra.bold) if extra is not None else None

        def sty(name: str) -> Style:
            return st[name] + over if over is not None else st[name]
        gutter = str(i + 1).rjust(self._gutter) + " "
        if group == "insn" and ";" in text:
            head, _, tail = text.partition(";")
            parts = [(head, sty(group)), (";" + tail, sty("state-part"))]
        else:
            parts = [(text, sty(group))]
        if not text.isascii():
            strip = Strip([Segment(gutter, sty("gutter"))] + [Segment(t, s) for t, s in parts])
            return strip.crop_extend(0, width, sty("base") if over else st["base"])
        # ASCII (every verifier log line): crop by slicing, one Strip per line
        segs = [Segment(gutter, sty("gutter"))]
        room = width - len(gutter)
        x = scroll_x
        for t, s in parts:
            if x >= len(t):
                x -= len(t)
                continue
            piece = t[x:x + room]
            x = 0
            if piece:
                segs.append(Segment(piece, s))
                room -= len(piece)
            if room <= 0:
                break
        if room > 0:
            segs.append(Segment(" " * room, sty("base") if over else st["base"]))
        return Strip(segs, width)
