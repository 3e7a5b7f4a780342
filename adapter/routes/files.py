"""/v1/files: uploads streamed to Gemini's Files API (or, for batch input, into the store),
listed, looked up, deleted and read back.

Where a file lives: any purpose but `batch` goes to Gemini's Files API (id `file-<gemini id>`,
the owner and purpose in its display name); `batch` input is kept in the adapter's store, since
Gemini cannot give an uploaded file back (id `file-kept_…`); a batch's output is the file Gemini
wrote (`file-batch-<id>`), translated line by line as it is read, and its error file is kept.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ..auth import require_identity
from ..jsonl import then
from ..replies import JSONResponse
from ..translate.errors import FileNotFound, FileTooLarge, InvalidRequest
from ..translate.file_ids import (
    display_name,
    gemini_file_name,
    is_kept,
    kept_file_id,
)
from ..translate.files import file_object, kept_object, list_params, page, upload_mime
from ..translate.files import purpose as checked_purpose
from .batch_files import batch_file_object, kept_content, output_content
from .caller_files import caller_file, shown
from .common import state_of
from .upload_stream import StreamedForm, upload_slot

_LIST_PAGE = 100  # files asked of Gemini's files.list at a time
_LIST_MAX_PAGES = 100  # files.list pages read for one listing (10,000 files)


async def upload_file(request: Request) -> Response:
    """POST /v1/files: the upload streams on as it arrives, never whole in memory."""
    state = state_of(request)
    settings = state.settings
    owner = require_identity(request)
    largest = max(settings.file_max_bytes, settings.batch_file_max_bytes)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > largest + (1 << 20):  # the form's own bytes
        raise FileTooLarge(largest, "ADAPTER_FILE_MAX_BYTES")
    async with upload_slot(state.uploads, settings.queue_timeout):
        form = StreamedForm(request, "file", ("purpose",), largest, "ADAPTER_FILE_MAX_BYTES",
                            settings.write_timeout)
        try:
            part = await form.read_until_file()
            purpose = checked_purpose(form.fields.get("purpose"))
            if purpose == "batch":
                form.limit(settings.batch_file_max_bytes, "ADAPTER_BATCH_FILE_MAX_BYTES")
                return JSONResponse(await _keep(request, owner, part.filename, part.chunks))
            form.limit(settings.file_max_bytes, "ADAPTER_FILE_MAX_BYTES")
            key = state.keys.for_owner(request, owner)
            file = await state.files.upload(
                part.chunks, upload_mime(part.filename, part.content_type),
                display_name(owner, purpose, part.filename), key,
                max_bytes=settings.file_max_bytes)
            return JSONResponse(file_object(file, owner))
        finally:
            form.close()


async def _keep(request: Request, owner: str, filename: str,
                chunks: AsyncIterator[bytes]) -> dict[str, Any]:
    state = state_of(request)
    new_id = kept_file_id()
    meta = {"kind": "file", "purpose": "batch", "filename": filename}
    expires_at = time.time() + state.settings.file_retention_seconds
    await state.file_store.put(new_id, owner, meta, chunks,
                               max_bytes=state.settings.batch_file_max_bytes,
                               expires_at=expires_at)
    stored = await state.file_store.meta(new_id, owner)
    assert stored is not None
    return kept_object(stored)


async def _kept(request: Request, owner: str, wanted: str) -> dict[str, Any]:
    """The store's meta of one of the caller's kept files (batch input, error file), or 404."""
    meta = await state_of(request).file_store.meta(wanted, owner)
    if meta is None or meta.get("kind") != "file":
        raise FileNotFound(wanted)
    return meta


async def retrieve_file(request: Request) -> Response:
    owner = require_identity(request)
    wanted = request.path_params["file_id"]
    return JSONResponse(await _file_object(request, owner, wanted))


async def _file_object(request: Request, owner: str, wanted: str) -> dict[str, Any]:
    if is_kept(wanted):
        return kept_object(await _kept(request, owner, wanted))
    if wanted.startswith("file-batch-"):
        found = await batch_file_object(request, owner, wanted)
        if found is None:
            raise FileNotFound(wanted)
        return found
    found = shown(await caller_file(request, owner, wanted), owner)
    assert found is not None
    return found


async def delete_file(request: Request) -> Response:
    state = state_of(request)
    owner = require_identity(request)
    wanted = request.path_params["file_id"]
    if is_kept(wanted):
        await _kept(request, owner, wanted)
        if not await state.file_store.delete(wanted, owner):
            raise FileNotFound(wanted)
    else:
        await _file_object(request, owner, wanted)  # the caller's, or 404
        name = gemini_file_name(wanted)
        assert name is not None
        await state.files.delete(name, state.keys.for_owner(request, owner))
    return JSONResponse({"id": wanted, "object": "file", "deleted": True})


async def file_content(request: Request) -> Response:
    """GET /v1/files/{id}/content: a kept file as stored; a batch's output or error file
    translated as it is read; an uploaded file cannot be read back from Gemini."""
    owner = require_identity(request)
    wanted = request.path_params["file_id"]
    if is_kept(wanted):
        content = await kept_content(request, owner, await _kept(request, owner, wanted))
    elif wanted.startswith("file-batch-"):
        content = await output_content(request, owner, wanted)
    else:
        await caller_file(request, owner, wanted)
        raise InvalidRequest(
            "Gemini's Files API does not give back the content of an uploaded file; only batch "
            "input (kept by the adapter), output and error files can be downloaded.",
            "file_id", code="not_downloadable")
    # The first piece before the headers: a refusal upstream is then this request's error.
    first = await anext(content, b"")
    return StreamingResponse(then(first, content), media_type="application/octet-stream")


async def list_files(request: Request) -> Response:
    """GET /v1/files: the caller's uploaded files on Gemini, its kept files (batch inputs and
    error files) and its counted batches' output files, newest first (or `order=asc`),
    `purpose` and `after` applied, `limit` at most."""
    state = state_of(request)
    owner = require_identity(request)
    params = list_params(request.query_params)
    kept = [kept_object(meta) for meta in await state.file_store.listing(owner, "file")] \
        if params.purpose in (None, "batch", "batch_output") else []
    outputs = [record["output_file"] for record in await state.file_store.records(owner, "batch")
               if "output_file" in record] if params.purpose in (None, "batch_output") else []
    uploaded = await _uploaded(request, owner) if params.purpose not in ("batch",
                                                                         "batch_output") else []
    return JSONResponse(page([*kept, *outputs, *uploaded], params))


async def _uploaded(request: Request, owner: str) -> list[dict[str, Any]]:
    state = state_of(request)
    key = state.keys.for_owner(request, owner)
    found: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(_LIST_MAX_PAGES):
        answer = await state.files.list(token, _LIST_PAGE, key)
        for file in answer.get("files", []):
            if (mine := shown(file, owner)) is not None:
                found.append(mine)
        token = answer.get("nextPageToken")
        if not token:
            break
    return found
