"""`fqdnkit dns-parse FILE... [--tcp] [--output json]`: the enforcer's in-kernel DNS parser
on raw messages, through BPF_PROG_TEST_RUN (the same BPF code, not a Python copy).

Contract: `register(subparsers)` adds the subcommand; `run(args) -> int`. Each FILE holds
one DNS message (wire bytes); with --tcp the files are consecutive segments of one TCP
stream with 2-byte length prefixes. Prints one entry per message: {"file", "valid",
"qname", "learned": [{"ip", "ttl"}], "reason"}. Exit 0 when every message is valid, 1 when
some is not, 2 on usage/I-O errors. Needs root and `make build`.
"""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("dns-parse", help="run the in-kernel DNS response parser on files",
                              description=__doc__.split("\n\n", 1)[1])
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--tcp", action="store_true",
                   help="files are consecutive segments of one TCP stream (length-prefixed)")
    p.add_argument("--output", choices=["text", "json"], default="text")
    p.set_defaults(func=run)


def run(args) -> int:
    import json

    from ..enforcer.harness import Harness
    from ..model import FqdnkitError

    data = []
    for f in args.files:
        try:
            with open(f, "rb") as fh:
                data.append((f, fh.read()))
        except OSError as e:
            raise FqdnkitError(f"{f}: {e.strerror}") from None
    with Harness() as h:
        if args.tcp:
            entries = h.parse_tcp(data)
        else:
            entries = [h.parse_udp(f, d) for f, d in data]
    if args.output == "json":
        print(json.dumps(entries, indent=1))
    else:
        for e in entries:
            if e["valid"]:
                ips = ", ".join(f"{x['ip']} ({x['ttl']} s)" for x in e["learned"]) or "nothing"
                print(f"{e['file']}: {e['qname']}: learned {ips}")
            else:
                print(f"{e['file']}: invalid: {e['reason']}")
    return 0 if all(e["valid"] for e in entries) else 1
