"""Observability: one access-log line per request, and Prometheus metrics at `GET /metrics`.

`Observability` is a pure ASGI middleware around the whole app. For every HTTP request it makes
a `RequestRecord`, which the routes and the upstream client reach through `current()` (a context
variable: it follows the request into the streaming body and into the tasks it starts) and fill
in: the model and stream flag as requested, the upstream status, the usage. The middleware itself
sees the response's status, its first body bytes and its last. When the response has ended (its
last body message, after the whole stream; or the app returning without one: an error, the
client going away) it updates the metrics and writes the access line, once. Nothing here reads
or logs prompt or answer text unless ADAPTER_LOG_BODIES is set.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Set
from contextvars import ContextVar
from typing import Any, NotRequired, Protocol, TypedDict

import orjson
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .config import Settings
from .redaction import redact
from .translate.request import MAX_MODEL_ID
from .translate.usage import usage
from .translate.wire import UsageMetadata

access_log = logging.getLogger("adapter.access")
log = logging.getLogger("adapter")

# A client's x-request-id is reused when it is 1 to 128 visible ASCII characters other than
# `"` and `\` (nothing that could break a log line); otherwise the adapter makes one.
_CLIENT_ID = re.compile(rb"[!#-\[\]-~]{1,128}")
_PLAIN = re.compile(r"[A-Za-z0-9._:/@+=-]*")  # text-format values written without quotes
MAX_MODEL_LABELS = 100  # distinct `model` label values per process; more count as "other"
MAX_BODY_LOG = 64 * 1024  # characters of each body logged with ADAPTER_LOG_BODIES
# Probes, asked every few seconds by load balancers and Kubernetes: counted, never logged.
UNLOGGED_PATHS = frozenset({"/health", "/ready"})

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)
TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)


class Translated(Protocol):
    """What the record reads from a stream's translator once the request is over."""

    @property
    def usage_metadata(self) -> UsageMetadata | None: ...  # Gemini's, the latest seen

    @property
    def skipped(self) -> Set[str]: ...  # kinds of answer parts with no OpenAI form


class TokenCounts(TypedDict):
    """The tokens a route that has no translator counted (embeddings, images)."""

    prompt_tokens: int
    completion_tokens: NotRequired[int]


class RequestRecord:
    """What one request did, filled in while it runs and written once when it is over."""

    __slots__ = ("complete", "done", "first_byte", "method", "model", "path", "request_body",
                 "request_id", "response_body", "retries", "start", "status", "stream",
                 "stream_counted", "translator", "upstream_errors", "upstream_status", "usage")

    def __init__(self, request_id: bytes, method: str, path: str, start: float) -> None:
        self.request_id = request_id
        self.method = method
        self.path = path
        self.start = start  # perf_counter() when the request came in
        self.model: str | None = None  # as the client asked for it
        self.stream = False
        self.status: int | None = None  # the adapter's HTTP status
        self.upstream_status: int | None = None  # the last upstream answer's HTTP status
        self.upstream_errors: list[str] = []  # each failed upstream call: its status or "none"
        self.retries = 0  # upstream retries; the retry code adds to it
        self.first_byte: float | None = None  # perf_counter() at the first body bytes sent
        self.complete = False  # the last body message was sent
        self.done = False  # counted and logged
        self.stream_counted = False  # counted in the in-flight streams gauge
        self.usage: TokenCounts | None = None  # when a route counts them itself
        self.translator: Translated | None = None  # else its usage, when the request is over
        self.request_body: bytearray | None = None  # only with ADAPTER_LOG_BODIES
        self.response_body: bytearray | None = None

    def tokens(self) -> tuple[int | None, int | None]:
        """Prompt and completion tokens, from the usage the adapter computed (None if none)."""
        if self.usage is not None:
            return self.usage["prompt_tokens"], self.usage.get("completion_tokens", 0)
        meta = self.translator.usage_metadata if self.translator is not None else None
        if meta is None:
            return None, None
        counted = usage(meta)
        return counted["prompt_tokens"], counted["completion_tokens"]


_current: ContextVar[RequestRecord | None] = ContextVar("adapter_request_record", default=None)


def current() -> RequestRecord:
    """This request's record; a throwaway one outside a request (unit tests, the lifespan)."""
    record = _current.get()
    return record if record is not None else RequestRecord(b"", "", "", 0.0)


