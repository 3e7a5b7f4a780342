"""OpenAI-shaped errors, and the mapping of Gemini error bodies onto them."""

from __future__ import annotations

import re
from typing import Any

from ..redaction import redact

_TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "conflict_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    499: "cancelled_error",
    500: "api_error",
    502: "api_error",
    503: "service_unavailable_error",
    504: "timeout_error",
}


def error_type_for(status: int) -> str:
    """The OpenAI error `type` conventionally used for an HTTP status."""
    if status in _TYPE_BY_STATUS:
        return _TYPE_BY_STATUS[status]
    return "api_error" if status >= 500 else "invalid_request_error"


def error_body(
    message: str,
    status: int = 400,
    param: str | None = None,
    code: str | None = None,
    error_type: str | None = None,
) -> dict[str, Any]:
    """`{"error": {"message", "type", "param", "code"}}` as OpenAI sends it. A message (which
    may quote the client's value) and a param (a path into the body) are cut at a few KB, so an
    error never echoes a huge value back."""
    return {
        "error": {
            "message": _cut(message, _MAX_ECHO),
            "type": error_type or error_type_for(status),
            "param": None if param is None else _cut(param, _MAX_ECHO),
            "code": code,
        }
    }


_MAX_ECHO = 4096


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}..."


class AdapterError(Exception):
    """An error the client must see with a given HTTP status and OpenAI error body.

    The kinds the adapter acts on are subclasses: `InvalidRequest` (the client's fault),
    `UpstreamError` (Gemini answered with an error), and the transport failures
    `UpstreamUnreachable`, `UpstreamTimeout` and `UpstreamDisconnected`. `retryable` says,
    where the error is made, whether the same upstream call tried again before anything reached
    the client may succeed.
    """

    retryable = False

    def __init__(
        self,
        message: str,
        status: int = 400,
        param: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.param = param
        self.code = code
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        return error_body(self.message, self.status, self.param, self.code)


class InvalidRequest(AdapterError):
    """The client's request is wrong (HTTP 400 unless told otherwise)."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message, 400, param, code or "invalid_request")


# Gemini's ErrorInfo reasons that say the key itself will not work (whatever the status).
_KEY_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_EXPIRED", "SERVICE_DISABLED",
                          "API_KEY_SERVICE_BLOCKED", "CONSUMER_SUSPENDED"})
# Statuses at which Gemini may well answer the same request if asked again.
_RETRYABLE_STATUSES = frozenset({429, 500, 503})


class UpstreamError(AdapterError):
    """Gemini answered with an error status (before its stream, or as an event inside it)."""

    def __init__(self, message: str, status: int, code: str, retry_after: float | None = None,
                 reason: str | None = None) -> None:
        super().__init__(message, status, code=code, retry_after=retry_after)
        self.reason = reason  # Gemini's ErrorInfo reason (API_KEY_INVALID, ...), when given
        self.retryable = status in _RETRYABLE_STATUSES
        self.rate_limited = status == 429
        self.key_refused = status in (401, 403) or reason in _KEY_REASONS


class UpstreamUnreachable(AdapterError):
    """No answer from Gemini: the connection failed before a response (502). Retryable."""

    retryable = True

    def __init__(self, message: str) -> None:
        super().__init__(message, 502, code="upstream_unreachable")


class UpstreamTimeout(AdapterError):
    """Gemini said nothing for the time allowed (504). Not retried: it may still be working on
    the request, and asking again would run it twice."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 504, code="upstream_timeout")


class UpstreamDisconnected(AdapterError):
    """Gemini's stream broke off after it had begun (502)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 502, code="upstream_disconnected")


def _parse_duration(value: Any) -> float | None:
    """Parse a protobuf Duration string such as "34.4s"."""
    if isinstance(value, str) and value.endswith("s"):
        try:
            return float(value[:-1])
        except ValueError:
            return None
    return None


def retry_delay_of(error: dict[str, Any]) -> float | None:
    """Seconds from a Gemini error's `RetryInfo.retryDelay`, when present."""
    for detail in error.get("details") or ():
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("RetryInfo"):
            return _parse_duration(detail.get("retryDelay"))
    return None


def reason_of(error: dict[str, Any]) -> str | None:
    """The `reason` of a Gemini error's `ErrorInfo` detail, when present."""
    for detail in error.get("details") or ():
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("ErrorInfo"):
            return detail.get("reason")
    return None


def from_gemini_error(status: int, payload: Any, secrets: tuple[str, ...] = (),
                      retry_after: float | None = None) -> UpstreamError:
    """Turn a Gemini error body (`{"error": {"code", "message", "status", "details"}}`) into an
    UpstreamError with the same HTTP status and meaning.

    Only the message crosses over (Gemini's `details` can echo the API key in DebugInfo), and any
    secret that still appears in it is masked. The wait Gemini's `RetryInfo` asks for wins over
    `retry_after` (what the HTTP `Retry-After` header said).
    """
    if isinstance(payload, list) and payload and isinstance(payload[0], dict):
        payload = payload[0]  # the JSON-array stream wraps its error in an array
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        text = payload if isinstance(payload, str) and payload.strip() else None
        message = redact(text or f"Upstream returned HTTP {status}", secrets)[:_MAX_MESSAGE]
        return UpstreamError(message, status, f"upstream_{status}", retry_after)
    message = str(error.get("message") or f"Upstream returned HTTP {status}")
    delay = retry_delay_of(error)
    return UpstreamError(redact(message, secrets)[:_MAX_MESSAGE], status,
                         _status_code(error.get("status"), status),
                         retry_after if delay is None else delay, _reason(reason_of(error)))


_MAX_MESSAGE = 2000
# Gemini's `status` (RESOURCE_EXHAUSTED, ...) becomes the error's code. Anything else an upstream
# puts there (a proxy's free text, an echoed key) is not copied: the code would reach the client
# and the logs unmasked by any message redaction.
_STATUS = re.compile(r"[A-Z][A-Z0-9_]{0,63}")


def _status_code(value: Any, status: int) -> str:
    if isinstance(value, str) and _STATUS.fullmatch(value):
        return value.lower()
    return f"upstream_{status}"


def _reason(value: Any) -> str | None:
    return value if isinstance(value, str) and _STATUS.fullmatch(value) else None
