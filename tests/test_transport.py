"""The lean HTTP/1.1 transport against tiny scripted servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from adapter.transport import FastTransport, _Connection

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def server(handler: Handler) -> AsyncIterator[tuple[str, list[int]]]:
    """Serve `handler` per connection; yields the base URL and a list counting connections."""
    connections: list[int] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    srv = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    async with srv:
        yield f"http://127.0.0.1:{port}", connections


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head + await reader.readexactly(length)


def response(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        try:
            request = await read_request(reader)
        except asyncio.IncompleteReadError:
            return
        writer.write(response(request.split(b"\r\n\r\n", 1)[1] or b"empty"))
        await writer.drain()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=FastTransport(), timeout=2) as http:
        yield http


async def test_keep_alive_reuses_one_connection(client: httpx.AsyncClient) -> None:
    async with server(keep_alive) as (url, connections):
        for i in range(5):
            reply = await client.post(url, content=b"ping %d" % i)
            assert reply.status_code == 200
            assert reply.content == b"ping %d" % i
    assert len(connections) == 1


async def test_request_head_carries_method_path_and_headers(client: httpx.AsyncClient) -> None:
    seen: list[bytes] = []

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await read_request(reader))
        writer.write(response(b"ok"))
        await writer.drain()

    async with server(record) as (url, _):
        await client.post(f"{url}/v1beta/models/m:streamGenerateContent?alt=sse",
                          content=b"{}", headers={"x-goog-api-key": "k"})
    head = seen[0].split(b"\r\n")
    assert head[0] == b"POST /v1beta/models/m:streamGenerateContent?alt=sse HTTP/1.1"
    assert b"x-goog-api-key: k" in head
    assert seen[0].endswith(b"\r\n\r\n{}")


async def test_closed_idle_connection_is_replaced(client: httpx.AsyncClient) -> None:
    async def one_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(response(b"once"))  # claims keep-alive, then hangs up
        await writer.drain()

    async with server(one_then_close) as (url, connections):
        assert (await client.get(url)).content == b"once"
        await asyncio.sleep(0.05)
        assert (await client.get(url)).content == b"once"
    assert len(connections) == 2


async def test_chunked_stream_arrives_piece_by_piece(client: httpx.AsyncClient) -> None:
    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                     b"Content-Type: text/event-stream\r\n\r\n")
        for piece in (b"data: 1\r\n\r\n", b"data: 2\r\n\r\n"):
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
            await asyncio.sleep(0.05)
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    async with server(chunked) as (url, _), client.stream("GET", url) as reply:
        assert reply.headers["content-type"] == "text/event-stream"
        pieces = [piece async for piece in reply.aiter_bytes()]
    assert pieces == [b"data: 1\r\n\r\n", b"data: 2\r\n\r\n"]


async def test_body_until_close(client: httpx.AsyncClient) -> None:
    async def until_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it")
        await writer.drain()

    async with server(until_close) as (url, _):
        assert (await client.get(url)).content == b"all of it"


async def test_large_body_with_back_pressure(client: httpx.AsyncClient) -> None:
    big = bytes(range(256)) * 16384  # 4 MiB

    async def large(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(response(big))
        await writer.drain()

    async with server(large) as (url, _), client.stream("GET", url) as reply:
        received = bytearray()
        async for piece in reply.aiter_bytes():
            received += piece
            await asyncio.sleep(0)
    assert bytes(received) == big


async def test_silence_is_a_read_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(2)

    async with httpx.AsyncClient(transport=FastTransport(), timeout=0.2) as http, \
            server(silent) as (url, _):
        with pytest.raises(httpx.ReadTimeout):
            await http.get(url)


async def test_silence_mid_body_is_a_read_timeout() -> None:
    async def stalls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart")
        await writer.drain()
        await asyncio.sleep(2)

    async with httpx.AsyncClient(transport=FastTransport(), timeout=0.2) as http, \
            server(stalls) as (url, _), http.stream("GET", url) as reply:
        with pytest.raises(httpx.ReadTimeout):
            await reply.aread()


async def test_timer_firing_early_still_times_out(monkeypatch) -> None:
    """uvloop's timers run on a clock with millisecond steps: one may fire just before
    time.monotonic() says its delay has passed. That must not start the whole wait again."""
    wait = _Connection.wait

    async def early(self: _Connection, timeout: float | None) -> None:
        await wait(self, None if timeout is None else max(0.0, timeout - 0.002))

    monkeypatch.setattr(_Connection, "wait", early)

    async def late_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(1)
        writer.write(b"late")
        await writer.drain()

    async with httpx.AsyncClient(transport=FastTransport(), timeout=0.2) as http, \
            server(late_body) as (url, _):
        started = asyncio.get_running_loop().time()
        with pytest.raises(httpx.ReadTimeout):
            await http.get(url)
        assert asyncio.get_running_loop().time() - started < 0.6


async def test_bytes_that_bring_no_data_do_not_extend_the_wait() -> None:
    """The wait for body data is one deadline: wake-ups without data (framing trickling in)
    do not start it again."""
    async def trickles(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(20):  # a chunk-size line, one byte at a time: no body yet
            await asyncio.sleep(0.05)
            writer.write(b"0")
            await writer.drain()
        writer.write(b"1\r\nx\r\n0\r\n\r\n")
        await writer.drain()

    async with httpx.AsyncClient(transport=FastTransport(), timeout=0.3) as http, \
            server(trickles) as (url, _), http.stream("GET", url) as reply:
        with pytest.raises(httpx.ReadTimeout):
            await reply.aread()


async def test_cut_body_is_a_read_error(client: httpx.AsyncClient) -> None:
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart")
        await writer.drain()

    async with server(cut) as (url, _), client.stream("GET", url) as reply:
        with pytest.raises(httpx.ReadError):
            await reply.aread()


async def test_refused_connection_is_a_connect_error(client: httpx.AsyncClient) -> None:
    async with server(keep_alive) as (url, _):
        pass
    with pytest.raises(httpx.ConnectError):
        await client.get(url)


async def test_garbage_is_a_protocol_error(client: httpx.AsyncClient) -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()

    async with server(garbage) as (url, _):
        with pytest.raises(httpx.TransportError):
            await client.get(url)


async def test_idle_connections_are_closed_after_their_expiry(monkeypatch) -> None:
    monkeypatch.setattr("adapter.transport._KEEPALIVE_EXPIRY", 0.1)
    monkeypatch.setattr("adapter.transport._SWEEP_EVERY", 0.05)
    transport = FastTransport()
    async with httpx.AsyncClient(transport=transport) as http, server(keep_alive) as (url, _):
        await asyncio.gather(*(http.post(url, content=b"x") for _ in range(5)))
        assert len(transport._open) == 5  # kept for reuse after the burst
        await asyncio.sleep(0.35)
        assert transport._open == set()  # and given back once idle past the expiry


async def test_slow_answer_on_a_reused_connection_is_not_sent_twice() -> None:
    requests: list[bytes] = []

    async def slow_second(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                requests.append(await read_request(reader))
            except asyncio.IncompleteReadError:
                return
            if len(requests) > 1:
                await asyncio.sleep(1)  # thinking, past the client's limit
            writer.write(response(b"ok"))
            await writer.drain()

    async with httpx.AsyncClient(transport=FastTransport(), timeout=0.3) as http, \
            server(slow_second) as (url, _):
        assert (await http.post(url, content=b"first")).content == b"ok"
        with pytest.raises(httpx.ReadTimeout):
            await http.post(url, content=b"second")  # goes out on the kept-alive connection
        await asyncio.sleep(0.1)
    assert len(requests) == 2  # a timeout is not a dead connection: no silent resend
