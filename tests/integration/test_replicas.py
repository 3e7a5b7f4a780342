"""Several replicas of the adapter, each its own process with its own local files as if on its own
host, behind a real haproxy (tests/real_haproxy.py), with the fake Gemini upstream.

What the replicas share decides what works across them: with the default SQLite store each
replica knows only the responses it stored; with a shared store (PostgreSQL) a conversation can
go on anywhere; with Redis the upstream keys' rests are learned once for the fleet and a client
key's limits hold across it; with readiness and drain a rolling restart under load fails no
request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..fake_gemini import FakeGemini, Reply
from ..real_haproxy import haproxy
from ..real_postgres import running_postgres
from ..real_redis import real_redis
from .helpers import SERVER_KEY, Echo, Fleet, assert_openai_error

MODEL = "gemini-2.5-flash"
ALICE, BOB = "team-a", "team-b"  # client keys (ADAPTER_API_KEYS): each owns its responses
CAROL = "team-c"  # a client key allowed REPLICAS requests a minute on the shared fleet
LIMITED_KEY = "limited-gemini-key-0001"  # an upstream key Gemini answers with 429
HEALTHY_KEY = "healthy-gemini-key-0002"
REPLICAS = 3
DRAIN_DELAY = "1.5"  # seconds: longer than haproxy takes to see /ready fail (2 checks, 200 ms)


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def fleet(fake_url: str, home: Path, **env: str) -> Iterator[Fleet]:
    replicas = Fleet(REPLICAS, {
        "GEMINI_BASE_URL": fake_url, "GEMINI_API_KEY": SERVER_KEY,
        "ADAPTER_API_KEYS": f"{ALICE},{BOB},{CAROL}", "ADAPTER_RETRIES": "1",
        "ADAPTER_DRAIN_DELAY": "0", **env}, home)
    try:
        yield replicas
    finally:
        replicas.close()


@pytest.fixture(scope="module")
def local_fleet(fake_server: tuple[FakeGemini, str],
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """Today's default: each replica with its own SQLite store and its own key state."""
    yield from fleet(fake_server[1], tmp_path_factory.mktemp("local"),
                     GEMINI_API_KEY=f"{LIMITED_KEY},{HEALTHY_KEY}")


def create(url: str, key: str, **body: Any) -> httpx.Response:
    return httpx.post(f"{url}/v1/responses", headers=auth(key), timeout=20,
                      json={"model": MODEL, **body})


def chat(url: str, key: str = ALICE) -> httpx.Response:
    return httpx.post(f"{url}/v1/chat/completions", headers=auth(key), timeout=20,
                      json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]})


def upstream_key(seen: Any) -> str:
    return str(seen.headers.get("x-goog-api-key"))


def limited_key_refused(fake: FakeGemini) -> Echo:
    """Replies that rate-limit LIMITED_KEY (for 34 s, says RetryInfo) and answer any other."""
    def reply(_: Any) -> Reply:
        if upstream_key(fake.seen[-1]) == LIMITED_KEY:
            return Reply.error("error-429-resource-exhausted-retry-info-trimmed.json", 429)
        return Reply.sse("stream-sse-text.txt")
    return Echo(fake, reply)


def test_local_store_knows_only_its_own_responses(local_fleet: Fleet, fake: FakeGemini) -> None:
    """The failure issue 14 describes, as the expected behaviour of a store local to a host: a
    response stored by one replica is unknown to another, and a DELETE there leaves it be."""
    first, other = local_fleet.urls[0], local_fleet.urls[1]
    created = create(first, ALICE, input="remember 7 March")
    assert created.status_code == 200, created.text
    their_id = created.json()["id"]

    follow_up = create(other, ALICE, input="and then?", previous_response_id=their_id)
    error = assert_openai_error(follow_up, 400)
    assert (error["param"], error["code"]) == ("previous_response_id",
                                               "previous_response_not_found")
    for method, path in [("GET", ""), ("GET", "/input_items"), ("DELETE", "")]:
        answer = httpx.request(method, f"{other}/v1/responses/{their_id}{path}",
                               headers=auth(ALICE))
        assert assert_openai_error(answer, 404)["code"] == "not_found"

    # The replica that stored it still has it, and a follow-up there works.
    assert httpx.get(f"{first}/v1/responses/{their_id}", headers=auth(ALICE)).status_code == 200
    follow_up = create(first, ALICE, input="and then?", previous_response_id=their_id)
    assert follow_up.status_code == 200, follow_up.text


