"""The one Gemini client: URLs, the auth header, stream decoding and upstream error mapping."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, Protocol, cast
from urllib.parse import quote

import httpx
import orjson

from .keys import KeyPool
from .observability import current, note_upstream
from .retry import RetryPolicy
from .sse import JSONArrayDecoder, SSEDecoder
from .translate.errors import (
    AdapterError,
    InvalidRequest,
    UpstreamDisconnected,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnreachable,
    from_gemini_error,
)
from .translate.wire import GenerateContentResponse

log = logging.getLogger("adapter.upstream")

_MAX_MODEL_PAGES = 20


def transport_error(exc: httpx.HTTPError, base_url: str, *, streaming: bool) -> AdapterError:
    """The adapter's error for an httpx failure, before Gemini's answer began or (`streaming`)
    while its stream was being read: a timeout is a 504; any other failure is unreachable
    before, and a broken stream after."""
    name = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        if streaming:
            return UpstreamTimeout(f"Gemini sent nothing for the time allowed: {exc}.")
        return UpstreamTimeout(
            f"The Gemini API at {base_url} did not answer in time ({name}: {exc}).")
    if streaming:
        return UpstreamDisconnected(f"The connection to Gemini broke mid-stream: {name}.")
    return UpstreamUnreachable(f"Could not reach the Gemini API at {base_url}: {name}.")


def let_go(response: httpx.Response) -> None:
    """Free a finished call's request body now. httpx links a response and its stream in a
    reference cycle, so the response, its request and the request's body (up to 64 MiB) would
    otherwise wait for Python's cycle collector, which can take several requests to come: a
    worker's memory would climb by the body size per request until it did."""
    response.stream = httpx.ByteStream(b"")


def stream_event(payload: bytes, secrets: tuple[str, ...]) -> GenerateContentResponse:
    """One parsed stream event. An error event (Gemini sends them inside a 200 stream) raises
    the error it carries, with its status and every secret masked, like an error before the
    stream would. Only its being an object is checked: the translator reads each field
    defensively."""
    try:
        event = orjson.loads(payload)
    except orjson.JSONDecodeError:
        event = None
    if not isinstance(event, dict):
        raise AdapterError("Gemini sent an event that is not a JSON object.", 502,
                           code="upstream_bad_response")
    if "error" in event:
        error = event["error"]
        status = error.get("code") if isinstance(error, dict) else None
        raise from_gemini_error(status if isinstance(status, int) and 400 <= status < 600
                                else 500, event, secrets)
    return cast(GenerateContentResponse, event)


def encode_body(body: dict[str, Any]) -> bytes:
    """The request body as Gemini will receive it, serialised once (and shared by retries and
    repeated calls). The translators check every value's range; a value that still cannot be
    written (an integer beyond 64 bits, nesting deeper than the encoder allows) is the client's
    400, found before a stream slot is taken or anything is sent."""
    try:
        return orjson.dumps(body)
    except TypeError as exc:
        raise InvalidRequest(f"The request holds a value that cannot be sent to Gemini ({exc}).",
                             code="invalid_value") from None


class SlotGauge(Protocol):
    """Where the slots in use are counted (the Prometheus gauge)."""

    def inc(self) -> None: ...
    def dec(self) -> None: ...


