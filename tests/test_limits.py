"""Per-client-key limits: in one process, and shared through a real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from prometheus_client import CollectorRegistry

from adapter import limits as limits_module
from adapter.config import Settings
from adapter.fleet import Fleet
from adapter.limits import Admission, Limit, Limits, LocalCounters, RateLimited, client_id

from .real_redis import RealRedis, real_redis


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_040.0  # 20 s into a minute

    def __call__(self) -> float:
        return self.now


def test_a_key_limits_and_the_defaults() -> None:
    settings = Settings(limit_rpm=10, key_limits={"team-a": {"streams": 2, "rpm": 0}})
    limits = Limits(settings, Fleet(None, CollectorRegistry()))
    assert limits.limit_for(client_id("team-a")) == Limit(rpm=0, tpm=0, streams=2)
    assert limits.limit_for(client_id("anyone")) == Limit(rpm=10)
    assert limits.enabled and not Limits(Settings(), Fleet(None, CollectorRegistry())).enabled
    assert "team-a" in settings.secrets  # never logged
    assert client_id("team-a") != client_id("team-b") and "team-a" not in client_id("team-a")


async def test_requests_per_minute_in_one_process() -> None:
    clock = Clock()
    limits = Limits(Settings(limit_rpm=2), Fleet(None, CollectorRegistry()), LocalCounters(clock))
    limit = limits.default
    await limits.admit("c", limit)
    await limits.admit("c", limit)
    with pytest.raises(RateLimited) as refused:
        await limits.admit("c", limit)
    error = refused.value
    assert (error.status, error.error_type, error.code) == (429, "requests", "rate_limit_exceeded")
    assert error.retry_after == 40 and "2 requests per minute" in error.message
    await limits.admit("other", limit)  # each key counts on its own
    clock.now += 40  # the next minute
    await limits.admit("c", limit)


async def test_tokens_per_minute_are_counted_after_the_answer() -> None:
    clock = Clock()
    limits = Limits(Settings(limit_tpm=100), Fleet(None, CollectorRegistry()), LocalCounters(clock))
    admission = Admission(limits, "c", limits.default)
    await limits.admit("c", limits.default)
    limits.finish(admission, 100)
    await asyncio.sleep(0)  # counted in the background
    with pytest.raises(RateLimited) as refused:
        await limits.admit("c", limits.default)
    assert refused.value.error_type == "tokens" and "100 tokens per minute" in \
        refused.value.message


async def test_streams_are_given_back() -> None:
    limits = Limits(Settings(limit_streams=1), Fleet(None, CollectorRegistry()))
    first, second = (Admission(limits, "c", limits.default) for _ in range(2))
    await limits.open_stream(first)
    with pytest.raises(RateLimited):
        await limits.open_stream(second)
    limits.finish(first, 0)
    await asyncio.sleep(0)
    await limits.open_stream(second)


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RealRedis]:
    with real_redis() as server:
        yield server


@pytest.fixture
async def two(redis_server: RealRedis) -> AsyncIterator[tuple[Limits, Limits]]:
    settings = Settings(limit_rpm=3, limit_tpm=50, limit_streams=1)
    fleets = [Fleet(redis_server.url, CollectorRegistry()) for _ in range(2)]
    for fleet in fleets:
        await fleet.start(None)
    yield Limits(settings, fleets[0]), Limits(settings, fleets[1])
    assert fleets[0].redis is not None
    await fleets[0].redis.flushall()
    for fleet in fleets:
        await fleet.aclose()


async def test_counts_are_the_fleet_s(two: tuple[Limits, Limits]) -> None:
    one, other = two
    limit = one.default
    for limits in (one, other, one):
        await limits.admit("c", limit)
    with pytest.raises(RateLimited) as refused:
        await other.admit("c", limit)
    assert 0 < refused.value.retry_after <= 60
    one.finish(Admission(one, "t", limit), 60)
    await asyncio.sleep(0.1)
    with pytest.raises(RateLimited) as spent:
        await other.admit("t", limit)
    assert spent.value.error_type == "tokens"


async def test_a_dead_replica_s_streams_expire(two: tuple[Limits, Limits],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits_module, "LEASE_TTL", 0.3)
    one, other = two
    held = Admission(one, "c", one.default)
    await one.open_stream(held)  # its replica dies: never given back, never renewed
    with pytest.raises(RateLimited):
        await other.open_stream(Admission(other, "c", other.default))
    await asyncio.sleep(0.4)
    await other.open_stream(Admission(other, "c", other.default))
