"""A user-space DNS proxy that enforces a toFQDNs policy: the design fqdnkit replaces.

What it is, exactly (this is what BENCHMARKS.md's "proxy" rows measure): one Python 3.11
asyncio process (one thread) listening on UDP and TCP port 53 of its own address. Each
UDP query is forwarded over one shared UDP socket to the upstream resolver (unbound),
with the DNS id rewritten to a proxy-chosen id and mapped back; each TCP client
connection gets one upstream TCP connection, messages pipelined with 2-byte framing.
Every answer is parsed with dnspython (`dns.message.from_wire`); if the question name is
allowed by the policy (fqdnpolicy.Matcher, Cilium toFQDNs semantics), the A/AAAA
addresses reachable from the question name through answer-section CNAMEs are written to
the data plane's allow-list (a BPF hash map pinned by the benchmark, checked by
reference_bpf/bench/allowlist.bpf.c on the workload's cgroup egress), key the IP, value
its expiry (CLOCK_BOOTTIME ns, now + max(TTL, min-TTL)), and only then (in the default
`sync` mode) is the answer sent to the client. A question for a name the policy does not
allow is answered REFUSED, as Cilium's proxy does by default. In `async` mode the answer
is sent first and the allow-list written right after (a proxy that hands datapath
updates to another task): the race benchmark shows what that costs.

Run: python -m toolkit.bench.dnsproxy --listen IP --upstream IP --policy FILE
     --allow-map /sys/fs/bpf/PIN [--mode sync|async] [--min-ttl S]
It prints "ready" on stdout once both listeners are up and counters as JSON on SIGTERM.
"""
from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import signal
import struct
import sys
import time

import dns.flags
import dns.message
import dns.rcode

from toolkit import libbpf

from .fqdnpolicy import Matcher, load_patterns
from .oracle import learned_from_message


class AllowList:
    """The pinned BPF hash map {16-byte IP (v4-mapped)} -> expiry ns."""

    def __init__(self, pin: str | None):
        self.fd = libbpf.obj_get(pin) if pin else None
        self.writes = 0

    def allow(self, ip: str, ttl: int) -> None:
        a = ipaddress.ip_address(ip)
        key = ipaddress.IPv6Address("::ffff:" + ip).packed if a.version == 4 else a.packed
        exp = time.clock_gettime_ns(time.CLOCK_BOOTTIME) + ttl * 1_000_000_000
        if self.fd is not None:
            libbpf.map_update(self.fd, key, struct.pack("=Q", exp))
        self.writes += 1


class Proxy:
    def __init__(self, upstream: tuple[str, int], matcher: Matcher, allow: AllowList,
                 mode: str = "sync", min_ttl: int = 0):
        self.upstream = upstream
        self.matcher = matcher
        self.allow = allow
        self.mode = mode
        self.min_ttl = min_ttl
        self.stats = {"udp_queries": 0, "tcp_queries": 0, "answers": 0, "refused": 0,
                      "parse_errors": 0, "ips_programmed": 0}

    # -- policy -------------------------------------------------------------------------
    def refuse(self, query: bytes) -> bytes | None:
        """A REFUSED answer if the query's name is not allowed, else None."""
        try:
            q = dns.message.from_wire(query)
        except Exception:       # noqa: BLE001 - any unparsable query is refused
            self.stats["parse_errors"] += 1
            return None
        if len(q.question) == 1 and self.matcher.allows(q.question[0].name.to_text()):
            return None
        self.stats["refused"] += 1
        r = dns.message.make_response(q)
        r.set_rcode(dns.rcode.REFUSED)
        return r.to_wire()

    def program(self, answer: bytes) -> None:
        try:
            msg = dns.message.from_wire(answer)
        except Exception:       # noqa: BLE001 - a bad answer teaches nothing, counted
            self.stats["parse_errors"] += 1
            return
        self.stats["answers"] += 1
        if len(msg.question) != 1 or not self.matcher.allows(msg.question[0].name.to_text()):
            return
        for ip, ttl in learned_from_message(msg):
            self.allow.allow(ip, max(ttl, self.min_ttl))
            self.stats["ips_programmed"] += 1

    def deliver(self, answer: bytes, send) -> None:
        if self.mode == "sync":
            self.program(answer)
            send(answer)
        else:
            send(answer)
            asyncio.get_running_loop().call_soon(self.program, answer)


