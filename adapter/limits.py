"""Per-client-key limits: requests a minute, tokens a minute, concurrent streams.

The client key is the key a request presents (its bearer token, else its x-goog-api-key: the
adapter key with ADAPTER_API_KEYS, else the client's Gemini key), known here by a hash. Each
key has ADAPTER_KEY_LIMITS' limits for it, else the ADAPTER_LIMIT_* defaults; 0 is no limit.
Every POST under /v1/ (the calls that reach Gemini) counts as a request; its tokens, from the
usage of its answer, count once it is over, and a request is refused while the minute's tokens
are spent. A streamed answer (Chat Completions, Responses) holds one of the key's streams from
before its upstream call until its response ends, however it ends.

Minutes are fixed windows of the clock (Redis' clock when shared). With Redis (`fleet.py`) the
counters are the fleet's, kept by atomic scripts; a stream holds a lease there that its replica
renews, so the streams of a replica that died free themselves within LEASE_TTL. Without Redis,
or while it is down, the same limits hold in each process.
"""

from __future__ import annotations

import collections
import hashlib
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from starlette.types import ASGIApp, Receive, Scope, Send

from .auth import bearer_token
from .config import Settings
from .fleet import FAILURES, LEASE_TTL, PREFIX, Fleet
from .observability import current
from .replies import error_response
from .translate.errors import AdapterError

MINUTE = 60
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Limit:
    """One key's limits; 0 is none."""

    rpm: int = 0
    tpm: int = 0
    streams: int = 0

    def __bool__(self) -> bool:
        return bool(self.rpm or self.tpm or self.streams)


def client_id(token: str | None) -> str:
    """A client key's name in the counters: a one-way hash ('-' for a request with none)."""
    if not token:
        return "-"
    return hashlib.sha256(b"gemini-openai-adapter/client-limits\x00" + token.encode()
                          ).hexdigest()[:32]


class RateLimited(AdapterError):
    """OpenAI's 429 for a spent limit: type `requests` or `tokens`, code rate_limit_exceeded."""

    def __init__(self, message: str, kind: str, retry_after: float) -> None:
        super().__init__(message, 429, code="rate_limit_exceeded", retry_after=retry_after)
        self.error_type = kind


def _refusal(what: str, limit: Limit, retry_after: float) -> RateLimited:
    if what == "tokens":
        return RateLimited(
            f"Rate limit reached for this API key: {limit.tpm} tokens per minute, used up. "
            f"Try again in {math.ceil(retry_after)} s.", "tokens", retry_after)
    if what == "streams":
        return RateLimited(
            f"Rate limit reached for this API key: {limit.streams} concurrent streams, all "
            "open. Try again once one has ended.", "requests", retry_after)
    return RateLimited(
        f"Rate limit reached for this API key: {limit.rpm} requests per minute. Try again in "
        f"{math.ceil(retry_after)} s.", "requests", retry_after)


class Counters(Protocol):
    """Where the counts are kept: this process, or Redis."""

    async def admit(self, client: str, limit: Limit) -> tuple[str, float] | None:
        """None when a request may go (and it is counted); else what is spent, and for how
        many seconds."""
        ...

    async def add_tokens(self, client: str, tokens: int) -> None: ...
    async def open_stream(self, client: str, limit: Limit, lease: str) -> bool: ...
    async def close_stream(self, client: str, lease: str) -> None: ...


