"""POST /v1/responses, GET and DELETE /v1/responses/{id}, GET /v1/responses/{id}/input_items."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..auth import require_identity
from ..observability import requested
from ..replies import EventStreamResponse, JSONResponse
from ..sse import encode_typed
from ..store import ChainError
from ..translate import validate
from ..translate.errors import AdapterError, InvalidRequest
from ..translate.request import ChatRequest, chat_request
from ..translate.responses_items import input_item_list
from ..translate.responses_request import ResponsesCall, input_messages, responses_call
from ..translate.responses_stream import Event, ResponsesEmitter
from ..translate.stream import StreamTranslator
from ..translate.wire import ChatCompletionChunk
from ..upstream import encode_body
from .common import json_body, off_loop, state_of
from .placeholders import resolve_placeholders
from .stream_driver import answer


def _input_items(value: Any) -> list[dict[str, Any]]:
    """The request's input as a list of items, each with an id (for input_items)."""
    items = [{"type": "message", "role": "user",
              "content": [{"type": "input_text", "text": value}]}] \
        if isinstance(value, str) else [dict(item) for item in value]
    for item in items:
        if not item.get("id"):
            item["id"] = f"msg_{uuid.uuid4().hex}" if item.get("type", "message") == \
                "message" else f"item_{uuid.uuid4().hex}"
    return items


async def _history(request: Request, body: Any, stores: bool = True) -> list[dict[str, Any]]:
    """The chat messages of the stored conversation `previous_response_id` continues (the
    caller's own: another's is as unknown as an id that never existed). A request that will
    store its response, or continue one, must present a key: the response will be its owner's.
    `stores` False: nothing will be stored whatever `store` says (a token count)."""
    if not isinstance(body, dict) or ((not stores or body.get("store") is False)
                                      and body.get("previous_response_id") is None):
        return []
    owner = require_identity(request)
    previous = body.get("previous_response_id")
    if previous is None:
        return []
    previous = validate.string(previous, "previous_response_id")
    try:
        records = await state_of(request).store.chain(previous, owner)
    except ChainError as error:
        raise InvalidRequest(str(error), "previous_response_id", code=error.code) from None
    if records is None:
        raise InvalidRequest(f"Previous response with id {previous!r} not found.",
                             "previous_response_id", code="previous_response_not_found")
    return [message for record in records for message in record["messages"]]


async def _save(request: Request, body: dict[str, Any], call: ResponsesCall,
                response: dict[str, Any]) -> None:
    """Store this turn once: its input and output items, chained to the record it continues."""
    if body.get("store") is False:
        return
    record = {"response": response, "input": _input_items(body["input"]),
              "messages": [*call.messages, *input_messages(response["output"])]}
    await state_of(request).store.save(response["id"], record, owner=require_identity(request),
                                       parent=body.get("previous_response_id"))


async def translated(request: Request, body: Any,
                     stores: bool = True) -> tuple[ResponsesCall, ChatRequest]:
    """A `/v1/responses` body as Gemini's request, remote media fetched: what the live request
    sends, and what POST /v1/responses/input_tokens counts (`stores` False)."""
    state = state_of(request)
    history = await _history(request, body, stores)
    call = await off_loop(request, responses_call, body, history, state.settings.model_map)
    chat = await off_loop(request, chat_request, call.chat, state.settings.model_map)
    if chat.remote_media:
        await resolve_placeholders(request, chat.remote_media)
    return call, chat


async def create_response(request: Request) -> Response | EventStreamResponse:
    state = state_of(request)
    key = state.keys.for_request(request)
    body = await json_body(request)
    observed = requested(body)  # model and stream, for the access log and metrics
    call, chat = await translated(request, body)
    content = await off_loop(request, encode_body, chat.gemini)
    translator = StreamTranslator(body["model"], int(time.time()), include_usage=True,
                                  finish_function=chat.finish)
    observed.translator = translator  # its usage, when the request is over
    emitter = ResponsesEmitter(body["model"], call.echo, call.custom_tools, call.namespaces)
    return await answer(state, chat.model, content, key, translator, ResponsesOutput(emitter),
                        chat.stream, save=lambda: _save(request, body, call, emitter.response))


class ResponsesOutput:
    """The Responses API: its typed events (`response.created` ... `response.completed`); or,
    folded, the `response` object they describe."""

    __slots__ = ("_emitter",)

    def __init__(self, emitter: ResponsesEmitter) -> None:
        self._emitter = emitter

    @property
    def id(self) -> str:
        return str(self._emitter.response["id"])

    def opening(self) -> bytes:
        return encode_typed(self._emitter.start())

    def events(self, chunks: list[ChatCompletionChunk]) -> bytes:
        feed = self._emitter.feed
        events: list[Event] = []
        for chunk in chunks:
            events += feed(chunk)
        return encode_typed(events)

    def closing(self, final: ChatCompletionChunk | None) -> bytes:
        emitter = self._emitter
        events = emitter.feed(final) if final is not None else []
        return encode_typed(events + emitter.finish())

    def failure(self, error: AdapterError) -> bytes:
        return encode_typed(self._emitter.fail(error))

    def fold(self, chunks: list[ChatCompletionChunk]) -> None:
        for chunk in chunks:
            self._emitter.feed(chunk)

    def folded(self, final: ChatCompletionChunk | None) -> Mapping[str, object]:
        if final is not None:
            self._emitter.feed(final)
        self._emitter.finish()
        return self._emitter.response


async def _record(request: Request) -> dict[str, Any]:
    owner = require_identity(request)
    response_id = request.path_params["response_id"]
    record = await state_of(request).store.load(response_id, owner)
    if record is None:
        raise _not_found(response_id)
    return record


def _not_found(response_id: str) -> AdapterError:
    """The same answer for an id that never existed, expired, was deleted or is another's."""
    return AdapterError(f"Response with id {response_id!r} not found.", 404,
                        "response_id", "not_found")


async def get_response(request: Request) -> Response:
    return JSONResponse((await _record(request))["response"])


async def list_input_items(request: Request) -> Response:
    """The stored input items as `ItemResource`s, a page at a time (`order`, `limit`,
    `after`)."""
    items = (await _record(request))["input"]
    return JSONResponse(input_item_list(items, request.query_params))


async def delete_response(request: Request) -> Response:
    owner = require_identity(request)
    response_id = request.path_params["response_id"]
    if not await state_of(request).store.delete(response_id, owner):
        raise _not_found(response_id)
    return JSONResponse({"id": response_id, "object": "response", "deleted": True})
