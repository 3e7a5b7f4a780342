"""Start `python -m adapter` as a real process, for tests of the command line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from .servers import free_port


class Running(str):
    """The URL of a running adapter process, which it also carries."""

    process: subprocess.Popen[bytes]


@contextmanager
def adapter_process(*args: str, env: dict[str, str] | None = None) -> Iterator[Running]:
    """Run the adapter with the given CLI arguments until the block ends; yields its URL
    (with `.process`)."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("GEMINI_", "ADAPTER_"))}
    environ.update(env or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "adapter", "--host", "127.0.0.1", "--port", str(port), *args],
        env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = Running(f"http://127.0.0.1:{port}")
    url.process = process
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode() if process.stdout else ""
                raise RuntimeError(f"adapter did not start:\n{output}")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()
