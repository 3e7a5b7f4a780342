"""The adapter with its response store on a real PostgreSQL: a conversation stored there; then
PostgreSQL stopped mid-run (the requests that need the store get a 503 `store_unavailable`, the
others go on) and started again (the same adapter process works again, not restarted)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from ..fake_gemini import FakeGemini
from ..real_postgres import RealPostgres, running_postgres
from .helpers import SERVER_KEY, assert_openai_error

MODEL = "gemini-2.5-flash"
KEY = {"authorization": "Bearer client-key"}


@pytest.fixture(scope="module")
def postgres() -> Iterator[RealPostgres]:
    with running_postgres() as server:
        yield server


@pytest.fixture(scope="module")
def url(postgres: RealPostgres, start_adapter: Callable[..., str]) -> str:
    return start_adapter(GEMINI_API_KEY=SERVER_KEY, ADAPTER_RETRIES="0",
                         ADAPTER_STORE=postgres.url())


def create(url: str, **body: Any) -> httpx.Response:
    return httpx.post(f"{url}/v1/responses", headers=KEY, timeout=20,
                      json={"model": MODEL, "input": "hello", **body})


def test_a_conversation_lives_in_postgres(url: str, fake: FakeGemini) -> None:
    first = create(url)
    assert first.status_code == 200, first.text
    first_id = first.json()["id"]
    second = create(url, input="and then?", previous_response_id=first_id)
    assert second.status_code == 200, second.text
    assert "hello" in str(fake.seen[-1].body["contents"])  # the history came from PostgreSQL
    items = httpx.get(f"{url}/v1/responses/{first_id}/input_items", headers=KEY)
    assert items.json()["data"][0]["content"][0]["text"] == "hello"
    other = httpx.get(f"{url}/v1/responses/{first_id}",
                      headers={"authorization": "Bearer another-key"})
    assert_openai_error(other, 404)
    assert httpx.delete(f"{url}/v1/responses/{first_id}", headers=KEY).status_code == 200
    assert_openai_error(httpx.get(f"{url}/v1/responses/{first_id}", headers=KEY), 404)


def test_postgres_stopped_then_back(url: str, postgres: RealPostgres, fake: FakeGemini) -> None:
    stored = create(url)
    assert stored.status_code == 200, stored.text
    stored_id = stored.json()["id"]
    postgres.stop()
    try:
        needs_store = [
            create(url, input="more", previous_response_id=stored_id),
            create(url),  # stores its answer
            httpx.get(f"{url}/v1/responses/{stored_id}", headers=KEY),
            httpx.delete(f"{url}/v1/responses/{stored_id}", headers=KEY),
        ]
        for answer in needs_store:
            error = assert_openai_error(answer, 503)
            assert (error["type"], error["code"]) == ("server_error", "store_unavailable")
        streamed = create(url, stream=True)  # the answer streams, then its save fails
        assert streamed.status_code == 200
        assert "event: response.failed" in streamed.text
        assert '"code":"store_unavailable"' in streamed.text.replace(" ", "")
        assert create(url, store=False).status_code == 200  # needs no store
        chat = httpx.post(f"{url}/v1/chat/completions", headers=KEY, timeout=20,
                          json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]})
        assert chat.status_code == 200
        assert httpx.get(f"{url}/health").status_code == 200
    finally:
        postgres.start()
    again = httpx.get(f"{url}/v1/responses/{stored_id}", headers=KEY)  # same adapter process
    assert again.status_code == 200, again.text
    follow_up = create(url, input="more", previous_response_id=stored_id)
    assert follow_up.status_code == 200, follow_up.text