def test_without_shared_state_each_replica_learns_a_rest_on_its_own(
        local_fleet: Fleet, fake: FakeGemini, monkeypatch: pytest.MonkeyPatch) -> None:
    """Per-process key state: every replica tries the rate-limited key once (one upstream 429
    each), then rests it; every client request is answered from the other key."""
    monkeypatch.setattr(fake, "replies", limited_key_refused(fake))
    for url in local_fleet.urls:
        for _ in range(2):  # two turns: whichever key a replica starts on, it tries both
            answer = chat(url)
            assert answer.status_code == 200, answer.text
    tried = [upstream_key(seen) for seen in fake.seen]
    assert tried.count(LIMITED_KEY) == REPLICAS


class Streamer(threading.Thread):
    """Streams chat completions through `url` one after another until stopped; counts the
    complete ones and describes every failure (an error status or event, a cut stream, a
    connection error)."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.stopping = threading.Event()
        self.complete = 0
        self.failures: list[str] = []

    def run(self) -> None:
        body = {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        with httpx.Client(timeout=20) as client:
            while not self.stopping.is_set():
                try:
                    with client.stream("POST", f"{self.url}/v1/chat/completions",
                                       headers=auth(ALICE), json=body) as answer:
                        lines = [line for line in answer.iter_lines() if line]
                except httpx.HTTPError as error:
                    self.failures.append(repr(error))
                    continue
                if (answer.status_code != 200 or lines[-1:] != ["data: [DONE]"]
                        or any('"error"' in line for line in lines)):
                    self.failures.append(f"{answer.status_code}: {lines[-2:]}")
                else:
                    self.complete += 1


@pytest.fixture
def draining_fleet(fake_server: tuple[FakeGemini, str], tmp_path: Path) -> Iterator[Fleet]:
    """Replicas that keep serving DRAIN_DELAY seconds after SIGTERM, /ready failing."""
    yield from fleet(fake_server[1], tmp_path, ADAPTER_DRAIN_DELAY=DRAIN_DELAY)


def test_rolling_restart_under_streaming_load_fails_no_request(
        draining_fleet: Fleet, fake: FakeGemini, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each replica in turn gets SIGTERM, exits and starts again (on a new port, as a pod
    does) while clients stream through haproxy: no request fails, and each new process serves.

    haproxy retries nothing here: a request sent to a closed listener would fail (a 503), as it
    does without drain. Only the drain keeps them away: /ready fails from SIGTERM on, haproxy
    takes the replica out, and only then does its listener close."""
    slow = Reply.sse("stream-sse-text.txt", delay=0.05)
    monkeypatch.setattr(fake, "replies", Echo(fake, lambda _: Reply(
        chunks=slow.chunks, delay=slow.delay)))
    with haproxy(draining_fleet.urls, check="/ready", retries=False) as balancer:
        streamers = [Streamer(balancer.url) for _ in range(2)]
        for streamer in streamers:
            streamer.start()
        served_since: dict[str, int] = {}
        for index in range(REPLICAS):
            server = f"r{index}"
            balancer.move(server, draining_fleet.restart(index))
            balancer.wait_for(server, "UP")
            served_since[server] = balancer.served()[server]
        time.sleep(1)  # every new process takes its turn
        for streamer in streamers:
            streamer.stopping.set()
        for streamer in streamers:
            streamer.join(30)
        served = balancer.served()
    assert [failure for streamer in streamers for failure in streamer.failures] == []
    assert sum(streamer.complete for streamer in streamers) > 20
    assert all(served[server] > count for server, count in served_since.items()), served


