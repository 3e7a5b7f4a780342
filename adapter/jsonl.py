"""Streams of bytes and of JSON lines: lines out of arbitrary pieces of bytes, pieces out of
lines, and spools (temporary files, in memory up to a megabyte) read back as a stream."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from typing import IO

from .translate.errors import InvalidRequest

PIECE = 1 << 20  # what `pieces` and `spooled` hand on at a time
_SPOOL_IN_MEMORY = 1 << 20  # a spool goes to disk beyond this


async def lines(chunks: AsyncIterable[bytes], max_line: int,
                param: str | None = None) -> AsyncIterator[bytes]:
    """Each line of the stream, without its line ending; blank lines are skipped. A line
    longer than `max_line` bytes is a 400 naming `param` (one line never fills memory)."""
    held: list[bytes] = []  # the line under way, in pieces (never joined piece by piece)
    size = 0
    async for chunk in chunks:
        if b"\n" not in chunk:
            held.append(chunk)
            size += len(chunk)
            if size > max_line:
                raise InvalidRequest(f"A line is longer than {max_line} bytes.", param,
                                     code="line_too_long")
            continue
        first, *complete, last = chunk.split(b"\n")
        held.append(first)
        for line in (b"".join(held), *complete):
            if line.strip():
                yield line
        held, size = [last], len(last)
    if (line := b"".join(held)).strip():
        yield line


async def pieces(parts: AsyncIterable[bytes], size: int = PIECE) -> AsyncIterator[bytes]:
    """The same bytes in pieces of about `size` (small parts joined, so that a consumer's cost
    per piece is paid per megabyte rather than per line)."""
    held: list[bytes] = []
    count = 0
    async for part in parts:
        held.append(part)
        count += len(part)
        if count >= size:
            yield b"".join(held)
            held, count = [], 0
    if held:
        yield b"".join(held)


async def then(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """`first`, then the rest of a stream whose first piece was taken to look at."""
    yield first
    async for piece in rest:
        yield piece


def new_spool() -> IO[bytes]:
    """A temporary file, in memory until it passes a megabyte; the caller closes it."""
    return tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)


async def spooled(spool: IO[bytes]) -> AsyncIterator[bytes]:
    """A spool's content from its start, a piece at a time."""
    spool.seek(0)
    while piece := spool.read(PIECE):
        yield piece
