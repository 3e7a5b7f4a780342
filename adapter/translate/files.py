"""Gemini File resources and kept files -> OpenAI `file` objects; the list query and its pages;
an upload's purpose and MIME type."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .errors import InvalidRequest
from .file_ids import file_id, owned, results_file_id
from .pages import after_of, limit_of, order_of, page_of

# The purposes a client may upload a file with (OpenAI's).
PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
# ...and the ones files the service makes carry, which a list may ask for too.
LISTED_PURPOSES = (*PURPOSES, "assistants_output", "batch_output", "fine-tune-results")
MAX_LIMIT = 10_000
_STATUS = {"ACTIVE": "processed", "PROCESSING": "uploaded", "FAILED": "error"}
# MIME types by extension for an upload sent as application/octet-stream (a small table of its
# own: the standard library's `mimetypes` reads the system's files).
_MIME = {
    "pdf": "application/pdf", "json": "application/json", "jsonl": "application/jsonl",
    "txt": "text/plain", "md": "text/markdown", "csv": "text/csv", "html": "text/html",
    "htm": "text/html", "xml": "text/xml", "py": "text/x-python", "js": "text/javascript",
    "css": "text/css", "rtf": "text/rtf", "png": "image/png", "jpg": "image/jpeg",
    "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif", "heic": "image/heic",
    "heif": "image/heif", "mp3": "audio/mpeg", "wav": "audio/wav", "ogg": "audio/ogg",
    "flac": "audio/flac", "aac": "audio/aac", "aiff": "audio/aiff", "m4a": "audio/mp4",
    "mp4": "video/mp4", "mpeg": "video/mpeg", "mov": "video/quicktime", "webm": "video/webm",
    "avi": "video/x-msvideo", "flv": "video/x-flv", "wmv": "video/x-ms-wmv", "3gp": "video/3gpp",
}
OCTET_STREAM = "application/octet-stream"
# A MIME type as RFC 6838 spells one (what may go on to Gemini in a header).
_MIME_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")


def timestamp(text: Any) -> int | None:
    """Unix seconds of an RFC 3339 time as Gemini writes it (`2026-07-30T02:24:45.088445427Z`:
    nanoseconds, which `datetime` cannot read, are cut), or None."""
    if not isinstance(text, str) or len(text) < 20:
        return None
    zone = text[19:]
    if zone.startswith("."):  # the fraction, up to the zone
        end = 1
        while end < len(zone) and zone[end].isdigit():
            end += 1
        zone = zone[end:]
    try:
        return int(datetime.fromisoformat(text[:19] + ("+00:00" if zone == "Z" else zone))
                   .timestamp())
    except ValueError:
        return None


def purpose(value: Any) -> str:
    """An upload's `purpose`, one of OpenAI's."""
    if value not in PURPOSES:
        raise InvalidRequest(f"'purpose' must be one of {', '.join(PURPOSES)}; got {value!r}.",
                             "purpose")
    return str(value)


def _size(value: Any) -> int:
    """Gemini's `sizeBytes`, a string (an int64 in JSON)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else 0


def file_object(gemini_file: Mapping[str, Any], owner: str) -> dict[str, Any] | None:
    """The OpenAI `file` object for a Gemini File, or None when it is not `owner`'s (no display
    name the adapter made, or another owner's)."""
    mine = owned(gemini_file.get("displayName"), owner)
    if mine is None:
        return None
    purpose_, filename = mine
    state = gemini_file.get("state")
    error = gemini_file.get("error")
    return {
        "id": file_id(str(gemini_file.get("name", ""))),
        "object": "file",
        "bytes": _size(gemini_file.get("sizeBytes")),
        "created_at": timestamp(gemini_file.get("createTime")) or 0,
        "filename": filename,
        "purpose": purpose_,
        "status": _STATUS.get(state, "uploaded") if isinstance(state, str) else "uploaded",
        "expires_at": timestamp(gemini_file.get("expirationTime")),
        "status_details": str(error.get("message")) if isinstance(error, dict)
        and state == "FAILED" else None,
    }


def results_object(gemini_file: Mapping[str, Any], batch_id: str) -> dict[str, Any]:
    """The OpenAI `file` object for a batch's results file (Gemini makes it, without a display
    name; its owner is the batch's). `bytes` is the size of Gemini's results file."""
    return {
        "id": results_file_id(batch_id),
        "object": "file",
        "bytes": _size(gemini_file.get("sizeBytes")),
        "created_at": timestamp(gemini_file.get("createTime")) or 0,
        "filename": f"{batch_id}_output.jsonl",
        "purpose": "batch_output",
        "status": "processed",
        "expires_at": timestamp(gemini_file.get("expirationTime")),
        "status_details": None,
    }


def kept_object(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The OpenAI `file` object of a kept file, from the store's meta (its `purpose` and
    `filename`, and the store's `id`, `bytes`, `created_at`, `expires_at`)."""
    expires = meta.get("expires_at")
    return {
        "id": meta["id"],
        "object": "file",
        "bytes": int(meta["bytes"]),
        "created_at": int(meta["created_at"]),
        "filename": meta.get("filename") or "",
        "purpose": meta.get("purpose") or "batch",
        "status": "processed",
        "expires_at": None if expires is None else int(expires),
        "status_details": None,
    }


@dataclass(frozen=True, slots=True)
class ListParams:
    """GET /v1/files query: what to list, how many, from where, in which order."""

    purpose: str | None = None
    limit: int = MAX_LIMIT
    after: str | None = None
    order: str = "desc"


def list_params(query: Mapping[str, str]) -> ListParams:
    """The list query (`purpose`, `limit` 1..10000, `after`, `order` asc|desc); a bad value is
    a 400 naming it."""
    wanted = query.get("purpose")
    if wanted is not None and wanted not in LISTED_PURPOSES:
        raise InvalidRequest(f"'purpose' must be one of {', '.join(LISTED_PURPOSES)}; "
                             f"got {wanted!r}.", "purpose")
    return ListParams(wanted, limit_of(query, MAX_LIMIT, MAX_LIMIT), after_of(query),
                      order_of(query))


def page(objects: Iterable[Mapping[str, Any]], params: ListParams) -> dict[str, Any]:
    """One page of a file list: the objects of the asked purpose by `created_at` (then id) in
    the asked order, from the one after `after` (an id not in the list is a 400)."""
    chosen = [o for o in objects if params.purpose is None or o["purpose"] == params.purpose]
    chosen.sort(key=lambda o: (o["created_at"], o["id"]), reverse=params.order == "desc")
    return page_of(chosen, params.after, params.limit, "file in this list")


def upload_mime(filename: str | None, content_type: str | None) -> str:
    """The MIME type to give Gemini: the client's, or one guessed from the file's extension
    when the client's says nothing (absent, application/octet-stream, or not a MIME type)."""
    given = (content_type or "").split(";", 1)[0].strip().lower()
    if given != OCTET_STREAM and _MIME_TYPE.fullmatch(given):
        return given
    _, dot, extension = (filename or "").rpartition(".")
    return _MIME.get(extension.lower(), OCTET_STREAM) if dot else OCTET_STREAM
