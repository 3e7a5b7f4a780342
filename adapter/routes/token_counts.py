"""POST /v1/responses/input_tokens and /v1/chat/completions/input_tokens over countTokens."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..observability import requested
from ..replies import JSONResponse
from ..translate.request import ChatRequest
from ..translate.token_counts import count_request, count_response
from ..upstream import encode_body
from . import chat, responses
from .common import json_body, off_loop, state_of


async def responses_input_tokens(request: Request) -> Response:
    """A `/v1/responses` body's input tokens, translated exactly as the live request is."""
    key = state_of(request).keys.for_request(request)
    body = await json_body(request)
    requested(body)  # the model, for the access log and metrics
    _, translated = await responses.translated(request, body, stores=False)
    return await _count(request, translated, key)


async def chat_input_tokens(request: Request) -> Response:
    """A `/v1/chat/completions` body's input tokens, translated as the live request is."""
    key = state_of(request).keys.for_request(request)
    body = await json_body(request)
    requested(body)
    return await _count(request, await chat.translated(request, body), key)


async def _count(request: Request, translated: ChatRequest, key: str) -> Response:
    content = await off_loop(request, encode_body, count_request(translated))
    answer = await state_of(request).gemini.count_tokens(translated.model, content, key)
    return JSONResponse(count_response(answer))