class UdpFront(asyncio.DatagramProtocol):
    def __init__(self, proxy: Proxy):
        self.p = proxy
        self.pending: dict[int, tuple[tuple, bytes]] = {}
        self.next_id = 0
        self.up = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        if len(data) < 12:
            return
        self.p.stats["udp_queries"] += 1
        ref = self.p.refuse(data)
        if ref is not None:
            self.transport.sendto(ref, addr)
            return
        self.next_id = (self.next_id + 1) & 0xFFFF
        self.pending[self.next_id] = (addr, data[:2])
        self.up.sendto(struct.pack("!H", self.next_id) + data[2:])

    def answer(self, data: bytes) -> None:
        if len(data) < 12:
            return
        (pid,) = struct.unpack("!H", data[:2])
        ent = self.pending.pop(pid, None)
        if ent is None:
            return
        addr, orig = ent
        data = orig + data[2:]
        self.p.deliver(data, lambda d: self.transport.sendto(d, addr))


class UdpBack(asyncio.DatagramProtocol):
    def __init__(self, front: UdpFront):
        self.front = front

    def datagram_received(self, data: bytes, addr) -> None:
        self.front.answer(data)


async def _read_frame(reader: asyncio.StreamReader) -> bytes | None:
    try:
        hdr = await reader.readexactly(2)
        return await reader.readexactly(struct.unpack("!H", hdr)[0])
    except (asyncio.IncompleteReadError, ConnectionError):
        return None


async def tcp_client(p: Proxy, reader, writer) -> None:
    try:
        ur, uw = await asyncio.open_connection(*p.upstream)
    except OSError:
        writer.close()
        return

    def send(d: bytes) -> None:
        writer.write(struct.pack("!H", len(d)) + d)

    async def back():
        while True:
            ans = await _read_frame(ur)
            if ans is None:
                break
            p.deliver(ans, send)
        writer.close()

    task = asyncio.create_task(back())
    try:
        while True:
            q = await _read_frame(reader)
            if q is None:
                break
            p.stats["tcp_queries"] += 1
            ref = p.refuse(q)
            if ref is not None:
                send(ref)
                continue
            uw.write(struct.pack("!H", len(q)) + q)
    finally:
        uw.close()
        await asyncio.gather(task, return_exceptions=True)


async def serve(args) -> None:
    proxy = Proxy((args.upstream, args.upstream_port), load_patterns(args.policy),
                  AllowList(args.allow_map), args.mode, args.min_ttl)
    loop = asyncio.get_running_loop()
    front = UdpFront(proxy)
    await loop.create_datagram_endpoint(lambda: front, local_addr=(args.listen, args.port))
    up, _ = await loop.create_datagram_endpoint(lambda: UdpBack(front),
                                                remote_addr=(args.upstream, args.upstream_port))
    front.up = up
    server = await asyncio.start_server(lambda r, w: tcp_client(proxy, r, w), args.listen, args.port,
                                        backlog=512)
    stop = asyncio.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    print("ready", flush=True)
    await stop.wait()
    server.close()
    print(json.dumps(proxy.stats), flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", required=True)
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--upstream-port", type=int, default=53)
    ap.add_argument("--policy", required=True)
    ap.add_argument("--allow-map", help="pinned BPF hash map to program (none: count only)")
    ap.add_argument("--mode", choices=("sync", "async"), default="sync")
    ap.add_argument("--min-ttl", type=int, default=0)
    args = ap.parse_args(argv)
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