def requested(body: Any) -> RequestRecord:
    """Note the model and stream flag the client asked for (from the raw body, so a request
    that fails validation is still logged with them). Returns the record."""
    record = current()
    if isinstance(body, dict):
        model = body.get("model")
        record.model = model[:MAX_MODEL_ID] if isinstance(model, str) else None
        record.stream = body.get("stream") is True
    return record


def note_upstream(status: int | None) -> None:
    """An upstream call answered with `status`, or (None) got no answer at all."""
    record = _current.get()
    if record is None:
        return
    if status is not None:
        record.upstream_status = status
    if status is None or status >= 400:
        record.upstream_errors.append("none" if status is None else str(status))


class Metrics:
    """The adapter's Prometheus metrics, for one app (single process) or every worker
    (multi-process mode: PROMETHEUS_MULTIPROC_DIR set before prometheus_client is imported)."""

    def __init__(self, replica: str) -> None:
        self.multiprocess = values.ValueClass is not values.MutexValue
        # In multi-process mode every value lives in a file of the process; /metrics reads them
        # all, so the metrics need no registry here. Otherwise each app has its own registry.
        registry = None if self.multiprocess else CollectorRegistry()
        self.registry = registry
        self.requests = Counter(
            "adapter_requests", "Requests answered, by endpoint, requested model and HTTP status.",
            ["endpoint", "model", "status"], registry=registry)
        self.latency = Histogram(
            "adapter_request_duration_seconds",
            "Time from the request to the end of its response (the whole stream).",
            ["endpoint", "model"], buckets=LATENCY_BUCKETS, registry=registry)
        self.ttft = Histogram(
            "adapter_time_to_first_token_seconds",
            "Streams: time from the request to the first bytes of the answer.",
            ["endpoint", "model"], buckets=TTFT_BUCKETS, registry=registry)
        self.tokens_in = Counter("adapter_input_tokens", "Prompt tokens, from the usage.",
                                 ["model"], registry=registry)
        self.tokens_out = Counter("adapter_output_tokens",
                                  "Completion tokens (thinking included), from the usage.",
                                  ["model"], registry=registry)
        self.upstream_errors = Counter(
            "adapter_upstream_errors",
            "Upstream calls that failed, by the upstream's HTTP status ('none': no answer).",
            ["status"], registry=registry)
        self.retries = Counter("adapter_upstream_retries", "Upstream calls retried.",
                               registry=registry)
        self.streams = Gauge("adapter_streams_in_flight", "Streamed responses being sent.",
                             multiprocess_mode="livesum", registry=registry)
        self.slots = Gauge("adapter_upstream_slots_in_use",
                           "Upstream calls holding one of the ADAPTER_MAX_STREAMS slots.",
                           multiprocess_mode="livesum", registry=registry)
        # The replica's name as an info metric (Prometheus' way for a constant of the target, to
        # join on `instance`), rather than a label on every series.
        self.replica_info = Gauge(
            "adapter_replica_info", "This replica's name (ADAPTER_REPLICA_NAME).", ["replica"],
            multiprocess_mode="max", registry=registry)
        self.replica_info.labels(replica).set(1)
        self._models: set[str] = set()
        self._series: dict[tuple[str, str, str], _Series] = {}

    def _model(self, model: str | None, ok: bool) -> str:
        """The `model` label: as requested, once a request for it succeeded (so a client cannot
        fill the label set with made-up names), at most MAX_MODEL_LABELS of them."""
        if not model:
            return ""
        if model in self._models:
            return model
        if ok and len(self._models) < MAX_MODEL_LABELS:
            self._models.add(model)
            return model
        return "other"

    def observe(self, endpoint: str, record: RequestRecord, end: float,
                tokens: tuple[int | None, int | None]) -> None:
        status = record.status
        model = self._model(record.model, status is not None and 200 <= status < 300)
        key = (endpoint, model, str(status) if status is not None else "none")
        series = self._series.get(key)
        if series is None:  # labels() costs more than a dict look-up: keep the children
            series = self._series[key] = _Series(self, key)
        series.requests.inc()
        series.latency.observe(end - record.start)
        if record.stream and status == 200 and record.first_byte is not None:
            if series.ttft is None:
                series.ttft = self.ttft.labels(endpoint, model)
            series.ttft.observe(record.first_byte - record.start)
        if tokens[0]:
            if series.tokens_in is None:
                series.tokens_in = self.tokens_in.labels(model)
            series.tokens_in.inc(tokens[0])
        if tokens[1]:
            if series.tokens_out is None:
                series.tokens_out = self.tokens_out.labels(model)
            series.tokens_out.inc(tokens[1])
        for upstream_status in record.upstream_errors:
            self.upstream_errors.labels(upstream_status).inc()
        if record.retries:
            self.retries.inc(record.retries)

    def render(self) -> bytes:
        if self.multiprocess:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        assert self.registry is not None
        return generate_latest(self.registry)

    async def endpoint(self, request: Request) -> Response:
        """GET /metrics, in Prometheus' text format."""
        return Response(self.render(), headers={"content-type": CONTENT_TYPE_LATEST})

    def close(self) -> None:
        """At shutdown: drop this process's live gauge values (multi-process mode)."""
        if self.multiprocess:
            multiprocess.mark_process_dead(os.getpid())


