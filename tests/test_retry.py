"""The retry decision: whether, when and on which key a refused upstream call is tried again."""

from __future__ import annotations

import pytest

from adapter.keys import DEFAULT_REST, KeyPool
from adapter.retry import BACKOFF, RetryPolicy
from adapter.translate.errors import (
    AdapterError,
    InvalidRequest,
    UpstreamDisconnected,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnreachable,
    from_gemini_error,
)

POLICY = RetryPolicy(attempts=2, max_wait=10.0)
KEYS = ("key-a", "key-b")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def pool_of(*keys: str) -> tuple[KeyPool, Clock]:
    clock = Clock()
    return KeyPool(keys, clock=clock), clock


def gemini(status: int, reason: str | None = None, delay: str | None = None) -> UpstreamError:
    details: list[dict[str, str]] = []
    if reason:
        details.append({"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason})
    if delay:
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay})
    return from_gemini_error(status, {"error": {
        "code": status, "message": "no", "status": "SOME_STATUS", "details": details}})


def half() -> float:
    return 0.5  # jitter at its middle: the backoff is exactly BACKOFF * 2 ** attempt


# Keys Gemini refuses


@pytest.mark.parametrize("error", [gemini(401), gemini(403), gemini(400, "API_KEY_INVALID"),
                                   gemini(400, "API_KEY_EXPIRED"),
                                   gemini(429, "CONSUMER_SUSPENDED")])
def test_a_refused_pool_key_is_skipped_and_another_tried_at_once(error: UpstreamError) -> None:
    pool, _ = pool_of(*KEYS)
    assert POLICY.wait(error, 0, "key-a", pool) == 0.0
    assert pool.ready_count() == 1
    assert [pool.next(), pool.next()] == ["key-b", "key-b"]


def test_a_refused_key_with_no_other_ready_goes_to_the_client() -> None:
    pool, _ = pool_of("key-a")
    assert POLICY.wait(gemini(403), 0, "key-a", pool) is None
    assert pool.ready_count() == 0


def test_a_refused_key_after_the_last_attempt_goes_to_the_client() -> None:
    pool, _ = pool_of(*KEYS)
    assert POLICY.wait(gemini(401), POLICY.attempts, "key-a", pool) is None
    assert pool.ready_count() == 1  # still refused: the next request skips it


def test_a_clients_own_key_is_never_refused_in_the_pool() -> None:
    pool, _ = pool_of(*KEYS)
    assert POLICY.wait(gemini(401), 0, "the-clients-key", pool) is None
    assert POLICY.wait(gemini(403), 0, "the-clients-key", None) is None
    assert pool.ready_count() == 2


def test_other_reasons_do_not_refuse_the_key() -> None:
    pool, _ = pool_of(*KEYS)
    assert POLICY.wait(gemini(400, "SOMETHING_ELSE"), 0, "key-a", pool) is None
    assert pool.ready_count() == 2


# Rate limits


def test_a_429_rests_the_key_and_another_ready_one_is_tried_at_once() -> None:
    pool, clock = pool_of(*KEYS)
    assert POLICY.wait(gemini(429, delay="30s"), 0, "key-a", pool) == 0.0
    assert pool.ready_count() == 1
    clock.now = 29.9
    assert pool.ready_count() == 1
    clock.now = 30.0
    assert pool.ready_count() == 2


def test_a_429_without_retry_info_rests_the_key_the_default() -> None:
    pool, clock = pool_of(*KEYS)
    assert POLICY.wait(gemini(429), 0, "key-a", pool) == 0.0
    clock.now = DEFAULT_REST - 0.1
    assert pool.ready_count() == 1


def test_a_429_with_no_other_key_ready_waits_as_retry_info_asks() -> None:
    pool, _ = pool_of("key-a")
    assert POLICY.wait(gemini(429, delay="3.5s"), 0, "key-a", pool) == 3.5
    assert pool.ready_count() == 0  # resting: the retry after 3.5 s finds it ready again


def test_a_429_with_no_other_key_ready_and_no_retry_info_backs_off() -> None:
    pool, _ = pool_of("key-a")
    assert POLICY.wait(gemini(429), 1, "key-a", pool, half) == BACKOFF * 2


def test_a_429_after_the_last_attempt_goes_to_the_client_but_the_key_rests() -> None:
    pool, _ = pool_of(*KEYS)
    assert POLICY.wait(gemini(429, delay="1s"), POLICY.attempts, "key-a", pool) is None
    assert pool.ready_count() == 1


def test_a_429_on_a_clients_own_key_waits_as_asked() -> None:
    assert POLICY.wait(gemini(429, delay="2s"), 0, "the-clients-key", None) == 2.0


# Statuses and transport failures


@pytest.mark.parametrize("status", [429, 500, 503])
def test_retryable_statuses_back_off_exponentially(status: int) -> None:
    assert [POLICY.wait(gemini(status), attempt, "k", None, half) for attempt in (0, 1)] == [
        BACKOFF, BACKOFF * 2]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 499, 501, 502, 504])
def test_other_statuses_go_to_the_client(status: int) -> None:
    assert POLICY.wait(gemini(status), 0, "k", None, half) is None


@pytest.mark.parametrize(("jitter", "factor"), [(0.0, 0.5), (0.999, 1.499)])
def test_the_backoff_is_jittered_by_half_either_way(jitter: float, factor: float) -> None:
    wait = POLICY.wait(gemini(503), 1, "k", None, lambda: jitter)
    assert wait == pytest.approx(BACKOFF * 2 * factor)


def test_an_unreachable_upstream_is_retried() -> None:
    error = UpstreamUnreachable("Could not reach the Gemini API")
    assert POLICY.wait(error, 0, "k", None, half) == BACKOFF
    assert POLICY.wait(error, POLICY.attempts, "k", None, half) is None


@pytest.mark.parametrize("error", [
    UpstreamTimeout("slow"), UpstreamDisconnected("broke"), InvalidRequest("bad"),
    AdapterError("a 503 made by the adapter itself", 503, code="too_many_streams")])
def test_errors_that_are_not_retryable_go_to_the_client(error: AdapterError) -> None:
    assert not error.retryable
    assert POLICY.wait(error, 0, "k", None, half) is None


def test_attempts_exhausted() -> None:
    assert POLICY.wait(gemini(503), 2, "k", None, half) is None
    assert RetryPolicy(attempts=0, max_wait=10.0).wait(gemini(503), 0, "k", None, half) is None


# Waits longer than allowed


def test_a_retry_info_wait_up_to_max_wait_is_honoured_beyond_goes_to_the_client() -> None:
    assert POLICY.wait(gemini(503, delay="10s"), 0, "k", None) == 10.0
    assert POLICY.wait(gemini(503, delay="10.5s"), 0, "k", None) is None


def test_a_backoff_grown_past_max_wait_goes_to_the_client() -> None:
    policy = RetryPolicy(attempts=10, max_wait=10.0)
    assert policy.wait(gemini(500), 4, "k", None, half) == BACKOFF * 16  # 8 s
    assert policy.wait(gemini(500), 5, "k", None, half) is None  # 16 s


def test_a_long_rate_limit_on_the_only_key_goes_to_the_client_and_the_key_rests() -> None:
    pool, clock = pool_of("key-a")
    assert POLICY.wait(gemini(429, delay="34.4s"), 0, "key-a", pool) is None
    clock.now = 34.3
    assert pool.ready_count() == 0
