"""The server's Gemini keys: used in turn; a rate-limited key rests, a refused key is skipped.

State is per process and needs no database: each worker learns on its own, within a request or
two, which keys are resting or refused.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger("adapter.keys")

DEFAULT_REST = 60.0  # seconds a rate-limited key rests when Gemini gives no RetryInfo


def fingerprint(key: str) -> str:
    """A way to tell keys apart in logs without revealing them."""
    return f"...{key[-4:]}" if len(key) > 12 else "..."


class KeyPool:
    """Round robin over the usable keys."""

    def __init__(self, keys: tuple[str, ...], clock: Callable[[], float] = time.monotonic) -> None:
        self.keys = keys
        self._clock = clock
        self._turn = 0
        self._resting: dict[str, float] = {}  # key -> when it may serve again
        self._refused: set[str] = set()

    def owns(self, key: str) -> bool:
        return key in self.keys

    def _ready(self, key: str, now: float) -> bool:
        return key not in self._refused and self._resting.get(key, 0.0) <= now

    def ready_count(self) -> int:
        now = self._clock()
        return sum(self._ready(key, now) for key in self.keys)

    def next(self) -> str:
        """The next key that is neither resting nor refused; if every key rests, the one that
        is ready soonest (the upstream's 429 then reaches the client); if all were refused, the
        next in turn (its error reaches the client)."""
        now = self._clock()
        count = len(self.keys)
        for step in range(count):
            key = self.keys[(self._turn + step) % count]
            if self._ready(key, now):
                self._turn += step + 1
                return key
        candidates = [k for k in self.keys if k not in self._refused]
        if candidates:
            return min(candidates, key=lambda k: self._resting.get(k, 0.0))
        key = self.keys[self._turn % count]
        self._turn += 1
        return key

    def rest(self, key: str, seconds: float | None) -> None:
        self._resting[key] = self._clock() + (DEFAULT_REST if seconds is None else seconds)
        log.warning("Gemini key %s is rate-limited; resting it for %.0f s", fingerprint(key),
                    DEFAULT_REST if seconds is None else seconds)

    def refuse(self, key: str, reason: str) -> None:
        if key not in self._refused:
            self._refused.add(key)
            log.error("Gemini key %s was refused (%s); skipping it from now on",
                      fingerprint(key), reason)
