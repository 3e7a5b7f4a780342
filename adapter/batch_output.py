"""A batch's output and error files, made as they are read: Gemini's results file joined with
the contexts kept when the batch was created, each line translated by the live endpoint's code.

Gemini writes one results line per request, keyed `<line>:<part>`; the contexts are kept in
line order. The join reads both as streams: a context read ahead of its result waits in a small
table (Gemini writes results in input order in practice, so the table stays near empty), and a
line's parts (one per embedding input) wait until all have come. Parsing and translation run
in a worker thread, a group of lines at a time, so a results file of any size (or lines of any
size) never stalls the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from .jsonl import lines
from .translate.batch_lines import (
    output_line,
    parse_key,
    parts_of,
    result_tokens,
    unanswered_line,
)

MAX_LINE = 256 << 20  # one results or context line (a generated image can be large)
_GROUP = 256  # results parsed, then translated, per worker-thread call
_GROUP_BYTES = 8 << 20  # ...or fewer, when they are large


class _Contexts:
    """The kept contexts, read in order as results ask for them."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._lines = lines(chunks, MAX_LINE).__aiter__()
        self.waiting: dict[int, dict[str, Any]] = {}  # read ahead of their results
        self._done = False

    async def take(self, index: int) -> dict[str, Any] | None:
        """The context of line `index`, or None when there is none (a key Gemini made up)."""
        while index not in self.waiting and not self._done:
            try:
                kept = orjson.loads(await self._lines.__anext__())
            except StopAsyncIteration:
                self._done = True
                break
            self.waiting[kept["i"]] = kept["c"]
        return self.waiting.pop(index, None)

    async def rest(self) -> AsyncIterator[dict[str, Any]]:
        """The contexts no result asked for."""
        for context in self.waiting.values():
            yield context
        self.waiting.clear()
        while not self._done:
            try:
                yield orjson.loads(await self._lines.__anext__())["c"]
            except StopAsyncIteration:
                self._done = True


Pair = tuple[Any, dict[str, Any]]  # a line's results (one, or its parts in order), its context


def _translate(group: list[Pair], endpoint: str, created: int, want_ok: bool) -> bytes:
    """The output lines of a group, those that succeeded (`want_ok`) or those that failed."""
    out = []
    for results, context in group:
        ok, line = output_line(results, context, endpoint, created, context["custom_id"])
        if ok == want_ok:
            out.append(orjson.dumps(line))
    return b"".join(line + b"\n" for line in out)


def _parsed(raws: list[bytes]) -> list[tuple[int, int, Any]]:
    """(line, part, result) of each results line that is Gemini's: JSON, with a key the adapter
    made. Any other line is skipped (its request then reads as unanswered)."""
    found = []
    for raw in raws:
        try:
            result = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        key = parse_key(result.get("key")) if isinstance(result, dict) else None
        if key is not None:
            found.append((*key, result))
    return found


async def _results(results: AsyncIterator[bytes]) -> AsyncIterator[list[tuple[int, int, Any]]]:
    """Gemini's results lines, parsed off the loop a group at a time (a group holds at most
    `_GROUP` lines or `_GROUP_BYTES`, whichever comes first)."""
    raws: list[bytes] = []
    size = 0
    async for raw in lines(results, MAX_LINE):
        raws.append(raw)
        size += len(raw)
        if len(raws) >= _GROUP or size >= _GROUP_BYTES:
            yield await asyncio.to_thread(_parsed, raws)
            raws, size = [], 0
    if raws:
        yield await asyncio.to_thread(_parsed, raws)


async def _joined(results: AsyncIterator[bytes], kept: _Contexts) -> AsyncIterator[list[Pair]]:
    """Groups of (results, context), as Gemini's results arrive; a line of several parts once
    all have come."""
    parts: dict[int, list[tuple[int, Any]]] = {}  # line -> its parts so far
    async for parsed in _results(results):
        group: list[Pair] = []
        for index, part, result in parsed:
            context = await kept.take(index)
            if context is None:
                continue
            if parts_of(context) > 1:
                sofar = parts.setdefault(index, [])
                sofar.append((part, result))
                if len(sofar) < parts_of(context):
                    kept.waiting[index] = context  # until its other parts come
                    continue
                del parts[index]
                group.append(([item for _, item in sorted(sofar, key=lambda p: p[0])],
                              context))
            else:
                group.append((result, context))
        if group:
            yield group


async def output_lines(results: AsyncIterator[bytes], contexts: AsyncIterator[bytes],
                       endpoint: str, created: int, want_ok: bool,
                       unanswered: tuple[str, str] | None = None) -> AsyncIterator[bytes]:
    """The output file (`want_ok`) or the failed requests for the error file, as JSON lines.
    `unanswered` (code, message): also an error line for each request without a result (the
    batch was cancelled or expired)."""
    kept = _Contexts(contexts)
    async for group in _joined(results, kept):
        yield await asyncio.to_thread(_translate, group, endpoint, created, want_ok)
    if unanswered is not None and not want_ok:
        code, message = unanswered
        async for context in kept.rest():
            line = unanswered_line(context["custom_id"], code, message, context["custom_id"])
            yield orjson.dumps(line) + b"\n"


@dataclass(slots=True)
class Tally:
    """What a batch's results come to: lines that succeeded and failed (as the output and
    error files will show them) and the tokens every result used."""

    completed: int = 0
    failed: int = 0
    tokens: list[int] = field(default_factory=lambda: [0, 0, 0, 0])  # result_tokens' order

    def count(self, group: list[Pair], endpoint: str) -> None:
        for results, context in group:
            ok, _ = output_line(results, context, endpoint, 0, context["custom_id"])
            if ok:
                self.completed += 1
            else:
                self.failed += 1
            for result in [results] if isinstance(results, dict) else results:
                for i, used in enumerate(result_tokens(result)):
                    self.tokens[i] += used


async def tally(results: AsyncIterator[bytes], contexts: AsyncIterator[bytes],
                endpoint: str) -> Tally:
    """Count a finished batch's results, off the loop, a group at a time."""
    counted = Tally()
    async for group in _joined(results, _Contexts(contexts)):
        await asyncio.to_thread(counted.count, group, endpoint)
    return counted
