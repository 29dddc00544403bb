"""HelpScreen: a modal listing every key of every screen and what the colours mean."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# fqdnkit tui

**Programs** — `↑/↓` move, `Enter`/click open, click a column header or `o` sort
(again: reverse), `d` kernels diff, `R` reload all, `E` enforcer, `?` help, `q` quit.

**Program** — the log (left), C source, state at the cursor and diagnosis (right).

| key | action |
|-----|--------|
| `↑/↓ j/k`, `PgUp/PgDn`, `g/G` | move in the log (mouse: click a line, wheel scrolls) |
| `e` | jump to the verifier's error |
| `]` / `[` | next / previous path (`from X to Y`) |
| `/`, `n` / `N` | search, next / previous match |
| `s`, then `Enter` on a register | backward slice of that register (`x` clears) |
| `r` | rebuild the C source and reload the program |
| `w` | watch the source: rebuild on every save |
| `d` | the same program on two kernels |
| `m` | maximize the diagnosis pane (ours and, on 7.3 logs, the kernel's report) |
| `Tab` | next pane, `Esc` back |

Colours: error lines and the failing C line in the error colour, the selected C line in
the accent colour, slice lines in the warning colour, unrecognised log lines dimmed.
Switch theme (dark/light) from the command palette (`Ctrl+P`) or start with
`fqdnkit tui --theme textual-light`.

**Diff** — `a`/`b` change the left/right kernel, `f` first divergence.
"""


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,question_mark", "app.pop_screen", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90; height: 80%; border: round $accent; background: $surface; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(HELP)