class GeminiStream:
    """An open `streamGenerateContent` response. Iterate `batches()`; always `aclose()`."""

    __slots__ = ("_client", "_closed", "_decoder", "_response", "_secrets", "retries")

    def __init__(self, response: httpx.Response, client: GeminiClient, retries: int = 0,
                 secrets: tuple[str, ...] = ()) -> None:
        self._response = response
        self._client = client
        self._closed = False
        self._secrets = secrets  # masked in an error event Gemini sends inside the stream
        self.retries = retries
        json_array = "json" in response.headers.get("content-type", "")
        self._decoder = JSONArrayDecoder() if json_array else SSEDecoder()

    async def batches(self) -> AsyncGenerator[list[GenerateContentResponse], None]:
        """The Gemini events that arrived together, parsed, as soon as their bytes are in."""
        decoder = self._decoder
        try:
            async for data in self._response.aiter_bytes():
                if payloads := decoder.feed(data):
                    yield [stream_event(payload, self._secrets) for payload in payloads]
            if payloads := decoder.flush():
                yield [stream_event(payload, self._secrets) for payload in payloads]
        except httpx.HTTPError as exc:
            raise transport_error(exc, self._client.base_url, streaming=True) from None
        if decoder.pending.strip():
            raise UpstreamDisconnected("Gemini's stream ended in the middle of an event.")

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self._client.release_slot()
            await self._response.aclose()
            let_go(self._response)


