"""POST /v1/chat/completions."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..observability import requested
from ..replies import EventStreamResponse, JSONResponse
from ..sse import DONE, encode_event
from ..translate.errors import AdapterError
from ..translate.request import chat_request
from ..translate.response import CompletionBuilder
from ..translate.stream import StreamTranslator
from ..upstream import encode_body
from .common import json_body, off_loop, state_of

log = logging.getLogger("adapter.chat")
SHUTTING_DOWN = AdapterError("The adapter is shutting down; the answer was cut off.", 503,
                             code="server_shutting_down")


async def chat_completions(request: Request) -> Response:
    state = state_of(request)
    key = state.keys.for_request(request)
    body = await json_body(request)
    observed = requested(body)  # model and stream, for the access log and metrics
    chat = await off_loop(request, chat_request, body, state.settings.model_map)
    if chat.remote_media:
        await state.media.resolve(chat.remote_media)
    content = await off_loop(request, encode_body, chat.gemini)
    translator = StreamTranslator(body["model"], int(time.time()), chat.include_usage)
    observed.translator = translator  # its usage, when the request is over
    upstream = await state.gemini.open_stream(chat.model, content, key)
    batches = upstream.batches()
    if not chat.stream:
        try:
            builder = CompletionBuilder(translator)
            async for batch in batches:
                for event in batch:
                    if (chunk := translator.translate(event)) is not None:
                        builder.add(chunk)
            translator.finish()
        finally:
            await upstream.aclose()
        return JSONResponse(builder.build())
    try:
        # Hold the response until the first chunk is ready, so that anything going wrong before
        # then still reaches the client as a real HTTP status.
        first = b""
        async for batch in batches:
            if first := _encode(batch, translator):
                break
    except BaseException:
        await upstream.aclose()
        raise
    return EventStreamResponse(_event_stream(first, batches, translator), upstream.aclose,
                               abort=lambda: encode_event(SHUTTING_DOWN.body()),
                               write_timeout=state.settings.write_timeout)


def _encode(batch: list[dict[str, Any]], translator: StreamTranslator) -> bytes:
    """The SSE bytes for the events that arrived together: one write for all of them."""
    return b"".join(encode_event(chunk) for event in batch
                    if (chunk := translator.translate(event)) is not None)


async def _event_stream(first: bytes, batches: AsyncGenerator[list[dict[str, Any]], None],
                        translator: StreamTranslator) -> AsyncGenerator[bytes, None]:
    try:
        if first:
            yield first
        async for batch in batches:
            if data := _encode(batch, translator):
                yield data
        final = translator.finish()
        yield DONE if final is None else encode_event(final) + DONE
    except AdapterError as error:
        log.warning("stream %s ended with an error: %d %s", translator.id, error.status, error.code)
        yield encode_event(error.body())
    finally:
        await batches.aclose()
