"""What every route needs: the shared state and the parsed JSON body."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request

from ..auth import UpstreamKeys
from ..config import Settings
from ..media import MediaFetcher
from ..store import ResponseStore
from ..translate.errors import InvalidRequest
from ..upstream import GeminiClient


@dataclass(slots=True)
class AdapterState:
    """Process-wide objects the lifespan creates once and every request shares."""

    settings: Settings
    gemini: GeminiClient
    keys: UpstreamKeys
    media: MediaFetcher
    store: ResponseStore


def state_of(request: Request) -> AdapterState:
    return request.app.state.adapter


async def json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"The request body is not valid JSON: {exc}.") from None