class _Series:
    """The metric children of one (endpoint, model, status); the optional ones made when used."""

    __slots__ = ("latency", "requests", "tokens_in", "tokens_out", "ttft")

    def __init__(self, metrics: Metrics, key: tuple[str, str, str]) -> None:
        self.requests = metrics.requests.labels(*key)
        self.latency = metrics.latency.labels(key[0], key[1])
        self.ttft: Histogram | None = None
        self.tokens_in: Counter | None = None
        self.tokens_out: Counter | None = None


_stamp_cache: list[int | str] = [-1, ""]  # the whole second last formatted, and its text


def _timestamp(now: float) -> str:
    """`now` (time.time()) as ISO 8601 UTC with milliseconds; the seconds part is cached."""
    second = int(now)
    if second != _stamp_cache[0]:
        _stamp_cache[:] = [second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))]
    return f"{_stamp_cache[1]}.{int((now - second) * 1000):03d}Z"


def _text(value: str | None) -> str:
    """A text-format value: as it is when plain, else JSON-quoted (no spaces, no line breaks)."""
    if value is None:
        return "-"
    return value if _PLAIN.fullmatch(value) else orjson.dumps(value).decode()


class Observability:
    """ASGI middleware: the request id, the access line and the metrics of every request."""

    def __init__(self, app: ASGIApp, settings: Settings, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self.json = settings.log_format == "json"
        self.bodies = settings.log_bodies
        self.secrets = settings.secrets
        self.replica = settings.replica_name
        self.replica_text = _text(settings.replica_name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                if _CLIENT_ID.fullmatch(value):
                    request_id = value
                break
        if request_id is None:
            request_id = os.urandom(16).hex().encode()
        record = RequestRecord(request_id, scope["method"], scope["path"], time.perf_counter())
        token = _current.set(record)
        id_header = (b"x-request-id", request_id)
        streams = self.metrics.streams
        if self.bodies:
            record.request_body, record.response_body = bytearray(), bytearray()
            receive = self._capture(receive, record.request_body)

        async def send_observed(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.body":
                if record.first_byte is None and message.get("body"):
                    record.first_byte = time.perf_counter()
                if record.response_body is not None \
                        and len(record.response_body) <= MAX_BODY_LOG:
                    record.response_body += message.get("body", b"")
                if not message.get("more_body", False):
                    record.complete = True
                    # Written before the last bytes go out, so that what a client has
                    # received is already counted when it asks /metrics next.
                    self._finish(record, scope)
            elif kind == "http.response.start":
                record.status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), id_header]}
                if record.stream and record.status == 200:
                    streams.inc()
                    record.stream_counted = True
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        except asyncio.CancelledError:
            if record.status is None:
                record.status = 499  # cancelled before answering (client gone, or shutdown)
            raise
        except Exception:
            if record.status is None:
                record.status = 500  # Starlette's error middleware answers it
            raise
        finally:
            _current.reset(token)
            if not record.done:  # no complete answer: an error, or the client went away
                self._finish(record, scope)

    @staticmethod
    def _capture(receive: Receive, into: bytearray) -> Receive:
        async def receive_captured() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(into) <= MAX_BODY_LOG:
                into.extend(message.get("body", b""))
            return message
        return receive_captured

    def _finish(self, record: RequestRecord, scope: Scope) -> None:
        """The metrics and the access line, once per request; never an error of its own."""
        record.done = True
        end = time.perf_counter()
        try:
            if record.stream_counted:
                self.metrics.streams.dec()
            tokens = record.tokens()
            self.metrics.observe(_endpoint(scope), record, end, tokens)
            if record.translator is not None and (skipped := record.translator.skipped):
                log.warning("request %s: Gemini sent parts this adapter does not translate: %s",
                            record.request_id.decode(), ", ".join(sorted(skipped)))
            if access_log.isEnabledFor(logging.INFO) and record.path not in UNLOGGED_PATHS:
                # Logger.info less its search of the stack for the caller: a third cheaper.
                access_log.handle(access_log.makeRecord(
                    access_log.name, logging.INFO, __file__, 0,
                    self._line(record, end, tokens, scope), (), None))
        except Exception:
            log.exception("could not record request %s", record.request_id.decode())

    def _line(self, record: RequestRecord, end: float, tokens: tuple[int | None, int | None],
              scope: Scope) -> str:
        ttft = record.first_byte - record.start \
            if record.stream and record.status == 200 and record.first_byte is not None else None
        duration = end - record.start
        stamp = _timestamp(time.time())
        if record.request_body is not None and record.response_body is not None:
            secrets = (*self.secrets, *_presented_keys(scope))
            bodies = {"request_body": _body_text(record.request_body, secrets),
                      "response_body": _body_text(record.response_body, secrets)}
        else:
            bodies = None
        if self.json:
            fields = {
                "time": stamp,
                "replica": self.replica,
                "request_id": record.request_id.decode(),
                "method": record.method,
                "path": record.path,
                "model": record.model,
                "stream": record.stream,
                "status": record.status,
                "upstream_status": record.upstream_status,
                "ttft_ms": None if ttft is None else round(ttft * 1000, 2),
                "duration_ms": round(duration * 1000, 2),
                "tokens_in": tokens[0],
                "tokens_out": tokens[1],
                "retries": record.retries,
                "complete": record.complete,
            }
            if bodies:
                fields.update(bodies)
            return orjson.dumps(fields).decode()
        line = (
            f"time={stamp} request_id={record.request_id.decode()} method={_text(record.method)} "
            f"path={_text(record.path)} model={_text(record.model)} "
            f"stream={'true' if record.stream else 'false'} "
            f"status={'-' if record.status is None else record.status} "
            f"upstream_status={'-' if record.upstream_status is None else record.upstream_status} "
            f"ttft_ms={'-' if ttft is None else f'{ttft * 1000:.2f}'} "
            f"duration_ms={duration * 1000:.2f} "
            f"tokens_in={'-' if tokens[0] is None else tokens[0]} "
            f"tokens_out={'-' if tokens[1] is None else tokens[1]} "
            f"retries={record.retries} complete={'true' if record.complete else 'false'} "
            f"replica={self.replica_text}")
        if bodies:
            line += "".join(f" {name}={_text(value)}" for name, value in bodies.items())
        return line


def _endpoint(scope: Scope) -> str:
    """The route's path template (`/v1/responses/{response_id}`): few values, whatever the ids.
    A request answered before routing (a 401 from the key check) is matched here."""
    route = scope.get("route")
    if route is None:
        for candidate in getattr(getattr(scope.get("app"), "router", None), "routes", ()):
            if candidate.matches(scope)[0] is not Match.NONE:
                route = candidate
                break
    return getattr(route, "path", "other")


def _presented_keys(scope: Scope) -> list[str]:
    """The keys the client sent (Authorization bearer, x-goog-api-key), to mask in bodies."""
    keys = []
    for name, value in scope["headers"]:
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            keys.append(value[7:].strip().decode("latin-1"))
        elif name == b"x-goog-api-key":
            keys.append(value.strip().decode("latin-1"))
    return [key for key in keys if key]


def _body_text(raw: bytearray, secrets: tuple[str, ...]) -> str:
    """A logged body: decoded, keys masked, then cut (a key is masked before it could be cut)."""
    text = redact(bytes(raw[:MAX_BODY_LOG + 1024]).decode(errors="replace"), secrets)
    return text if len(text) <= MAX_BODY_LOG else text[:MAX_BODY_LOG] + "...(truncated)"
