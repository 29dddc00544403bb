"""Fixtures of the enforcer tests: a network lab with unbound and an agent per test.

Every fixture removes what it made (netns, cgroup, processes, pins) even on failure.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
FQDNKIT = [sys.executable, "-m", "toolkit.cli"]
sys.path.insert(0, str(HERE))

from lab import RESOLVER4, RESOLVER6, WL_IFACE, Lab  # noqa: E402

POLICY = f"""resolvers: ["{RESOLVER4}:53", "[{RESOLVER6}]:53"]
min_ttl: 0
names:
  - a.test
  - alias.test
  - long.test
  - matchPattern: "*.pat.test"
"""


@pytest.fixture(scope="session")
def enforcer_build():
    objs = [REPO / "build" / "enforcer" / f"{n}.bpf.o" for n in
            ("cgroup_egress", "cgroup_ingress", "sockops", "sk_skb", "dns_parse_test",
             "tc_egress", "tc_ingress")]
    if not all(o.exists() for o in objs):
        subprocess.run(["make", "-C", str(REPO), "build"], check=True, capture_output=True)
    return objs


@pytest.fixture
def lab(enforcer_build):
    with Lab() as lab_:
        yield lab_


class Agent:
    """`fqdnkit enforce` run as a subprocess with its own pin dir. `target` replaces the
    default `--cgroup <lab cgroup>`; `prefix` goes before the command (e.g. nsenter into
    the workload netns, where --iface names the interface)."""

    def __init__(self, lab_: Lab, policy_path: Path, pin_dir: str,
                 target: list[str] | None = None, prefix: list[str] | None = None):
        self.lab, self.policy, self.pin_dir = lab_, policy_path, pin_dir
        self.target = target if target is not None else ["--cgroup", lab_.cgroup]
        self.prefix = prefix or []
        self.proc: subprocess.Popen | None = None
        self.lines: list[str] = []

    def start(self, *extra: str) -> str:
        self.proc = subprocess.Popen(
            [*self.prefix, *FQDNKIT, "enforce", "--policy", str(self.policy), *self.target,
             "--pin-dir", self.pin_dir, *extra],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        first = self.proc.stdout.readline()
        if not first.startswith("enforcer "):
            rest = self.proc.stdout.read() if self.proc.poll() is not None else ""
            raise AssertionError(f"agent did not start: {first}{rest}")
        return first

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*FQDNKIT, "enforce", "--pin-dir", self.pin_dir, *args], cwd=REPO,
                              capture_output=True, text=True, timeout=30)

    def status(self) -> dict:
        import json
        r = self.cli("--status", "--output", "json")
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    def wait_output(self, needle: str, timeout: float = 5) -> str:
        """Read agent output lines until one contains needle (non-blocking-ish)."""
        import selectors
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if sel.select(timeout=0.2):
                line = self.proc.stdout.readline()
                self.lines.append(line)
                if needle in line:
                    return line
        raise AssertionError(f"agent never printed {needle!r}; got {self.lines[-10:]}")


@contextlib.contextmanager
def _running_agent(lab, tmp_path, **kw):
    """An Agent on a fresh policy file and pin dir; killed and detached afterwards (the pin
    dir must be gone), also when the test fails."""
    pol = tmp_path / "policy.yaml"
    pol.write_text(POLICY)
    pin_dir = f"/sys/fs/bpf/fqk-test-{uuid.uuid4().hex[:6]}"
    a = Agent(lab, pol, pin_dir, **kw)
    try:
        yield a
    finally:
        a.kill()
        subprocess.run([*FQDNKIT, "enforce", "--detach", "--pin-dir", pin_dir], cwd=REPO,
                       capture_output=True, timeout=30)
        assert not os.path.exists(pin_dir)


@pytest.fixture
def agent(lab, tmp_path):
    with _running_agent(lab, tmp_path) as a:
        yield a


@pytest.fixture
def iface_agent(lab, tmp_path):
    """An Agent for `--iface <workload veth>`, run inside the workload netns."""
    with _running_agent(lab, tmp_path, target=["--iface", WL_IFACE],
                        prefix=lab.nsexec(lab.wl)) as a:
        yield a
