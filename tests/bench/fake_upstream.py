"""A minimal, fast fake Gemini API for the benchmark: `python -m tests.bench.fake_upstream`.

A bare asyncio HTTP/1.1 server (keep-alive, chunked transfer encoding, uvloop when installed).
`POST /v1beta/models/{model}:streamGenerateContent?alt=sse` answers `text/event-stream` with the
20 events of `workload.sse_body()`, one chunk (one socket write) per event, optionally
`--event-gap-ms` apart as a live model would send them. `GET /health` answers 200; `GET /stats`
answers JSON counters (streams open now, streams served by kind); anything else answers a
Gemini-shaped 404.

Faults, for `tests.bench.faults` (none by default): `--drop-fraction` of the streams are cut
after 1 to 19 events, the connection closed without the chunked body's last chunk;
`--slow-fraction` wait `--slow-gap-ms` (a range, e.g. 50-200, drawn per gap) between events.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random

from .aio import run
from .workload import sse_body

_STATUS = {200: b"OK", 400: b"Bad Request", 404: b"Not Found", 405: b"Method Not Allowed"}


class Request:
    """The parts of a request the fake looks at."""

    __slots__ = ("body", "headers", "method", "target")

    def __init__(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """The next request on a keep-alive connection, or None when the client closed it."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return Request(method, target, headers, body)


def chunk(data: bytes) -> bytes:
    """One piece of a `Transfer-Encoding: chunked` body."""
    return b"%x\r\n%b\r\n" % (len(data), data)


def head(status: int, content_type: str, length: int | None = None) -> bytes:
    """A response's status line and headers (chunked unless `length` is given)."""
    framing = b"transfer-encoding: chunked" if length is None else b"content-length: %d" % length
    return (b"HTTP/1.1 %d %b\r\ncontent-type: %b\r\nvary: Origin, X-Origin, Referer\r\n"
            b"server: scaffolding on HTTPServer2\r\n%b\r\n\r\n"
            % (status, _STATUS[status], content_type.encode(), framing))


def gemini_error(status: int, message: str, reason: str) -> bytes:
    """A whole non-streamed Gemini error response."""
    body = json.dumps({"error": {"code": status, "message": message, "status": reason}},
                      separators=(",", ": ")).encode()
    return head(status, "application/json; charset=UTF-8", len(body)) + body


class Faults:
    """Which streams go wrong, and how: fractions of streams dropped and slow."""

    def __init__(self, drop: float = 0.0, slow: float = 0.0,
                 slow_gap: tuple[float, float] = (0.05, 0.2), seed: int | None = None) -> None:
        self.drop, self.slow, self.slow_gap = drop, slow, slow_gap
        self.random = random.Random(seed)

    def pick(self) -> str:
        """The kind of the next stream: "normal", "slow" or "drop"."""
        if not (self.drop or self.slow):
            return "normal"
        draw = self.random.random()
        return "drop" if draw < self.drop else "slow" if draw < self.drop + self.slow else "normal"


class StreamClosed(Exception):
    """The stream ended the connection: dropped on purpose, or its reader went away."""


