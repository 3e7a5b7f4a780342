"""A multipart/form-data upload read as it arrives: the text fields, then one file as a stream.

POST /v1/files takes files of hundreds of megabytes, which must never sit whole in memory. The
form is parsed with python-multipart's push parser as the body arrives; the text fields are kept
(each bounded), and the file's bytes are handed on piece by piece. A client that sends the file
before a field the route needs first (OpenAI's Node SDK sends `file` before `purpose`) has the
file spooled to a temporary file (bounded by the route's size limit, deleted at the end).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import IO

from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header
from starlette.requests import ClientDisconnect, Request

from ..jsonl import new_spool, spooled
from ..translate.errors import AdapterError, FileTooLarge, InvalidRequest

MAX_FIELD_BYTES = 64 * 1024  # one text field
MAX_FIELDS = 16


@contextlib.asynccontextmanager
async def upload_slot(slots: asyncio.Semaphore, wait_seconds: float) -> AsyncIterator[None]:
    """One of the process's upload slots (ADAPTER_MAX_UPLOADS), waited for at most
    `wait_seconds`: then a 503, as when Gemini's streams are all taken."""
    try:
        async with asyncio.timeout(wait_seconds):
            await slots.acquire()
    except TimeoutError:
        raise AdapterError("The adapter is taking as many uploads as it is allowed to "
                           "(ADAPTER_MAX_UPLOADS); try again shortly.", 503,
                           code="too_many_uploads", retry_after=1) from None
    try:
        yield
    finally:
        slots.release()


@dataclass(slots=True)
class _Events:
    """What the parser reported since it was last drained."""

    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    header_field: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    parts: list[tuple[str, object]] = field(default_factory=list)  # (event, payload)


@dataclass(slots=True)
class FilePart:
    """The form's file: its name and type as sent, and its bytes as they arrive."""

    filename: str
    content_type: str
    chunks: AsyncIterator[bytes]


class StreamedForm:
    """`fields` before the file, then `file.chunks`; `fields` also gains any fields after it
    once the file has been read to its end."""

    def __init__(self, request: Request, file_field: str, needed_first: tuple[str, ...],
                 max_bytes: int, setting: str, stall_seconds: float) -> None:
        content_type = request.headers.get("content-type", "")
        kind, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            raise InvalidRequest("The upload must be sent as multipart/form-data.")
        self.fields: dict[str, str] = {}
        self._file_field = file_field
        self._needed_first = needed_first
        self._max_bytes = max_bytes
        self._setting = setting
        self._stall_seconds = stall_seconds
        self._events = _Events()
        self._parser = MultipartParser(boundary, {
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": lambda: self._events.parts.append(
                ("headers", list(self._events.headers))),
            "on_part_data": lambda data, start, end: self._events.parts.append(
                ("data", bytes(data[start:end]))),
            "on_part_end": lambda: self._events.parts.append(("end", None)),
        })
        self._body = request.stream().__aiter__()
        self._stream = self._events_forever()  # the parser's events, as the body arrives
        self._spool: IO[bytes] | None = None
        self._file_seen = False

    def limit(self, max_bytes: int, setting: str) -> None:
        """The file's size limit from here on (once a field has said which one applies)."""
        self._max_bytes = max_bytes
        self._setting = setting

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._events.header_field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._events.header_value += data[start:end]

    def _header_end(self) -> None:
        events = self._events
        events.headers.append((bytes(events.header_field).lower(), bytes(events.header_value)))
        events.header_field.clear()
        events.header_value.clear()

    async def _next_events(self) -> list[tuple[str, object]] | None:
        """The parser's events for the next piece of the body; None at its end. A body that
        stops short of the form's closing boundary, stalls or is given up is refused: no part of
        it may pass for a whole file."""
        try:
            async with asyncio.timeout(self._stall_seconds):
                chunk = await self._body.__anext__()
        except StopAsyncIteration:
            if self._parser.state != MultipartState.END:
                raise InvalidRequest("The multipart form ends before its closing boundary: the "
                                     "upload is incomplete.", self._file_field,
                                     code="incomplete_upload") from None
            self._parser.finalize()
            return None
        except TimeoutError:
            raise AdapterError(f"The upload sent nothing for {self._stall_seconds:g} seconds.",
                               408, self._file_field, "upload_stalled") from None
        except ClientDisconnect:
            raise InvalidRequest("The client went away before the end of the upload.",
                                 self._file_field, code="client_disconnected") from None
        try:
            self._parser.write(chunk)
        except Exception as exc:  # python-multipart's MultipartParseError and kin
            raise InvalidRequest(f"The multipart form could not be read: {exc}.") from None
        events, self._events.parts = self._events.parts, []
        return events

    async def _events_forever(self) -> AsyncIterator[tuple[str, object]]:
        while (events := await self._next_events()) is not None:
            for event in events:
                yield event

    async def read_until_file(self) -> FilePart:
        """Read the text fields up to the file part; the file part, its data still to come.
        Fields the route needs first but that come after the file are read too, the file
        spooled to a temporary file meanwhile."""
        part = await self._read_fields()
        if part is None:
            raise InvalidRequest(f"The form has no '{self._file_field}' file.", self._file_field)
        missing = [needed for needed in self._needed_first if needed not in self.fields]
        if missing:
            await self._spool_file(part)
            return FilePart(part.filename, part.content_type, self._spooled())
        return part

    async def _read_fields(self) -> FilePart | None:
        name, value, headers = "", bytearray(), None
        async for event, payload in self._stream:
            if event == "headers":
                assert isinstance(payload, list)
                headers = dict(payload)
                self._events.headers.clear()
                disposition = headers.get(b"content-disposition", b"")
                _, options = parse_options_header(disposition)
                name = options.get(b"name", b"").decode("utf-8", "replace")
                if name == self._file_field and b"filename" in options:
                    if self._file_seen:
                        raise InvalidRequest(f"The form has more than one '{name}' file.", name)
                    self._file_seen = True
                    filename = options[b"filename"].decode("utf-8", "replace")
                    mime = headers.get(b"content-type", b"application/octet-stream")
                    return FilePart(filename, mime.decode("latin-1").strip(),
                                    self._file_data())
                if len(self.fields) >= MAX_FIELDS:
                    raise InvalidRequest(f"The form has more than {MAX_FIELDS} fields.")
                value = bytearray()
            elif event == "data":
                assert isinstance(payload, bytes)
                value += payload
                if len(value) > MAX_FIELD_BYTES:
                    raise InvalidRequest(f"The form field '{name}' is longer than "
                                         f"{MAX_FIELD_BYTES} bytes.", name or None)
            elif event == "end" and headers is not None:
                self.fields.setdefault(name, value.decode("utf-8", "replace"))
        return None

    async def _file_data(self) -> AsyncIterator[bytes]:
        """The file's bytes up to its part's end, within the size limit; then the fields after
        it are read into `fields`."""
        size = 0
        async for event, payload in self._stream:
            if event == "end":
                break
            if event == "data":
                assert isinstance(payload, bytes)
                size += len(payload)
                if size > self._max_bytes:
                    raise FileTooLarge(self._max_bytes, self._setting)
                if payload:
                    yield payload
        await self._read_fields()

    async def _spool_file(self, part: FilePart) -> None:
        spool = self._spool = new_spool()
        async for piece in part.chunks:
            spool.write(piece)

    async def _spooled(self) -> AsyncIterator[bytes]:
        assert self._spool is not None
        size = 0
        async for piece in spooled(self._spool):
            size += len(piece)
            if size > self._max_bytes:
                raise FileTooLarge(self._max_bytes, self._setting)
            yield piece

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
