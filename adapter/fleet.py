"""State shared by every replica through Redis (ADAPTER_REDIS_URL), or this process's own.

Shared: which of the server's Gemini keys rest after a 429 and which were refused (401/403),
and the counters of the per-client-key limits (`adapter/limits.py`). The hot path stays local:
the key pool is read from memory, and a background task writes what this process learns and
reads what the others learnt every REFRESH seconds. Redis being down never fails a request: the
process falls back to its own state (the key pool it has, per-process limit counters), logs
that once, shows it in `healthy` and in the `adapter_fleet_state_shared` gauge, and shares again
once Redis answers. Keys are stored by a hash, never as themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry, Gauge
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from .keys import KeyPool, fingerprint

log = logging.getLogger("adapter.fleet")

PREFIX = "gemini-openai-adapter:"
REFRESH = 0.5  # seconds between reads of the shared key state (and probes of a Redis down)
TIMEOUT = 0.5  # seconds a Redis command may take before Redis counts as down
REFUSAL_TTL = 7 * 86400  # seconds a refused key stays refused across the fleet and restarts
LEASE_TTL = 60.0  # seconds a stream's lease outlives its replica's last renewal
RENEW_EVERY = 15.0  # seconds between renewals of this process's stream leases
FAILURES = (RedisError, OSError)

# PTTL of every key given: > 0 resting/refused for so many ms, -1 refused for good, -2 none.
_PTTLS = """
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('PTTL', key) end
return out
"""


def key_id(key: str) -> str:
    """A Gemini key's name in Redis: a one-way hash."""
    return hashlib.sha256(b"gemini-openai-adapter/gemini-key\x00" + key.encode()).hexdigest()[:32]


class Fleet:
    """Redis, when configured, and whether it is reachable; the shared key state."""

    def __init__(self, url: str | None, registry: CollectorRegistry | None) -> None:
        self.url = url
        self.redis: aioredis.Redis | None = None
        self._up = False
        self._pool: KeyPool | None = None
        self._ids: dict[str, str] = {}  # key id -> key, for the pool's keys
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._pttls: Any = None
        # renews this process's stream leases (set by the limits, when they hold any)
        self.renew: Callable[[], Awaitable[None]] | None = None
        self.gauge = Gauge("adapter_fleet_state_shared",
                           "1 while this replica shares its key and limit state through Redis; "
                           "0 when it uses its own (no ADAPTER_REDIS_URL, or Redis down).",
                           multiprocess_mode="livemin", registry=registry)
        self.gauge.set(0)

    @property
    def shared(self) -> bool:
        """Redis is configured and answered last time it was asked."""
        return self._up

    @property
    def healthy(self) -> bool:
        """For readiness: no Redis configured, or Redis reachable."""
        return self.url is None or self._up

    async def start(self, pool: KeyPool | None) -> None:
        """Connect (in the serving event loop), learn the shared key state, begin refreshing."""
        if self.url is None:
            return
        self.redis = aioredis.from_url(self.url, socket_timeout=TIMEOUT,
                                       socket_connect_timeout=TIMEOUT,
                                       retry=Retry(NoBackoff(), 0))
        self._pttls = self.redis.register_script(_PTTLS)
        if pool is not None:
            self._pool = pool
            self._ids = {key_id(key): key for key in pool.keys}
            pool.listener = self
        if await self.ping():
            await self._refresh()
        else:
            log.warning("Redis at %s cannot be reached; using this process's own state until "
                        "it can", self._where())
        self._runner = asyncio.create_task(self._run())

    async def aclose(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
        for task in (*self._tasks, *((self._runner,) if self._runner else ())):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.redis is not None:
            await self.redis.aclose()
        self.gauge.set(0)

    async def ping(self) -> bool:
        """Ask Redis now; True when no Redis is configured or it answered."""
        if self.redis is None:
            return self.url is None
        try:
            await self.redis.ping()
        except FAILURES as exc:
            self.failed(exc)
        else:
            self._recovered()
        return self.healthy

    def failed(self, exc: BaseException) -> None:
        """A Redis command failed: fall back to this process's own state (logged once)."""
        if self._up:
            self._up = False
            self.gauge.set(0)
            log.warning("Redis at %s failed (%s); using this process's own key and limit "
                        "state until it answers again", self._where(), type(exc).__name__)

    def _recovered(self) -> None:
        if not self._up:
            self._up = True
            self.gauge.set(1)
            log.info("Redis at %s answers; key and limit state are shared", self._where())

    def _where(self) -> str:
        assert self.url is not None
        return self.url.rsplit("@", 1)[-1]  # without a password

    async def _run(self) -> None:
        renewed = 0.0
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(REFRESH)
            if not self._up and not await self.ping():
                continue
            await self._refresh()
            if loop.time() - renewed >= RENEW_EVERY and self.renew is not None:
                renewed = loop.time()
                await self.renew()

    async def _refresh(self) -> None:
        """Merge the rests and refusals the fleet knows of into the pool."""
        if self._pool is None or not self._ids:
            return
        ids = list(self._ids)
        names = [f"{PREFIX}rest:{i}" for i in ids] + [f"{PREFIX}refused:{i}" for i in ids]
        try:
            pttls = await self._pttls(keys=names)
        except FAILURES as exc:
            self.failed(exc)
            return
        self._recovered()
        count = len(ids)
        resting = {self._ids[i]: ms / 1000 for i, ms in zip(ids, pttls[:count], strict=True)
                   if ms > 0}
        refused = {self._ids[i] for i, ms in zip(ids, pttls[count:], strict=True) if ms != -2}
        self._pool.merge(resting, refused)

    # KeyListener: what this process learnt goes to Redis in the background.

    def rested(self, key: str, seconds: float) -> None:
        if self.redis is not None and self._up:
            self.spawn(self.redis.set(f"{PREFIX}rest:{key_id(key)}", "1",
                                      px=max(1, int(seconds * 1000))))

    def refused(self, key: str, reason: str) -> None:
        if self.redis is not None and self._up:
            log.info("Gemini key %s marked refused for every replica for %d days",
                     fingerprint(key), REFUSAL_TTL // 86400)
            self.spawn(self.redis.set(f"{PREFIX}refused:{key_id(key)}", reason[:200],
                                      ex=REFUSAL_TTL))

    def spawn(self, call: Awaitable[Any]) -> None:
        """Run a Redis command in the background; a failure means Redis is down."""
        async def run() -> None:
            try:
                await call
            except FAILURES as exc:
                self.failed(exc)
        task = asyncio.ensure_future(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
