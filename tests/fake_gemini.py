"""A fake Gemini API on 127.0.0.1 that answers with recorded responses from `fixtures/`.

Tests queue `Reply` objects; each request takes the next one (or a default recorded answer)
and is remembered with its path, query, headers and JSON body, so tests can check both what the
adapter sent upstream and what it made of the answer.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

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
        self.upload: dict[str, Any] = {}  # the Files API upload under way

    def queue(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def reset(self) -> None:
        self.replies.clear()
        self.seen.clear()

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
        try:
            parsed: Any = orjson.loads(body) if body else None
        except orjson.JSONDecodeError:
            parsed = bytes(body)  # an uploaded file
        self.seen.append(Seen(scope["method"], scope["path"], scope["query_string"].decode(),
                              headers, parsed))
        files = self._files(scope["method"], scope["path"], headers, len(body))
        reply = files or (self.replies.popleft() if self.replies else self._default(
            scope["method"], scope["path"]))
        await self._send(reply, receive, send)

    def _files(self, method: str, path: str, headers: dict[str, str],
               size: int) -> Reply | None:
        """The Files API, answered from the recorded upload (not from the queue, so that tests
        queue only the generateContent answers): a resumable start gives the recorded upload
        URL on this server, the upload gives the recorded File with this upload's type, name
        and size, and files.delete its recorded `{}`."""
        if path == "/upload/v1beta/files" and headers.get("x-goog-upload-command") == "start":
            recorded = fixture_bytes("files-upload-start.http.txt").decode()
            url = re.search(r"^X-Goog-Upload-Url: \S+(/upload/\S+)$", recorded, re.M)
            assert url
            self.upload = self.seen[-1].body["file"] | {
                "mimeType": headers["x-goog-upload-header-content-type"]}
            return Reply(headers={"x-goog-upload-url": f"http://{headers['host']}{url[1]}",
                                  "x-goog-upload-status": "active"},
                         content_type="text/plain; charset=utf-8")
        if path == "/upload/v1beta/files":
            file = fixture_json("files-upload-finalize-response.json")
            file["file"] |= {"displayName": self.upload["display_name"],
                             "mimeType": self.upload["mimeType"], "sizeBytes": str(size)}
            return Reply.body(file)
        if method == "DELETE" and path.startswith("/v1beta/files/"):
            return Reply(chunks=[fixture_bytes("files-delete-response.json")],
                         content_type="application/json; charset=UTF-8")
        return None

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
