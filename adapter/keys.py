"""The server's Gemini keys: used in turn; a rate-limited key rests, a refused key is skipped.

Each process starts its turn at a random key, so that replicas do not all begin on the first.
What a process learns (a rest, a refusal) it tells its `listener`; with Redis configured the
fleet (`adapter/fleet.py`) shares it with every other replica and `merge`s theirs in here.
Without Redis, each process learns on its own, within a request or two.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Set
from typing import Protocol

log = logging.getLogger("adapter.keys")

DEFAULT_REST = 60.0  # seconds a rate-limited key rests when Gemini gives no RetryInfo


def fingerprint(key: str) -> str:
    """A way to tell keys apart in logs without revealing them."""
    return f"...{key[-4:]}" if len(key) > 12 else "..."


class KeyListener(Protocol):
    """Told of what this process learnt about a key (the fleet's shared state)."""

    def rested(self, key: str, seconds: float) -> None: ...
    def refused(self, key: str, reason: str) -> None: ...


class KeyPool:
    """Round robin over the usable keys, from a random first key (`start` fixes it, for
    tests)."""

    def __init__(self, keys: tuple[str, ...], clock: Callable[[], float] = time.monotonic,
                 start: int | None = None) -> None:
        self.keys = keys
        self._clock = clock
        self._turn = random.randrange(len(keys)) if start is None and keys else (start or 0)
        self._resting: dict[str, float] = {}  # key -> when it may serve again (clock time)
        self._refused: set[str] = set()
        self.listener: KeyListener | None = None

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
        seconds = DEFAULT_REST if seconds is None else seconds
        self._resting[key] = self._clock() + seconds
        log.warning("Gemini key %s is rate-limited; resting it for %.0f s", fingerprint(key),
                    seconds)
        if self.listener is not None:
            self.listener.rested(key, seconds)

    def refuse(self, key: str, reason: str) -> None:
        if key not in self._refused:
            self._refused.add(key)
            log.error("Gemini key %s was refused (%s); skipping it from now on",
                      fingerprint(key), reason)
            if self.listener is not None:
                self.listener.refused(key, reason)

    def merge(self, resting: Mapping[str, float], refused: Set[str]) -> None:
        """What other replicas learnt: keys resting for so many more seconds, keys refused.
        A rest only lengthens; a refusal another replica saw is this one's too."""
        now = self._clock()
        for key, seconds in resting.items():
            until = now + seconds
            if until > self._resting.get(key, 0.0):
                self._resting[key] = until
        for key in refused - self._refused:
            self._refused.add(key)
            log.error("Gemini key %s was refused on another replica; skipping it",
                      fingerprint(key))
