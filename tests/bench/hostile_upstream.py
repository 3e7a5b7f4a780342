"""The upstream side of `tests.bench.hostile`: `python -m tests.bench.hostile_upstream --port P`.

One asyncio HTTP/1.1 process playing two servers on 127.0.0.1:

* a fake Gemini API that never keeps a request body, only counts its bytes (a hostile request
  can make the adapter send a gigabyte). `POST …:streamGenerateContent` answers by model name:
  `gemini-big` streams `--big-mib` MiB of text and waits whenever its reader does;
  `gemini-leak` sends one text event, then an error event echoing the caller's
  `x-goog-api-key`; any other model the 20 events of `workload.sse_body()`.
  `POST …:generateContent` answers the recorded image answer (for the Images API).
* an image server: `GET /img/<n>.png` answers `--image-mib` MiB of PNG-headed bytes and counts
  how many downloads run at once.

`GET /stats` answers the counters as JSON; `POST /reset` clears them (not the open streams).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
from pathlib import Path
from typing import Any

from .aio import run
from .fake_upstream import StreamClosed, chunk, gemini_error, head
from .workload import sse_body

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "gemini"
IMAGE_ANSWER = (FIXTURES / "generate-content-image-output.json").read_bytes()
PIECE = 256 * 1024  # bytes per write of the large answers
BIG_EVENT_TEXT = 64 * 1024  # characters of text per event of the big stream


def png_header() -> bytes:
    """The 1x1 PNG of the recorded image answer: the first bytes of every image served."""
    parts = json.loads(IMAGE_ANSWER)["candidates"][0]["content"]["parts"]
    return base64.b64decode(next(p["inlineData"]["data"] for p in parts if "inlineData" in p))


class Head:
    """A request's line and headers; its body is read (and counted) separately."""

    __slots__ = ("headers", "method", "target")

    def __init__(self, method: str, target: str, headers: dict[str, str]) -> None:
        self.method, self.target, self.headers = method, target, headers

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]


