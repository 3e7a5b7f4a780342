"""The placeholder parts a translated request leaves for the shell: media linked by URL (fetched)
and files given by OpenAI id (looked up: the caller's own, ready, then used as `fileData`)."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request

from ..auth import require_identity
from ..translate.errors import AdapterError, FileNotFound, InvalidRequest
from ..translate.file_ids import is_kept
from ..translate.wire import FETCH, FILE_REF, Part
from .caller_files import caller_file
from .common import all_of, state_of

# A file Gemini is still processing (a video, just uploaded) is waited for, within this.
READY_POLLS = 15
READY_POLL_SECONDS = 2.0


async def resolve_placeholders(request: Request, parts: list[Part],
                               known: dict[str, Any] | None = None) -> None:
    """Replace every placeholder part in place; the first failure is the request's 400.
    `known` (file id -> its `fileData`) keeps files already looked up, for requests that share
    them (the lines of a batch): each is looked up once."""
    state = state_of(request)
    fetched = [part for part in parts if FETCH in part]
    files = [part for part in parts if FILE_REF in part]
    if fetched:
        await state.media.resolve(fetched)
    if files:
        await _resolve_files(request, files, {} if known is None else known)


async def _resolve_files(request: Request, parts: list[Part], known: dict[str, Any]) -> None:
    limit = state_of(request).settings.fetch_max_count
    if len(parts) > limit:
        param = parts[limit][FILE_REF]["param"]
        raise InvalidRequest(f"A request may name at most {limit} files; '{param}' is one more.",
                             param, code="too_many_media")
    owner = require_identity(request)
    wanted: dict[str, str] = {}  # file id -> the first param naming it
    for part in parts:
        if part[FILE_REF]["id"] not in known:
            wanted.setdefault(part[FILE_REF]["id"], part[FILE_REF]["param"])
    if wanted:
        found = await all_of([file_data(request, owner, file_id, param)
                              for file_id, param in wanted.items()])
        known.update(zip(wanted, found, strict=True))
    for part in parts:
        spec = part.pop(FILE_REF)
        part["fileData"] = known[spec["id"]]


def unknown_file(file_id: str, param: str) -> AdapterError:
    """The same answer for an id that never existed, expired, was deleted or is another's."""
    return InvalidRequest(f"No such file: {file_id!r}.", param, code="file_not_found")


async def file_data(request: Request, owner: str, file_id: str, param: str) -> Any:
    """`fileData` for one of the caller's uploaded files."""
    if is_kept(file_id) or file_id.startswith("file-batch-"):
        raise InvalidRequest(f"File {file_id!r} holds batch input or output, which a request "
                             "cannot read as content.", param, code="invalid_file")
    for _ in range(READY_POLLS):
        try:
            file = await caller_file(request, owner, file_id)
        except FileNotFound:
            raise unknown_file(file_id, param) from None
        if file.get("state") != "PROCESSING":
            break
        await asyncio.sleep(READY_POLL_SECONDS)
    else:
        raise InvalidRequest(f"File {file_id!r} is still being processed by Gemini; try again "
                             "shortly.", param, code="file_not_ready")
    if file.get("state") == "FAILED":
        raise InvalidRequest(f"Gemini could not process file {file_id!r}.", param,
                             code="invalid_file")
    return {"fileUri": file["uri"], "mimeType": file["mimeType"]}
