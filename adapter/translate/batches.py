"""POST /v1/batches bodies -> BatchParams; the adapter's batch record + Gemini's batch Operation
-> the OpenAI `batch` object. (Each line of a batch: `batch_lines`.)"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import validate
from .batch_lines import ENDPOINTS, upstream_error
from .errors import InvalidRequest, from_gemini_error
from .file_ids import batch_id, file_id
from .files import timestamp

WINDOW = 24 * 3600  # seconds: a batch's completion window, "24h"
MAX_METADATA = 16
MAX_KEY = 64
MAX_VALUE = 512
# Endpoints OpenAI's batches take that the adapter does not serve over Gemini.
_UNSERVED = ("/v1/completions", "/v1/moderations", "/v1/images/generations", "/v1/images/edits",
             "/v1/videos")
# Gemini's batch states -> OpenAI's batch status.
_STATUS = {
    "BATCH_STATE_PENDING": "in_progress", "BATCH_STATE_RUNNING": "in_progress",
    "BATCH_STATE_SUCCEEDED": "completed", "BATCH_STATE_FAILED": "failed",
    "BATCH_STATE_CANCELLED": "cancelled", "BATCH_STATE_EXPIRED": "expired",
}
# The status whose time is the Operation's `endTime`.
_ENDED_AT = {"completed": "completed_at", "failed": "failed_at", "cancelled": "cancelled_at",
             "expired": "expired_at"}


@dataclass(frozen=True, slots=True)
class BatchParams:
    """A POST /v1/batches body, checked."""

    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: dict[str, str] | None
    output_expires_after: int | None = None  # seconds after the output file's creation


def metadata(value: Any, param: str = "metadata") -> dict[str, str] | None:
    """OpenAI's metadata: at most 16 pairs, keys of at most 64 characters, string values of at
    most 512."""
    if value is None:
        return None
    pairs = validate.mapping(value, param)
    if len(pairs) > MAX_METADATA:
        raise InvalidRequest(f"'{param}' may hold at most {MAX_METADATA} pairs, got "
                             f"{len(pairs)}.", param)
    for key, text in pairs.items():
        if len(key) > MAX_KEY:
            raise InvalidRequest(f"'{param}' keys are at most {MAX_KEY} characters; "
                                 f"{key[:MAX_KEY]!r}... is longer.", param)
        if not isinstance(text, str) or len(text) > MAX_VALUE:
            raise InvalidRequest(f"'{param}.{key}' must be a string of at most {MAX_VALUE} "
                                 "characters.", f"{param}.{key}")
    return pairs


def create_params(body: Any) -> BatchParams:
    """The checked POST /v1/batches body; a bad value is a 400 naming it."""
    body = validate.mapping(body, "body")
    input_file_id = body.get("input_file_id")
    if not isinstance(input_file_id, str) or not input_file_id:
        raise InvalidRequest("'input_file_id' is required and must be a non-empty string.",
                             "input_file_id")
    endpoint = body.get("endpoint")
    if endpoint in _UNSERVED:
        raise InvalidRequest(f"'endpoint' {endpoint} is not supported by this adapter (Gemini "
                             f"has no equivalent); use one of {', '.join(ENDPOINTS)}.",
                             "endpoint", "unsupported_endpoint")
    if endpoint not in ENDPOINTS:
        raise InvalidRequest(f"'endpoint' must be one of {', '.join(ENDPOINTS)}; "
                             f"got {str(endpoint)[:64]!r}.", "endpoint")
    window = body.get("completion_window")
    if window != "24h":
        raise InvalidRequest(f"'completion_window' must be '24h'; got {str(window)[:32]!r}.",
                             "completion_window")
    expires = body.get("output_expires_after")
    seconds = None
    if expires is not None:
        expires = validate.mapping(expires, "output_expires_after")
        if expires.get("anchor") != "created_at":
            raise InvalidRequest("'output_expires_after.anchor' must be 'created_at'.",
                                 "output_expires_after.anchor")
        seconds = validate.integer(expires.get("seconds"), "output_expires_after.seconds",
                                   3600, 2_592_000)
    return BatchParams(input_file_id, str(endpoint), "24h", metadata(body.get("metadata")),
                       seconds)


def _count(stats: Mapping[str, Any], name: str) -> int:
    """One of Gemini's batchStats counts (int64, so strings)."""
    value = stats.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else 0


def request_counts(record: Mapping[str, Any], meta: Mapping[str, Any]) -> dict[str, int]:
    """{total, completed, failed}: Gemini's batchStats plus the lines refused at creation (they
    failed). The record's own `counts` (the caller's tally of translated results) win: Gemini
    counts an embeddings line once per input."""
    refused = int(record.get("refused", 0))
    if (counts := record.get("counts")) is not None:
        completed, failed = int(counts["completed"]), int(counts["failed"])
        total = int(record.get("lines", completed + failed - refused)) + refused
        return {"total": total, "completed": completed, "failed": failed}
    stats = meta.get("batchStats")
    stats = stats if isinstance(stats, dict) else {}
    total = int(record["lines"]) if "lines" in record else _count(stats, "requestCount")
    return {"total": total + refused,
            "completed": _count(stats, "successfulRequestCount"),
            "failed": _count(stats, "failedRequestCount") + refused}