class GeminiClient:
    """Calls one Gemini-API-compatible server through the process's shared httpx client."""

    def __init__(self, http: httpx.AsyncClient, base_url: str, *, first_byte_timeout: float,
                 secrets: tuple[str, ...], pool: KeyPool | None, retry: RetryPolicy,
                 max_streams: int, queue_timeout: float,
                 slots_in_use: SlotGauge | None = None) -> None:
        """Every value comes from Settings (see `app.py`); `max_streams` 0 is no limit. The read
        timeout is the httpx client's own; `first_byte_timeout` replaces it until Gemini's
        answer begins."""
        self._http = http
        self.base_url = base_url.rstrip("/")
        self.first_byte_timeout = first_byte_timeout
        self._secrets = secrets
        self._pool = pool
        self.retry = retry
        self._slots = asyncio.Semaphore(max_streams) if max_streams > 0 else None
        self._queue_timeout = queue_timeout
        self._in_use = slots_in_use

    def _headers(self, key: str) -> dict[str, str]:
        return {"x-goog-api-key": key}

    async def _send(self, request: httpx.Request, key: str, stream: bool) -> httpx.Response:
        try:
            response = await self._http.send(request, stream=stream)
        except httpx.HTTPError as exc:
            note_upstream(None)  # for the access log and metrics: a call with no answer
            log.warning("upstream %s %s failed: %s", request.method, request.url.path,
                        type(exc).__name__)
            raise transport_error(exc, self.base_url, streaming=False) from None
        note_upstream(response.status_code)
        if response.status_code >= 400:
            try:
                raw = await response.aread()
            except httpx.HTTPError:
                raw = b""
            finally:
                await response.aclose()
                let_go(response)
            header = response.headers.get("retry-after", "")  # used when it is seconds
            raise self._error(response.status_code, raw, key, request.url.path,
                              float(header) if header.isdigit() else None)
        return response

    def _error(self, status: int, raw: bytes, key: str, path: str,
               retry_after: float | None) -> UpstreamError:
        try:
            payload: Any = orjson.loads(raw)
        except orjson.JSONDecodeError:
            payload = raw.decode(errors="replace")
        error = from_gemini_error(status, payload, (key, *self._secrets), retry_after)
        log.warning("upstream %s answered %d %s", path, status,
                    error.gemini_status or error.code)
        return error

    async def open_stream(self, model: str, content: bytes, key: str) -> GeminiStream:
        """POST streamGenerateContent with the body `encode_body` made; raises AdapterError if
        Gemini refuses before streaming. The stream holds a slot until it is closed.

        Nothing has reached the client yet, so refusals that may pass (429, 500, 503, an
        unreachable server) are retried, on another key when the server has several, waiting
        as Gemini's RetryInfo asks. Never once the stream is open: that could duplicate output.
        """
        url = f"{self.base_url}/v1beta/models/{quote(model)}:streamGenerateContent?alt=sse"
        await self._take_slot()
        attempt = 0
        try:
            while True:
                request = self._http.build_request(
                    "POST", url, content=content,
                    headers={"x-goog-api-key": key, "content-type": "application/json"},
                    extensions={"first_byte_timeout": self.first_byte_timeout})
                try:
                    response = await self._send(request, key, stream=True)
                except AdapterError as error:
                    wait = self.retry.wait(error, attempt, key, self._pool)
                    if wait is None:
                        raise
                    attempt += 1
                    current().retries += 1  # for the access log and metrics
                    if self._pool is not None and self._pool.owns(key):
                        key = self._pool.next()
                    log.info("retrying %s after %s (attempt %d, in %.1f s)", model, error.status,
                             attempt, wait)
                    await asyncio.sleep(wait)
                    continue
                return GeminiStream(response, self, attempt, (key, *self._secrets))
        except BaseException:
            self.release_slot()
            raise

    async def _take_slot(self) -> None:
        if self._slots is None:
            return
        try:
            async with asyncio.timeout(self._queue_timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise AdapterError(
                "The adapter is serving as many Gemini streams as it is allowed to; try again "
                "shortly.", 503, code="too_many_streams", retry_after=1) from None
        if self._in_use is not None:
            self._in_use.inc()

    def release_slot(self) -> None:
        if self._slots is not None:
            self._slots.release()
            if self._in_use is not None:
                self._in_use.dec()

    @contextlib.asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        """A slot for one whole-answer call (images, embeddings): they count against the same
        limit as streams, and give the slot back however the call ends."""
        await self._take_slot()
        try:
            yield
        finally:
            self.release_slot()

    async def _get_json(self, path: str, key: str, params: dict[str, Any] | None = None) -> Any:
        request = self._http.build_request(
            "GET", f"{self.base_url}{path}", params=params, headers=self._headers(key))
        return await self._json(request, key)

    async def _json(self, request: httpx.Request, key: str) -> Any:
        """Send a request whose whole answer is one JSON body, and parse it."""
        response = await self._send(request, key, stream=False)
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise AdapterError("Gemini answered with a body that is not JSON.", 502,
                               code="upstream_bad_response") from None
        finally:
            let_go(response)

    async def list_models(self, key: str) -> list[dict[str, Any]]:
        """Every model the key can see (ListModels, all pages)."""
        models: list[dict[str, Any]] = []
        params: dict[str, Any] = {"pageSize": 1000}
        for _ in range(_MAX_MODEL_PAGES):
            page = await self._get_json("/v1beta/models", key, params)
            models.extend(page.get("models") or ())
            token = page.get("nextPageToken")
            if not token:
                break
            params = {"pageSize": 1000, "pageToken": token}
        return models

    async def get_model(self, model: str, key: str) -> dict[str, Any]:
        resource: dict[str, Any] = await self._get_json(f"/v1beta/models/{quote(model)}", key)
        return resource

    async def batch_embed(self, model: str, content: bytes, key: str) -> dict[str, Any]:
        """POST batchEmbedContents (at most 100 requests, as `encode_body` made them) and
        return Gemini's parsed answer."""
        return await self._post_json(f"{quote(model)}:batchEmbedContents", content, key)

    async def generate_content(self, model: str, content: bytes, key: str) -> dict[str, Any]:
        """POST generateContent (the whole answer at once) and return Gemini's parsed answer.
        `content` is shared as it is by the `n` calls of one images request."""
        return await self._post_json(f"{quote(model)}:generateContent", content, key)

    async def count_tokens(self, model: str, content: bytes, key: str) -> dict[str, Any]:
        """POST countTokens (`{"generateContentRequest": ...}`, as `encode_body` made it) and
        return Gemini's parsed answer (`totalTokens`)."""
        return await self._post_json(f"{quote(model)}:countTokens", content, key)

    async def _post_json(self, method: str, content: bytes, key: str) -> dict[str, Any]:
        request = self._http.build_request(
            "POST", f"{self.base_url}/v1beta/models/{method}", content=content,
            headers={**self._headers(key), "content-type": "application/json"})
        async with self._slot():
            answer: dict[str, Any] = await self._json(request, key)
            return answer
