"""Child processes for the benchmark: start, wait for, measure (/proc) and always stop them."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    """The benchmark cannot go on; the message says why."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Child:
    """A subprocess in a session of its own (so Ctrl-C reaches only us), its output in a file."""

    def __init__(self, name: str, argv: list[str], log_dir: Path,
                 env: dict[str, str] | None = None, **popen: Any) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        popen.setdefault("stdout", self._log)
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stderr=self._log,
                                     start_new_session=True, **popen)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, lines: int = 20) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(f"  {self.name}| {line}" for line in text)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the process; SIGKILL its whole process group if it lingers past `grace`."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, signal.SIGKILL)  # its workers too, if any
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        self._log.close()


def wait_http(child: Child, port: int, path: str, timeout: float = 20.0) -> None:
    """Poll `GET path` until it answers 200; fail early if the process died."""
    deadline = time.monotonic() + timeout
    request = f"GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n".encode()
    while time.monotonic() < deadline:
        if child.proc.poll() is not None:
            raise BenchError(f"{child.name} exited with {child.proc.returncode}:\n"
                             f"{child.log_tail()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1) as s:
            s.sendall(request)
            if s.recv(64).startswith(b"HTTP/1.1 200"):
                return
        time.sleep(0.05)
    raise BenchError(f"{child.name} did not answer {path} within {timeout:g} s:\n"
                     f"{child.log_tail()}")


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (uvicorn's worker processes, with --workers N)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, ()))
    return tree


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the processes (utime + stime in /proc/<pid>/stat)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat(5)
    return total / CLOCK_TICKS


def memory_kib(pids: list[int], field: str) -> int:
    """The sum of one /proc/<pid>/status field (VmRSS, VmHWM), in KiB."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(f"{field}:"):
                    total += int(line.split()[1])
    return total


@dataclass(frozen=True, slots=True)
class Usage:
    """A process tree's counters at one moment."""

    cpu_s: float
    rss_kib: int
    hwm_kib: int

    @classmethod
    def of(cls, pid: int) -> Usage:
        tree = process_tree(pid)
        return cls(cpu_seconds(tree), memory_kib(tree, "VmRSS"), memory_kib(tree, "VmHWM"))
