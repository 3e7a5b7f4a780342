"""One lifecycle for every answer streamed from Gemini, whichever OpenAI API asked for it.

Chat Completions and Responses differ only in what they make of the chat chunks the
StreamTranslator reads from Gemini's events: that is their `Output`. Everything else happens
here, once: the upstream stream is opened (the request is translated and encoded by then, so
nothing can fail between taking a slot and sending), folded into one JSON answer for a
non-streaming request, or held until its first bytes are ready for a streaming one (anything that
goes wrong before then reaches the client as a real HTTP status), ended with an error event when
the server shuts down, and cancelled when the client leaves or stops reading (EventStreamResponse).
The upstream stream, and with it its slot, is closed on every path.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from typing import Protocol

from starlette.responses import Response

from ..limits import stream_started
from ..replies import EventStreamResponse, JSONResponse
from ..translate.errors import AdapterError
from ..translate.stream import StreamTranslator
from ..translate.wire import ChatCompletionChunk, GenerateContentResponse
from .common import AdapterState

log = logging.getLogger("adapter.stream")

SHUTTING_DOWN = AdapterError("The adapter is shutting down; the answer was cut off.", 503,
                             code="server_shutting_down")

Batches = AsyncGenerator[list[GenerateContentResponse], None]
Save = Callable[[], Awaitable[None]]


class Output(Protocol):
    """What one API makes of the chat chunks of an answer: its SSE events, or its JSON object."""

    @property
    def id(self) -> str:
        """The answer's id, for the log."""
        ...

    def opening(self) -> bytes:
        """SSE bytes that go before the first chunk's (in the same write)."""
        ...

    def events(self, chunks: list[ChatCompletionChunk]) -> bytes:
        """SSE bytes for chunks that arrived together; empty when there is nothing to send."""
        ...

    def closing(self, final: ChatCompletionChunk | None) -> bytes:
        """SSE bytes that end a complete answer; `final` is the translator's last chunk."""
        ...

    def failure(self, error: AdapterError) -> bytes:
        """SSE bytes that end an answer cut short by `error`."""
        ...

    def fold(self, chunks: list[ChatCompletionChunk]) -> None:
        """Take chunks of a non-streaming answer."""
        ...

    def folded(self, final: ChatCompletionChunk | None) -> Mapping[str, object]:
        """The whole non-streaming answer, once every chunk was folded in."""
        ...


def _chunks(batch: list[GenerateContentResponse],
            translator: StreamTranslator) -> list[ChatCompletionChunk]:
    translate = translator.translate
    return [chunk for event in batch if (chunk := translate(event)) is not None]


async def answer(state: AdapterState, model: str, content: bytes, key: str,
                 translator: StreamTranslator, output: Output, stream: bool,
                 save: Save | None = None) -> Response | EventStreamResponse:
    """Call Gemini with `content` (from `encode_body`) and answer the client through `output`.

    `save` runs once the answer is complete, before its last bytes go out (Responses' store)."""
    if stream:
        await stream_started()  # the client key's stream limit, released when the response ends
    upstream = await state.gemini.open_stream(model, content, key)
    batches: Batches = upstream.batches()
    if not stream:
        try:
            async for batch in batches:
                output.fold(_chunks(batch, translator))
            result = output.folded(translator.finish())
        finally:
            await upstream.aclose()
        if save is not None:
            await save()
        return JSONResponse(result)
    try:
        first = output.opening()
        async for batch in batches:  # hold the response until Gemini has answered
            if data := output.events(_chunks(batch, translator)):
                first += data
                break
    except BaseException:
        await upstream.aclose()
        raise
    return EventStreamResponse(_stream(first, batches, translator, output, save), upstream.aclose,
                               abort=lambda: output.failure(SHUTTING_DOWN),
                               write_timeout=state.settings.write_timeout)


async def _stream(first: bytes, batches: Batches, translator: StreamTranslator, output: Output,
                  save: Save | None) -> AsyncGenerator[bytes, None]:
    try:
        if first:
            yield first
        async for batch in batches:
            if data := output.events(_chunks(batch, translator)):
                yield data
        closing = output.closing(translator.finish())
        if save is not None:
            await save()
        yield closing
    except AdapterError as error:
        log.warning("stream %s ended with an error: %d %s", output.id, error.status, error.code)
        yield output.failure(error)
    finally:
        await batches.aclose()
