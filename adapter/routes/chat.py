"""POST /v1/chat/completions."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..observability import requested
from ..replies import EventStreamResponse
from ..sse import DONE, encode_event
from ..translate.errors import AdapterError
from ..translate.request import ChatRequest, chat_request
from ..translate.response import CompletionBuilder
from ..translate.stream import StreamTranslator
from ..translate.wire import ChatCompletionChunk
from ..upstream import encode_body
from .common import json_body, off_loop, state_of
from .placeholders import resolve_placeholders
from .stream_driver import answer


async def translated(request: Request, body: Any) -> ChatRequest:
    """A Chat Completions body as Gemini's request, remote media fetched: what the live request
    sends, and what POST /v1/chat/completions/input_tokens counts."""
    state = state_of(request)
    chat = await off_loop(request, chat_request, body, state.settings.model_map)
    if chat.remote_media:
        await resolve_placeholders(request, chat.remote_media)
    return chat


async def chat_completions(request: Request) -> Response | EventStreamResponse:
    state = state_of(request)
    key = state.keys.for_request(request)
    body = await json_body(request)
    observed = requested(body)  # model and stream, for the access log and metrics
    chat = await translated(request, body)
    content = await off_loop(request, encode_body, chat.gemini)
    translator = StreamTranslator(body["model"], int(time.time()), chat.include_usage,
                                  finish_function=chat.finish, audio_format=chat.audio_format)
    observed.translator = translator  # its usage, when the request is over
    return await answer(state, chat.model, content, key, translator, ChatOutput(translator),
                        chat.stream)


class ChatOutput:
    """Chat Completions: each chunk a `data:` event, then `data: [DONE]`; or, folded, one
    `chat.completion`."""

    __slots__ = ("_builder", "_translator")

    def __init__(self, translator: StreamTranslator) -> None:
        self._translator = translator
        self._builder = CompletionBuilder(translator)

    @property
    def id(self) -> str:
        return self._translator.id

    def opening(self) -> bytes:
        return b""

    def events(self, chunks: list[ChatCompletionChunk]) -> bytes:
        return b"".join([encode_event(chunk) for chunk in chunks])

    def closing(self, final: ChatCompletionChunk | None) -> bytes:
        return DONE if final is None else encode_event(final) + DONE

    def failure(self, error: AdapterError) -> bytes:
        return encode_event(error.body())

    def fold(self, chunks: list[ChatCompletionChunk]) -> None:
        for chunk in chunks:
            self._builder.add(chunk)

    def folded(self, final: ChatCompletionChunk | None) -> Mapping[str, object]:
        return self._builder.build()  # the usage of `final` is the translator's too
