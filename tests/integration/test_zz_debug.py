import time
import httpx
from ..fake_gemini import FakeGemini, Reply


def test_dbg(adapter_url: str, fake: FakeGemini) -> None:
    events = Reply.sse("stream-sse-text.txt").chunks
    fake.queue(Reply(chunks=[events[0]] + [events[1]] * 5, delay=0.2))
    body = {"model": "gemini-2.5-flash", "stream": True,
            "messages": [{"role": "user", "content": "hi"}]}
    t = time.monotonic()
    with httpx.stream("POST", f"{adapter_url}/v1/chat/completions", json=body) as response:
        for chunk in response.iter_bytes():
            print("chunk", round(time.monotonic() - t, 3), fake.open_streams, chunk[:60])
    assert False