async def read_head(reader: asyncio.StreamReader) -> Head | None:
    """The next request's head, or None when the client closed the connection."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    lines = raw.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return Head(method, target, headers)


async def count_body(reader: asyncio.StreamReader, request: Head) -> int:
    """Read the body to its end, keeping none of it; its size in bytes."""
    if request.headers.get("transfer-encoding", "").lower() == "chunked":
        total = 0
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            total += size
            await skip(reader, size + 2)
        await reader.readuntil(b"\r\n")
        return total
    length = int(request.headers.get("content-length", "0"))
    await skip(reader, length)
    return length


async def skip(reader: asyncio.StreamReader, size: int) -> None:
    while size:
        data = await reader.read(min(size, 1 << 20))
        if not data:
            raise asyncio.IncompleteReadError(b"", size)
        size -= len(data)


def text_event(text: str, last: bool = False) -> bytes:
    candidate: dict[str, Any] = {"content": {"parts": [{"text": text}], "role": "model"},
                                 "index": 0}
    event: dict[str, Any] = {"candidates": [candidate], "modelVersion": "gemini-2.5-flash"}
    if last:
        candidate["finishReason"] = "STOP"
        event["usageMetadata"] = {"promptTokenCount": 8, "candidatesTokenCount": 100,
                                  "totalTokenCount": 108}
    return chunk(b"data: " + json.dumps(event).encode() + b"\r\n\r\n")


class HostileUpstream:
    """The fake Gemini and the image server, with the counters the scenarios read."""

    def __init__(self, image_bytes: int, big_bytes: int) -> None:
        header = png_header()
        self.image = memoryview(header + bytes(image_bytes - len(header)))
        self.big_events = max(1, big_bytes // BIG_EVENT_TEXT)
        self.events = [chunk(event) for event in sse_body()]
        self.open_streams = 0
        self.reset()

    def reset(self) -> None:
        self.bodies: list[dict[str, Any]] = []  # {"path", "bytes"} of each upstream request
        self.images_now = self.images_max = self.images_started = self.images_served = 0
        self.big_sent = 0  # bytes of big streams written so far

    def stats(self) -> bytes:
        return json.dumps({"bodies": self.bodies, "open_streams": self.open_streams,
                           "images_max_concurrent": self.images_max,
                           "images_started": self.images_started,
                           "images_served": self.images_served,
                           "big_sent_bytes": self.big_sent}).encode()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve requests on one connection until the client closes it."""
        try:
            while (request := await read_head(reader)) is not None:
                size = await count_body(reader, request)
                await self.respond(request, size, writer)
                if request.headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, StreamClosed):
            pass
        finally:
            writer.close()

    async def respond(self, request: Head, size: int, writer: asyncio.StreamWriter) -> None:
        path = request.path
        if path == "/health":
            writer.write(head(200, "text/plain", 2) + b"ok")
        elif path == "/stats":
            body = self.stats()
            writer.write(head(200, "application/json", len(body)) + body)
        elif path == "/reset":
            self.reset()
            writer.write(head(200, "text/plain", 2) + b"ok")
        elif path.startswith("/img/"):
            await self.serve_image(writer)
        elif request.method == "POST" and path.endswith((":streamGenerateContent",
                                                         ":generateContent")):
            self.bodies.append({"path": path, "bytes": size})
            await self.gemini(request, writer)
        else:
            writer.write(gemini_error(404, f"{path} is not found.", "NOT_FOUND"))
        await writer.drain()

    async def serve_image(self, writer: asyncio.StreamWriter) -> None:
        self.images_now += 1
        self.images_started += 1
        self.images_max = max(self.images_max, self.images_now)
        try:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: image/png\r\n"
                         b"content-length: %d\r\n\r\n" % len(self.image))
            for start in range(0, len(self.image), PIECE):
                writer.write(self.image[start:start + PIECE])
                await writer.drain()
            self.images_served += 1
        finally:
            self.images_now -= 1

    async def gemini(self, request: Head, writer: asyncio.StreamWriter) -> None:
        model = request.path.rsplit("/", 1)[-1].partition(":")[0]
        if request.path.endswith(":generateContent"):
            writer.write(head(200, "application/json; charset=UTF-8", len(IMAGE_ANSWER))
                         + IMAGE_ANSWER)
            return
        self.open_streams += 1
        try:
            writer.write(head(200, "text/event-stream"))
            if model == "gemini-big":
                await self.big_stream(writer)
            elif model == "gemini-leak":
                key = request.headers.get("x-goog-api-key", "")
                echoed = {"error": {"code": 400, "status": f"INVALID {key}",
                                    "message": f"API key {key} is not valid for this model"}}
                writer.write(text_event("Hello"))
                await writer.drain()
                await asyncio.sleep(0.1)  # the answer has begun: the error comes in the 200
                writer.write(chunk(b"data: " + json.dumps(echoed).encode() + b"\r\n\r\n"))
            else:
                for event in self.events:
                    writer.write(event)
            writer.write(b"0\r\n\r\n")
        finally:
            self.open_streams -= 1

    async def big_stream(self, writer: asyncio.StreamWriter) -> None:
        """Events of text until `--big-mib` is sent, each write waiting for the reader."""
        text = "x" * BIG_EVENT_TEXT
        for number in range(self.big_events):
            event = text_event(text, last=number == self.big_events - 1)
            writer.write(event)
            await writer.drain()
            self.big_sent += len(event)


async def serve(host: str, port: int, image_bytes: int, big_bytes: int) -> None:
    upstream = HostileUpstream(image_bytes, big_bytes)
    server = await asyncio.start_server(upstream.handle, host, port, backlog=1024)
    print(f"hostile upstream listening on {host}:{port}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.hostile_upstream",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--image-mib", type=float, default=10.0, help="size of each image")
    parser.add_argument("--big-mib", type=float, default=50.0, help="size of the big stream")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        run(serve(args.host, args.port, int(args.image_mib * 2**20), int(args.big_mib * 2**20)))


if __name__ == "__main__":
    main()
