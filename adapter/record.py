"""`--record DIR`: an httpx transport that passes every upstream exchange through unchanged and
writes it into DIR as it happens (format and naming: `recordings.py`).

Each response chunk reaches the adapter the moment it arrives; the file is written when the
response has been read to its end or closed early (then marked `"complete": false`), off the
event loop. A small `index.jsonl` gets one line per file.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson

from . import recordings
from .redaction import redact

log = logging.getLogger("adapter.record")
_KEPT_RESPONSE_HEADERS = ("content-type", "retry-after", "x-goog-upload-status")


class Recorder:
    """Writes recordings into one directory (created if missing)."""

    def __init__(self, directory: Path, secrets: tuple[str, ...] = ()) -> None:
        self.directory = directory
        self._secrets = tuple(s for s in secrets if s)

    def _masked(self, text: str, key: str) -> str:
        return redact(text, (key, *self._secrets))

    def build(self, request: httpx.Request, body: bytes, status: int, headers: httpx.Headers,
              chunks: list[tuple[int, bytes]], complete: bool, started: float) -> dict[str, Any]:
        """The recording of one exchange (nothing secret in it)."""
        key = request.headers.get("x-goog-api-key", "")
        path = request.url.path
        query = recordings.clean_query(request.url.query.decode())
        parsed, body_digest = recordings.parse_body(body)
        model, method = recordings.describe(path)
        kept = {name: headers[name] for name in _KEPT_RESPONSE_HEADERS if name in headers}
        if recordings.UPLOAD_URL in headers:  # kept as a path: no host, no upload id
            kept[recordings.UPLOAD_URL] = recordings.upload_path(headers[recordings.UPLOAD_URL])
        entries = []
        for ms, data in chunks:
            entry = recordings.chunk_entry(ms, data)
            if "text" in entry:
                entry["text"] = self._masked(entry["text"], key)
            entries.append(entry)
        return {
            "recording": recordings.FORMAT,
            "recorded_at": datetime.datetime.fromtimestamp(started, datetime.UTC)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "model": model,
            "method": method,
            "key": recordings.match_key(request.method, path, query, parsed, body_digest),
            "request": {"method": request.method, "path": path, "query": query,
                        "headers": {"content-type": request.headers.get("content-type", "")}
                        if body else {},
                        "body": parsed,
                        **({"body_digest": body_digest} if body_digest else {})},
            "response": {"status": status, "headers": kept,
                         "complete": complete, "chunks": entries},
        }

    def save(self, recording: dict[str, Any], started: float) -> str:
        """Write one recording; returns its file name. Blocking: call it off the event loop."""
        self.directory.mkdir(parents=True, exist_ok=True)
        name = recordings.file_name(started, recording["model"], recording["method"],
                                    recording["key"])
        path = self.directory / name
        for n in range(2, 1000):  # the same request twice in one millisecond
            try:
                with path.open("xb") as file:
                    file.write(recordings.dump(recording))
                break
            except FileExistsError:
                path = self.directory / name.replace(".json", f"-{n}.json")
        line = orjson.dumps({"file": path.name, "recorded_at": recording["recorded_at"],
                             "model": recording["model"], "method": recording["method"],
                             "status": recording["response"]["status"],
                             "key": recording["key"][:16]}) + b"\n"
        fd = os.open(self.directory / recordings.INDEX, os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                     0o644)
        try:
            os.write(fd, line)  # one write: lines of several workers never interleave
        finally:
            os.close(fd)
        return path.name


class _Tee(httpx.AsyncByteStream):
    """Passes the body through chunk by chunk and records it when the response is closed."""

    def __init__(self, inner: httpx.AsyncByteStream,
                 finish: Callable[[list[tuple[int, bytes]], bool], Awaitable[None]],
                 started: float) -> None:
        self._inner = inner
        self._finish = finish
        self._started = started
        self._chunks: list[tuple[int, bytes]] = []
        self._complete = False
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for data in self._inner:
            self._chunks.append((int((time.monotonic() - self._started) * 1000), data))
            yield data
        self._complete = True

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._inner.aclose()
        finally:
            await self._finish(self._chunks, self._complete)


class RecordingTransport(httpx.AsyncBaseTransport):
    """Sends each request through `inner` and records the exchange with `recorder`;
    `on_saved(file name, recording)` runs after each is written."""

    def __init__(self, inner: httpx.AsyncBaseTransport, recorder: Recorder,
                 on_saved: Callable[[str, dict[str, Any]], None] | None = None) -> None:
        self._inner = inner
        self.recorder = recorder
        self._on_saved = on_saved

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        wall, started = time.time(), time.monotonic()
        response = await self._inner.handle_async_request(request)
        status, headers = response.status_code, response.headers

        async def finish(chunks: list[tuple[int, bytes]], complete: bool) -> None:
            try:
                recording = self.recorder.build(request, body, status, headers, chunks,
                                                complete, wall)
                name = await asyncio.to_thread(self.recorder.save, recording, wall)
                if self._on_saved is not None:
                    self._on_saved(name, recording)
            except (OSError, ValueError) as exc:  # recording must never break serving
                log.error("could not record %s: %s", request.url.path, exc)

        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(status, headers=headers,
                              stream=_Tee(response.stream, finish, started),
                              extensions=response.extensions)

    async def aclose(self) -> None:
        await self._inner.aclose()
