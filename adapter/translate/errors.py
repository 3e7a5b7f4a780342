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
    """An error the client must see with a given HTTP status and OpenAI error body."""

    def __init__(
        self,
        message: str,
        status: int = 400,
        param: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.param = param
        self.code = code
        self.retry_after = retry_after
        self.reason = reason  # Gemini's ErrorInfo reason (API_KEY_INVALID, ...), when given

    def body(self) -> dict[str, Any]:
        return error_body(self.message, self.status, self.param, self.code)


class InvalidRequest(AdapterError):
    """The client's request is wrong (HTTP 400 unless told otherwise)."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message, 400, param, code or "invalid_request")


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


def from_gemini_error(status: int, payload: Any, secrets: tuple[str, ...] = ()) -> AdapterError:
    """Turn a Gemini error body (`{"error": {"code", "message", "status", "details"}}`) into an
    AdapterError with the same HTTP status and meaning.

    Only the message crosses over (Gemini's `details` can echo the API key in DebugInfo), and any
    secret that still appears in it is masked.
    """
    if isinstance(payload, list) and payload and isinstance(payload[0], dict):
        payload = payload[0]  # the JSON-array stream wraps its error in an array
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        text = payload if isinstance(payload, str) and payload.strip() else None
        message = redact(text or f"Upstream returned HTTP {status}", secrets)[:_MAX_MESSAGE]
        return AdapterError(message, status, code=f"upstream_{status}")
    message = str(error.get("message") or f"Upstream returned HTTP {status}")
    return AdapterError(redact(message, secrets)[:_MAX_MESSAGE], status,
                        code=_status_code(error.get("status"), status),
                        retry_after=retry_delay_of(error), reason=_reason(reason_of(error)))


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
