"""Fleet: key rests and refusals shared through a real Redis; falling back while it is down."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from adapter import fleet as fleet_module
from adapter.fleet import Fleet
from adapter.keys import KeyPool

from .real_redis import RealRedis, real_redis

KEYS = ("key-aaaa-0001", "key-bbbb-0002", "key-cccc-0003")


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RealRedis]:
    with real_redis() as server:
        yield server


def shared_gauge(registry: CollectorRegistry) -> float | None:
    return registry.get_sample_value("adapter_fleet_state_shared")


async def replica(url: str | None) -> tuple[Fleet, KeyPool, CollectorRegistry]:
    registry = CollectorRegistry()
    fleet = Fleet(url, registry)
    pool = KeyPool(KEYS, start=0)
    await fleet.start(pool)
    return fleet, pool, registry


async def eventually(check: object, within: float = 2.0) -> float:
    """Seconds until `check()` held; fails after `within`."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not check():  # type: ignore[operator]
        assert loop.time() - start < within, "not within the time allowed"
        await asyncio.sleep(0.02)
    return loop.time() - start


async def test_a_rest_and_a_refusal_reach_the_other_replica_within_a_second(
        redis_server: RealRedis) -> None:
    (one, pool_one, registry), (two, pool_two, _) = \
        await replica(redis_server.url), await replica(redis_server.url)
    try:
        assert one.shared and one.healthy and shared_gauge(registry) == 1
        pool_one.rest("key-aaaa-0001", 30.0)
        pool_one.refuse("key-bbbb-0002", "403 PERMISSION_DENIED")
        took = await eventually(lambda: pool_two.ready_count() == 1)
        assert took < 1.0
        assert [pool_two.next() for _ in range(3)] == ["key-cccc-0003"] * 3
    finally:
        await one.aclose()
        await two.aclose()
    # A replica started later (a restart) learns both; the refusal outlives every process.
    three, pool_three, _ = await replica(redis_server.url)
    try:
        assert pool_three.ready_count() == 1
        ttl = await three.redis.ttl(  # type: ignore[union-attr]
            f"{fleet_module.PREFIX}refused:{fleet_module.key_id('key-bbbb-0002')}")
        assert ttl > fleet_module.REFUSAL_TTL - 60
        assert not any(KEYS[0] in key.decode() for key in await three.redis.keys("*"))  # type: ignore[union-attr]
    finally:
        await three.redis.flushall()  # type: ignore[union-attr]
        await three.aclose()


async def test_without_redis_the_state_is_the_process_own() -> None:
    fleet, pool, registry = await replica(None)
    assert fleet.healthy and not fleet.shared and await fleet.ping()
    assert shared_gauge(registry) == 0
    pool.rest("key-aaaa-0001", 30.0)  # nothing to tell, nothing fails
    assert pool.ready_count() == 2
    await fleet.aclose()


async def test_redis_down_falls_back_logs_once_and_shares_again(
        redis_server: RealRedis, caplog: pytest.LogCaptureFixture) -> None:
    fleet, pool, registry = await replica(redis_server.url)
    other, other_pool, _ = await replica(redis_server.url)
    try:
        with caplog.at_level(logging.INFO, logger="adapter.fleet"):
            redis_server.stop()
            await eventually(lambda: not fleet.healthy)
            assert not await fleet.ping() and shared_gauge(registry) == 0
            pool.rest("key-aaaa-0001", 30.0)  # still works, locally
            assert pool.ready_count() == 2
            await asyncio.sleep(1.0)  # several failed probes: one warning from each replica
            assert caplog.text.count("failed (ConnectionError)") == 2
            redis_server.start()
            await eventually(lambda: fleet.healthy and other.healthy, within=3.0)
            assert shared_gauge(registry) == 1 and "answers; key and limit state" in caplog.text
        pool.rest("key-cccc-0003", 30.0)  # shared again
        await eventually(lambda: other_pool.ready_count() == 2)
    finally:
        await fleet.aclose()
        await other.aclose()