def _status(state: Any, record: Mapping[str, Any]) -> str:
    status = _STATUS.get(state, "in_progress") if isinstance(state, str) else "in_progress"
    if status == "in_progress" and record.get("cancelling_at") is not None:
        return "cancelling"
    return status


def _errors(record: Mapping[str, Any], operation: Mapping[str, Any] | None,
            status: str) -> dict[str, Any] | None:
    """The batch's `errors`: the record's (lines refused at creation, if the caller lists them)
    and, for a batch that failed as a whole, Gemini's error."""
    data = list(record.get("errors") or ())
    error = operation.get("error") if operation is not None else None
    if status == "failed" and isinstance(error, dict):
        mapped = upstream_error({"error": error}) or from_gemini_error(500, {"error": error})
        data.append({"code": mapped.code or "batch_failed", "message": mapped.message,
                     "param": None, "line": None})
    return {"object": "list", "data": data} if data else None


def batch_object(record: Mapping[str, Any], operation: Mapping[str, Any] | None) -> dict[str, Any]:
    """The OpenAI `batch` for the adapter's record of it (endpoint, input_file_id,
    completion_window, metadata, created_at, model, refused, lines, counts, error_file_id,
    cancelling_at, errors) and Gemini's batch Operation (None: Gemini never took it, so it
    failed)."""
    meta = operation.get("metadata") if operation is not None else None
    meta = meta if isinstance(meta, dict) else {}
    created = int(record["created_at"])
    status = _status(meta.get("state"), record) if operation is not None else "failed"
    counts = request_counts(record, meta)
    times: dict[str, int | None] = dict.fromkeys(
        ("in_progress_at", "finalizing_at", "completed_at", "failed_at", "expired_at",
         "cancelling_at", "cancelled_at"))
    if operation is not None:
        times["in_progress_at"] = timestamp(meta.get("createTime"))
        if (ended := _ENDED_AT.get(status)) is not None:
            times[ended] = timestamp(meta.get("endTime")) or timestamp(meta.get("updateTime"))
    else:
        times["failed_at"] = created
    if (cancelling := record.get("cancelling_at")) is not None:
        times["cancelling_at"] = int(cancelling)
    results = results_file(operation)
    return {
        "id": record.get("id") or batch_id(str((operation or {}).get("name", ""))),
        "object": "batch",
        "endpoint": record["endpoint"],
        "model": record.get("model"),
        "errors": _errors(record, operation, status),
        "input_file_id": record["input_file_id"],
        "completion_window": record.get("completion_window", "24h"),
        "status": status,
        "output_file_id": file_id(results) if isinstance(results, str) else None,
        "error_file_id": record.get("error_file_id") if counts["failed"] else None,
        "created_at": created,
        "expires_at": created + WINDOW,
        **times,
        "request_counts": counts,
        "metadata": record.get("metadata"),
        "usage": record.get("usage"),
    }


def batch_usage(input_tokens: int, cached: int, output_tokens: int,
                reasoning: int) -> dict[str, Any]:
    """OpenAI's BatchUsage for the tokens a batch's requests used."""
    return {"input_tokens": input_tokens, "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": input_tokens + output_tokens}


def results_file(operation: Mapping[str, Any] | None) -> str | None:
    """The name of the results file Gemini wrote for a batch (`files/batch-<id>`), else None.
    Gemini gives it twice, in `metadata.output` and in `response`."""
    if operation is None:
        return None
    meta = operation.get("metadata")
    for holder in (operation.get("response"), meta.get("output") if isinstance(meta, dict)
                   else None):
        if isinstance(holder, dict) and isinstance(holder.get("responsesFile"), str):
            return str(holder["responsesFile"])
    return None


# Why a request has no result, by the batch's Gemini state (OpenAI's codes).
_UNANSWERED = {
    "BATCH_STATE_CANCELLED": ("batch_cancelled", "The batch was cancelled before this request "
                                                 "ran."),
    "BATCH_STATE_EXPIRED": ("batch_expired", "The batch expired before this request ran."),
}


def unanswered(operation: Mapping[str, Any] | None) -> tuple[str, str] | None:
    """(code, message) for the requests a batch never ran, when it was cancelled or expired."""
    meta = operation.get("metadata") if operation is not None else None
    state = meta.get("state") if isinstance(meta, dict) else None
    return _UNANSWERED.get(state) if isinstance(state, str) else None
