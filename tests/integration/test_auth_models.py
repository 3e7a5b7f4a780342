"""Client keys (ADAPTER_API_KEYS), the models endpoints and /health."""

from __future__ import annotations

import httpx
import openai
import pytest

from ..fake_gemini import FakeGemini, Reply, fixture_json
from .helpers import SERVER_KEY


@pytest.fixture(scope="module")
def guarded_url(start_adapter) -> str:
    return start_adapter(GEMINI_API_KEY=SERVER_KEY, ADAPTER_API_KEYS="team-a, team-b")


def sdk(url: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)


@pytest.mark.parametrize("key", ["wrong", "team-", "team-a-and-more", "server-gemini-key-123"])
def test_wrong_client_key_is_401_everywhere(guarded_url, fake: FakeGemini, key: str) -> None:
    with pytest.raises(openai.AuthenticationError) as info:
        sdk(guarded_url, key).chat.completions.create(
            model="gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}])
    assert info.value.body["code"] == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        sdk(guarded_url, key).models.list()
    assert httpx.get(f"{guarded_url}/v1/anything").status_code == 401
    assert fake.seen == []


def test_missing_client_key_is_401(guarded_url: str) -> None:
    response = httpx.post(f"{guarded_url}/v1/chat/completions", json={})
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("key", ["team-a", "team-b"])
def test_listed_client_keys_pass_and_server_key_goes_upstream(guarded_url, fake, key) -> None:
    completion = sdk(guarded_url, key).chat.completions.create(
        model="gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}])
    assert completion.choices[0].message.content
    assert fake.seen[-1].headers["x-goog-api-key"] == SERVER_KEY


def test_health_needs_no_key(guarded_url: str) -> None:
    response = httpx.get(f"{guarded_url}/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_no_key_anywhere_is_401(start_adapter, fake: FakeGemini) -> None:
    url = start_adapter()
    response = httpx.post(f"{url}/v1/chat/completions", json={
        "model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 401
    assert "GEMINI_API_KEY" in response.json()["error"]["message"]
    assert fake.seen == []


def test_models_list_in_openai_format(client, fake: FakeGemini) -> None:
    models = client.models.list()
    expected = [m["name"].removeprefix("models/")
                for m in fixture_json("models-list.json")["models"]]
    assert [m.id for m in models.data] == expected
    assert all(m.object == "model" and m.owned_by == "google" for m in models.data)
    assert all(m.created >= 1702425600 for m in models.data)  # never 0: the API opened then
    [seen] = fake.seen
    assert seen.path == "/v1beta/models"
    assert seen.headers["x-goog-api-key"] == SERVER_KEY


def test_models_list_follows_pages(client, fake: FakeGemini) -> None:
    fake.queue(Reply.body({"models": [{"name": "models/a"}], "nextPageToken": "p2"}),
               Reply.body({"models": [{"name": "models/b"}]}))
    assert [m.id for m in client.models.list().data] == ["a", "b"]
    assert "pageToken=p2" in fake.seen[1].query


def test_get_model_and_unknown_model(client, fake: FakeGemini) -> None:
    fake.queue(Reply.body(fixture_json("models-list.json")["models"][0]))
    model = client.models.retrieve("gemini-2.5-flash")
    assert model.id == "gemini-2.5-flash"
    assert model.created == 1750118400  # 2025-06-17, gemini-2.5-flash's release
    assert fake.seen[-1].path == "/v1beta/models/gemini-2.5-flash"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("models/no-such-model")
    assert fake.seen[-1].path == "/v1beta/models/no-such-model"
