"""`fqdnkit tui`: an interactive terminal UI over the verifier's verdicts.

Programs with verdicts and statistics (loaded in the background), then per program the
verifier log, the C source with the failing line, the register state at any log line,
backward slices and the diagnosis; rebuild-and-reload of the C source; the same program
on two kernels (verifier_logs/); the running enforcer's state. With no path, the reference
objects under build/. Paths may be objects, directories, C sources (compiled with clang,
or bcc with --bcc) and recorded verifier logs (.log, .log.gz). Loading needs root; logs do not.
"""
from __future__ import annotations

import argparse
import tempfile


def register(sub) -> None:
    p = sub.add_parser("tui", help="interactive terminal UI: verdicts, logs, source, state, diagnosis",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="*", metavar="OBJECT|DIR|SOURCE|LOG")
    p.add_argument("--bcc", action="store_true", help="compile .c sources with bcc instead of clang")
    p.add_argument("--prog-type", default="sched_cls", help="program type for bcc sources")
    p.add_argument("--corpus", default=None, metavar="DIR",
                   help="verifier_logs directory for the kernel diff (default: the repository's)")
    p.add_argument("--pin-dir", default="/sys/fs/bpf/fqdnkit", help="the enforcer's bpffs pins")
    p.add_argument("--theme", default=None,
                   help="Textual theme, e.g. textual-light for light terminals (default textual-dark; "
                        "switch at run time from the command palette, Ctrl+P)")
    p.add_argument("--no-load", action="store_true",
                   help="do not load anything (show objects' programs and recorded logs only)")
    p.set_defaults(func=run)


def run(args) -> int:
    from toolkit.build import REPO_ROOT
    from toolkit.tui_model import expand_inputs, load_entry
    from toolkit.tui.app import FqdnkitApp

    with tempfile.TemporaryDirectory(prefix="fqdnkit-tui-") as tmp:
        entries = expand_inputs(args.paths, tmp, bcc=args.bcc)
        load = None if args.no_load else (
            lambda e, level: load_entry(e, level=level, prog_type=args.prog_type))
        # one recorded log: straight to its program screen
        single_log = len(entries) == 1 and entries[0].kind == "log"
        app = FqdnkitApp(entries, load_fn=load, tmp_dir=tmp,
                         corpus_root=args.corpus or str(REPO_ROOT / "verifier_logs"),
                         pin_dir=args.pin_dir, open_first=single_log)
        if args.theme:
            if args.theme not in app.available_themes:
                from toolkit.model import FqdnkitError
                raise FqdnkitError(f"unknown theme {args.theme!r}; one of: "
                                   + ", ".join(sorted(app.available_themes)))
            app.theme = args.theme
        app.run()
        return int(app.return_code or 0)
