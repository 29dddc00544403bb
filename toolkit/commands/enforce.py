"""`fqdnkit enforce`: run the in-kernel FQDN egress enforcer's agent.

Contract: `register(subparsers)` adds the subcommand; `run(args) -> int`.
  fqdnkit enforce --policy FILE (--cgroup PATH | --iface IF | both) [--resolver A[:P]] [--once]
      load (or adopt) the pinned programs/maps under /sys/fs/bpf/fqdnkit, attach to the
      cgroup (cgroup_skb, sockops) and/or the interface (tcx egress/ingress; IF is looked
      up in the agent's network namespace: run it there with nsenter --net=...), apply
      the policy atomically to each (with both: two workloads, one policy; a packet whose
      socket is in the cgroup belongs to the cgroup workload, everything else on IF to
      the interface workload). An interface workload learns from UDP DNS only (TCP DNS
      answers are parsed at the socket: --cgroup). Then stay in the foreground printing events
      (ring buffer, read every 200 ms and at once for drops: drops, rejects and evictions;
      learn events, one per (name, IP) that becomes live, with -v; every type counted in
      the closing "events:" line) and re-applying the policy file when it changes (SIGHUP too); a bad
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
    p.add_argument("--iface", help="workload network interface (in the agent's netns); "
                   "UDP DNS only, see docs/ENFORCER.md")
    p.add_argument("--resolver", action="append", default=[],
                   help="resolver address[:port] (adds to the policy's)")
    p.add_argument("--once", action="store_true", help="apply and exit instead of following events")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="also print learn events (one per (name, IP) that becomes live)")
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
        if w.get("kind") == "iface":
            what = (f"iface {w.get('iface', '?')} (ifindex {w.get('ifindex', '?')}, netns cookie "
                    f"{w.get('netns_cookie', '?')}, key {w['cgid']:#x}, "
                    f"{'attached' if w.get('attached') else 'NOT ATTACHED'}, ")
        else:
            what = f"cgroup {w.get('cgroup', '?')} (id {w['cgid']}, "
        print(f"workload {what}slot {w['slot']}, "
              f"generation {w.get('generation', '?')}){' AUDIT' if w['audit'] else ''}")
        print(f"  policy {w.get('file', '?')}: resolvers {', '.join(w.get('resolvers', []))}; "
              f"min_ttl {w['min_ttl']} s; per-name cap {w['per_name_cap']}")
        for n in w.get("names", []):
            print(f"    {n}")
    print("learned:")
    for ip in st["ips"]:
        print(f"  {ip['ip']:<40} {ip['name'] or '?':<40} "
              f"{'expired' if ip['expired'] else str(ip['ttl_left']) + ' s':<10} {ip['workload']}")
    print("counters:")
    for k, v in sorted(st["counters"].items()):
        print(f"  {k:<28} {v}")


def run(args) -> int:
    import os
    import signal
    import sys

    from ..enforcer.agent import EVENT_DRAIN_MS, Enforcer, EventSink, Workload
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
    if not args.policy or not (args.cgroup or args.iface):
        raise FqdnkitError("enforce needs --policy FILE and --cgroup PATH and/or --iface IF "
                           "(or --status / --detach)")
    if args.cgroup and not os.path.isdir(args.cgroup):
        raise FqdnkitError(f"{args.cgroup}: not a cgroup directory")
    workloads = []
    if args.cgroup:
        workloads.append(Workload.cgroup(args.cgroup))
    if args.iface:
        try:
            workloads.append(Workload.iface(args.iface))
        except OSError as e:
            raise FqdnkitError(f"--iface {args.iface}: {e.strerror or e}") from None
    try:
        pol = load_policy(args.policy, args.resolver)
    except PolicyError as e:
        raise FqdnkitError(str(e)) from None
    lock = enf.lock()
    slots, made = [], []
    try:
        how = enf.ensure_loaded()
        # policy first, links second: a fresh workload never runs the programs without a
        # policy (they would fail closed and drop its traffic meanwhile)
        for wl in workloads:
            slots.append(enf.apply_policy(wl, pol))
            made += enf.attach(wl.name) if wl.kind == "cgroup" else enf.attach_iface(wl)
    finally:
        os.close(lock)
    print(f"enforcer {how}; attached {', '.join(made) or 'nothing new (links pinned)'}; "
          f"policy {args.policy} in slot{'s' if len(slots) > 1 else ''} "
          f"{', '.join(map(str, slots))}", flush=True)
    if args.iface and not args.cgroup:
        print(f"note: --iface {args.iface} learns from UDP DNS only: TCP DNS queries to the "
              "resolvers pass but their answers teach nothing (TCP answers are parsed at the "
              "socket; add --cgroup for the workload's processes)", flush=True)
    if args.once:
        enf.close()
        return 0

    reload_flag = {"now": False, "stop": False}
    signal.signal(signal.SIGHUP, lambda *_: reload_flag.__setitem__("now", True))
    signal.signal(signal.SIGTERM, lambda *_: reload_flag.__setitem__("stop", True))
    signal.signal(signal.SIGINT, lambda *_: reload_flag.__setitem__("stop", True))

    # the callback only keeps the record; the batch is handled after each drain
    batch: list[bytes] = []
    sink = EventSink(sys.stdout, verbose=args.verbose, fmt=args.output)
    rb = RingBuffer(enf.map_fds["fqk_events"], batch.append)
    mtime = os.stat(args.policy).st_mtime_ns
    try:
        while not reload_flag["stop"]:
            # wakes at once for drops (the kernel forces that wake-up); other events are
            # submitted without one and read here at least every EVENT_DRAIN_MS
            rb.poll(EVENT_DRAIN_MS)
            rb.consume()
            if batch:
                sink.handle(batch)
                batch.clear()
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
                    slots = [enf.apply_policy(wl, pol) for wl in workloads]
                finally:
                    os.close(lock)
                print(f"policy reloaded into slot{'s' if len(slots) > 1 else ''} "
                      f"{', '.join(map(str, slots))}", flush=True)
    finally:
        rb.consume()
        if batch:
            sink.handle(batch)
        print(sink.summary(), flush=True)
        rb.close()
        enf.close()
    return 0
