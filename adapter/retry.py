"""Whether and when to try a refused upstream call again, before anything reached the client."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from .keys import KeyPool
from .translate.errors import AdapterError, UpstreamError

BACKOFF = 0.5  # seconds before the first retry when Gemini does not say how long to wait


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many retries, and the longest wait honoured (values from Settings)."""

    attempts: int  # retries after the first try (ADAPTER_RETRIES)
    max_wait: float  # a longer wait goes to the client as Retry-After (ADAPTER_RETRY_MAX_WAIT)
    backoff: float = BACKOFF

    def wait(self, error: AdapterError, attempt: int, key: str, pool: KeyPool | None,
             jitter: Callable[[], float] = random.random) -> float | None:
        """Seconds to wait before the next try of a call that failed with `error` on `key`
        after `attempt` retries, or None to give the client the error.

        A key of the server's pool that Gemini refuses is skipped from now on and one it
        rate-limits rests (the pool is told here); the call then goes at once to another key
        that is ready. Otherwise a retryable error waits as Gemini's RetryInfo asks, else an
        exponential backoff with jitter; a wait over `max_wait` goes to the client instead.
        """
        more = attempt < self.attempts
        if pool is not None and pool.owns(key) and isinstance(error, UpstreamError):
            if error.key_refused:
                pool.refuse(key, f"{error.status} {error.reason or error.code}")
                return 0.0 if more and pool.ready_count() else None
            if error.rate_limited:
                pool.rest(key, error.retry_after)
                if more and pool.ready_count():
                    return 0.0
        if not (more and error.retryable):
            return None
        wait = error.retry_after if error.retry_after is not None else \
            self.backoff * 2 ** attempt * (0.5 + jitter())
        return wait if wait <= self.max_wait else None