class FakeGemini:
    """Serves the benchmark's answer; `gap` is the pause between two events, in seconds."""

    def __init__(self, gap: float, faults: Faults | None = None) -> None:
        self.gap = gap
        self.faults = faults or Faults()
        self.events = [chunk(event) for event in sse_body()]
        self.events[0] = head(200, "text/event-stream") + self.events[0]
        self.events[-1] += b"0\r\n\r\n"
        self.open_streams = 0
        self.open_connections = 0
        # started: by kind; ended: finished (all events sent), dropped (on purpose), abandoned
        # (the reader closed the connection first).
        self.started: dict[str, int] = {"normal": 0, "slow": 0, "drop": 0}
        self.ended: dict[str, int] = {"finished": 0, "dropped": 0, "abandoned": 0}

    def stats(self) -> bytes:
        return json.dumps({"open_streams": self.open_streams,
                           "open_connections": self.open_connections,
                           "started": self.started, "ended": self.ended}).encode()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve requests on one connection until the client closes it."""
        self.open_connections += 1
        try:
            while (request := await read_request(reader)) is not None:
                await self.respond(request, writer)
                if request.headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, StreamClosed):
            pass
        finally:
            self.open_connections -= 1
            writer.close()

    async def respond(self, request: Request, writer: asyncio.StreamWriter) -> None:
        path = request.target.partition("?")[0]
        if path == "/health":
            writer.write(head(200, "text/plain", 2) + b"ok")
        elif path == "/stats":
            body = self.stats()
            writer.write(head(200, "application/json", len(body)) + body)
        elif not path.endswith(":streamGenerateContent"):
            writer.write(gemini_error(404, f"{path} is not found.", "NOT_FOUND"))
        elif request.method != "POST":
            writer.write(gemini_error(405, "Use POST.", "METHOD_NOT_ALLOWED"))
        elif "x-goog-api-key" not in request.headers or not request.body.startswith(b"{"):
            writer.write(gemini_error(400, "API key or JSON body missing.", "INVALID_ARGUMENT"))
        else:
            await self.stream(writer)
            return
        await writer.drain()

    async def stream(self, writer: asyncio.StreamWriter) -> None:
        """The 20 events, one write each; a gap between them if asked for (or a fault's)."""
        kind = self.faults.pick()
        if kind == "normal" and not self.gap:  # the benchmark's hot path, as it always was
            self.started["normal"] += 1
            self.open_streams += 1
            try:
                for event in self.events:
                    writer.write(event)
                await writer.drain()
                self.ended["finished"] += 1
            except ConnectionError:
                self.ended["abandoned"] += 1
                raise
            finally:
                self.open_streams -= 1
            return
        await self._faulty_stream(writer, kind)

    async def _faulty_stream(self, writer: asyncio.StreamWriter, kind: str) -> None:
        rand = self.faults.random
        cut = rand.randint(1, len(self.events) - 1) if kind == "drop" else len(self.events)
        self.started[kind] += 1
        self.open_streams += 1
        try:
            for number, event in enumerate(self.events[:cut]):
                gap = rand.uniform(*self.faults.slow_gap) if kind == "slow" else self.gap
                if number and gap:
                    await asyncio.sleep(gap)
                if writer.transport.is_closing():
                    raise ConnectionResetError("the reader closed the connection")
                writer.write(event)
                await writer.drain()
        except ConnectionError:
            self.ended["abandoned"] += 1
            raise
        finally:
            self.open_streams -= 1
        if kind == "drop":
            self.ended["dropped"] += 1
            writer.transport.abort()  # no last chunk: the body ends mid-stream
            raise StreamClosed
        self.ended["finished"] += 1


def _gap_range(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    return float(low) / 1000, float(high or low) / 1000


async def serve(host: str, port: int, gap: float, faults: Faults | None = None) -> None:
    fake = FakeGemini(gap, faults)
    server = await asyncio.start_server(fake.handle, host, port, backlog=1024)
    print(f"fake gemini listening on {host}:{server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.fake_upstream",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--event-gap-ms", type=float, default=0.0,
                        help="pause between two events of an answer (default: none)")
    parser.add_argument("--drop-fraction", type=float, default=0.0,
                        help="fraction of streams cut after 1 to 19 events (default 0)")
    parser.add_argument("--slow-fraction", type=float, default=0.0,
                        help="fraction of streams with slow events (default 0)")
    parser.add_argument("--slow-gap-ms", default="50-200",
                        help="gap between two events of a slow stream, LOW-HIGH ms (50-200)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the fault draws")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        faults = Faults(args.drop_fraction, args.slow_fraction, _gap_range(args.slow_gap_ms),
                        args.seed)
        run(serve(args.host, args.port, args.event_gap_ms / 1000, faults))


if __name__ == "__main__":
    main()