class LocalCounters:
    """This process's counts."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._minutes: dict[tuple[str, str], tuple[int, int]] = {}  # -> (minute, count)
        self._streams: collections.Counter[str] = collections.Counter()

    def _count(self, kind: str, client: str, minute: int) -> int:
        seen, count = self._minutes.get((kind, client), (minute, 0))
        return count if seen == minute else 0

    async def admit(self, client: str, limit: Limit) -> tuple[str, float] | None:
        now = self._clock()
        minute, left = int(now // MINUTE), MINUTE - now % MINUTE
        if limit.tpm and self._count("tpm", client, minute) >= limit.tpm:
            return "tokens", left
        requests = self._count("rpm", client, minute)
        if limit.rpm and requests >= limit.rpm:
            return "requests", left
        self._minutes["rpm", client] = (minute, requests + 1)
        return None

    async def add_tokens(self, client: str, tokens: int) -> None:
        minute = int(self._clock() // MINUTE)
        self._minutes["tpm", client] = (minute, self._count("tpm", client, minute) + tokens)

    async def open_stream(self, client: str, limit: Limit, lease: str) -> bool:
        if self._streams[client] >= limit.streams:
            return False
        self._streams[client] += 1
        return True

    async def close_stream(self, client: str, lease: str) -> None:
        self._streams[client] -= 1
        if self._streams[client] <= 0:
            del self._streams[client]


# KEYS: the request and token counters' names, less their minute. ARGV: rpm, tpm.
# {0, 0}: admitted and counted; {1, s}: requests spent for s more seconds; {2, s}: tokens.
_ADMIT = """
local now = tonumber(redis.call('TIME')[1])
local minute = math.floor(now / 60)
local left = 60 - now % 60
if tonumber(ARGV[2]) > 0 then
  if tonumber(redis.call('GET', KEYS[2] .. minute) or '0') >= tonumber(ARGV[2]) then
    return {2, left}
  end
end
if tonumber(ARGV[1]) > 0 then
  local n = redis.call('INCR', KEYS[1] .. minute)
  if n == 1 then redis.call('EXPIRE', KEYS[1] .. minute, 120) end
  if n > tonumber(ARGV[1]) then
    redis.call('DECR', KEYS[1] .. minute)
    return {1, left}
  end
end
return {0, 0}
"""
_ADD_TOKENS = """
local key = KEYS[1] .. math.floor(tonumber(redis.call('TIME')[1]) / 60)
redis.call('INCRBY', key, ARGV[1])
redis.call('EXPIRE', key, 120)
"""
# A sorted set of leases by expiry (ms, Redis' clock). ARGV: limit, lease, ttl ms. 1: opened.
_OPEN_STREAM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""
# KEYS: each lease's set; ARGV: ttl ms, then each lease. Pushes their expiry on.
_RENEW = """
local t = redis.call('TIME')
local until = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'XX', until, ARGV[i + 1])
  redis.call('PEXPIRE', key, ARGV[1])
end
"""


class RedisCounters:
    """The fleet's counts, in Redis."""

    def __init__(self, fleet: Fleet) -> None:
        self._fleet = fleet
        self._scripts: dict[str, Any] = {}
        self._leases: dict[str, str] = {}  # lease -> its set, while this process holds it

    def _script(self, source: str) -> Any:
        script = self._scripts.get(source)
        if script is None:
            assert self._fleet.redis is not None
            script = self._scripts[source] = self._fleet.redis.register_script(source)
        return script

    async def admit(self, client: str, limit: Limit) -> tuple[str, float] | None:
        verdict, left = await self._script(_ADMIT)(
            keys=[f"{PREFIX}rpm:{client}:", f"{PREFIX}tpm:{client}:"],
            args=[limit.rpm, limit.tpm])
        return None if verdict == 0 else ("requests" if verdict == 1 else "tokens", left)

    async def add_tokens(self, client: str, tokens: int) -> None:
        await self._script(_ADD_TOKENS)(keys=[f"{PREFIX}tpm:{client}:"], args=[tokens])

    async def open_stream(self, client: str, limit: Limit, lease: str) -> bool:
        streams = f"{PREFIX}streams:{client}"
        opened = await self._script(_OPEN_STREAM)(
            keys=[streams], args=[limit.streams, lease, int(LEASE_TTL * 1000)])
        if opened:
            self._leases[lease] = streams
        return bool(opened)

    async def close_stream(self, client: str, lease: str) -> None:
        streams = self._leases.pop(lease, f"{PREFIX}streams:{client}")
        assert self._fleet.redis is not None
        await self._fleet.redis.zrem(streams, lease)

    async def renew(self) -> None:
        """Keep this process's leases alive (the fleet calls this now and then)."""
        if not self._leases:
            return
        leases = list(self._leases.items())
        try:
            await self._script(_RENEW)(keys=[streams for _, streams in leases],
                                       args=[int(LEASE_TTL * 1000), *(lease for lease, _ in
                                                                      leases)])
        except FAILURES as exc:
            self._fleet.failed(exc)


