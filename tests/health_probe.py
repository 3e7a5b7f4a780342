"""`python -m tests.health_probe URL`: poll URL/health until stdin closes, then print the
slowest answer in seconds. Its own process, so the time measured is the server's, not that of
a test process busy with its fakes."""

from __future__ import annotations

import sys
import threading
import time

import httpx


def main(url: str) -> None:
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    slowest = 0.0
    with httpx.Client(timeout=5) as probe:
        probe.get(f"{url}/health")  # a warm connection
        print("ready", flush=True)
        while not stop.is_set():
            started = time.perf_counter()
            if probe.get(f"{url}/health").status_code != 200:
                slowest = float("inf")
            slowest = max(slowest, time.perf_counter() - started)
            time.sleep(0.005)
    print(slowest, flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
