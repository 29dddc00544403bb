"""The `fqdnkit` command line: a thin dispatcher over subcommand modules.

Contract: each module in COMMANDS exposes `register(subparsers)` that adds one subcommand
with `func=run(args) -> int`. Command modules import heavy libraries (lark, textual, bcc)
inside `run`, so `fqdnkit --help` and fast commands stay fast. Exit codes: 0 success,
1 a result that is not what was expected, 2 usage or I/O error (FqdnkitError, OSError).
"""
from __future__ import annotations

import argparse
import importlib
import sys

from .model import FqdnkitError

COMMANDS = ["check", "explain", "parse", "diff", "capture", "enforce", "dns_parse", "tui", "bench"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fqdnkit", description=(
        "eBPF verifier-debugging toolkit with an in-kernel FQDN egress enforcer"))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f"toolkit.commands.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"toolkit.commands.{name}":
                continue  # command not part of this build
            raise
        mod.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except FqdnkitError as e:
        print(f"fqdnkit: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"fqdnkit: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
