"""`python -m tests.bench.health_poll HOST PORT`: poll GET /health every ~5 ms until stdin
closes, then print one JSON line: the slowest answer in seconds (an answer still awaited counts
for as long as it has waited), the polls made and the polls that failed.

Its own process, so that a stalled server shows as a slow answer here and not as a stall of the
benchmark. It never gives up on an answer: a server that stops answering is measured, not timed
out."""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time


class Poller:
    """Polls in a thread; the main thread reads the figures at the end."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.slowest = 0.0
        self.polls = self.failures = 0
        self.pending: float | None = None  # when the poll being awaited was sent
        self.ready = threading.Event()

    def run(self) -> None:
        connection = http.client.HTTPConnection(self.host, self.port)
        while True:
            started = self.pending = time.perf_counter()
            try:
                connection.request("GET", "/health")
                answer = connection.getresponse()
                answer.read()
                ok = answer.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                connection.close()
                connection = http.client.HTTPConnection(self.host, self.port)
            took = time.perf_counter() - started
            self.pending = None
            self.polls += 1
            self.failures += not ok
            if self.polls > 1:  # the first poll opens the connection: not counted
                self.slowest = max(self.slowest, took)
            self.ready.set()
            time.sleep(0.005)

    def figures(self) -> dict[str, float | None]:
        """The slowest poll (None if none was measured), the polls made and those failed."""
        pending = self.pending
        slowest = self.slowest if self.polls > 1 else None
        if pending is not None and self.polls:
            slowest = max(slowest or 0.0, time.perf_counter() - pending)
        return {"slowest_s": slowest, "polls": self.polls, "failures": self.failures}


def main(host: str, port: int) -> None:
    poller = Poller(host, port)
    threading.Thread(target=poller.run, daemon=True).start()
    poller.ready.wait(10)
    print("ready", flush=True)
    sys.stdin.read()
    print(json.dumps(poller.figures()), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
