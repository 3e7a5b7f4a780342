"""POST /v1/audio/speech: text to speech over a Gemini TTS model, streamed.

The request is translated (translate/speech.py), Gemini's stream opened with a slot like every
upstream call, and the response held until the first encoded bytes are ready, so that anything
that goes wrong before then reaches the client as a real HTTP status. Then each Gemini event's
PCM is encoded (audio_encode.py; in a worker thread for the real codecs) and sent at once: raw
audio, or `speech.audio.delta` events ending with `speech.audio.done` (usage) for
`stream_format: "sse"`. An error after the first bytes ends an SSE answer with an error event;
raw audio can only end early (the log says why).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncGenerator

from starlette.requests import Request

from ..audio_encode import Encoder
from ..limits import stream_started
from ..observability import RequestRecord, requested
from ..replies import EventStreamResponse
from ..sse import encode_event
from ..translate.errors import AdapterError
from ..translate.speech import CONTENT_TYPES, PCM_RATE, SpeechAnswer, speech_request
from ..upstream import GeminiStream, encode_body
from .common import json_body, off_loop, state_of
from .stream_driver import SHUTTING_DOWN

log = logging.getLogger("adapter.stream")


async def speech(request: Request) -> EventStreamResponse:
    state = state_of(request)
    key = state.keys.for_request(request)
    body = await json_body(request)
    observed = requested(body)
    plan = await off_loop(request, speech_request, body, state.settings.model_map,
                          state.settings.tts_model)
    content = await off_loop(request, encode_body, plan.body)
    await stream_started()  # the client key's stream limit, released when the response ends
    upstream = await state.gemini.open_stream(plan.model, content, key)
    answer = SpeechAnswer()
    audio = _audio(upstream, answer, plan.response_format, observed)
    pieces = _sse(audio, answer) if plan.sse else audio
    try:
        first = b""
        async for first in pieces:  # hold the response until there is audio to send
            if first:
                break
    except BaseException:
        await pieces.aclose()
        await upstream.aclose()
        raise
    content_type = "text/event-stream" if plan.sse else CONTENT_TYPES[plan.response_format]
    return EventStreamResponse(
        _rest(first, pieces, plan.sse), upstream.aclose,
        abort=(lambda: encode_event(SHUTTING_DOWN.body())) if plan.sse else None,
        write_timeout=state.settings.write_timeout, content_type=content_type)


async def _audio(upstream: GeminiStream, answer: SpeechAnswer, fmt: str,
                 observed: RequestRecord) -> AsyncGenerator[bytes, None]:
    """The encoded audio, piece by piece as Gemini's events come."""
    encoder: Encoder | None = None
    batches = upstream.batches()
    try:
        async for batch in batches:
            for event in batch:
                pcm = answer.pcm(event)
                if not pcm:
                    continue
                if encoder is None:
                    encoder = Encoder(fmt, answer.rate or PCM_RATE)
                yield (await asyncio.to_thread(encoder.feed, pcm) if encoder.heavy
                       else encoder.feed(pcm))
        answer.check_end()
        assert encoder is not None  # check_end raised otherwise
        yield (await asyncio.to_thread(encoder.finish) if encoder.heavy else encoder.finish())
        observed.usage = {"prompt_tokens": answer.usage["input_tokens"],
                          "completion_tokens": answer.usage["output_tokens"]}
    finally:
        if encoder is not None:
            encoder.close()
        await batches.aclose()


async def _sse(audio: AsyncGenerator[bytes, None],
               answer: SpeechAnswer) -> AsyncGenerator[bytes, None]:
    """OpenAI's speech events: base64 audio deltas, then the usage."""
    try:
        async for data in audio:
            if data:
                yield encode_event({"type": "speech.audio.delta",
                                    "audio": base64.b64encode(data).decode()})
        yield encode_event({"type": "speech.audio.done", "usage": answer.usage})
    finally:
        await audio.aclose()


async def _rest(first: bytes, pieces: AsyncGenerator[bytes, None],
                sse: bool) -> AsyncGenerator[bytes, None]:
    try:
        yield first
        async for data in pieces:
            if data:
                yield data
    except AdapterError as error:
        log.warning("speech ended with an error: %d %s", error.status, error.code)
        if sse:
            yield encode_event(error.body())
    finally:
        await pieces.aclose()
