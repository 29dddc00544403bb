"""StatePane: registers and stack slots at the selected log line, changed ones marked.

Contract: `show(slots, changed, line)` fills the table from `LogDoc.state_at`; choosing a
row (Enter or a click) posts `StatePane.SliceRequested(name)` so the screen can highlight
the backward slice of that register or slot in the log.
"""
from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from ..tui_model import format_slot


VALUE_WIDTH = 44  # widest common state: map_value(map=...,ks=4,vs=4096,off=...)


class StatePane(DataTable):
    COMPONENT_CLASSES = DataTable.COMPONENT_CLASSES | {"statepane--changed"}
    DEFAULT_CSS = """
    StatePane {
        & > .statepane--changed { color: $text-warning; text-style: bold; }
    }
    """

    class SliceRequested(Message):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.line: int | None = None

    def on_mount(self) -> None:
        self.add_column(" ", key="mark", width=1)
        self.add_column("slot", key="slot", width=6)
        # A fixed width: an auto-sized column is measured when rows arrive, and whether
        # that happens before or after the first paint made the pane's layout differ
        # from one run to the next (seen in a snapshot test on a clean clone).
        self.add_column("value", key="value", width=VALUE_WIDTH)

    def show(self, slots, changed: set[str], line: int) -> None:
        self.line = line
        keep = None
        if self.row_count and self.cursor_row < self.row_count:
            keep = self.get_row_at(self.cursor_row)[1]
            keep = keep.plain if isinstance(keep, Text) else keep
        self.clear()
        style = self.get_component_rich_style("statepane--changed")
        target = 0
        for n, slot in enumerate(slots):
            ch = slot.name in changed
            value = format_slot(slot)
            self.add_row(Text("*", style) if ch else "", Text(slot.name, style) if ch else slot.name,
                         Text(value, style) if ch else value, key=slot.name)
            if slot.name == keep:
                target = n
        if self.row_count:
            self.move_cursor(row=target, animate=False)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key is not None and event.row_key.value:
            self.post_message(self.SliceRequested(event.row_key.value))
