"""DiffView: two logs of one program side by side (Line API), aligned, first divergence marked.

Contract: `show(a_lines, b_lines, aligned)` takes two line lists and a
`tui_model.Aligned`; each row shows the left and right line (or nothing where one side has
no counterpart). Rows whose instruction lines differ are highlighted; the first divergence
is marked with `▶`. `goto_divergence()` scrolls to it.
"""
from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..tui_logdoc import Aligned


class DiffView(ScrollView, can_focus=True):
    BINDINGS = [Binding("up,k", "scroll_up", show=False), Binding("down,j", "scroll_down", show=False)]
    COMPONENT_CLASSES = {"diffview--gutter", "diffview--diverge", "diffview--only",
                         "diffview--first", "diffview--sep"}
    DEFAULT_CSS = """
    DiffView {
        background: $surface;
        color: $foreground;
        & > .diffview--gutter { color: $foreground-muted; }
        & > .diffview--diverge { background: $warning 20%; }
        & > .diffview--only { color: $foreground-muted; }
        & > .diffview--first { background: $error 30%; text-style: bold; }
        & > .diffview--sep { color: $foreground-muted; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.a: list[str] = []
        self.b: list[str] = []
        self.aligned = Aligned((), None)
        self._diff_rows: set[int] = set()

    def show(self, a: list[str], b: list[str], aligned: Aligned) -> None:
        self.a, self.b, self.aligned = a, b, aligned
        from ..tui_logdoc import _insn_key, _normalise_insn
        self._diff_rows = set()
        norm = _normalise_insn()
        for n, (i, j) in enumerate(aligned.rows):
            ka = _insn_key(a[i], norm) if i is not None else None
            kb = _insn_key(b[j], norm) if j is not None else None
            if (ka or kb) and ka != kb:
                self._diff_rows.add(n)
        self.virtual_size = Size(self.size.width, len(aligned.rows))
        self.scroll_to(y=0, animate=False, immediate=True)
        self.refresh()

    def goto_divergence(self) -> None:
        f = self.aligned.first_divergence
        if f is not None:
            h = max(1, self.scrollable_content_region.height)
            self.scroll_to(y=max(0, f - h // 3), animate=False, immediate=True)

    def render_line(self, y: int) -> Strip:
        _, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        n = scroll_y + y
        base = self.rich_style
        if n >= len(self.aligned.rows):
            return Strip.blank(width, base)
        i, j = self.aligned.rows[n]
        half = max(10, (width - 3) // 2)
        g = 7
        col = half - g

        def cell(lines, k):
            if k is None:
                return Segment(" " * g, base), Segment("".ljust(col), base)
            return (Segment(str(k + 1).rjust(g - 1) + " ", self.get_component_rich_style("diffview--gutter")),
                    Segment(lines[k][:col].ljust(col), base))
        first = n == self.aligned.first_divergence
        mark = "▶" if first else ("≠" if n in self._diff_rows else "│")
        segs = [*cell(self.a, i), Segment(f" {mark} ", self.get_component_rich_style("diffview--sep")),
                *cell(self.b, j)]
        strip = Strip(segs).crop_extend(0, width, base)
        over = None
        if first:
            over = self.get_component_rich_style("diffview--first")
        elif n in self._diff_rows:
            over = self.get_component_rich_style("diffview--diverge")
        if over is not None:
            o = Style(bgcolor=over.bgcolor, bold=over.bold)
            strip = Strip([Segment(s.text, (s.style or Style()) + o, s.control) for s in strip], strip.cell_length)
        return strip
