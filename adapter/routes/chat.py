"""POST /v1/chat/completions."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..responses import EventStreamResponse, JSONResponse
from ..sse import DONE, encode_event
from ..translate.errors import AdapterError
from ..translate.request import chat_request
from ..translate.response import CompletionBuilder
from ..translate.stream import StreamTranslator
from .common import json_body, state_of

log = logging.getLogger("adapter.chat")


async def chat_completions(request: Request) -> Response:
    state = state_of(request)
    key = state.keys.for_request(request)
    body = await json_body(request)
    chat = chat_request(body)
    translator = StreamTranslator(body["model"], int(time.time()), chat.include_usage)
    upstream = await state.gemini.open_stream(chat.model, chat.gemini, key)
    events = upstream.events()
    if not chat.stream:
        try:
            builder = CompletionBuilder(translator)
            async for event in events:
                if (chunk := translator.translate(event)) is not None:
                    builder.add(chunk)
            translator.finish()
        finally:
            await upstream.aclose()
        return JSONResponse(builder.build())
    try:
        # Hold the response until the first chunk is ready, so that anything going wrong before
        # then still reaches the client as a real HTTP status.
        first = await _first_chunk(events, translator)
    except BaseException:
        await upstream.aclose()
        raise
    return EventStreamResponse(_event_stream(first, events, translator), upstream.aclose)


async def _first_chunk(events: AsyncIterator[dict[str, Any]],
                       translator: StreamTranslator) -> dict[str, Any] | None:
    async for event in events:
        if (chunk := translator.translate(event)) is not None:
            return chunk
    return None


async def _event_stream(first: dict[str, Any] | None, events: AsyncGenerator[dict[str, Any], None],
                        translator: StreamTranslator) -> AsyncGenerator[bytes, None]:
    try:
        if first is not None:
            yield encode_event(first)
        async for event in events:
            if (chunk := translator.translate(event)) is not None:
                yield encode_event(chunk)
        if (final := translator.finish()) is not None:
            yield encode_event(final)
        yield DONE
    except AdapterError as error:
        log.warning("stream %s ended with an error: %d %s", translator.id, error.status, error.code)
        yield encode_event(error.body())
    finally:
        await events.aclose()
