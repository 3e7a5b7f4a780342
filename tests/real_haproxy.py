"""A real haproxy on 127.0.0.1 in front of adapter replicas, for tests of several replicas.

Round robin over the given backends, health checks every 200 ms on /ready (on /health for an
adapter without a readiness endpoint), `option redispatch` and retries on connection failure.
Backends can be moved to another port while it runs (a restarted replica comes back on a new
port, as a pod does on a new address), through haproxy's runtime API on a unix socket.
"""

from __future__ import annotations

import csv
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from .servers import free_port

BACKEND = "adapters"
CHECK_INTERVAL_MS = 200
FALL = 2  # failed checks before a server is taken out: it is out within ~0.4 s of failing
RISE = 1  # passed checks before it is put back


# A request that could not reach its server goes to another, at once.
RETRIES = """    retries 3
    option redispatch
    retry-on conn-failure
"""
NO_RETRIES = "    retries 0\n"


def haproxy_binary() -> str:
    """The haproxy executable; a missing one fails the test (`make test` installs it)."""
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        pytest.fail("haproxy is not installed: `make test` installs it (Debian: apt-get install "
                    "haproxy)")
    return found


def check_path(backend: str) -> str:
    """/ready when the adapter at `backend` serves it, else /health (adapters before
    readiness)."""
    return "/health" if httpx.get(f"{backend}/ready", timeout=5).status_code == 404 else "/ready"


def config(port: int, admin: Path, backends: list[str], check: str, retries: bool) -> str:
    servers = "".join(
        f"    server r{i} {urlsplit(url).hostname}:{urlsplit(url).port} check\n"
        for i, url in enumerate(backends))
    return f"""global
    maxconn 4096
    stats socket {admin} mode 600 level admin

defaults
    mode http
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    timeout check 1s
{RETRIES if retries else NO_RETRIES}
listen {BACKEND}
    bind 127.0.0.1:{port}
    balance roundrobin
    option httpchk GET {check}
    http-check expect status 200
    default-server inter {CHECK_INTERVAL_MS}ms fall {FALL} rise {RISE}
{servers}"""


@dataclass
class Balancer:
    """A running haproxy: its URL, and its runtime API."""

    url: str
    admin: Path
    process: subprocess.Popen[bytes]

    def command(self, line: str) -> str:
        """One command on the runtime API; its answer."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(self.admin))
            sock.sendall(line.encode() + b"\n")
            answer = bytearray()
            while chunk := sock.recv(65536):
                answer += chunk
        return answer.decode()

    def _servers(self) -> dict[str, dict[str, str]]:
        """haproxy's statistics row of each server."""
        rows = csv.DictReader(self.command("show stat").lstrip("# ").splitlines())
        return {row["svname"]: row for row in rows
                if row["pxname"] == BACKEND and row["svname"] not in ("FRONTEND", "BACKEND")}

    def states(self) -> dict[str, str]:
        """Each server's state as haproxy sees it: r0 -> UP, DOWN, MAINT, ..."""
        return {name: row["status"] for name, row in self._servers().items()}

    def served(self) -> dict[str, int]:
        """How many requests each server has been given so far (health checks not counted)."""
        return {name: int(row["stot"]) for name, row in self._servers().items()}

    def wait_for(self, server: str, state: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while (seen := self.states().get(server)) != state:
            if time.monotonic() > deadline:
                raise AssertionError(f"haproxy saw {server} {seen}, not {state}")
            time.sleep(0.05)

    def wait_all_up(self, timeout: float = 15) -> None:
        for server in self.states():
            self.wait_for(server, "UP", timeout)

    def move(self, server: str, backend: str) -> None:
        """Send `server`'s traffic and checks to the adapter at `backend` from now on."""
        parts = urlsplit(backend)
        answer = self.command(f"set server {BACKEND}/{server} addr {parts.hostname} "
                              f"port {parts.port}")
        assert "changed" in answer or "no need to change" in answer, answer


@contextmanager
def haproxy(backends: list[str], check: str | None = None,
            retries: bool = True) -> Iterator[Balancer]:
    """Run haproxy over `backends` (adapter URLs, already serving) until the block ends, with
    every server up; its health checks go to `check` (by default /ready or /health, whichever
    the first backend serves). Without `retries`, a request that cannot reach the server
    chosen for it fails (503), so a test sees every request sent to a closed listener."""
    binary = haproxy_binary()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="haproxy-") as home:
        admin = Path(home, "admin.sock")
        path = Path(home, "haproxy.cfg")
        path.write_text(config(port, admin, backends, check or check_path(backends[0]),
                               retries))
        log = Path(home, "haproxy.log")
        with log.open("wb") as sink:
            process = subprocess.Popen([binary, "-db", "-f", str(path)],
                                       stdout=sink, stderr=subprocess.STDOUT)
        balancer = Balancer(f"http://127.0.0.1:{port}", admin, process)
        try:
            deadline = time.monotonic() + 10
            while not admin.exists():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"haproxy did not start:\n{log.read_text()}")
                time.sleep(0.02)
            balancer.wait_all_up()
            yield balancer
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
