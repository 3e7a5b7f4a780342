"""OpenAI-shaped errors, and the mapping of Gemini error bodies onto them."""

from __future__ import annotations

import re
from typing import Any

from ..redaction import redact


def error_type_for(status: int) -> str:
    """OpenAI's error `type` for an HTTP status, as OpenAI itself sends it: `server_error` at 500
    and over, `requests` for a 429 (OpenAI's word for a request-rate limit; `UpstreamError` says
    `tokens` for a limit on tokens), and `invalid_request_error` for every other status (OpenAI's
    type at 400, 401, 403, 404, 409...)."""
    if status >= 500:
        return "server_error"
    return "requests" if status == 429 else "invalid_request_error"


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
    error_type: str | None = None  # OpenAI's `type`, when not the one its status implies

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
        return error_body(self.message, self.status, self.param, self.code, self.error_type)


class InvalidRequest(AdapterError):
    """The client's request is wrong (HTTP 400 unless told otherwise)."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message, 400, param, code or "invalid_request")


# Gemini's ErrorInfo reasons that say the key itself will not work (whatever the status).
class FileTooLarge(AdapterError):
    """A file larger than the adapter takes (`setting` names the limit, when one does): 413
    naming `file`, wherever the file is on its way (the form, Gemini's upload, the store)."""

    def __init__(self, limit: int, setting: str | None = None) -> None:
        named = f" ({setting})" if setting else ""
        super().__init__(f"The file is larger than the {limit} bytes this adapter accepts"
                         f"{named}.", 413, "file", "file_too_large")


class FileNotFound(AdapterError):
    """404 for a file id: the same answer whether it never existed, expired, was deleted or
    is another caller's."""

    def __init__(self, file_id: str) -> None:
        super().__init__(f"No such File object: {file_id[:100]!r}.", 404, "file_id",
                         "not_found")


_KEY_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_EXPIRED", "SERVICE_DISABLED",
                          "API_KEY_SERVICE_BLOCKED", "CONSUMER_SUSPENDED"})
# Statuses at which Gemini may well answer the same request if asked again.
_RETRYABLE_STATUSES = frozenset({429, 500, 503})


class UpstreamError(AdapterError):
    """Gemini answered with an error status (before its stream, or as an event inside it).

    `code` and `error_type` are OpenAI's words for it (see `openai_code`); Gemini's own
    `status` and ErrorInfo `reason` go beside them in the body, as `gemini_status` and
    `gemini_reason`, which OpenAI's clients ignore."""

    def __init__(self, message: str, status: int, code: str | None,
                 retry_after: float | None = None, reason: str | None = None,
                 gemini_status: str | None = None, error_type: str | None = None) -> None:
        super().__init__(message, status, code=code, retry_after=retry_after)
        self.reason = reason  # Gemini's ErrorInfo reason (API_KEY_INVALID, ...), when given
        self.gemini_status = gemini_status  # Gemini's status (RESOURCE_EXHAUSTED, ...)
        self.error_type = error_type
        self.retryable = status in _RETRYABLE_STATUSES
        self.rate_limited = status == 429
        self.key_refused = status in (401, 403) or reason in _KEY_REASONS

    def body(self) -> dict[str, Any]:
        body = super().body()
        if self.gemini_status is not None:
            body["error"]["gemini_status"] = self.gemini_status
        if self.reason is not None:
            body["error"]["gemini_reason"] = self.reason
        return body


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
    UpstreamError with the same HTTP status and meaning, in OpenAI's words (`openai_code`).

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
        return UpstreamError(message, status, openai_code(None, status, None, ""), retry_after)
    message = redact(str(error.get("message") or f"Upstream returned HTTP {status}"), secrets)
    delay = retry_delay_of(error)
    gemini_status = _name(error.get("status"))
    reason = _name(reason_of(error))
    return UpstreamError(message[:_MAX_MESSAGE], status,
                         openai_code(gemini_status, status, reason, message),
                         retry_after if delay is None else delay, reason, gemini_status,
                         "tokens" if status == 429 and _limits_tokens(error) else None)


_MAX_MESSAGE = 2000
# Gemini's `status` (RESOURCE_EXHAUSTED, ...) and ErrorInfo `reason` go to the client beside
# OpenAI's code. Anything else an upstream puts there (a proxy's free text, an echoed key) is not
# copied: it would reach the client and the logs unmasked by any message redaction.
_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
# Gemini's words for a request too long for the model's context window.
_CONTEXT_LENGTH = re.compile(r"input token count .* exceeds the maximum number of tokens", re.I)


def openai_code(gemini_status: str | None, status: int, reason: str | None,
                message: str) -> str | None:
    """OpenAI's error `code` for a Gemini error, or None where OpenAI would send none.

    `invalid_api_key` for a key Gemini refuses as such; `context_length_exceeded` for an input
    over the model's window; `model_not_found` for NOT_FOUND (every call the adapter makes to
    Gemini names a model: `/v1beta/models/...`); `rate_limit_exceeded` for a 429;
    `server_error` at 500 and over. Any other error (INVALID_ARGUMENT, PERMISSION_DENIED,
    FAILED_PRECONDITION...) has no code in OpenAI's vocabulary: it is null, as OpenAI's own
    generic errors are, and Gemini's status stays in the body as `gemini_status`.
    """
    if reason in _INVALID_KEY_REASONS or gemini_status == "UNAUTHENTICATED" or status == 401:
        return "invalid_api_key"
    if gemini_status == "INVALID_ARGUMENT" and _CONTEXT_LENGTH.search(message):
        return "context_length_exceeded"
    if gemini_status == "NOT_FOUND" or (gemini_status is None and status == 404):
        return "model_not_found"
    if status == 429 or gemini_status == "RESOURCE_EXHAUSTED":
        return "rate_limit_exceeded"
    if status >= 500:
        return "server_error"
    return None


_INVALID_KEY_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_EXPIRED"})


def _limits_tokens(error: dict[str, Any]) -> bool:
    """Whether a 429 is about a limit on tokens (`QuotaFailure` quotaId
    `GenerateContentInputTokensPerModelPerMinute-FreeTier`, ErrorInfo `quota_metric`
    `..._token_count`) rather than on requests: OpenAI's `type` says which."""
    for detail in error.get("details") or ():
        if not isinstance(detail, dict):
            continue
        names = [str(v.get("quotaId", "")) for v in detail.get("violations") or ()
                 if isinstance(v, dict)]
        metadata = detail.get("metadata")
        if isinstance(metadata, dict):
            names += [str(metadata.get("quota_metric", "")), str(metadata.get("quota_limit", ""))]
        if any("token" in name.lower() for name in names):
            return True
    return False


def _name(value: Any) -> str | None:
    return value if isinstance(value, str) and _NAME.fullmatch(value) else None
