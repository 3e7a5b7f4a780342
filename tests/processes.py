"""Start `python -m adapter` as a real process, for tests of the command line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from .servers import free_port


class Running(str):
    """The URL of a running adapter process, which it also carries."""

    process: subprocess.Popen[bytes]


@contextmanager
def adapter_process(*args: str, env: dict[str, str] | None = None,
                    output: Path | None = None) -> Iterator[Running]:
    """Run the adapter with the given CLI arguments until the block ends; yields its URL
    (with `.process`). Its output goes to `output` when given."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("GEMINI_", "ADAPTER_"))}
    environ["ADAPTER_DRAIN_DELAY"] = "0"  # stopped at once, unless a test asks for the drain
    environ.update(env or {})
    sink = output.open("wb") if output is not None else subprocess.PIPE
    process = subprocess.Popen(
        [sys.executable, "-m", "adapter", "--host", "127.0.0.1", "--port", str(port), *args],
        env=environ, stdout=sink, stderr=subprocess.STDOUT)
    if output is not None:
        sink.close()  # the child has its own copy
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
                printed = process.stdout.read().decode() if process.stdout else \
                    output.read_text() if output else ""
                raise RuntimeError(f"adapter did not start:\n{printed}")
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
