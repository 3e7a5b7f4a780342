"""The Starlette app: routes, error handlers, and the lifespan that owns the upstream client."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .auth import ClientKeyCheck, UpstreamKeys
from .config import Settings
from .file_store import open_file_store
from .fleet import Fleet
from .gemini_files import GeminiFiles
from .limits import LimitCheck, Limits
from .media import MediaFetcher, is_public
from .memory import Trimmer
from .observability import Metrics, Observability
from .readiness import Readiness, drain_on_sigterm
from .record import Recorder, RecordingTransport
from .replay import ReplayTransport
from .replies import JSONResponse, error_response, plain_error
from .retry import RetryPolicy
from .routes.audio_speech import speech
from .routes.batches import cancel_batch, create_batch, list_batches, retrieve_batch
from .routes.chat import chat_completions
from .routes.common import AdapterState
from .routes.embeddings import embeddings
from .routes.files import (
    delete_file,
    file_content,
    list_files,
    retrieve_file,
    upload_file,
)
from .routes.images import image_edits, image_generations
from .routes.models import get_model, list_models
from .routes.responses import create_response, delete_response, get_response, list_input_items
from .routes.token_counts import chat_input_tokens, responses_input_tokens
from .routes.transcriptions import transcriptions, translations
from .store import open_store
from .translate.errors import AdapterError
from .transport import FastTransport, proxies_configured
from .upstream import GeminiClient

log = logging.getLogger("adapter")


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _adapter_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AdapterError)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return plain_error(exc.detail or "Error", exc.status_code)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return plain_error("The adapter failed unexpectedly; see its log.", 500, "internal_error")


def upstream_transport(settings: Settings) -> httpx.AsyncBaseTransport | None:
    """How the adapter reaches Gemini: live (the fast transport; httpx's own, which honours
    proxy settings, when None), recording, or replaying recordings."""
    live: httpx.AsyncBaseTransport | None = None
    if not proxies_configured(os.environ):
        live = FastTransport()
    if settings.upstream == "replay":
        fallthrough = (live or httpx.AsyncHTTPTransport()) if settings.replay_fallthrough else None
        return ReplayTransport(settings.replay_dir, settings.replay_timing, fallthrough,
                               settings.secrets)
    if settings.record_dir is not None:
        return RecordingTransport(live or httpx.AsyncHTTPTransport(),
                                  Recorder(settings.record_dir, settings.secrets))
    return live


def create_app(settings: Settings | None = None,
               transport: httpx.AsyncBaseTransport | None = None) -> Starlette:
    """Build the app. `transport` replaces the network (tests); by default the settings decide."""
    settings = settings or Settings.from_env()
    if transport is None:
        transport = upstream_transport(settings)

    metrics = Metrics(settings.replica_name)
    fleet = Fleet(settings.redis_url, metrics.registry)  # Redis-shared state, or its own
    limits = Limits(settings, fleet)
    readiness = Readiness(settings.replica_name)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=200),
        ) as http:
            trimmer = Trimmer()
            media = MediaFetcher(settings.fetch_max_bytes, settings.fetch_timeout,
                                 guard=None if settings.fetch_allow_private else is_public,
                                 max_count=settings.fetch_max_count,
                                 max_total_bytes=settings.fetch_max_total_bytes,
                                 concurrency=settings.fetch_concurrency,
                                 fetched=trimmer.note)
            store = open_store(settings)
            file_store = open_file_store(settings)
            keys = UpstreamKeys(settings)
            await fleet.start(keys.pool)
            app.state.fleet = fleet  # fleet.healthy / await fleet.ping(): Redis reachable
            gemini = GeminiClient(
                http, settings.gemini_base_url,
                first_byte_timeout=settings.first_byte_timeout or settings.read_timeout,
                secrets=settings.secrets,
                pool=keys.pool,
                retry=RetryPolicy(settings.retries, settings.retry_max_wait),
                max_streams=settings.max_streams, queue_timeout=settings.queue_timeout,
                slots_in_use=metrics.slots)
            app.state.adapter = AdapterState(
                settings=settings, gemini=gemini, keys=keys, media=media, store=store,
                trimmer=trimmer, files=GeminiFiles(gemini), file_store=file_store,
                uploads=asyncio.Semaphore(settings.max_uploads))
            undo_drain = drain_on_sigterm(readiness, settings.drain_delay)
            readiness.started()
            try:
                async with trimmer.running():
                    yield
            finally:
                if undo_drain is not None:
                    undo_drain()
                await media.aclose()
                await store.aclose()
                await file_store.aclose()
                await fleet.aclose()
                metrics.close()

    # Outermost, so that 401s and every other answer are logged and counted too.
    middleware = [Middleware(Observability, settings=settings, metrics=metrics)]
    if settings.adapter_api_keys:
        middleware.append(Middleware(ClientKeyCheck, keys=settings.adapter_api_keys))
    if limits.enabled:  # after the key check: only the adapter's own keys are counted
        middleware.append(Middleware(LimitCheck, limits=limits))
    return Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/ready", readiness.endpoint, methods=["GET"]),
            Route("/metrics", metrics.endpoint, methods=["GET"]),
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/chat/completions/input_tokens", chat_input_tokens, methods=["POST"]),
            Route("/v1/audio/speech", speech, methods=["POST"]),
            Route("/v1/embeddings", embeddings, methods=["POST"]),
            Route("/v1/images/generations", image_generations, methods=["POST"]),
            Route("/v1/images/edits", image_edits, methods=["POST"]),
            Route("/v1/audio/transcriptions", transcriptions, methods=["POST"]),
            Route("/v1/audio/translations", translations, methods=["POST"]),
            Route("/v1/responses", create_response, methods=["POST"]),
            Route("/v1/responses/input_tokens", responses_input_tokens, methods=["POST"]),
            Route("/v1/responses/{response_id}", get_response, methods=["GET"]),
            Route("/v1/responses/{response_id}", delete_response, methods=["DELETE"]),
            Route("/v1/responses/{response_id}/input_items", list_input_items, methods=["GET"]),
            Route("/v1/files", upload_file, methods=["POST"]),
            Route("/v1/files", list_files, methods=["GET"]),
            Route("/v1/files/{file_id}", retrieve_file, methods=["GET"]),
            Route("/v1/files/{file_id}", delete_file, methods=["DELETE"]),
            Route("/v1/files/{file_id}/content", file_content, methods=["GET"]),
            Route("/v1/batches", create_batch, methods=["POST"]),
            Route("/v1/batches", list_batches, methods=["GET"]),
            Route("/v1/batches/{batch_id}", retrieve_batch, methods=["GET"]),
            Route("/v1/batches/{batch_id}/cancel", cancel_batch, methods=["POST"]),
            Route("/v1/models", list_models, methods=["GET"]),
            Route("/v1/models/{model:path}", get_model, methods=["GET"]),
        ],
        middleware=middleware,
        exception_handlers={
            AdapterError: _adapter_error,
            HTTPException: _http_error,
            Exception: _unexpected_error,
        },
        lifespan=lifespan,
    )
