"""The agent's events (toolkit/commands/enforce.py, EventSink in toolkit/enforcer/agent.py):
drops are printed at once, learn events only with -v and once per (name, IP) that becomes
live, every type counted in the closing line; --status counts every learned answer."""
from __future__ import annotations

import signal
import time

import pytest

from toolkit.enforcer import maps
from toolkit.enforcer.agent import EventSink, decode_event


def _event(etype: int, reason: int = 0, ip: bytes = bytes(10) + b"\xff\xff\x0a\x00\x00\x01",
           name: bytes = b"a.test") -> bytes:
    e = maps.Event(type=etype, reason=reason, cgid=7)
    e.ip[:] = list(ip)
    e.name[:len(name)] = list(name)
    return maps.to_bytes(e)


class _Out:
    def __init__(self):
        self.text, self.flushes = "", 0

    def write(self, s):
        self.text += s

    def flush(self):
        self.flushes += 1


def test_event_sink_counts_everything_prints_learn_only_when_verbose():
    batch = [_event(maps.EV_LEARN), _event(maps.EV_DROP), _event(maps.EV_LEARN),
             _event(maps.EV_REJECT), _event(maps.EV_EVICT)]
    assert decode_event(batch[0])["type"] == "learn"    # the type offset EventSink reads
    out = _Out()
    sink = EventSink(out)
    assert sink.handle(batch) == 3
    lines = out.text.splitlines()
    assert [ln.split()[0] for ln in lines] == ["drop", "reject", "evict"]
    assert out.flushes == 1                               # one write per batch
    assert sink.counts == {"learn": 2, "drop": 1, "reject": 1, "evict": 1}
    assert sink.summary().startswith("events: drop 1, evict 1, learn 2, reject 1")
    assert "-v prints them" in sink.summary()
    out = _Out()
    verbose = EventSink(out, verbose=True, fmt="json")
    assert verbose.handle(batch) == 5
    assert '"type": "learn"' in out.text.splitlines()[0]
    assert sink.handle([]) == 0


@pytest.mark.root
def test_agent_reports_drops_promptly_and_learns_once_per_live_pair(lab, agent):
    agent.start("-v")
    # a.test (TTL 3) answered twice while live: one learn event, two learned answers
    assert lab.dig("a.test") == ["10.77.1.1"]
    assert lab.dig("a.test") == ["10.77.1.1"]
    line = agent.wait_output("learn ", timeout=3)
    assert "a.test" in line and "10.77.1.1" in line
    # a denied connection: its drop event wakes the agent at once (not the drain timer)
    t0 = time.monotonic()
    assert not lab.connect("10.77.1.2", timeout=0.3)
    line = agent.wait_output("drop ", timeout=2)
    assert "10.77.1.2" in line and time.monotonic() - t0 < 1.5
    c = agent.status()["counters"]
    assert c["FQK_LEARNED"] == 2 and c["FQK_DROP_NOT_LEARNED"] >= 1
    learns = [ln for ln in agent.lines if ln.startswith("learn ")]
    assert len(learns) == 1, agent.lines
    # after the TTL ran out the pair becomes live again: a second learn event
    time.sleep(3.3)
    assert lab.dig("a.test") == ["10.77.1.1"]
    agent.wait_output("learn ", timeout=3)
    agent.proc.send_signal(signal.SIGTERM)
    rest = agent.proc.communicate(timeout=10)[0]
    assert "events: " in rest and "learn 2" in rest, rest


@pytest.mark.root
def test_learn_events_not_printed_by_default_but_counted(lab, agent):
    agent.start()
    assert lab.dig("a.test") == ["10.77.1.1"]
    assert lab.dig("long.test")
    assert agent.status()["counters"]["FQK_LEARNED"] >= 2
    time.sleep(0.5)                 # > one drain period
    agent.proc.send_signal(signal.SIGTERM)
    rest = agent.proc.communicate(timeout=10)[0]
    assert not any(ln.startswith("learn ") for ln in rest.splitlines()), rest
    assert "learn 2" in rest and "-v prints them" in rest, rest
