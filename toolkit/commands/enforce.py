"""`fqdnkit enforce`: run the in-kernel FQDN egress enforcer's agent.

Contract: `register(subparsers)` adds the subcommand; `run(args) -> int`.
  fqdnkit enforce --policy FILE --cgroup PATH [--resolver A[:P]] [--once]
      load (or adopt) the pinned programs/maps under /sys/fs/bpf/fqdnkit, attach to the
      cgroup, apply the policy atomically, then stay in the foreground printing events
      (ring buffer) and re-applying the policy file when it changes (SIGHUP too); a bad
      new policy is reported and the one in force stays. --once exits after applying.
      The agent can be killed at any time: the kernel side keeps enforcing.
  fqdnkit enforce --status [--output json]   policy, learned IPs with TTL left, counters
  fqdnkit enforce --detach                   remove every link, pin and state file
Exit codes: 0 ok, 2 usage/I-O/policy error.
"""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser("enforce", help="run the in-kernel FQDN egress enforcer agent",
                              description=__doc__.split("\n\n", 1)[1],
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--policy", help="CiliumNetworkPolicy (toFQDNs) or native policy YAML")
    p.add_argument("--cgroup", help="workload cgroup v2 directory")
    p.add_argument("--iface", help="not supported: workloads are cgroups (see docs/ENFORCER.md)")
    p.add_argument("--resolver", action="append", default=[],
                   help="resolver address[:port] (adds to the policy's)")
    p.add_argument("--once", action="store_true", help="apply and exit instead of following events")
    p.add_argument("--status", action="store_true", help="show the running enforcer's state")
    p.add_argument("--detach", action="store_true", help="remove everything the enforcer pinned")
    p.add_argument("--pin-dir", default="/sys/fs/bpf/fqdnkit", help=argparse.SUPPRESS)
    p.add_argument("--output", choices=["text", "json"], default="text")
    p.set_defaults(func=run)


def _print_status(st: dict, fmt: str) -> None:
    import json
    if fmt == "json":
        print(json.dumps(st, indent=1))
        return
    for w in st["workloads"]:
        print(f"workload cgroup {w.get('cgroup', '?')} (id {w['cgid']}, slot {w['slot']}, "
              f"generation {w.get('generation', '?')}){' AUDIT' if w['audit'] else ''}")
        print(f"  policy {w.get('file', '?')}: resolvers {', '.join(w.get('resolvers', []))}; "
              f"min_ttl {w['min_ttl']} s; per-name cap {w['per_name_cap']}")
        for n in w.get("names", []):
            print(f"    {n}")
    print("learned:")
    for ip in st["ips"]:
        print(f"  {ip['ip']:<40} {ip['name'] or '?':<40} "
              f"{'expired' if ip['expired'] else str(ip['ttl_left']) + ' s'}")
    print("counters:")
    for k, v in sorted(st["counters"].items()):
        print(f"  {k:<28} {v}")


def run(args) -> int:
    import json
    import os
    import signal
    import sys

    from ..enforcer.agent import Enforcer, decode_event
    from ..enforcer.bpfsys import RingBuffer
    from ..enforcer.policy import PolicyError, load_policy
    from ..model import FqdnkitError

    enf = Enforcer(args.pin_dir)
    if args.detach:
        lock = enf.lock()
        try:
            removed = enf.detach_all()
            enf.unlink_lock()
        finally:
            os.close(lock)
        print(f"removed {len(removed)} pins" if removed else "nothing pinned")
        return 0
    if args.status:
        if not enf.is_loaded():
            raise FqdnkitError(f"{args.pin_dir}: no enforcer pinned (start one with fqdnkit enforce)")
        enf._open_pins()
        _print_status(enf.status(), args.output)
        return 0
    if args.iface:
        raise FqdnkitError("--iface: per-interface workloads are not implemented; use --cgroup")
    if not args.policy or not args.cgroup:
        raise FqdnkitError("enforce needs --policy FILE and --cgroup PATH (or --status / --detach)")
    if not os.path.isdir(args.cgroup):
        raise FqdnkitError(f"{args.cgroup}: not a cgroup directory")
    try:
        pol = load_policy(args.policy, args.resolver)
    except PolicyError as e:
        raise FqdnkitError(str(e)) from None
    lock = enf.lock()
    try:
        how = enf.ensure_loaded()
        # policy first, links second: a fresh cgroup never runs the programs without a
        # policy (they would fail closed and drop its traffic meanwhile)
        slot = enf.apply_policy(args.cgroup, pol)
        made = enf.attach(args.cgroup)
    finally:
        os.close(lock)
    print(f"enforcer {how}; attached {', '.join(made) or 'nothing new (links pinned)'}; "
          f"policy {args.policy} in slot {slot}", flush=True)
    if args.once:
        enf.close()
        return 0

    reload_flag = {"now": False, "stop": False}
    signal.signal(signal.SIGHUP, lambda *_: reload_flag.__setitem__("now", True))
    signal.signal(signal.SIGTERM, lambda *_: reload_flag.__setitem__("stop", True))
    signal.signal(signal.SIGINT, lambda *_: reload_flag.__setitem__("stop", True))

    def on_event(data: bytes) -> None:
        ev = decode_event(data)
        if args.output == "json":
            print(json.dumps(ev), flush=True)
        else:
            print(f"{ev['type']:<6} {ev['reason']:<24} {ev['ip']:<20} {ev['name']}", flush=True)

    rb = RingBuffer(enf.map_fds["fqk_events"], on_event)
    mtime = os.stat(args.policy).st_mtime_ns
    try:
        while not reload_flag["stop"]:
            rb.poll(500)
            try:
                m = os.stat(args.policy).st_mtime_ns
            except OSError:
                m = mtime
            if m != mtime or reload_flag["now"]:
                mtime, reload_flag["now"] = m, False
                try:
                    pol = load_policy(args.policy, args.resolver)
                except PolicyError as e:
                    print(f"fqdnkit: policy not applied, the previous one stays: {e}",
                          file=sys.stderr, flush=True)
                    continue
                lock = enf.lock()
                try:
                    slot = enf.apply_policy(args.cgroup, pol)
                finally:
                    os.close(lock)
                print(f"policy reloaded into slot {slot}", flush=True)
    finally:
        rb.close()
        enf.close()
    return 0
