"""A client that leaves mid-stream releases its upstream request at once."""

from __future__ import annotations

import time

import httpx

from ..fake_gemini import FakeGemini, Reply


def test_client_disconnect_closes_the_upstream_stream(adapter_url: str, fake: FakeGemini) -> None:
    events = Reply.sse("stream-sse-text.txt").chunks
    fake.queue(Reply(chunks=[events[0]] + [events[1]] * 50, delay=0.2))
    body = {"model": "gemini-2.5-flash", "stream": True,
            "messages": [{"role": "user", "content": "hi"}]}
    with httpx.stream("POST", f"{adapter_url}/v1/chat/completions", json=body) as response:
        first = next(response.iter_bytes())
        assert first.startswith(b"data: ")
        assert fake.open_streams == 1
    deadline = time.monotonic() + 2
    while fake.open_streams and time.monotonic() < deadline:
        time.sleep(0.02)
    assert fake.open_streams == 0
