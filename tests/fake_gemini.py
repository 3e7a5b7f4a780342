"""A fake Gemini API on 127.0.0.1 that answers with recorded responses from `fixtures/`.

Tests queue `Reply` objects; each request takes the next one (or a default recorded answer)
and is remembered with its path, query, headers and JSON body, so tests can check both what the
adapter sent upstream and what it made of the answer.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from .fake_gemini_files import FakeFiles

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gemini"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return orjson.loads(fixture_bytes(name))


def sse_events(name: str) -> list[bytes]:
    """The events of a recorded SSE stream, each with its CRLF CRLF terminator."""
    raw = fixture_bytes(name).replace(b"\r\n", b"\n")
    return [event.strip(b"\n") + b"\r\n\r\n" for event in raw.split(b"\n\n") if event.strip()]


@dataclass
class Reply:
    """One scripted upstream answer."""

    status: int = 200
    chunks: list[bytes] = field(default_factory=list)
    content_type: str = "text/event-stream"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before each chunk
    pauses: dict[int, float] = field(default_factory=dict)  # chunk index -> seconds before it
    drop: bool = False  # break the connection after the chunks instead of ending cleanly
    streaming: bool = False  # set by the fake while it is sending this reply

    @classmethod
    def sse(cls, name: str, **kw: Any) -> Reply:
        """A recorded SSE stream sent one event per write, as the live API does."""
        return cls(chunks=sse_events(name), **kw)

    @classmethod
    def events(cls, *payloads: dict[str, Any], **kw: Any) -> Reply:
        """An SSE stream of the given Gemini response objects."""
        return cls(chunks=[b"data: " + orjson.dumps(p) + b"\r\n\r\n" for p in payloads], **kw)

    @classmethod
    def json_array(cls, name: str) -> Reply:
        """A recorded JSON-array stream (no `alt=sse`), in small pieces."""
        raw = fixture_bytes(name)
        return cls(chunks=[raw[i:i + 97] for i in range(0, len(raw), 97)],
                   content_type="application/json; charset=UTF-8")

    @classmethod
    def error(cls, name: str, status: int, content_type: str = "application/json") -> Reply:
        return cls(status=status, chunks=[fixture_bytes(name)], content_type=content_type)

    @classmethod
    def body(cls, payload: Any, status: int = 200) -> Reply:
        return cls(status=status, chunks=[orjson.dumps(payload)], content_type="application/json")


@dataclass
class Seen:
    """A request the fake received."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any


class FakeGemini:
    """ASGI app speaking the Gemini wire format, scripted by tests."""

    def __init__(self) -> None:
        self.replies: collections.deque[Reply] = collections.deque()
        self.seen: list[Seen] = []
        self.open_streams = 0
        self.files = FakeFiles()  # the Files API and Batch Mode, per API key
        self.file_refusals: collections.deque[Reply] = collections.deque()  # answered first

    def queue(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def reset(self) -> None:
        self.replies.clear()
        self.seen.clear()
        self.files = FakeFiles()
        self.file_refusals.clear()

    def _default(self, method: str, path: str) -> Reply:
        if method == "GET" and path.endswith("/v1beta/models"):
            listing = orjson.loads(fixture_bytes("models-list.json"))
            listing.pop("nextPageToken")
            return Reply.body(listing)
        if method == "GET":
            return Reply.error("error-404-model-not-found.json", 404)
        return Reply.sse("stream-sse-text.txt")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        method, path, query = scope["method"], scope["path"], scope["query_string"].decode()
        try:
            parsed: Any = orjson.loads(body) if body and "upload_id=" not in query else None
        except orjson.JSONDecodeError:
            parsed = None
        self.seen.append(Seen(method, path, query, headers,
                              bytes(body) if body and parsed is None else parsed))
        if self.files.owns(path):  # not from the queue: tests queue generateContent answers
            if self.file_refusals:
                reply = self.file_refusals.popleft()
            else:
                answer = self.files.answer(method, path, query, headers, bytes(body))
                reply = Reply(answer.status, answer.chunks, answer.content_type,
                              answer.headers)
        else:
            reply = self.replies.popleft() if self.replies else self._default(method, path)
        await self._send(reply, receive, send)

    async def _send(self, reply: Reply, receive: Any, send: Any) -> None:
        raw_headers = [(b"content-type", reply.content_type.encode())]
        raw_headers += [(k.encode(), v.encode()) for k, v in reply.headers.items()]
        await send({"type": "http.response.start", "status": reply.status,
                    "headers": raw_headers})
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch())
        self.open_streams += 1
        reply.streaming = True
        try:
            for index, chunk in enumerate(reply.chunks):
                if pause := reply.pauses.get(index, reply.delay):
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(gone.wait(), pause)
                if gone.is_set():
                    return  # the adapter hung up: stop, as the real API does
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if reply.drop:
                raise ConnectionAbortedError("fake upstream drops the connection")
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            watcher.cancel()
            self.open_streams -= 1
            reply.streaming = False
