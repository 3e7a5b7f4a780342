"""The replies the routes send (ASGI responses): JSON bodies, OpenAI errors, and SSE streams."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from .observability import current
from .translate.errors import AdapterError, error_body

log = logging.getLogger("adapter.stream")


class JSONResponse(Response):
    """A JSON response encoded with orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(error: AdapterError) -> JSONResponse:
    headers = {}
    if error.retry_after is not None:
        headers["retry-after"] = str(max(1, math.ceil(error.retry_after)))
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


def plain_error(message: str, status: int, code: str | None = None) -> JSONResponse:
    return JSONResponse(error_body(message, status, code=code), status_code=status)


MAX_WRITE = 64 * 1024  # the most one write to the client's socket holds
_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class _Stall:
    """Cancels `task` once one of its writes has waited `timeout` seconds for the client.

    The task sets `since` (the loop's time) before each write and clears it after: two cheap
    assignments per event. One timer per `timeout` checks them, rather than a timer per write.
    """

    __slots__ = ("_armed_for", "_handle", "_loop", "_task", "_timeout", "fired", "since")

    def __init__(self, task: asyncio.Task[Any], timeout: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = task
        self._timeout = timeout
        self.since: float | None = None  # when the write in progress began
        self.fired = False
        self._armed_for: float | None = None
        self._handle = self._loop.call_later(timeout, self._check)

    def _check(self) -> None:
        since = self.since
        if since is not None and since == self._armed_for:
            self.fired = True  # the write this timer was set for is still waiting
            self._task.cancel()
            return
        self._armed_for = since
        self._handle = self._loop.call_at(
            (self._loop.time() if since is None else since) + self._timeout, self._check)

    def stop(self) -> None:
        self._handle.cancel()


class EventStreamResponse:
    """Streams SSE bytes, and stops the moment the client goes away or stops reading.

    A watcher task waits for `http.disconnect` and cancels the streaming task, so an upstream
    that is silent (a model thinking) is not read on for a client that left. A write the client
    does not take within `write_timeout` seconds ends the stream the same way: the server's
    `send` waits while the socket's buffers are full, so without it a client that stops reading
    would hold its stream slot and its upstream stream for ever. Writes are at most
    `MAX_WRITE` bytes, so the timeout measures a stall, not the time to read one large event.
    `close` always runs: it releases the upstream connection.
    """

    def __init__(self, body: AsyncGenerator[bytes, None],
                 close: Callable[[], Awaitable[None]],
                 abort: Callable[[], bytes] | None = None,
                 write_timeout: float | None = None, content_type: str | None = None) -> None:
        """`abort` gives the last event to send when the server cuts the stream short
        (shutdown after its grace period), so the client sees an error, not a silent end.
        `content_type` replaces SSE's for a stream of other bytes (speech audio)."""
        self.body = body
        self.headers = _SSE_HEADERS if content_type is None else [
            (b"content-type", content_type.encode()), (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no")]
        self.close = close
        self.abort = abort
        self.write_timeout = write_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        streaming = asyncio.current_task()
        assert streaming is not None
        done = gone = False
        stall = _Stall(streaming, self.write_timeout) if self.write_timeout else None
        loop = asyncio.get_running_loop()

        async def watch() -> None:
            nonlocal gone
            while (await receive())["type"] != "http.disconnect":
                pass
            if not done:
                gone = True
                streaming.cancel()

        async def write(message: Message) -> None:
            if stall is None:
                await send(message)
                return
            stall.since = loop.time()
            await send(message)
            stall.since = None

        async def write_body(data: bytes, more: bool = True) -> None:
            """`data` in writes of at most MAX_WRITE bytes."""
            size = len(data)
            if size <= MAX_WRITE:
                await write({"type": "http.response.body", "body": data, "more_body": more})
                return
            for start in range(0, size, MAX_WRITE):
                end = start + MAX_WRITE
                await write({"type": "http.response.body", "body": data[start:end],
                             "more_body": more or end < size})

        watcher = asyncio.create_task(watch())
        try:
            await write({"type": "http.response.start", "status": 200, "headers": self.headers})
            async for data in self.body:
                await write_body(data)
            done = True
            await write_body(b"", more=False)
        except asyncio.CancelledError:
            stalled = stall is not None and stall.fired
            if not (gone or stalled):  # the server is shutting down
                if self.abort is not None:
                    with contextlib.suppress(Exception):
                        await write_body(self.abort(), more=False)
                raise
            for _ in range(gone + stalled):  # both may have cancelled: undo each
                streaming.uncancel()
            if stalled:
                log.warning("request %s: the client took no data for %g s; stream ended",
                            current().request_id.decode(), self.write_timeout)
        except OSError:
            pass  # the client went away while we were writing to it
        finally:
            done = True
            watcher.cancel()
            if stall is not None:
                stall.stop()
            await self.body.aclose()
            await self.close()
