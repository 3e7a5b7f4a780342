"""GET /v1/models and GET /v1/models/{id}."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..replies import JSONResponse
from ..translate.models import model_list, model_object
from ..translate.request import model_id
from .common import state_of


async def list_models(request: Request) -> Response:
    state = state_of(request)
    models = await state.gemini.list_models(state.keys.for_request(request))
    return JSONResponse(model_list(models, state.settings.model_map))


async def get_model(request: Request) -> Response:
    state = state_of(request)
    name = model_id(request.path_params["model"], aliases=state.settings.model_map)
    model = await state.gemini.get_model(name, state.keys.for_request(request))
    asked = request.path_params["model"]
    alias = asked if asked in state.settings.model_map else None  # answer with the alias asked for
    return JSONResponse(model_object(model, alias))
