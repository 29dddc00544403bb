"""SourceView: the program's C source (Line API), the failing line and the selected line marked.

Contract: `SourceView()` starts empty; `show(info)` takes a `tui_model.SourceInfo`
(file lines and the 1-based failing line); `mark(line)` marks the C line of the selected
log line and scrolls to it. Colours are theme variables through component classes.
"""
from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..build import display_path
from ..tui_model import SourceInfo


class SourceView(ScrollView, can_focus=True):
    COMPONENT_CLASSES = {"sourceview--gutter", "sourceview--failing", "sourceview--marked",
                         "sourceview--note"}
    DEFAULT_CSS = """
    SourceView {
        background: $surface;
        color: $foreground;
        & > .sourceview--gutter { color: $foreground-muted; }
        & > .sourceview--failing { background: $error 30%; color: $text-error; text-style: bold; }
        & > .sourceview--marked { background: $accent 30%; }
        & > .sourceview--note { color: $foreground-muted; text-style: italic; }
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.info = SourceInfo(None, (), None, "no program selected")
        self.marked: int | None = None
        self._gutter = 5

    def show(self, info: SourceInfo) -> None:
        self.info = info
        self._gutter = len(str(max(1, len(info.lines)))) + 3
        width = self._gutter + max((len(l.expandtabs(8)) for l in info.lines), default=0)
        self.virtual_size = Size(width, max(1, len(info.lines)))
        self.border_subtitle = display_path(info.path) if info.path else ""
        if info.failing_line:
            self._center(info.failing_line)
        self.refresh()

    def mark(self, line: int | None) -> None:
        if line == self.marked:
            return
        self.marked = line
        if line:
            top = int(self.scroll_y)
            h = max(1, self.scrollable_content_region.height)
            if not top <= line - 1 < top + h:
                self._center(line)
        self.refresh()

    def _center(self, line: int) -> None:
        h = max(1, self.scrollable_content_region.height)
        self.scroll_to(y=max(0, line - 1 - h // 2), animate=False, immediate=True)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        if not self.info.lines:
            if y == 0:
                note = self.get_component_rich_style("sourceview--note")
                return Strip([Segment(self.info.note, note)]).crop_extend(0, width, base)
            return Strip.blank(width, base)
        i = scroll_y + y
        if i >= len(self.info.lines):
            return Strip.blank(width, base)
        n = i + 1
        flag = "▶" if n == self.info.failing_line else ("›" if n == self.marked else " ")
        gutter = Segment(f"{flag}{str(n).rjust(self._gutter - 3)}  ",
                         self.get_component_rich_style("sourceview--gutter"))
        body = Segment(self.info.lines[i].expandtabs(8), base)
        strip = Strip([gutter, body]).crop_extend(scroll_x, scroll_x + width, base)
        over = None
        if n == self.info.failing_line:
            over = self.get_component_rich_style("sourceview--failing")
        elif n == self.marked:
            over = self.get_component_rich_style("sourceview--marked")
        if over is not None:
            overlay = Style(bgcolor=over.bgcolor, bold=over.bold, color=over.color)
            strip = Strip([Segment(s.text, (s.style or Style()) + overlay, s.control) for s in strip],
                          strip.cell_length)
        return strip
