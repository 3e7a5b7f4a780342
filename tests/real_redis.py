"""A real redis-server on 127.0.0.1 (a free port, a temporary directory), for tests.

It can be stopped and started again on the same port while a test runs, as when Redis restarts
under a running fleet. No data is kept on disk between starts. A missing redis-server fails the test
(`make test` installs it).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from .servers import free_port


def redis_binary() -> str:
    """The redis-server executable; a missing one fails the test (`make test` installs it)."""
    found = shutil.which("redis-server") or shutil.which("redis-server", path="/usr/sbin:/usr/bin")
    if found is None:
        pytest.fail("redis-server is not installed: `make test` installs it (Debian: apt-get "
                    "install redis-server)")
    return found


class RealRedis:
    """One redis-server process; `url` stays the same across stop() and start()."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory), "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@contextmanager
def real_redis() -> Iterator[RealRedis]:
    """A running redis-server, stopped at the end."""
    binary = redis_binary()
    with tempfile.TemporaryDirectory(prefix="adapter-redis-") as directory:
        server = RealRedis(binary, Path(directory))
        server.start()
        try:
            yield server
        finally:
            server.stop()
