"""The ASGI responses the routes send: JSON bodies, OpenAI errors, and SSE streams."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .translate.errors import AdapterError, error_body


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


_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class EventStreamResponse:
    """Streams SSE bytes, and stops the moment the client goes away.

    A watcher task waits for `http.disconnect` and cancels the streaming task, so an upstream
    that is silent (a model thinking) is not read on for a client that left. `close` always runs:
    it releases the upstream connection.
    """

    def __init__(self, body: AsyncGenerator[bytes, None],
                 close: Callable[[], Awaitable[None]],
                 abort: Callable[[], bytes] | None = None) -> None:
        """`abort` gives the last event to send when the server cuts the stream short
        (shutdown after its grace period), so the client sees an error, not a silent end."""
        self.body = body
        self.close = close
        self.abort = abort

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        streaming = asyncio.current_task()
        assert streaming is not None
        done = gone = False

        async def watch() -> None:
            nonlocal gone
            while (await receive())["type"] != "http.disconnect":
                pass
            if not done:
                gone = True
                streaming.cancel()

        watcher = asyncio.create_task(watch())
        try:
            await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
            async for data in self.body:
                await send({"type": "http.response.body", "body": data, "more_body": True})
            done = True
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not gone:
                if self.abort is not None:
                    with contextlib.suppress(Exception):
                        await send({"type": "http.response.body", "body": self.abort(),
                                    "more_body": False})
                raise
            streaming.uncancel()
        except OSError:
            pass  # the client went away while we were writing to it
        finally:
            done = True
            watcher.cancel()
            await self.body.aclose()
            await self.close()
