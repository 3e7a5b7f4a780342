"""A stored batch input file -> Gemini's batch input, line by line as a stream.

Each OpenAI line is translated by the live endpoint's code (`translate.batch_lines`), in a worker
thread a group of lines at a time; what a line refers to (media by URL, files by id) is resolved
as the live request resolves it. Lines the batch cannot take become error-file lines and go no
further; the others become Gemini input lines (`{"key", "request"}`) and a kept context each.
The error and context lines are spooled to temporary files (memory bounded; on disk beyond a
megabyte) until the batch is created and they are stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

import orjson

from .jsonl import lines, new_spool
from .translate.batch_lines import (
    InputLine,
    LineError,
    LineRequest,
    batch_error,
    duplicate_custom_id,
    error_line,
    gemini_line,
    parse_line,
    translate_line,
)
from .translate.errors import InvalidRequest
from .translate.wire import Part

_GROUP = 256  # lines translated per worker-thread call
_ERRORS_LISTED = 10  # refused lines named in the Batch's own `errors`

Resolve = Callable[[list[Part]], Awaitable[None]]


@dataclass(slots=True)
class Prepared:
    """What reading the input found, once its Gemini lines have all been handed on."""

    model: str | None = None  # the batch's Gemini model (its first good line's)
    lines: int = 0  # lines sent to Gemini
    refused: int = 0  # lines refused, each in `errors`
    listed: list[dict[str, Any]] = field(default_factory=list)  # the first few, for the Batch
    errors: IO[bytes] = field(default_factory=new_spool)  # error-file lines
    contexts: IO[bytes] = field(default_factory=new_spool)  # {"i": line, "c": context} lines

    def close(self) -> None:
        self.errors.close()
        self.contexts.close()


@dataclass(slots=True)
class _Translated:
    index: int
    custom_id: str | None
    outcome: LineRequest | InvalidRequest
    encoded: bytes = b""  # its Gemini lines, when it needs nothing resolved


class _Reader:
    """The translation of one input file (state carried from group to group)."""

    def __init__(self, endpoint: str, aliases: Mapping[str, str], prepared: Prepared) -> None:
        self.endpoint = endpoint
        self.aliases = aliases
        self.prepared = prepared
        self.seen: set[str] = set()

    def group(self, raws: list[tuple[int, bytes]]) -> list[_Translated]:
        """Translate lines (in a worker thread): their outcomes, in order."""
        done = []
        for index, raw in raws:
            custom_id = None
            try:
                line = parse_line(raw, index, self.endpoint)
                if line is None:
                    continue
                custom_id = line.custom_id
                if custom_id in self.seen:
                    raise duplicate_custom_id(custom_id, index)
                self.seen.add(custom_id)
                request = self._translated(line)
            except InvalidRequest as error:
                done.append(_Translated(index, custom_id, error))
                continue
            encoded = b"" if request.remote_media else self.encode(index, request)
            done.append(_Translated(index, custom_id, request, encoded))
        return done

    def _translated(self, line: InputLine) -> LineRequest:
        request = translate_line(line, self.endpoint, self.aliases, self.prepared.model)
        if self.prepared.model is None:
            self.prepared.model = request.model
        return request

    @staticmethod
    def encode(index: int, request: LineRequest) -> bytes:
        return b"".join(gemini_line(index, part, body)
                        for part, body in enumerate(request.requests))


async def gemini_input(input_chunks: AsyncIterator[bytes], endpoint: str,
                       aliases: Mapping[str, str], resolve: Resolve, prepared: Prepared, *,
                       max_lines: int, max_line: int) -> AsyncIterator[bytes]:
    """Gemini's batch input lines for the stored input, as they are made; `prepared` gathers
    the refused lines and the contexts meanwhile. More than `max_lines` lines is a 400."""
    reader = _Reader(endpoint, aliases, prepared)
    pending: list[tuple[int, bytes]] = []
    count = 0
    async for raw in lines(input_chunks, max_line, "input_file_id"):
        pending.append((count, raw))
        count += 1
        if count > max_lines:
            raise InvalidRequest(f"The input file has more than {max_lines} requests, the most "
                                 "one batch may hold (ADAPTER_BATCH_MAX_LINES).",
                                 "input_file_id", code="too_many_requests")
        if len(pending) >= _GROUP:
            if made := await _handled(reader, pending, resolve):
                yield made
            pending = []
    if pending and (made := await _handled(reader, pending, resolve)):
        yield made


async def _handled(reader: _Reader, raws: list[tuple[int, bytes]], resolve: Resolve) -> bytes:
    """Translate a group off the loop, resolve what its lines refer to, keep the contexts and
    errors; the group's Gemini lines."""
    prepared = reader.prepared
    out: list[bytes] = []
    for item in await asyncio.to_thread(reader.group, raws):
        outcome = item.outcome
        if isinstance(outcome, LineRequest) and outcome.remote_media:
            try:
                await resolve(outcome.remote_media)
            except InvalidRequest as error:
                outcome = error
            else:
                item.encoded = reader.encode(item.index, outcome)
        if isinstance(outcome, InvalidRequest):
            _refuse(prepared, item, outcome)
            continue
        prepared.lines += 1
        prepared.contexts.write(orjson.dumps({"i": item.index, "c": outcome.context}) + b"\n")
        out.append(item.encoded)
    return b"".join(out)


def _refuse(prepared: Prepared, item: _Translated, error: InvalidRequest) -> None:
    custom_id = item.custom_id
    if custom_id is None and isinstance(error, LineError):
        custom_id = error.custom_id
    prepared.refused += 1
    if len(prepared.listed) < _ERRORS_LISTED:
        prepared.listed.append(batch_error(error, item.index))
    line = error_line(custom_id or "", error, f"refused:{item.index}")
    prepared.errors.write(orjson.dumps(line) + b"\n")
