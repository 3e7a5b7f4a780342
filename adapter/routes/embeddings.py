"""POST /v1/embeddings."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..observability import requested
from ..replies import JSONResponse
from ..translate.embeddings import embeddings_request, embeddings_response
from ..upstream import encode_body
from .common import all_of, json_body, off_loop, state_of


async def embeddings(request: Request) -> Response:
    state = state_of(request)
    key = state.keys.for_request(request)
    body = await json_body(request)
    observed = requested(body)  # the model, for the access log and metrics
    embed = await off_loop(request, embeddings_request, body, state.settings.model_map)
    bodies = [await off_loop(request, encode_body, batch) for batch in embed.batches]
    responses = await all_of([state.gemini.batch_embed(embed.model, content, key)
                              for content in bodies])
    answer = embeddings_response(embed, responses, body["model"])
    observed.usage = answer["usage"]
    return JSONResponse(answer)