@pytest.fixture(scope="module")
def shared_fleet(fake_server: tuple[FakeGemini, str],
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """Every replica stores Responses in one real PostgreSQL and shares key state on one real
    Redis."""
    with running_postgres() as postgres, real_redis() as redis:
        yield from fleet(fake_server[1], tmp_path_factory.mktemp("shared"),
                         GEMINI_API_KEY=f"{LIMITED_KEY},{HEALTHY_KEY}",
                         ADAPTER_STORE=postgres.url(), ADAPTER_REDIS_URL=redis.url,
                         ADAPTER_KEY_LIMITS=f"{CAROL}:rpm={REPLICAS}")


def test_with_redis_a_key_limit_holds_across_replicas(shared_fleet: Fleet,
                                                      fake: FakeGemini) -> None:
    """A key allowed three requests a minute makes one on each replica through haproxy; its
    fourth is refused wherever it lands (each replica alone would have allowed three)."""
    with haproxy(shared_fleet.urls) as balancer:
        before = balancer.served()
        answers = [chat(balancer.url, CAROL) for _ in range(REPLICAS + 1)]
        served = balancer.served()
    assert all(served[server] > count for server, count in before.items()), served
    assert [answer.status_code for answer in answers[:REPLICAS]] == [200] * REPLICAS
    error = assert_openai_error(answers[-1], 429)
    assert error["code"] == "rate_limit_exceeded"
    assert int(answers[-1].headers["retry-after"]) > 0


def test_with_redis_a_rest_is_learned_once_for_the_fleet(
        shared_fleet: Fleet, fake: FakeGemini, monkeypatch: pytest.MonkeyPatch) -> None:
    """One replica meets the 429 and rests the key in Redis; the others, reading the shared
    state (every 0.5 s), never try it: Gemini sees exactly one 429 for the fleet."""
    monkeypatch.setattr(fake, "replies", limited_key_refused(fake))
    first, *others = shared_fleet.urls
    for _ in range(2):  # whichever key it starts on (at random), it tries both
        assert chat(first).status_code == 200
    assert [upstream_key(seen) for seen in fake.seen].count(LIMITED_KEY) == 1
    time.sleep(1.2)  # two reads of the shared state
    for url in others:
        for _ in range(2):
            answer = chat(url)
            assert answer.status_code == 200, answer.text
    tried = [upstream_key(seen) for seen in fake.seen]
    assert tried.count(LIMITED_KEY) == 1
    assert tried.count(HEALTHY_KEY) == 2 * REPLICAS


def test_shared_store_carries_a_conversation_across_replicas(
        shared_fleet: Fleet, fake: FakeGemini) -> None:
    """A conversation through haproxy, each request on the next replica: create, follow-up,
    GET, input_items, DELETE; then it is gone on every replica. Another key finds nothing on
    any replica."""
    with haproxy(shared_fleet.urls) as balancer:
        landed: list[str] = []

        def via(method: str, path: str, key: str = ALICE, **body: Any) -> httpx.Response:
            before = balancer.served()
            answer = httpx.request(method, f"{balancer.url}/v1/responses{path}",
                                   headers=auth(key), timeout=20,
                                   json={"model": MODEL, **body} if body else None)
            landed.extend(server for server, count in balancer.served().items()
                          if count > before[server])
            return answer

        created = via("POST", "", input="remember 7 March")
        assert created.status_code == 200, created.text
        first = created.json()["id"]
        follow_up = via("POST", "", input="and then?", previous_response_id=first)
        assert follow_up.status_code == 200, follow_up.text
        assert "remember 7 March" in str(fake.seen[-1].body)  # the history went upstream
        second = follow_up.json()["id"]
        got = via("GET", f"/{second}")
        assert (got.status_code, got.json()["id"]) == (200, second)
        items = via("GET", f"/{second}/input_items")
        assert items.status_code == 200, items.text
        assert len(landed) == 4 and len(set(landed[:3])) == REPLICAS, landed

        for url in shared_fleet.urls:  # another key: 404 everywhere, as for an unknown id
            for method, path in [("GET", ""), ("GET", "/input_items"), ("DELETE", "")]:
                answer = httpx.request(method, f"{url}/v1/responses/{first}{path}",
                                       headers=auth(BOB))
                assert assert_openai_error(answer, 404)["code"] == "not_found"
            other = create(url, BOB, input="and then?", previous_response_id=first)
            assert assert_openai_error(other, 400)["code"] == "previous_response_not_found"

        deleted = via("DELETE", f"/{second}")
        assert (deleted.status_code, deleted.json()["deleted"]) == (200, True), deleted.text
    for url in shared_fleet.urls:
        for path in ["", "/input_items"]:
            answer = httpx.get(f"{url}/v1/responses/{second}{path}", headers=auth(ALICE))
            assert assert_openai_error(answer, 404)["code"] == "not_found"
        assert httpx.get(f"{url}/v1/responses/{first}", headers=auth(ALICE)).status_code == 200
