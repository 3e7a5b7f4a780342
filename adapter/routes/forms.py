"""Reading a multipart/form-data body (image edits, transcriptions) within the body limit."""

from __future__ import annotations

import asyncio

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import Message, Scope

from ..translate.errors import InvalidRequest
from ..translate.uploads import Upload
from .common import is_large, limited_body

FormFields = list[tuple[str, str | Upload]]


async def form_fields(request: Request, what: str, max_files: int,
                      max_fields: int) -> FormFields:
    """The form's fields in order, files read into memory. A large form is parsed in a worker
    thread, on an event loop of its own there, so that parsing it never stalls this one.
    `what` names the request in the error for a body that is not a form."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise InvalidRequest(f"{what} must be sent as multipart/form-data.")
    raw = await limited_body(request)
    parse = _parse_form(request.scope, raw, max_files, max_fields)
    if is_large(request):
        return await asyncio.to_thread(asyncio.run, parse)
    return await parse


async def _parse_form(scope: Scope, raw: bytes, max_files: int, max_fields: int) -> FormFields:
    async def replay() -> Message:
        return {"type": "http.request", "body": raw, "more_body": False}

    try:
        form = await Request(scope, replay).form(max_files=max_files, max_fields=max_fields)
    except HTTPException as exc:
        raise InvalidRequest(f"The multipart form could not be read: {exc.detail}") from None
    try:
        return [(name, Upload(await value.read(), value.content_type, value.filename)
                 if isinstance(value, UploadFile) else value)
                for name, value in form.multi_items()]
    finally:
        await form.close()
