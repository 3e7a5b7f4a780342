"""What every route needs: the shared state, the parsed JSON body, concurrent upstream calls."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from starlette.requests import Request

from ..auth import UpstreamKeys
from ..config import Settings
from ..file_store import FileStore
from ..gemini_files import GeminiFiles
from ..media import MediaFetcher
from ..memory import Trimmer
from ..store import ResponseStore
from ..translate import validate
from ..translate.errors import AdapterError, InvalidRequest
from ..upstream import GeminiClient

T = TypeVar("T")


@dataclass(slots=True)
class AdapterState:
    """Process-wide objects the lifespan creates once and every request shares."""

    settings: Settings
    gemini: GeminiClient
    keys: UpstreamKeys
    media: MediaFetcher
    store: ResponseStore
    trimmer: Trimmer
    files: GeminiFiles  # Gemini's Files API and Batch Mode
    file_store: FileStore  # batch input files and batch records
    uploads: asyncio.Semaphore  # file uploads streaming at once (ADAPTER_MAX_UPLOADS)


def state_of(request: Request) -> AdapterState:
    state: AdapterState = request.app.state.adapter
    return state


def _too_large(limit: int) -> AdapterError:
    return AdapterError(f"The request body is larger than the {limit} bytes this adapter "
                        "accepts (ADAPTER_MAX_BODY_BYTES).", 413, code="request_too_large")


# Requests larger than this are parsed, translated and encoded in a worker thread, so that the
# event loop (every other request on this worker, /health included) keeps its turns meanwhile.
OFF_LOOP_BYTES = 16 * 1024


def is_large(request: Request) -> bool:
    """Whether the request's body (once read) is large enough to work on off the loop."""
    return getattr(request.state, "body_bytes", 0) > OFF_LOOP_BYTES


def _heavy(request: Request) -> bool:
    """Whether translating the request may take long: a large body, or a small one whose
    schemas refer to each other (`$ref`), which expand up to the schema budget."""
    return is_large(request) or getattr(request.state, "has_refs", False)


async def off_loop(request: Request, func: Callable[..., T], *args: Any) -> T:
    """`func(*args)`: in a worker thread when the request is heavy, else right here (a thread
    costs more than translating a small request)."""
    if _heavy(request):
        return await asyncio.to_thread(func, *args)
    return func(*args)


async def limited_body(request: Request) -> bytes:
    """The whole body; 413 beyond ADAPTER_MAX_BODY_BYTES (checked before reading it all)."""
    limit = state_of(request).settings.max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    request.state.body_bytes = size
    state_of(request).trimmer.note(size)
    raw = b"".join(chunks)
    request.state.has_refs = b'"$ref"' in raw
    return raw


def _parse(raw: bytes) -> Any:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"The request body is not valid JSON: {exc}.") from None
    validate.nesting(body)
    return body


async def json_body(request: Request) -> Any:
    """The parsed body, within the size and nesting limits."""
    raw = await limited_body(request)
    return await off_loop(request, _parse, raw)


async def all_of(calls: list[Awaitable[Any]]) -> list[Any]:
    """Every call's result, in order, run concurrently; the first failure cancels the rest."""
    if len(calls) == 1:
        return [await calls[0]]
    tasks = [asyncio.ensure_future(call) for call in calls]
    try:
        return await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
