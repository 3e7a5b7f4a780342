"""Two adapters sharing one real Redis: key rests, client limits, and Redis going away."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from ..fake_gemini import FakeGemini, Reply, fixture_bytes
from ..real_redis import RealRedis, real_redis
from .helpers import assert_openai_error

HELLO = {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]}
KEYS = ("key-aaaa-0001", "key-bbbb-0002")


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RealRedis]:
    with real_redis() as server:
        yield server


def post(url: str, token: str, stream: bool = False) -> httpx.Response:
    return httpx.post(f"{url}/v1/chat/completions", json={**HELLO, "stream": stream},
                      headers={"authorization": f"Bearer {token}"}, timeout=20)


def rate_limited(delay: str) -> Reply:
    body = fixture_bytes("error-429-resource-exhausted-retry-info-trimmed.json")
    return Reply(status=429, chunks=[body.replace(b'"34.4s"', f'"{delay}"'.encode())],
                 content_type="application/json")


def same_minute(needed: float = 8.0) -> None:
    """Wait for the next minute if fewer than `needed` seconds are left of this one (limits
    count per clock minute)."""
    left = 60 - time.time() % 60
    if left < needed:
        time.sleep(left + 0.1)


def shared_gauge(url: str) -> str:
    metrics = httpx.get(f"{url}/metrics", timeout=5).text
    return next(line for line in metrics.splitlines()
                if line.startswith("adapter_fleet_state_shared"))


@pytest.fixture(scope="module")
def pair(start_adapter: Callable[..., str], redis_server: RealRedis) -> tuple[str, str]:
    env = {"GEMINI_API_KEY": ",".join(KEYS), "ADAPTER_REDIS_URL": redis_server.url,
           "ADAPTER_KEY_LIMITS": "rpm-team:rpm=3;stream-team:streams=1"}
    return start_adapter(**env), start_adapter(**env)


def test_a_key_rested_on_one_replica_is_not_tried_by_the_other(pair, fake: FakeGemini) -> None:
    one, two = pair
    fake.queue(rate_limited("3s"))
    assert post(one, "anyone").status_code == 200  # the 429's key rests; the other served
    rested = fake.seen[0].headers["x-goog-api-key"]
    time.sleep(1.0)  # within a second the other replica knows
    fake.reset()
    for _ in range(6):
        assert post(two, "anyone").status_code == 200
    assert rested not in {seen.headers["x-goog-api-key"] for seen in fake.seen}
    assert len(fake.seen) == 6  # no upstream 429 on the second replica


def test_requests_per_minute_hold_across_replicas(pair, fake: FakeGemini) -> None:
    one, two = pair
    same_minute()
    assert [post(url, "rpm-team").status_code for url in (one, two, one)] == [200] * 3
    refused = post(two, "rpm-team")
    error = assert_openai_error(refused, 429)
    assert error["type"] == "requests" and error["code"] == "rate_limit_exceeded"
    assert "3 requests per minute" in error["message"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert len(fake.seen) == 3  # the refused request never reached Gemini
    assert post(one, "someone-else").status_code == 200  # another key has its own count


def test_concurrent_streams_hold_across_replicas(pair, fake: FakeGemini) -> None:
    one, two = pair
    fake.queue(Reply.sse("stream-sse-text.txt", delay=0.3))  # the first stream takes a while
    first: list[httpx.Response] = []
    holder = threading.Thread(target=lambda: first.append(post(one, "stream-team", True)))
    holder.start()
    deadline = time.monotonic() + 5
    while fake.open_streams == 0:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    error = assert_openai_error(post(two, "stream-team", True), 429)
    assert "1 concurrent streams" in error["message"]
    assert post(two, "stream-team").status_code == 200  # a whole answer is not a stream
    holder.join(20)
    assert first[0].status_code == 200 and b"[DONE]" in first[0].content
    assert post(two, "stream-team", True).status_code == 200  # given back when it ended


def test_redis_stopped_and_started_again(pair, fake: FakeGemini,
                                         redis_server: RealRedis) -> None:
    one, two = pair
    time.sleep(3)  # every key has served its rest from the first test
    assert shared_gauge(one).endswith(" 1.0")
    redis_server.stop()
    try:
        for url in (one, two):  # still served, each on its own state
            assert post(url, "anyone").status_code == 200
        deadline = time.monotonic() + 3
        while not shared_gauge(one).endswith(" 0.0"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        same_minute()
        assert [post(one, "rpm-team").status_code for _ in range(4)][-1] == 429  # per process
    finally:
        redis_server.start()
    deadline = time.monotonic() + 5
    while not (shared_gauge(one).endswith(" 1.0") and shared_gauge(two).endswith(" 1.0")):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    fake.reset()
    fake.queue(rate_limited("30s"))
    assert post(two, "anyone").status_code == 200
    rested = fake.seen[0].headers["x-goog-api-key"]
    time.sleep(1.0)
    fake.reset()
    for _ in range(4):
        assert post(one, "anyone").status_code == 200
    assert rested not in {seen.headers["x-goog-api-key"] for seen in fake.seen}
