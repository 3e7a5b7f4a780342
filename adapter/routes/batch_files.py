"""A batch's output file (`file-batch-<id>`: Gemini's results file, translated as it is read)
and the content of kept files (a batch's error file: the lines refused at creation, then the
requests that failed)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request

from ..batch_output import output_lines
from ..translate.batches import results_file, unanswered
from ..translate.errors import FileNotFound
from ..translate.file_ids import results_batch_id
from ..translate.files import results_object
from .batches import operation_of
from .common import state_of


async def _owned_batch(request: Request, owner: str,
                       wanted_batch: str) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    record = await state_of(request).file_store.record(wanted_batch, owner)
    if record is None:
        return None
    return record, await operation_of(request, owner, record)


async def batch_file_object(request: Request, owner: str, wanted: str) -> dict[str, Any] | None:
    """The `file` object of a batch's output file, when the batch is the caller's."""
    batch = results_batch_id(wanted)
    found = await _owned_batch(request, owner, batch) if batch is not None else None
    if found is None or (name := results_file(found[1])) is None:
        return None
    state = state_of(request)
    file = await state.files.get(name, state.keys.for_owner(request, owner))
    assert batch is not None
    return results_object(file, batch)


async def output_content(request: Request, owner: str, wanted: str) -> AsyncIterator[bytes]:
    """A batch's output file (`file-batch-<id>`), translated as it is read; 404 unless the
    batch is the caller's and Gemini has written its results."""
    batch = results_batch_id(wanted)
    found = await _owned_batch(request, owner, batch) if batch is not None else None
    if found is None or results_file(found[1]) is None:
        raise FileNotFound(wanted)
    return _translated(request, owner, *found, want_ok=True)


async def kept_content(request: Request, owner: str,
                       meta: dict[str, Any]) -> AsyncIterator[bytes]:
    """A kept file's content: as stored, and for a batch's error file (its meta names the
    batch) then the requests that failed, once Gemini has written its results."""
    found = await _owned_batch(request, owner, meta["batch"]) if meta.get("batch") else None
    return _kept_then_failed(request, owner, meta["id"], found)


async def _kept_then_failed(request: Request, owner: str, wanted: str,
                            found: tuple[dict[str, Any], dict[str, Any] | None] | None,
                            ) -> AsyncIterator[bytes]:
    async for piece in state_of(request).file_store.chunks(wanted, owner):
        yield piece
    if found is not None and results_file(found[1]) is not None:
        async for piece in _translated(request, owner, *found, want_ok=False):
            yield piece


async def _translated(request: Request, owner: str, record: dict[str, Any],
                      operation: dict[str, Any] | None, want_ok: bool) -> AsyncIterator[bytes]:
    state = state_of(request)
    name = results_file(operation)
    assert name is not None
    results = state.files.download(name, state.keys.for_owner(request, owner))
    contexts = state.file_store.chunks(record["context_file_id"], owner)
    created = int(time.time())
    async for piece in output_lines(results, contexts, record["endpoint"], created, want_ok,
                                    unanswered(operation)):
        yield piece
