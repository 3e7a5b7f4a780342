"""Running it for a team: retries, key rotation, limits, aliases and shutdown, against faults."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import openai
import pytest

from adapter.app import create_app
from adapter.config import Settings

from ..fake_gemini import FakeGemini, Reply, fixture_bytes
from ..processes import adapter_process
from ..servers import serve
from .helpers import assert_openai_error

MODEL = "gemini-2.5-flash"
HELLO = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
PARIS = "The capital of France is Paris.\n"


def rate_limited(delay: str = "0.2s") -> Reply:
    """A real 429 RESOURCE_EXHAUSTED body whose RetryInfo asks for `delay`."""
    body = fixture_bytes("error-429-resource-exhausted-retry-info-trimmed.json")
    return Reply(status=429, chunks=[body.replace(b'"34.4s"', f'"{delay}"'.encode())],
                 content_type="application/json")


def post(url: str, body: dict | None = None, **kw) -> httpx.Response:
    return httpx.post(f"{url}/v1/chat/completions", json=body or HELLO, timeout=20, **kw)


def used_keys(fake: FakeGemini) -> list[str]:
    return [seen.headers["x-goog-api-key"] for seen in fake.seen]


@pytest.fixture(scope="module")
def retrying(start_adapter) -> str:
    return start_adapter(GEMINI_API_KEY="only-key-0001")


def test_rate_limit_is_retried_then_served(retrying, fake: FakeGemini) -> None:
    fake.queue(rate_limited(), Reply.sse("stream-sse-text.txt"))
    started = time.monotonic()
    response = post(retrying)
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == PARIS
    assert len(fake.seen) == 2
    assert time.monotonic() - started >= 0.2  # RetryInfo's delay was honoured


def test_retries_exhausted_give_429_with_retry_after(retrying, fake: FakeGemini) -> None:
    fake.queue(rate_limited(), rate_limited(), rate_limited())
    response = post(retrying, {**HELLO, "stream": True})
    assert_openai_error(response, 429)
    assert response.headers["retry-after"] == "1"
    assert len(fake.seen) == 3  # the first try and two retries


def test_long_retry_delay_goes_to_the_client(retrying, fake: FakeGemini) -> None:
    fake.queue(rate_limited("34.4s"))
    response = post(retrying)
    assert_openai_error(response, 429)
    assert response.headers["retry-after"] == "35"
    assert len(fake.seen) == 1


def test_retry_after_header_is_honoured_without_retry_info(retrying, fake: FakeGemini) -> None:
    busy = {"error": {"code": 503, "message": "busy", "status": "UNAVAILABLE"}}
    fake.queue(*[Reply(status=503, chunks=[json.dumps(busy).encode()],
                       content_type="application/json", headers={"retry-after": "30"})] * 3)
    response = post(retrying)
    assert_openai_error(response, 503)
    assert response.headers["retry-after"] == "30"
    assert len(fake.seen) == 1  # 30 s is longer than the adapter waits: no retry


def test_server_error_is_retried(retrying, fake: FakeGemini) -> None:
    overloaded = {"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}
    fake.queue(Reply.body(overloaded, 503), Reply.sse("stream-sse-text.txt"))
    assert post(retrying).status_code == 200
    assert len(fake.seen) == 2


def test_bad_request_is_not_retried(retrying, fake: FakeGemini) -> None:
    fake.queue(Reply.error("error-400-invalid-argument.json", 400))
    assert_openai_error(post(retrying), 400)
    assert len(fake.seen) == 1


def test_no_retry_after_the_first_byte(retrying, fake: FakeGemini) -> None:
    fake.queue(Reply(chunks=Reply.sse("stream-sse-text.txt").chunks[:1], drop=True, delay=0.05))
    client = openai.OpenAI(base_url=f"{retrying}/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.APIError):
        list(client.chat.completions.create(**HELLO, stream=True))
    assert len(fake.seen) == 1


def test_keys_are_used_in_turn_and_a_rate_limited_key_rests(start_adapter, fake) -> None:
    keys = ["key-aaaa-0001", "key-bbbb-0002", "key-cccc-0003"]
    url = start_adapter(GEMINI_API_KEY=",".join(keys))
    for _ in range(3):
        assert post(url).status_code == 200
    turn = used_keys(fake)  # in turn, from a random first key
    assert turn == [keys[(keys.index(turn[0]) + i) % 3] for i in range(3)]
    fake.reset()
    fake.queue(rate_limited("30s"))  # the first is told to wait 30 s: the second serves at once
    assert post(url).status_code == 200
    for _ in range(3):
        assert post(url).status_code == 200
    assert used_keys(fake) == [*turn, turn[1], turn[2]]


def test_refused_key_is_skipped_and_bad_requests_do_not_count(start_adapter, fake) -> None:
    url = start_adapter(GEMINI_API_KEY="key-aaaa-0001,key-bbbb-0002")
    fake.queue(Reply.error("error-403-permission-denied-service-disabled.json", 403))
    assert post(url).status_code == 200  # served by the other key
    fake.queue(Reply.error("error-400-invalid-argument.json", 400))
    assert_openai_error(post(url), 400)
    for _ in range(2):
        assert post(url).status_code == 200
    refused, other = used_keys(fake)[:2]  # the first key in turn is refused (a random one)
    assert {refused, other} == {"key-aaaa-0001", "key-bbbb-0002"}
    assert used_keys(fake) == [refused, other, other, other, other]


def test_body_too_large_is_413(start_adapter, fake: FakeGemini) -> None:
    url = start_adapter(GEMINI_API_KEY="k", ADAPTER_MAX_BODY_BYTES="2000")
    big = {**HELLO, "messages": [{"role": "user", "content": "x" * 5000}]}
    error = assert_openai_error(post(url, big), 413)
    assert error["code"] == "request_too_large"
    chunked = httpx.post(f"{url}/v1/chat/completions", content=iter([json.dumps(big).encode()]),
                         timeout=10)  # no Content-Length: counted while reading
    assert_openai_error(chunked, 413)
    assert fake.seen == []


def test_stream_cap_answers_503_instead_of_queueing_forever(start_adapter, fake) -> None:
    url = start_adapter(GEMINI_API_KEY="k", ADAPTER_MAX_STREAMS="1", ADAPTER_QUEUE_TIMEOUT="0.2")
    fake.queue(Reply.sse("stream-sse-text.txt", delay=0.5), Reply.sse("stream-sse-text.txt"))
    first: list[httpx.Response] = []
    worker = threading.Thread(target=lambda: first.append(post(url)))
    worker.start()
    time.sleep(0.2)
    second = post(url)
    worker.join()
    assert first[0].status_code == 200
    assert_openai_error(second, 503)
    assert second.headers["retry-after"] == "1"
    assert post(url).status_code == 200  # the slot was given back


def test_model_alias_reports_the_name_asked_for(start_adapter, fake: FakeGemini) -> None:
    url = start_adapter(GEMINI_API_KEY="k", ADAPTER_MODEL_MAP="gpt-4o=gemini-2.5-pro")
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0)
    completion = client.chat.completions.create(model="gpt-4o", messages=HELLO["messages"])
    assert completion.model == "gpt-4o"
    assert fake.seen[-1].path == "/v1beta/models/gemini-2.5-pro:streamGenerateContent"
    listed = {m.id: m.created for m in client.models.list().data}
    assert listed["gpt-4o"] == listed["gemini-2.5-pro"] == 1750118400  # dated as its model
    fake.queue(Reply.body({"name": "models/gemini-2.5-pro", "version": "2.5"}))
    model = client.models.retrieve("gpt-4o")
    assert (model.id, model.created) == ("gpt-4o", 1750118400)
    fake.queue(Reply.error("error-404-model-not-found.json", 404))
    with pytest.raises(openai.NotFoundError):  # unknown models are not swapped for another
        client.chat.completions.create(model="gpt-5", messages=HELLO["messages"])
    assert fake.seen[-1].path == "/v1beta/models/gpt-5:streamGenerateContent"


def test_stalled_stream_ends_with_an_error_event(start_adapter, fake: FakeGemini) -> None:
    url = start_adapter(GEMINI_API_KEY="k", ADAPTER_READ_TIMEOUT="0.3",
                        ADAPTER_FIRST_BYTE_TIMEOUT="5")
    events = Reply.sse("stream-sse-text.txt").chunks
    fake.queue(Reply(chunks=events, pauses={1: 1.5}))  # silent for 1 s after the first event
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0)
    received = []
    with pytest.raises(openai.APIError) as info:
        for chunk in client.chat.completions.create(**HELLO, stream=True):
            received.append(chunk.choices[0].delta.content)
    assert received == ["The"]
    assert info.value.body["code"] == "upstream_timeout"


def test_sigterm_lets_streams_finish_then_ends_them(fake_server) -> None:
    fake, fake_url = fake_server
    fake.reset()
    events = Reply.sse("stream-sse-text.txt").chunks
    fake.queue(Reply(chunks=[events[0]] + [events[1]] * 30, delay=0.1))
    env = {"GEMINI_BASE_URL": fake_url, "GEMINI_API_KEY": "k", "ADAPTER_SHUTDOWN_GRACE": "1"}
    with adapter_process(env=env) as url, httpx.stream(
            "POST", f"{url}/v1/chat/completions", json={**HELLO, "stream": True},
            timeout=20) as response:
        chunks = response.iter_bytes()
        assert next(chunks).startswith(b"data: ")
        url.process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        rest = b"".join(chunks)
        assert time.monotonic() - started < 5  # the grace period, not the whole answer
    assert rest.count(b"capital of France") >= 3  # in-flight stream kept going for a while
    assert b"shutting down" in rest.strip().split(b"\n\n")[-1]
    assert b"[DONE]" not in rest


@contextmanager
def isolated(tmp_path, reply: Reply) -> Iterator[tuple[str, FakeGemini]]:
    """An adapter with its own fake upstream that answers one scripted reply: timing tests
    must not share a queue with anything else."""
    fake = FakeGemini()
    fake.queue(reply)
    with serve(fake) as fake_url, serve(create_app(Settings.from_env({
            "GEMINI_BASE_URL": fake_url, "GEMINI_API_KEY": "k", "ADAPTER_RETRIES": "0",
            "ADAPTER_FIRST_BYTE_TIMEOUT": "2.5", "ADAPTER_READ_TIMEOUT": "0.4",
            "ADAPTER_STORE": str(tmp_path / "store.sqlite3")}))) as url:
        yield url, fake


def test_a_model_thinking_past_the_idle_limit_is_served(tmp_path) -> None:
    events = Reply.sse("stream-sse-text.txt").chunks
    with isolated(tmp_path, Reply(chunks=events, pauses={0: 0.8})) as (url, fake):
        response = post(url)
        assert response.status_code == 200, fake.seen
        assert response.json()["choices"][0]["message"]["content"] == PARIS


def test_past_the_first_byte_limit_is_a_504(tmp_path) -> None:
    events = Reply.sse("stream-sse-text.txt").chunks
    with isolated(tmp_path, Reply(chunks=events, pauses={0: 4.0})) as (url, fake):
        response = post(url, {**HELLO, "stream": True})
        error = assert_openai_error(response, 504)
        assert error["code"] == "upstream_timeout"
        assert len(fake.seen) == 1, fake.seen
