"""Stored Responses belong to the key that created them, and each turn is stored once."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..fake_gemini import FakeGemini
from .helpers import SERVER_KEY, assert_openai_error

MODEL = "gemini-2.5-flash"
SECRET = "alice's launch plan: 7 March"

# Each mode: how the adapter is started, and the keys of two callers.
MODES: dict[str, tuple[dict[str, str], str, str]] = {
    "adapter keys": ({"GEMINI_API_KEY": SERVER_KEY, "ADAPTER_API_KEYS": "team-a,team-b"},
                     "team-a", "team-b"),
    "pass-through": ({}, "gemini-key-of-alice", "gemini-key-of-bob"),
    "open gateway": ({"GEMINI_API_KEY": SERVER_KEY}, "any-token-alice", "any-token-bob"),
}


@pytest.fixture(scope="module", params=list(MODES))
def mode(request: pytest.FixtureRequest, start_adapter: Callable[..., str]
         ) -> tuple[str, str, str]:
    env, alice, bob = MODES[request.param]
    return start_adapter(ADAPTER_RETRIES="0", **env), alice, bob


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def create(url: str, key: str, **body: Any) -> httpx.Response:
    return httpx.post(f"{url}/v1/responses", headers=auth(key), timeout=20,
                      json={"model": MODEL, **body})


def unknown_id() -> str:
    return f"resp_{uuid.uuid4().hex}"


def same_answer(theirs: httpx.Response, never: httpx.Response, their_id: str,
                never_id: str) -> None:
    """Two answers that differ only in the id they name."""
    assert theirs.status_code == never.status_code
    assert theirs.text == never.text.replace(never_id, their_id)


def test_another_key_finds_nothing(mode: tuple[str, str, str], fake: FakeGemini) -> None:
    url, alice, bob = mode
    created = create(url, alice, input=SECRET)
    assert created.status_code == 200, created.text
    their_id, never_id = created.json()["id"], unknown_id()
    upstream_calls = len(fake.seen)

    for method, path in [("GET", ""), ("DELETE", ""), ("GET", "/input_items")]:
        theirs = httpx.request(method, f"{url}/v1/responses/{their_id}{path}",
                               headers=auth(bob))
        never = httpx.request(method, f"{url}/v1/responses/{never_id}{path}",
                              headers=auth(bob))
        assert assert_openai_error(theirs, 404)["code"] == "not_found"
        same_answer(theirs, never, their_id, never_id)

    theirs = create(url, bob, input="and then?", previous_response_id=their_id)
    never = create(url, bob, input="and then?", previous_response_id=never_id)
    error = assert_openai_error(theirs, 400)
    assert (error["param"], error["code"]) == ("previous_response_id",
                                               "previous_response_not_found")
    same_answer(theirs, never, their_id, never_id)
    assert len(fake.seen) == upstream_calls  # Gemini heard nothing of it
    assert not any(SECRET in str(seen.body) for seen in fake.seen[1:])

    # Bob's DELETE did not delete it: Alice still has it all.
    mine = httpx.get(f"{url}/v1/responses/{their_id}", headers=auth(alice))
    assert mine.status_code == 200
    items = httpx.get(f"{url}/v1/responses/{their_id}/input_items", headers=auth(alice))
    assert items.json()["data"][0]["content"][0]["text"] == SECRET
    follow_up = create(url, alice, input="and then?", previous_response_id=their_id)
    assert follow_up.status_code == 200
    assert SECRET in str(fake.seen[-1].body["contents"])


@pytest.mark.parametrize(("method", "path"), [
    ("GET", ""), ("DELETE", ""), ("GET", "/input_items")])
def test_no_key_is_a_401(mode: tuple[str, str, str], fake: FakeGemini, method: str,
                         path: str) -> None:
    url, alice, _ = mode
    response_id = create(url, alice, input=SECRET).json()["id"]
    answer = httpx.request(method, f"{url}/v1/responses/{response_id}{path}")
    assert assert_openai_error(answer, 401)["type"] == "invalid_request_error"
    assert httpx.get(f"{url}/v1/responses/{response_id}", headers=auth(alice)).status_code == 200


def test_no_key_cannot_store_or_continue(mode: tuple[str, str, str], fake: FakeGemini) -> None:
    url, alice, _ = mode
    response_id = create(url, alice, input=SECRET).json()["id"]
    calls = len(fake.seen)
    for body in ({"input": "hi"}, {"input": "hi", "previous_response_id": response_id},
                 {"input": "hi", "previous_response_id": response_id, "store": False}):
        answer = httpx.post(f"{url}/v1/responses", json={"model": MODEL, **body}, timeout=20)
        assert_openai_error(answer, 401)
    assert len(fake.seen) == calls


def test_open_gateway_answers_store_false_without_a_key(start_adapter, fake: FakeGemini) -> None:
    url = start_adapter(GEMINI_API_KEY=SERVER_KEY)
    answer = httpx.post(f"{url}/v1/responses", timeout=20,
                        json={"model": MODEL, "input": "hi", "store": False})
    assert answer.status_code == 200, answer.text


def test_goog_api_key_header_is_the_same_identity(start_adapter, fake: FakeGemini) -> None:
    url = start_adapter()
    created = httpx.post(f"{url}/v1/responses", headers={"x-goog-api-key": "gemini-key-c"},
                         json={"model": MODEL, "input": "hi"}, timeout=20)
    response_id = created.json()["id"]
    assert httpx.get(f"{url}/v1/responses/{response_id}",
                     headers=auth("gemini-key-c")).status_code == 200
    assert httpx.get(f"{url}/v1/responses/{response_id}",
                     headers={"x-goog-api-key": "gemini-key-d"}).status_code == 404


def test_the_store_keeps_no_key(start_adapter, fake: FakeGemini, tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite3"
    url = start_adapter(ADAPTER_STORE=str(store))
    create(url, "gemini-key-that-must-not-be-stored", input="hi")
    raw = b"".join(path.read_bytes() for path in tmp_path.iterdir())
    assert b"gemini-key-that-must-not-be-stored" not in raw


# Growth


def stored_bytes(store: Path) -> int:
    """The size of every body in the store file (0 before the adapter made it)."""
    if not store.exists():
        return 0
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT sum(length(body)) FROM responses").fetchone()[0] or 0


def continue_chain(url: str, turns: int, text: str) -> list[str]:
    """The ids of a conversation of `turns` responses."""
    ids: list[str] = []
    for n in range(turns):
        previous = {"previous_response_id": ids[-1]} if ids else {}
        answer = create(url, "gemini-key-e", input=f"turn {n}: {text}", **previous)
        assert answer.status_code == 200, answer.text
        ids.append(answer.json()["id"])
    return ids


def test_chained_turns_are_stored_once(start_adapter, fake: FakeGemini, tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite3"
    url = start_adapter(ADAPTER_STORE=str(store))
    turn = "y" * 20_000
    growth = []
    previous: dict[str, str] = {}
    for n in range(12):
        before = stored_bytes(store)
        answer = create(url, "gemini-key-e", input=f"turn {n}: {turn}", **previous)
        previous = {"previous_response_id": answer.json()["id"]}
        growth.append(stored_bytes(store) - before)
    # Every turn adds about its own size; a copy of the history grows by one turn each time.
    assert max(growth) < 1.1 * min(growth)
    assert stored_bytes(store) < 12 * 1.1 * growth[0]
    contents = fake.seen[-1].body["contents"]
    assert len(contents) == 23  # eleven turns of history, both sides, and this input
    assert [c["parts"][0]["text"].split(":")[0] for c in contents[::2]] == [
        f"turn {n}" for n in range(12)]


def test_deleting_a_middle_response_keeps_the_conversation(start_adapter, fake: FakeGemini
                                                           ) -> None:
    url = start_adapter()
    ids = continue_chain(url, 3, "z")
    assert httpx.delete(f"{url}/v1/responses/{ids[1]}",
                        headers=auth("gemini-key-e")).status_code == 200
    assert httpx.get(f"{url}/v1/responses/{ids[1]}",
                     headers=auth("gemini-key-e")).status_code == 404
    gone = create(url, "gemini-key-e", input="x", previous_response_id=ids[1])
    assert assert_openai_error(gone, 400)["code"] == "previous_response_not_found"
    later = create(url, "gemini-key-e", input="turn 3: z", previous_response_id=ids[2])
    assert later.status_code == 200
    assert len(fake.seen[-1].body["contents"]) == 7  # all three earlier turns reached Gemini


def test_store_size_limit_prunes_the_oldest(start_adapter, fake: FakeGemini,
                                            tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite3"
    url = start_adapter(ADAPTER_STORE=str(store), ADAPTER_STORE_MAX_BYTES="100000")
    ids = [create(url, "gemini-key-f", input="w" * 20_000).json()["id"] for _ in range(12)]
    assert stored_bytes(store) <= 110_000
    assert httpx.get(f"{url}/v1/responses/{ids[0]}",
                     headers=auth("gemini-key-f")).status_code == 404
    assert httpx.get(f"{url}/v1/responses/{ids[-1]}",
                     headers=auth("gemini-key-f")).status_code == 200
