"""KeyPool: the server's Gemini keys in turn; rate-limited keys rest, refused keys are skipped."""

from __future__ import annotations

import logging

import pytest

from adapter.keys import DEFAULT_REST, KeyPool, fingerprint

KEYS = ("key-a", "key-b", "key-c")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pool(clock: Clock) -> KeyPool:
    return KeyPool(KEYS, clock=clock, start=0)


def take(pool: KeyPool, n: int) -> list[str]:
    return [pool.next() for _ in range(n)]


def test_round_robin(pool: KeyPool) -> None:
    assert take(pool, 7) == [*KEYS, *KEYS, "key-a"]
    assert pool.ready_count() == 3


def test_each_pool_starts_its_turn_at_a_random_key() -> None:
    firsts = {KeyPool(KEYS).next() for _ in range(60)}
    assert firsts == set(KEYS)  # each missed with probability (2/3)^60


def test_what_other_replicas_learnt_is_merged(pool: KeyPool, clock: Clock) -> None:
    pool.merge({"key-a": 5.0}, {"key-c"})
    assert take(pool, 3) == ["key-b"] * 3
    pool.merge({"key-a": 1.0}, set())  # a shorter rest does not cut the one it has short
    clock.now += 4.9
    assert pool.ready_count() == 1
    clock.now += 0.1
    assert sorted(take(pool, 2)) == ["key-a", "key-b"]


class Listener:
    def __init__(self) -> None:
        self.heard: list[tuple[str, str, object]] = []

    def rested(self, key: str, seconds: float) -> None:
        self.heard.append(("rested", key, seconds))

    def refused(self, key: str, reason: str) -> None:
        self.heard.append(("refused", key, reason))


def test_the_listener_hears_what_this_process_learnt(pool: KeyPool) -> None:
    pool.listener = listener = Listener()
    pool.rest("key-a", None)
    pool.refuse("key-b", "403")
    pool.refuse("key-b", "403")
    pool.merge({}, {"key-c"})  # learnt from the fleet: not told back
    assert listener.heard == [("rested", "key-a", DEFAULT_REST), ("refused", "key-b", "403")]


def test_owns_only_its_keys(pool: KeyPool) -> None:
    assert pool.owns("key-b")
    assert not pool.owns("a-client-key")


def test_a_rate_limited_key_rests_as_long_as_retry_info_says(pool: KeyPool, clock: Clock) -> None:
    pool.rest("key-b", 5.0)
    assert pool.ready_count() == 2
    assert take(pool, 4) == ["key-a", "key-c", "key-a", "key-c"]
    clock.now += 4.9
    assert "key-b" not in take(pool, 3)
    clock.now += 0.1
    assert pool.ready_count() == 3
    assert sorted(take(pool, 3)) == sorted(KEYS)


def test_without_retry_info_a_key_rests_the_default(pool: KeyPool, clock: Clock) -> None:
    pool.rest("key-a", None)
    clock.now += DEFAULT_REST - 1
    assert "key-a" not in take(pool, 6)
    clock.now += 1
    assert "key-a" in take(pool, 3)


def test_a_refused_key_is_skipped_for_good(pool: KeyPool, clock: Clock) -> None:
    pool.refuse("key-a", "400 API_KEY_INVALID")
    clock.now += 10 * DEFAULT_REST
    assert pool.ready_count() == 2
    assert take(pool, 4) == ["key-b", "key-c", "key-b", "key-c"]


def test_when_every_key_rests_the_one_ready_soonest(pool: KeyPool) -> None:
    pool.rest("key-a", 30.0)
    pool.rest("key-b", 5.0)
    pool.rest("key-c", 20.0)
    assert pool.ready_count() == 0
    assert take(pool, 3) == ["key-b"] * 3


def test_resting_keys_beat_refused_ones(pool: KeyPool) -> None:
    pool.refuse("key-a", "403")
    pool.rest("key-b", 50.0)
    pool.rest("key-c", 40.0)
    assert pool.next() == "key-c"


def test_when_every_key_was_refused_the_next_in_turn(pool: KeyPool) -> None:
    assert pool.next() == "key-a"
    for key in KEYS:
        pool.refuse(key, "401")
    assert pool.ready_count() == 0
    assert take(pool, 4) == ["key-b", "key-c", "key-a", "key-b"]


def test_logs_name_keys_by_fingerprint_only(caplog: pytest.LogCaptureFixture) -> None:
    secret = "AIzaSyD-a-real-looking-key-000000000042"
    pool = KeyPool((secret,), start=0)
    with caplog.at_level(logging.WARNING, logger="adapter.keys"):
        pool.rest(secret, 3.0)
        pool.refuse(secret, "403")
        pool.refuse(secret, "403")  # once is enough
    assert secret not in caplog.text
    assert fingerprint(secret) == "...0042"
    assert caplog.text.count("...0042") == 2
    assert fingerprint("short") == "..."
