"""POST /v1/images/generations and POST /v1/images/edits."""

from __future__ import annotations

import asyncio
import time

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Scope

from ..observability import RequestRecord, requested
from ..replies import JSONResponse
from ..translate.errors import InvalidRequest
from ..translate.images import (
    MAX_IMAGES,
    ImagesRequest,
    Upload,
    edit_request,
    generation_request,
    images_response,
)
from ..upstream import encode_body
from .common import all_of, is_large, json_body, limited_body, off_loop, state_of

_MAX_FORM_FIELDS = 64  # far more text fields than the edits API has


async def image_generations(request: Request) -> Response:
    state = state_of(request)
    key = state.keys.for_request(request)
    body = await json_body(request)
    observed = requested(body)  # the model, for the access log and metrics
    plan = await off_loop(request, generation_request, body, state.settings.model_map)
    return await _images(request, key, plan, observed)


async def image_edits(request: Request) -> Response:
    state = state_of(request)
    key = state.keys.for_request(request)
    fields = await _form_fields(request)
    observed = requested({"model": next((v for k, v in fields if k == "model"), None)})
    plan = await off_loop(request, edit_request, fields, state.settings.model_map)
    return await _images(request, key, plan, observed)


async def _images(request: Request, key: str, plan: ImagesRequest,
                  observed: RequestRecord) -> Response:
    """Make the n generateContent calls at once, with one body shared by all of them, and
    answer with their images."""
    gemini = state_of(request).gemini
    content = await off_loop(request, encode_body, plan.body)
    answers = await all_of([gemini.generate_content(plan.model, content, key)
                            for _ in range(plan.n)])
    answer = images_response(answers, int(time.time()))
    usage = answer["usage"]
    observed.usage = {"prompt_tokens": usage["input_tokens"],
                      "completion_tokens": usage["output_tokens"]}
    return JSONResponse(answer)


async def _form_fields(request: Request) -> list[tuple[str, str | Upload]]:
    """The multipart form's fields in order, files read into memory. A large form is parsed
    in a worker thread, on an event loop of its own there, so that parsing it never stalls
    this one."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise InvalidRequest("Image edits must be sent as multipart/form-data.")
    raw = await limited_body(request)
    if is_large(request):
        return await asyncio.to_thread(asyncio.run, _parse_form(request.scope, raw))
    return await _parse_form(request.scope, raw)


async def _parse_form(scope: Scope, raw: bytes) -> list[tuple[str, str | Upload]]:
    async def replay() -> Message:
        return {"type": "http.request", "body": raw, "more_body": False}

    try:
        form = await Request(scope, replay).form(max_files=MAX_IMAGES + 1,
                                                 max_fields=_MAX_FORM_FIELDS)
    except HTTPException as exc:
        raise InvalidRequest(f"The multipart form could not be read: {exc.detail}") from None
    try:
        return [(name, Upload(await value.read(), value.content_type)
                 if isinstance(value, UploadFile) else value)
                for name, value in form.multi_items()]
    finally:
        await form.close()
