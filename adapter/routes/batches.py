"""/v1/batches over Gemini's Batch Mode: create from a kept input file, retrieve, list, cancel.

Creating a batch reads its input file from the store as a stream, translates each line with the
live endpoint's code (`batch_input`), streams the Gemini lines into a Gemini file and starts
`batchGenerateContent` (or `asyncBatchEmbedContent`) on it. The batch id carries the Gemini
job's name (`batch_<id>`); the OpenAI fields Gemini has no place for (endpoint, input file,
metadata, the lines refused) are the batch's record in the store, its owner's only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..auth import require_identity
from ..batch_input import Prepared, gemini_input
from ..batch_output import tally
from ..gemini_files import GEMINI_FILE_MAX_BYTES
from ..jsonl import pieces, spooled, then
from ..replies import JSONResponse
from ..translate.batch_lines import EMBEDDINGS
from ..translate.batches import WINDOW, batch_object, batch_usage, create_params, results_file
from ..translate.errors import AdapterError, InvalidRequest
from ..translate.file_ids import batch_id, display_name, gemini_batch_name, is_kept, kept_file_id
from ..translate.files import results_object
from ..translate.pages import after_of, limit_of, page_of
from ..translate.wire import Part
from .common import AdapterState, all_of, json_body, state_of
from .placeholders import resolve_placeholders
from .upload_stream import upload_slot

log = logging.getLogger("adapter")

_MAX_LIST = 100
_GEMINI_INPUT_MIME = "application/jsonl"


def _kept_until(created: float, state: AdapterState) -> float:
    """When a batch's record, contexts and error file expire: after its completion window,
    as long again as a file is kept."""
    return created + WINDOW + state.settings.file_retention_seconds


def _not_found(wanted: str) -> AdapterError:
    """The same answer for an id that never existed, expired or is another's."""
    return AdapterError(f"No batch found with id {wanted[:100]!r}.", 404, "batch_id",
                        "not_found")


async def create_batch(request: Request) -> Response:
    state = state_of(request)
    owner = require_identity(request)
    params = create_params(await json_body(request))
    input_id = params.input_file_id
    meta = await state.file_store.meta(input_id, owner) if is_kept(input_id) else None
    if meta is None or meta.get("kind") != "file" or meta.get("purpose") != "batch":
        raise InvalidRequest(f"No batch input file with id {input_id!r}: upload it with "
                             "purpose 'batch' first.", "input_file_id", code="file_not_found")
    key = state.keys.for_owner(request, owner)
    created = int(time.time())
    expires_at = _kept_until(created, state)
    prepared = Prepared()
    known: dict[str, Any] = {}  # files the lines name, each looked up once

    async def resolve(parts: list[Part]) -> None:
        await resolve_placeholders(request, parts, known)

    try:
        async with upload_slot(state.uploads, state.settings.queue_timeout):
            made = pieces(gemini_input(
                state.file_store.chunks(input_id, owner), params.endpoint,
                state.settings.model_map, resolve, prepared,
                max_lines=state.settings.batch_max_lines,
                max_line=state.settings.max_body_bytes))
            first = await anext(made, None)  # nothing to send: every line was refused
            operation = None
            if first is not None:
                uploaded = await state.files.upload(
                    then(first, made), _GEMINI_INPUT_MIME,
                    display_name(owner, "batch", input_id), key,
                    max_bytes=GEMINI_FILE_MAX_BYTES)
                try:
                    operation = await _start(request, key, prepared, params.endpoint,
                                             uploaded["name"], owner)
                except BaseException:  # no job will read it: it would stay 48 hours
                    with contextlib.suppress(AdapterError):
                        await state.files.delete(uploaded["name"], key)
                    raise
        record = await _record(request, owner, params, prepared, operation, created, expires_at)
    finally:
        prepared.close()
    return JSONResponse(batch_object(record, operation))


async def _start(request: Request, key: str, prepared: Prepared, endpoint: str,
                 file_name: str, owner: str) -> dict[str, Any]:
    """Gemini's batch job on the uploaded input: its Operation."""
    state = state_of(request)
    assert prepared.model is not None
    name = display_name(owner, "batch", uuid.uuid4().hex)
    create = state.files.create_embed_batch if endpoint == EMBEDDINGS else \
        state.files.create_batch
    operation: dict[str, Any] = await create(prepared.model, file_name, name, key)
    return operation


async def _record(request: Request, owner: str, params: Any, prepared: Prepared,
                  operation: dict[str, Any] | None, created: int,
                  expires_at: float) -> dict[str, Any]:
    """Keep the batch's record, its contexts and its error file; the record."""
    state = state_of(request)
    store = state.file_store
    # Both follow from the input (one line each at most); the store's own limit bounds them.
    most = state.settings.store_max_bytes
    gemini_name = operation.get("name") if operation is not None else None
    wanted = batch_id(str(gemini_name)) if gemini_name else f"batch_failed_{uuid.uuid4().hex}"
    error_file = kept_file_id()
    await store.put(error_file, owner, {"kind": "file", "purpose": "batch_output",
                                        "filename": f"{wanted}_error.jsonl", "batch": wanted},
                    spooled(prepared.errors), max_bytes=most, expires_at=expires_at)
    contexts = kept_file_id()
    await store.put(contexts, owner, {"kind": "batch_context", "batch": wanted},
                    spooled(prepared.contexts), max_bytes=most, expires_at=expires_at)
    record = {"id": wanted, "endpoint": params.endpoint, "input_file_id": params.input_file_id,
              "completion_window": params.completion_window, "metadata": params.metadata,
              "created_at": created, "model": prepared.model, "lines": prepared.lines,
              "refused": prepared.refused, "errors": prepared.listed,
              "error_file_id": error_file, "context_file_id": contexts,
              "gemini": gemini_name}
    await store.put_record(wanted, owner, "batch", record, expires_at=expires_at)
    return record


