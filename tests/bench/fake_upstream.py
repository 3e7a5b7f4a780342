"""A minimal, fast fake Gemini API for the benchmark: `python -m tests.bench.fake_upstream`.

A bare asyncio HTTP/1.1 server (keep-alive, chunked transfer encoding, uvloop when installed).
`POST /v1beta/models/{model}:streamGenerateContent?alt=sse` answers `text/event-stream` with the
20 events of `workload.sse_body()`, one chunk (one socket write) per event, optionally
`--event-gap-ms` apart as a live model would send them. `GET /health` answers 200; anything else
answers a Gemini-shaped 404.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json

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


class FakeGemini:
    """Serves the benchmark's answer; `gap` is the pause between two events, in seconds."""

    def __init__(self, gap: float) -> None:
        self.gap = gap
        self.events = [chunk(event) for event in sse_body()]
        self.events[0] = head(200, "text/event-stream") + self.events[0]
        self.events[-1] += b"0\r\n\r\n"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve requests on one connection until the client closes it."""
        try:
            while (request := await read_request(reader)) is not None:
                await self.respond(request, writer)
                if request.headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def respond(self, request: Request, writer: asyncio.StreamWriter) -> None:
        path = request.target.partition("?")[0]
        if path == "/health":
            writer.write(head(200, "text/plain", 2) + b"ok")
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
        """The 20 events, one write each; a gap between them if asked for."""
        for number, event in enumerate(self.events):
            if number and self.gap:
                await asyncio.sleep(self.gap)
            writer.write(event)
        await writer.drain()


async def serve(host: str, port: int, gap: float) -> None:
    fake = FakeGemini(gap)
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
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        run(serve(args.host, args.port, args.event_gap_ms / 1000))


if __name__ == "__main__":
    main()
