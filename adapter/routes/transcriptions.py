"""POST /v1/audio/transcriptions and POST /v1/audio/translations (speech to text)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..gemini_files import GeminiFiles
from ..limits import stream_started
from ..observability import requested
from ..replies import EventStreamResponse, JSONResponse
from ..sse import encode_event
from ..translate.content import remote_parts
from ..translate.errors import AdapterError
from ..translate.transcription import (
    TranscriptionRequest,
    answer_text,
    delta_event,
    done_event,
    read_transcript,
    render,
    transcription_request,
    usage,
    with_file,
)
from ..upstream import GeminiStream, encode_body
from .common import off_loop, state_of
from .forms import FormFields, form_fields
from .placeholders import resolve_placeholders
from .stream_driver import SHUTTING_DOWN

log = logging.getLogger("adapter")

_MAX_FORM_FIELDS = 32  # far more text fields than the endpoint has
_FILE_POLL_SECONDS = 1.0  # how often an uploaded file still PROCESSING is looked at again
_FILE_WAIT_SECONDS = 60.0  # how long it may stay PROCESSING
_deleting: set[asyncio.Task[None]] = set()  # deletions under way (a task needs a reference)



async def transcriptions(request: Request) -> Response | EventStreamResponse:
    return await _speech_to_text(request, translate=False)


async def translations(request: Request) -> Response | EventStreamResponse:
    return await _speech_to_text(request, translate=True)


async def _speech_to_text(request: Request, translate: bool) -> Response | EventStreamResponse:
    state = state_of(request)
    key = state.keys.for_request(request)
    fields = await _form_fields(request)
    observed = requested({"model": next((v for k, v in fields if k == "model"), None)})
    settings = state.settings
    plan = await off_loop(request, _plan, fields, translate, settings.transcribe_model,
                          settings.transcribe_max_bytes, settings.model_map)
    await resolve_placeholders(request, remote_parts(plan.body["contents"]))
    file = await _upload(state.files, plan, key) if plan.upload is not None else None
    try:
        sent = with_file(plan, file) if file is not None else plan.body
        content = await off_loop(request, encode_body, sent)
        if plan.stream:
            streamed = await _streamed(request, plan, content, key,
                                       file["name"] if file is not None else None)
            file = None  # the stream deletes it when it closes
            return streamed
        answer = await state.gemini.generate_content(plan.model, content, key)
    finally:
        if file is not None:
            await _delete(state.files, file["name"], key)
    transcript = read_transcript(plan, answer)
    body, media_type = render(plan, transcript, [answer])
    tokens = usage(plan, [answer], None)  # tokens, whatever the model (duration unknown)
    observed.usage = {"prompt_tokens": int(tokens.get("input_tokens", 0)),
                      "completion_tokens": int(tokens.get("output_tokens", 0))}
    if isinstance(body, dict):
        return JSONResponse(body)
    return Response(body, media_type=media_type)


def _plan(fields: FormFields, translate: bool, model: str,
          max_bytes: int, aliases: dict[str, str]) -> TranscriptionRequest:
    return transcription_request(fields, translate=translate, default_model=model,
                                 max_bytes=max_bytes, aliases=aliases)


async def _upload(files: GeminiFiles, plan: TranscriptionRequest, key: str) -> dict[str, Any]:
    """The audio uploaded through Gemini's Files API, once it is ACTIVE (Gemini may process a
    file for a while after the upload); deleted again if it never becomes usable."""
    assert plan.upload is not None
    upload = plan.upload
    file = await files.upload(_whole(upload.data), plan.mime, upload.filename or "audio", key,
                              max_bytes=len(upload.data))
    try:
        waited = 0.0
        while file.get("state") == "PROCESSING":
            if waited >= _FILE_WAIT_SECONDS:
                raise AdapterError(f"Gemini was still processing the uploaded audio after "
                                   f"{_FILE_WAIT_SECONDS:.0f} s.", 504, code="upstream_timeout")
            await asyncio.sleep(_FILE_POLL_SECONDS)
            waited += _FILE_POLL_SECONDS
            file = await files.get(file["name"], key)
        if file.get("state") == "FAILED":
            raise AdapterError("Gemini could not process the uploaded audio file.", 502,
                               code="upstream_bad_response")
    except BaseException:
        await _delete(files, file["name"], key)
        raise
    return file


async def _whole(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _delete(files: GeminiFiles, name: str, key: str) -> None:
    """Delete an uploaded file, whatever happened to the request: the deletion runs as a task
    of its own, so that a cancelled request (the client hung up) does not cancel it; a failure
    is logged (Gemini deletes files itself after 48 hours)."""
    async def delete() -> None:
        try:
            await files.delete(name, key)
        except AdapterError as error:
            log.warning("could not delete the uploaded audio %s: %d %s", name, error.status,
                        error.code)

    task = asyncio.create_task(delete())
    _deleting.add(task)
    task.add_done_callback(_deleting.discard)
    await asyncio.shield(task)


async def _streamed(request: Request, plan: TranscriptionRequest, content: bytes,
                    key: str, file: str | None = None) -> EventStreamResponse:
    """`transcript.text.delta` events as Gemini's text arrives, then `transcript.text.done`.
    The response waits for Gemini's first event, so that a refusal is still an HTTP error.
    An uploaded `file` is deleted when the stream closes."""
    state = state_of(request)
    await stream_started()
    upstream = await state.gemini.open_stream(plan.model, content, key)
    batches = upstream.batches()
    said: list[str] = []
    answers: list[dict[str, Any]] = []
    try:
        first = b""
        async for batch in batches:
            first = _events(batch, said, answers)
            if first:
                break
    except BaseException:
        await upstream.aclose()
        raise

    async def close() -> None:
        try:
            await upstream.aclose()
        finally:
            if file is not None:
                await _delete(state.files, file, key)

    return EventStreamResponse(_stream(first, batches, upstream, plan, said, answers), close,
                               abort=lambda: encode_event(_error_event(SHUTTING_DOWN)),
                               write_timeout=state.settings.write_timeout)


def _events(batch: list[Any], said: list[str], answers: list[dict[str, Any]]) -> bytes:
    data = b""
    for event in batch:
        answers[:] = [event]  # the latest event carries the usage so far
        if text := answer_text(event):
            if not said:
                text = text.lstrip()
            said.append(text)
            data += encode_event(delta_event(text))
    return data


def _error_event(error: AdapterError) -> dict[str, Any]:
    return {"type": "error", "error": error.body()["error"]}


async def _stream(first: bytes, batches: AsyncGenerator[list[Any], None], upstream: GeminiStream,
                  plan: TranscriptionRequest, said: list[str],
                  answers: list[dict[str, Any]]) -> AsyncGenerator[bytes, None]:
    try:
        if first:
            yield first
        async for batch in batches:
            if data := _events(batch, said, answers):
                yield data
        yield encode_event(done_event("".join(said).strip(), usage(plan, answers, None)))
    except AdapterError as error:
        log.warning("transcription stream ended with an error: %d %s", error.status, error.code)
        yield encode_event(_error_event(error))
    finally:
        await batches.aclose()


async def _form_fields(request: Request) -> FormFields:
    return await form_fields(request, "Audio", 2, _MAX_FORM_FIELDS)