@dataclass(slots=True)
class Admission:
    """A request let through: its key, limits, and the stream it holds (released at its end)."""

    limits: Limits
    client: str
    limit: Limit
    stream: tuple[Counters, str] | None = None  # where its lease is, and the lease


_admission: ContextVar[Admission | None] = ContextVar("adapter_admission", default=None)


class Limits:
    """The limits of every client key, kept in Redis while it is shared, else here."""

    def __init__(self, settings: Settings, fleet: Fleet,
                 local: LocalCounters | None = None) -> None:
        self.default = Limit(settings.limit_rpm, settings.limit_tpm, settings.limit_streams)
        self.by_client = {
            client_id(key): Limit(spec.get("rpm", self.default.rpm),
                                  spec.get("tpm", self.default.tpm),
                                  spec.get("streams", self.default.streams))
            for key, spec in settings.key_limits.items()}
        self.fleet = fleet
        self.local = local or LocalCounters()
        self.shared = RedisCounters(fleet)
        fleet.renew = self.shared.renew

    @property
    def enabled(self) -> bool:
        return bool(self.default) or any(self.by_client.values())

    def limit_for(self, client: str) -> Limit:
        return self.by_client.get(client, self.default)

    async def _counted(self, call: Callable[[Counters], Awaitable[T]]) -> tuple[Counters, T]:
        """`call` on Redis while it is shared; on this process's counters otherwise, or when
        Redis fails now (that failure is the fleet's to note)."""
        if self.fleet.shared:
            try:
                return self.shared, await call(self.shared)
            except FAILURES as exc:
                self.fleet.failed(exc)
        return self.local, await call(self.local)

    async def admit(self, client: str, limit: Limit) -> None:
        """Count a request, or raise the 429 of the limit it would break."""
        _, spent = await self._counted(lambda counters: counters.admit(client, limit))
        if spent is not None:
            raise _refusal(spent[0], limit, spent[1])

    async def open_stream(self, admission: Admission) -> None:
        """Take one of the key's streams for this request, or raise its 429."""
        lease = uuid.uuid4().hex
        counters, opened = await self._counted(
            lambda counters: counters.open_stream(admission.client, admission.limit, lease))
        if not opened:
            raise _refusal("streams", admission.limit, 1.0)
        admission.stream = (counters, lease)

    def finish(self, admission: Admission, tokens: int) -> None:
        """The request is over: give back its stream and count its tokens (in the background:
        its response has ended)."""
        if admission.stream is not None:
            counters, lease = admission.stream
            admission.stream = None
            self.fleet.spawn(counters.close_stream(admission.client, lease))
        if tokens and admission.limit.tpm:
            if self.fleet.shared:
                self.fleet.spawn(self.shared.add_tokens(admission.client, tokens))
            else:
                self.fleet.spawn(self.local.add_tokens(admission.client, tokens))


async def stream_started() -> None:
    """A streamed answer is about to call Gemini: take one of its key's streams (routes call
    this; the limit check gives it back when the response ends)."""
    admission = _admission.get()
    if admission is not None and admission.limit.streams and admission.stream is None:
        await admission.limits.open_stream(admission)


class LimitCheck:
    """ASGI middleware: each POST under /v1/ is counted against its client key's limits."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" \
                or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        client = client_id(_presented(scope))
        limit = self.limits.limit_for(client)
        if not limit:
            await self.app(scope, receive, send)
            return
        try:
            await self.limits.admit(client, limit)
        except RateLimited as error:
            await error_response(error)(scope, receive, send)
            return
        admission = Admission(self.limits, client, limit)
        token = _admission.set(admission)
        try:
            await self.app(scope, receive, send)
        finally:
            _admission.reset(token)
            prompt, completion = current().tokens()
            self.limits.finish(admission, (prompt or 0) + (completion or 0))


def _presented(scope: Scope) -> str | None:
    """The key the request presents, as `auth.identity` reads it."""
    headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
               if name in (b"authorization", b"x-goog-api-key")}
    return bearer_token(headers) or headers.get("x-goog-api-key") or None
