"""A client that leaves mid-stream releases its upstream request at once."""

from __future__ import annotations

import time

import httpx

from adapter.app import create_app
from adapter.config import Settings

from ..fake_gemini import FakeGemini, Reply
from ..servers import serve


def test_client_disconnect_closes_the_upstream_stream(tmp_path) -> None:
    fake = FakeGemini()  # its own fake and adapter: no other test's request can interfere
    events = Reply.sse("stream-sse-text.txt").chunks
    slow = Reply(chunks=[events[0]] + [events[1]] * 50, delay=0.2)
    fake.queue(slow)
    body = {"model": "gemini-2.5-flash", "stream": True,
            "messages": [{"role": "user", "content": "hi"}]}
    with serve(fake) as fake_url:
        settings = Settings.from_env({"GEMINI_BASE_URL": fake_url, "GEMINI_API_KEY": "k",
                                      "ADAPTER_STORE": str(tmp_path / "store.sqlite3")})
        with serve(create_app(settings)) as url:
            with httpx.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
                chunks = response.iter_bytes()  # kept: a dropped iterator closes the response
                first = next(chunks)
                assert first.startswith(b"data: ")
                assert slow.streaming, f"the fake is not sending it: {len(fake.seen)} requests"
            deadline = time.monotonic() + 5
            while slow.streaming and time.monotonic() < deadline:
                time.sleep(0.02)
            # The fake saw the adapter hang up, long before its 10-second answer was over.
            assert not slow.streaming
            assert len(fake.seen) == 1
