"""A client that stops reading a large stream loses it after ADAPTER_WRITE_TIMEOUT: the stream
ends, the upstream stream is cancelled, its slot comes back and its connection is dropped. A
client that keeps reading, however long the stream takes, is never cut."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from ..fake_gemini import FakeGemini, Reply
from ..processes import Running, adapter_process
from .helpers import SERVER_KEY

TIMEOUT = "1"  # ADAPTER_WRITE_TIMEOUT, seconds
CHAT = ("/v1/chat/completions", {"model": "gemini-2.5-flash", "stream": True,
                                 "messages": [{"role": "user", "content": "hi"}]})
RESPONSES = ("/v1/responses", {"model": "gemini-2.5-flash", "stream": True, "input": "hi"})


def big_stream(events: int, size: int, then_wait: float = 0.0) -> Reply:
    """`events` Gemini events of `size` characters of text each: many megabytes in all, more
    than the socket buffers between the adapter and a client hold. The fake then waits
    `then_wait` seconds (less if the adapter hangs up) before the last event."""
    text = {"candidates": [{"content": {"parts": [{"text": "x" * size}], "role": "model"}}]}
    end = {"candidates": [{"content": {"parts": [{"text": "."}], "role": "model"},
                           "finishReason": "STOP"}]}
    return Reply.events(*[text] * events, end, pauses={events: then_wait})


def open_stream(url: str, request: tuple[str, dict[str, Any]] = CHAT) -> socket.socket:
    """A raw connection that has sent a streaming request (and read nothing yet)."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    body = orjson.dumps(request[1])
    sock.sendall(b"POST %s HTTP/1.1\r\nhost: adapter\r\ncontent-type: application/json\r\n"
                 b"authorization: Bearer client-key\r\ncontent-length: %d\r\n\r\n"
                 % (request[0].encode(), len(body)) + body)
    return sock


def streams_in_flight(url: str) -> float:
    text = httpx.get(f"{url}/metrics").text
    found = re.search(r"^adapter_streams_in_flight(?:\{[^}]*\})? (\S+)$", text, re.M)
    assert found, text
    return float(found.group(1))


def wait_for(condition: Callable[[], bool], within: float = 15.0) -> bool:
    """Poll `condition` until it holds (True) or `within` seconds have passed (False)."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def holds_connection(pid: int, client: socket.socket) -> bool:
    """Whether process `pid` still has a file descriptor for the server end of the client
    connection `client` (matched by its ports in the kernel's TCP table)."""
    client_port = client.getsockname()[1]
    server_port = client.getpeername()[1]
    inodes = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = (int(a.rsplit(":", 1)[1], 16) for a in fields[1:3])
            if (local, remote) == (server_port, client_port):
                inodes.add(f"socket:[{fields[9]}]")
    links = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(FileNotFoundError):  # closed while we looked
            links.add(os.readlink(fd))
    return bool(inodes & links)


def completes(url: str) -> bool:
    """A fresh streaming request is answered in full."""
    with httpx.stream("POST", f"{url}{CHAT[0]}", json=CHAT[1], timeout=20,
                      headers={"authorization": "Bearer client-key"}) as response:
        return response.status_code == 200 and response.read().endswith(b"data: [DONE]\n\n")


@pytest.fixture(scope="module")
def adapter(fake_server: tuple[FakeGemini, str], tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Running]:
    """`python -m adapter` as deployed (its own process, so its sockets can be counted)."""
    env = {"GEMINI_BASE_URL": fake_server[1], "GEMINI_API_KEY": SERVER_KEY,
           "ADAPTER_STORE": "off", "ADAPTER_WRITE_TIMEOUT": TIMEOUT}
    with adapter_process(env=env, output=tmp_path_factory.mktemp("log") / "adapter.log") as url:
        yield url


@pytest.mark.parametrize("request_", [CHAT, RESPONSES], ids=["chat", "responses"])
def test_a_client_that_stops_reading_loses_its_stream(
        start_adapter: Callable[..., str], fake: FakeGemini,
        request_: tuple[str, dict[str, Any]]) -> None:
    """The stream's own timeout (no help from the connection's): its slot comes back."""
    url = start_adapter(GEMINI_API_KEY=SERVER_KEY, ADAPTER_WRITE_TIMEOUT=TIMEOUT)
    reply = big_stream(1000, 10_000, then_wait=60)  # 10 MB, and an upstream that stays open
    fake.queue(reply)
    with open_stream(url, request_):
        assert wait_for(lambda: reply.streaming), "the fake never started the stream"
        assert wait_for(lambda: not reply.streaming), "the upstream stream was never cancelled"
        assert wait_for(lambda: streams_in_flight(url) == 0), "the stream slot was never freed"
        assert completes(url)
    assert len(fake.seen) == 2


def test_the_connection_of_a_client_that_stops_reading_is_dropped(
        adapter: Running, fake: FakeGemini) -> None:
    """As deployed, the connection goes too: the adapter's file descriptor for it is closed,
    and the client, reading at last, finds it reset."""
    reply = big_stream(1000, 10_000, then_wait=60)
    fake.queue(reply)
    with open_stream(adapter) as client:
        assert wait_for(lambda: reply.streaming), "the fake never started the stream"
        assert holds_connection(adapter.process.pid, client)
        assert wait_for(lambda: not reply.streaming), "the upstream stream was never cancelled"
        assert wait_for(lambda: streams_in_flight(adapter) == 0)
        # uvicorn's close would wait for ever for the client to take the buffered bytes.
        assert wait_for(lambda: not holds_connection(adapter.process.pid, client)), \
            "the adapter still holds the connection"
        client.settimeout(10)
        with pytest.raises(ConnectionResetError):
            while client.recv(1 << 20):
                pass
    assert completes(adapter)


def test_a_slow_but_steady_reader_keeps_its_stream(adapter: Running, fake: FakeGemini) -> None:
    """5 MB, in events of 2.5 MB, read 64 KiB at a time with pauses: the stream takes several
    times the write timeout and each event longer than it, and arrives whole."""
    fake.queue(big_stream(2, 2_500_000))
    started = time.monotonic()
    received = 0
    tail = b""
    with open_stream(adapter) as client:
        while not tail.endswith(b"\r\n0\r\n\r\n"):  # the end of a chunked response
            data = client.recv(64 * 1024)
            assert data, "the adapter closed the connection"
            received += len(data)
            tail = (tail + data)[-64:]
            time.sleep(0.04)
    took = time.monotonic() - started
    assert b"data: [DONE]" in tail
    assert received > 5_000_000
    assert took > 3 * float(TIMEOUT), f"the test read too fast to mean anything ({took:.1f} s)"
