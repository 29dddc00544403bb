"""ProgramsTable: one row per program with verdict and verifier statistics, sortable.

Contract: `set_entry(entry)` adds or updates the row keyed by `entry.key`; clicking a
column header (or `o` on the column under the cursor) sorts by it, again reverses.
Expected failures (negative twins rejected as annotated) are marked as such.
"""
from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from ..build import display_path
from ..tui_model import ProgramEntry, log_level_of, stat_cells

COLUMNS = [("verdict", "Verdict", 22), ("object", "Object", 36), ("program", "Program", 22),
           ("type", "Type", 10), ("insns", "Insns", 7), ("states", "States", 6),
           ("peak", "Peak", 5), ("time", "Time µs", 7), ("stack", "Stack", 6),
           ("prog_insns", "Prog", 5), ("log", "Log", 7)]
NUMERIC = {"insns", "states", "peak", "time", "prog_insns"}


class ProgramsTable(DataTable):
    BINDINGS = [Binding("o", "sort_column", "Sort by column")]
    COMPONENT_CLASSES = DataTable.COMPONENT_CLASSES | {
        "programs--accepted", "programs--rejected", "programs--expected", "programs--pending",
        "programs--error"}
    DEFAULT_CSS = """
    ProgramsTable {
        height: 1fr;
        & > .programs--accepted { color: $text-success; }
        & > .programs--rejected { color: $text-error; text-style: bold; }
        & > .programs--expected { color: $text-warning; }
        & > .programs--pending { color: $foreground-muted; }
        & > .programs--error { color: $text-error; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.sort_key: str | None = None
        self.sort_reverse = False

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    def cells(self, e: ProgramEntry) -> list:
        status = e.status
        if status == "accepted":
            ok = e.result.as_expected
            verdict = Text("✓ accepted" + ("" if ok else "  NOT EXPECTED"),
                           self.get_component_rich_style("programs--accepted" if ok else "programs--rejected"))
        elif status == "rejected":
            if e.expected_failure and e.result.as_expected:
                verdict = Text("✗ rejected (expected)", self.get_component_rich_style("programs--expected"))
            else:
                verdict = Text("✗ rejected" + ("" if e.result.as_expected else "  NOT EXPECTED"),
                               self.get_component_rich_style("programs--rejected"))
        elif status == "error":
            verdict = Text("! " + (e.error or "error").splitlines()[0][:60],
                           self.get_component_rich_style("programs--error"))
        else:
            verdict = Text("… loading" if status == "loading" else "· pending",
                           self.get_component_rich_style("programs--pending"))
        ptype = (e.result.prog_type if e.result else "") or (e.spec.prog_type if e.spec else "")
        if e.kind == "log" and e.result is not None:
            # a recorded log: <kernel> · <object stem>, the corpus layout's two directories
            where = f"{e.result.kernel_release} · {Path(e.object).parent.name}"
        else:
            where = display_path(e.object)
        if e.result is None:
            log = ""
        elif e.kind == "log":
            log = "file"
        else:
            log = "level 2" if log_level_of(e.result) >= 2 else "level 1"
        return [verdict, where, e.program or "(bcc: all functions)", ptype,
                *stat_cells(e.result), log]

    def set_entry(self, e: ProgramEntry, loading: bool = False) -> None:
        cells = self.cells(e)
        if loading:
            cells[0] = Text("… loading", self.get_component_rich_style("programs--pending"))
        if e.key in self.rows:
            for (key, _, _), value in zip(COLUMNS, cells):
                self.update_cell(e.key, key, value)
        else:
            self.add_row(*cells, key=e.key)

    def remove_entry(self, key: str) -> None:
        if key in self.rows:
            self.remove_row(key)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by(event.column_key.value)

    def action_sort_column(self) -> None:
        key = list(self.columns)[self.cursor_column].value if self.columns else None
        if key:
            self.sort_by(key)

    def sort_by(self, key: str) -> None:
        self.sort_reverse = (not self.sort_reverse) if self.sort_key == key else False
        self.sort_key = key

        def value(cell):
            s = cell.plain if isinstance(cell, Text) else str(cell)
            if key in NUMERIC:
                try:
                    return (0, int(s))
                except ValueError:
                    return (1, 0)
            return (0, s)
        self.sort(key, key=value, reverse=self.sort_reverse)
        self.notify(f"sorted by {key}" + (" (descending)" if self.sort_reverse else ""), timeout=1.5)
