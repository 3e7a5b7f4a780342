"""POST /v1/images/generations and POST /v1/images/edits."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from ..observability import RequestRecord, requested
from ..replies import JSONResponse
from ..translate.images import (
    MAX_IMAGES,
    ImagesRequest,
    edit_request,
    generation_request,
    images_response,
)
from ..upstream import encode_body
from .common import all_of, json_body, off_loop, state_of
from .forms import FormFields, form_fields

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


async def _form_fields(request: Request) -> FormFields:
    return await form_fields(request, "Image edits", MAX_IMAGES + 1, _MAX_FORM_FIELDS)
