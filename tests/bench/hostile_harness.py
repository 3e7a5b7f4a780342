"""What the scenarios of `tests.bench.hostile` share: an adapter process from a chosen checkout,
its measurement while a hostile request is served, requests that never hang the benchmark, and
the row of figures each scenario reports."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .procs import ROOT, Child, Usage, free_port, wait_http

SERVER_KEY = "AIzaSyBenchHostile-server-key-0000000000"  # GEMINI_API_KEY, to spot it leaking
AUTH = {"authorization": "Bearer bench-client"}
MIB = 2**20


class AdapterProcess(Child):
    """`python -m adapter` run from `code_dir` (its cwd and PYTHONPATH), so that the code
    measured is that checkout's, whatever the venv has installed."""

    def __init__(self, name: str, code_dir: Path, log_dir: Path, env: dict[str, str]) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("wb")
        argv = [sys.executable, "-m", "adapter", "--host", "127.0.0.1", "--port",
                str(self.port), "--log-level", "warning"]
        self.proc = subprocess.Popen(argv, cwd=code_dir, env={**env, "PYTHONPATH": str(code_dir)},
                                     stdout=self._log, stderr=self._log, start_new_session=True)

    def usage(self) -> Usage | None:
        """Its CPU and memory now; None once it has exited."""
        return None if self.proc.poll() is not None else Usage.of(self.pid)

    def crashed(self) -> str | None:
        """'crash (exit N)' once the process has ended, else None."""
        code = self.proc.poll()
        return None if code is None else f"crash (exit {code})"


@dataclass
class Measured:
    """The adapter while something was served: wall time, CPU, memory, /health."""

    seconds: float = 0.0
    cpu_s: float | None = None
    peak_mib: float | None = None
    after_mib: float | None = None
    health_s: float | None = None
    health_failures: int = 0


@dataclass
class Row:
    """One line of the report."""

    number: str
    request: str
    status: str
    figures: list[str] = field(default_factory=list)
    measured: Measured | None = None


class Bench:
    """Where the measured code is, the upstream's port and a scratch folder for logs and stores."""

    def __init__(self, code_dir: Path, upstream_port: int, work: Path) -> None:
        self.code_dir = code_dir
        self.upstream = f"http://127.0.0.1:{upstream_port}"
        self.work = work
        self._started = 0

    @contextlib.contextmanager
    def adapter(self, name: str, **env: str) -> Iterator[AdapterProcess]:
        """A fresh adapter (so that its peak RSS is this scenario's) until the block ends."""
        self._started += 1
        folder = self.work / f"{self._started:02d}-{name}"
        folder.mkdir()
        environ = {k: v for k, v in os.environ.items()
                   if not k.startswith(("GEMINI_", "ADAPTER_", "PROMETHEUS_"))}
        environ.update(GEMINI_BASE_URL=self.upstream, GEMINI_API_KEY=SERVER_KEY,
                       ADAPTER_RETRIES="0", ADAPTER_STORE=str(folder / "responses.sqlite3"),
                       ADAPTER_WRITE_TIMEOUT="2")
        environ.update(env)
        adapter = AdapterProcess(name, self.code_dir, folder, environ)
        try:
            wait_http(adapter, adapter.port, "/health")
            yield adapter
        finally:
            adapter.stop(grace=5)

    async def upstream_stats(self) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=10) as client:
            return (await client.get(f"{self.upstream}/stats")).json()

    async def reset_upstream(self) -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            await client.post(f"{self.upstream}/reset")


@contextlib.asynccontextmanager
async def measuring(adapter: AdapterProcess) -> AsyncIterator[Measured]:
    """Measure the adapter over the block, /health polled every ~5 ms by another process."""
    probe = subprocess.Popen([sys.executable, "-m", "tests.bench.health_poll", "127.0.0.1",
                              str(adapter.port)], cwd=ROOT, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    assert probe.stdin is not None and probe.stdout is not None
    measured = Measured()
    try:
        probe.stdout.readline()  # "ready"
        before = adapter.usage()
        started = time.perf_counter()
        try:
            yield measured
        finally:
            measured.seconds = time.perf_counter() - started
            after = adapter.usage()
            if before is not None and after is not None:
                measured.cpu_s = after.cpu_s - before.cpu_s
                measured.peak_mib = after.hwm_kib / 1024
                measured.after_mib = after.rss_kib / 1024
    finally:
        probe.stdin.close()
        line = probe.stdout.readline()
        probe.wait(10)
        probe.stdout.close()
        if line:
            health = json.loads(line)
            measured.health_s = health["slowest_s"]
            measured.health_failures = health["failures"]


@dataclass
class Answer:
    """A status ("200", "timeout", "connection error") and the response, if one came."""

    status: str
    response: httpx.Response | None = None

    def error_field(self, name: str) -> Any:
        """A field of an OpenAI-shaped error body, None if there is none."""
        with contextlib.suppress(ValueError, AttributeError, TypeError, KeyError):
            return self.response.json()["error"][name]  # type: ignore[union-attr]
        return None


async def call(client: httpx.AsyncClient, method: str, url: str, timeout: float,
               **kw: Any) -> Answer:
    """One request read to its end; a hang or a dropped connection is an answer too."""
    try:
        response = await client.request(method, url, timeout=timeout, **kw)
    except httpx.TimeoutException:
        return Answer(f"timeout ({timeout:g} s)")
    except httpx.TransportError as exc:
        return Answer(f"connection error ({type(exc).__name__})")
    return Answer(str(response.status_code), response)


async def metric(client: httpx.AsyncClient, url: str, name: str) -> str:
    """A gauge's value from /metrics, as text ("missing" or the failure if there is none)."""
    answer = await call(client, "GET", f"{url}/metrics", 10)
    if answer.response is None:
        return answer.status
    for line in answer.response.text.splitlines():
        if line.startswith(f"{name} "):
            return f"{float(line.split()[-1]):g}"
    return "missing"


def tally(statuses: list[str]) -> str:
    """'500: 50, 503: 10': how many of each status, most frequent first."""
    return ", ".join(f"{status}: {count}" for status, count in Counter(statuses).most_common())


def with_crash(status: str, adapter: AdapterProcess) -> str:
    """The status, or the crash that explains it."""
    return adapter.crashed() or status


def mib(size: float) -> str:
    return f"{size / MIB:.1f} MiB" if size else "nothing"
