"""Giving memory back to the system once large requests are done.

A large request (tens of megabytes of images) is parsed and translated in worker threads, and
glibc keeps what those threads free in its per-thread arenas instead of returning it: a worker
that served one 16-image edit stayed at 112 MiB instead of 40. For a while after each large
body or download, once a second, `malloc_trim` hands the free pages back (in a thread; it takes
about a millisecond). Elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import time
from collections.abc import AsyncIterator, Callable

LARGE_BODY = 1024 * 1024  # bytes: a body this large is worth trimming after
INTERVAL = 1.0  # seconds between trims
WINDOW = 15.0  # seconds after a large body during which to trim (its request may still run)


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


class Trimmer:
    """Notes large requests; `run()` trims after them."""

    def __init__(self, trim: Callable[[int], int] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._trim = trim if trim is not None else _malloc_trim()
        self._clock = clock
        self._until = 0.0  # trim until then

    def note(self, size: int) -> None:
        """A request read a body (or downloaded media) of `size` bytes."""
        if size >= LARGE_BODY:
            self._until = self._clock() + WINDOW

    def due(self) -> bool:
        return self._clock() <= self._until

    async def run(self) -> None:
        """Until cancelled: trim once a second while a large request was recent."""
        if self._trim is None:
            return
        while True:
            await asyncio.sleep(INTERVAL)
            if self.due():
                await asyncio.to_thread(self._trim, 0)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        task = asyncio.create_task(self.run())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
