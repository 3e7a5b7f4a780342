"""The lifecycle every streamed answer shares, for Chat Completions and Responses alike: a client
that leaves releases its upstream request at once, a shutdown ends the stream with an error
event, and the upstream slot comes back however the request ends."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import orjson
import pytest

from adapter.app import create_app
from adapter.config import Settings

from ..fake_gemini import FakeGemini, Reply
from ..servers import serve

MODEL = "gemini-2.5-flash"
CHAT = ("/v1/chat/completions",
        {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "hi"}]})
RESPONSES = ("/v1/responses", {"model": MODEL, "stream": True, "store": False, "input": "hi"})
APIS = pytest.mark.parametrize("api", [CHAT, RESPONSES], ids=["chat", "responses"])


def slow_reply() -> Reply:
    """One event, then 50 more 0.2 s apart: ten seconds of a stream that is still going."""
    events = Reply.sse("stream-sse-text.txt").chunks
    return Reply(chunks=[events[0]] + [events[1]] * 50, delay=0.2)


@contextmanager
def own_adapter(tmp_path: Any, **env: str) -> Iterator[tuple[FakeGemini, str]]:
    """A fake and an adapter of this test's own: no other test's request can interfere, and
    the adapter can be stopped while a stream is open."""
    fake = FakeGemini()
    with serve(fake) as fake_url:
        settings = Settings.from_env({"GEMINI_BASE_URL": fake_url, "GEMINI_API_KEY": "k",
                                      "ADAPTER_STORE": str(tmp_path / "store.sqlite3"), **env})
        with serve(create_app(settings)) as url:
            yield fake, url


def wait_for(condition: Callable[[], bool], within: float = 5) -> bool:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def sse_data(raw: bytes) -> list[bytes]:
    """The `data:` payload of every event of a stream."""
    return [line[6:] for line in raw.split(b"\n") if line.startswith(b"data: ")]


def gauge(url: str, name: str) -> float:
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no {name} gauge")


@APIS
def test_client_disconnect_closes_the_upstream_stream(tmp_path, api: tuple[str, Any]) -> None:
    with own_adapter(tmp_path) as (fake, url):
        slow = slow_reply()
        fake.queue(slow)
        with httpx.stream("POST", f"{url}{api[0]}", json=api[1]) as response:
            chunks = response.iter_bytes()  # kept: a dropped iterator closes the response
            first = next(chunks)
            assert first.startswith((b"data: ", b"event: "))
            assert slow.streaming, f"the fake is not sending it: {len(fake.seen)} requests"
        # The fake saw the adapter hang up, long before its 10-second answer was over.
        assert wait_for(lambda: not slow.streaming)
        assert len(fake.seen) == 1
        assert wait_for(lambda: gauge(url, "adapter_upstream_slots_in_use") == 0)


@APIS
def test_shutdown_ends_the_stream_with_an_error_event(tmp_path, api: tuple[str, Any]) -> None:
    """A stream still going when the server's grace period ends (1 s here) gets an error event
    that says why, not a silent end that looks like a broken connection."""
    with httpx.Client(timeout=20) as client:
        with own_adapter(tmp_path) as (fake, url):
            fake.queue(slow_reply())
            response = client.send(client.build_request("POST", f"{url}{api[0]}", json=api[1]),
                                   stream=True)
            chunks = response.iter_bytes()
            first = next(chunks)
        # The adapter has stopped: what it sent before closing the connection is still to read.
        rest = b"".join(chunks)
        response.close()
    events = [orjson.loads(data) for data in sse_data(first + rest) if data != b"[DONE]"]
    assert b"[DONE]" not in rest
    if api is CHAT:
        assert events[-1]["error"]["code"] == "server_shutting_down"
        assert all("choices" in event for event in events[:-1])
    else:
        assert [e["type"] for e in events[-2:]] == ["response.failed", "error"]
        assert events[-1]["code"] == "server_shutting_down"
        assert events[-2]["response"]["status"] == "failed"
        assert [e["sequence_number"] for e in events] == list(range(len(events)))


@APIS
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
def test_the_upstream_slot_comes_back_however_the_request_ends(
        tmp_path, api: tuple[str, Any], stream: bool) -> None:
    """With one slot, every request after a failed one would wait for a leaked slot, then 503."""
    path, body = api[0], {**api[1], "stream": stream}
    text = Reply.sse("stream-sse-text.txt").chunks
    with own_adapter(tmp_path, ADAPTER_MAX_STREAMS="1", ADAPTER_QUEUE_TIMEOUT="0.5",
                     ADAPTER_RETRIES="0") as (fake, url):
        refused = Reply.error("error-429-rate-limit-exceeded-errorinfo.json", 429)
        fake.queue(refused,  # refused at once
                   Reply(chunks=text[:1], drop=True),  # broken after one event
                   Reply(chunks=text[:-1]),  # ended without a finish reason
                   Reply.sse("stream-sse-text.txt"))  # served in full
        statuses = []
        for _ in range(4):
            response = httpx.post(f"{url}{path}", json=body, timeout=20)
            statuses.append(response.status_code)
            assert gauge(url, "adapter_upstream_slots_in_use") == 0, statuses
        assert len(fake.seen) == 4
        assert statuses[0] == 429 and statuses[-1] == 200
        assert statuses[1:3] == ([200, 200] if stream else [502, 502])


@pytest.mark.parametrize("complete", [True, False], ids=["complete", "broken"])
def test_a_streamed_response_is_stored_when_it_is_complete(tmp_path, complete: bool) -> None:
    """The store hook runs once the answer is whole, before its last event goes out; a stream
    that fails is never stored."""
    text = Reply.sse("stream-sse-text.txt").chunks
    auth = {"authorization": "Bearer client-key"}
    with own_adapter(tmp_path) as (fake, url):
        fake.queue(Reply(chunks=text) if complete else Reply(chunks=text[:1], drop=True))
        body = {**RESPONSES[1], "store": True}
        raw = httpx.post(f"{url}{RESPONSES[0]}", json=body, headers=auth, timeout=20).content
        events = [orjson.loads(data) for data in sse_data(raw)]
        last = events[-1] if complete else events[-2]
        assert last["type"] == ("response.completed" if complete else "response.failed")
        stored = httpx.get(f"{url}/v1/responses/{last['response']['id']}", headers=auth)
        if complete:
            assert stored.status_code == 200
            assert stored.json() == last["response"]
        else:
            assert stored.status_code == 404
