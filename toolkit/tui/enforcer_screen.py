"""EnforcerScreen: the running enforcer's learned IPs (TTL left) and drop counters, live.

Contract: reads `tui_model.enforcer_status(app.pin_dir)` every second; when nothing is
pinned under the pin directory it says that no enforcer is running and how to start one.
"""
from __future__ import annotations

from textual.app import ComposeResult
from textual.content import Content
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static



class EnforcerScreen(Screen):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]
    DEFAULT_CSS = """
    EnforcerScreen #enf-status { height: auto; padding: 1 2; }
    EnforcerScreen DataTable { height: 1fr; }
    EnforcerScreen #counters { height: auto; padding: 0 2; }
    """

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="enf-status")
        yield DataTable(id="ips", cursor_type="row", zebra_stripes=True)
        yield Static("", id="counters")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "enforcer"
        t = self.query_one("#ips", DataTable)
        t.add_column("workload", key="cgid", width=24)
        t.add_column("IP", key="ip", width=40)
        t.add_column("name", key="name", width=50)
        t.add_column("TTL left (s)", key="ttl", width=12)
        self.refresh_status()
        self.set_interval(self.app.enforcer_interval, self.refresh_status)

    def refresh_status(self) -> None:
        st = self.app.status_fn(self.app.pin_dir)
        box = self.query_one("#enf-status", Static)
        table = self.query_one("#ips", DataTable)
        if st is None:
            box.update(f"[b $text-warning]no enforcer running[/]: nothing is pinned under "
                       f"{self.app.pin_dir}\n[$foreground-muted]start one with "
                       f"`fqdnkit enforce …`; this screen refreshes every "
                       f"{self.app.enforcer_interval:g} s.[/]")
            table.display = False
            self.query_one("#counters", Static).update("")
            return
        table.display = True
        wl = st.get("workloads") or []
        parts = [("enforcer running", "b $text-success"),
                 f": {len(wl)} workloads, {len(st['ips'])} learned IPs; pins under {self.app.pin_dir}: "
                 f"{', '.join(st['pins'])}"]
        if st.get("note"):
            parts += ["\n", (st["note"], "$text-warning")]
        box.update(Content.assemble(*parts))
        table.clear()
        for ip in st["ips"]:
            ttl = ip.get("ttl_left")
            ttl_cell = ("expired" if ip.get("expired") else
                        (f"{ttl:.1f}" if isinstance(ttl, (int, float)) else str(ttl or "")))
            # "cgroup 1234" or "iface ifindex 3 netns 5" (maps.workload_text), not the raw key
            wl = ip.get("workload") or (f"cgroup {ip['cgid']}" if "cgid" in ip else "")
            table.add_row(wl, str(ip.get("ip", "?")), str(ip.get("name", "")), ttl_cell)
        counters = st.get("counters") or {}
        parts = [("drop/allow counters: ", "b")]
        for k, v in counters.items():
            parts += [(str(k), "b $text-accent"), f" {v}   "]
        if not counters:
            parts.append(("none yet", "$foreground-muted"))
        self.query_one("#counters", Static).update(Content.assemble(*parts))
