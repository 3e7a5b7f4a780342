"""The caller's own uploaded files on Gemini: looked up by OpenAI id, owner checked. What
/v1/files answers about a file and what a request naming it by id may read."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from ..translate.errors import AdapterError, FileNotFound
from ..translate.file_ids import gemini_file_name
from ..translate.files import file_object
from .common import state_of


def shown(gemini_file: dict[str, Any], owner: str) -> dict[str, Any] | None:
    """The `file` object of a Gemini file the caller uploaded, else None: another's, or a
    batch's input the adapter wrote (purpose "batch": the caller's own batch input is kept)."""
    found = file_object(gemini_file, owner)
    return None if found is None or found["purpose"] == "batch" else found


async def caller_file(request: Request, owner: str, wanted: str) -> dict[str, Any]:
    """The Gemini File behind one of the caller's file ids; FileNotFound (404) for any other
    id, the same whether it never existed, expired, was deleted or is another's."""
    state = state_of(request)
    name = gemini_file_name(wanted)
    if name is None:
        raise FileNotFound(wanted)
    try:
        file: dict[str, Any] = await state.files.get(name, state.keys.for_owner(request, owner))
    except AdapterError as error:
        if error.status in (400, 403, 404):
            raise FileNotFound(wanted) from None
        raise
    if shown(file, owner) is None:
        raise FileNotFound(wanted)
    return file