async def batch_record(request: Request, owner: str, wanted: str) -> dict[str, Any]:
    record = await state_of(request).file_store.record(wanted, owner)
    if record is None:
        raise _not_found(wanted)
    return record


async def operation_of(request: Request, owner: str,
                       record: dict[str, Any]) -> dict[str, Any] | None:
    """Gemini's batch Operation for a record (None: Gemini never took the batch; an expired
    one when Gemini no longer knows it)."""
    name = record.get("gemini")
    if not name:
        return None
    state = state_of(request)
    try:
        operation: dict[str, Any] = await state.files.get_batch(
            name, state.keys.for_owner(request, owner))
    except AdapterError as error:
        if error.status != 404:
            raise
        # Gemini no longer knows the job (it keeps finished jobs for a limited time).
        return {"name": name, "metadata": {"state": "BATCH_STATE_EXPIRED"}}
    return operation


async def retrieve_batch(request: Request) -> Response:
    owner = require_identity(request)
    record = await batch_record(request, owner, request.path_params["batch_id"])
    operation = await operation_of(request, owner, record)
    _tally_when_done(request, owner, record, operation)
    return JSONResponse(batch_object(record, operation))


# Batches whose results this process is counting (usage and per-line counts), by id; at most
# MAX_TALLIES at once (each holds an upstream slot and worker-thread time for its whole
# download): a batch beyond them is counted on a later read.
_TALLYING: dict[str, asyncio.Task[None]] = {}
MAX_TALLIES = 2


def _tally_when_done(request: Request, owner: str, record: dict[str, Any],
                     operation: dict[str, Any] | None) -> None:
    """Once Gemini has finished a batch, count its results in the background (a download and
    a translation of every line, off the loop): its usage and the lines that succeeded and
    failed, kept in its record for every later read. Once per batch and process, and
    MAX_TALLIES batches at a time."""
    name = results_file(operation)
    wanted = record["id"]
    if name is None or "usage" in record or wanted in _TALLYING or not (operation or {}).get(
            "done") or len(_TALLYING) >= MAX_TALLIES:
        return
    state = state_of(request)
    key = state.keys.for_owner(request, owner)
    task = asyncio.create_task(_tally(state, owner, key, dict(record), name))
    _TALLYING[wanted] = task
    task.add_done_callback(lambda _: _TALLYING.pop(wanted, None))


async def _tally(state: AdapterState, owner: str, key: str, record: dict[str, Any],
                 name: str) -> None:
    try:
        counted = await tally(state.files.download(name, key),
                              state.file_store.chunks(record["context_file_id"], owner),
                              record["endpoint"])
        record["usage"] = batch_usage(*counted.tokens)
        record["counts"] = {"completed": counted.completed,
                            "failed": counted.failed + int(record.get("refused", 0))}
        # The output file, listed from here on by GET /v1/files with no call upstream.
        record["output_file"] = results_object(await state.files.get(name, key), record["id"])
        await state.file_store.put_record(
            record["id"], owner, "batch", record,
            expires_at=_kept_until(record["created_at"], state))
    except AdapterError as error:  # the next read tries again
        log.warning("counting batch %s failed: %s", record["id"], error.message)
    except Exception:
        log.exception("counting batch %s failed", record["id"])


async def cancel_batch(request: Request) -> Response:
    state = state_of(request)
    owner = require_identity(request)
    wanted = request.path_params["batch_id"]
    record = await batch_record(request, owner, wanted)
    name = gemini_batch_name(wanted)
    status = batch_object(record, await operation_of(request, owner, record))["status"]
    if status not in ("in_progress", "cancelling"):
        raise InvalidRequest(f"Batch {wanted!r} is {status} and cannot be cancelled.",
                             "batch_id", code="batch_not_cancellable")
    if name is not None and record.get("gemini"):
        await state.files.cancel_batch(name, state.keys.for_owner(request, owner))
        if record.get("cancelling_at") is None:
            record["cancelling_at"] = int(time.time())
            await state.file_store.put_record(
                wanted, owner, "batch", record,
                expires_at=_kept_until(record["created_at"], state))
    return JSONResponse(batch_object(record, await operation_of(request, owner, record)))


async def list_batches(request: Request) -> Response:
    """GET /v1/batches: the caller's batches, newest first, `after` and `limit` (1-100, 20)."""
    owner = require_identity(request)
    query = request.query_params
    limit = limit_of(query, 20, _MAX_LIST)
    listed = page_of(await state_of(request).file_store.records(owner, "batch"),
                     after_of(query), limit, "batch of yours")
    shown = listed["data"]
    operations = await all_of([operation_of(request, owner, record) for record in shown]) \
        if shown else []
    for record, operation in zip(shown, operations, strict=True):
        _tally_when_done(request, owner, record, operation)
    listed["data"] = [batch_object(record, operation)
                      for record, operation in zip(shown, operations, strict=True)]
    return JSONResponse(listed)
