"""A lean HTTP/1.1 transport for httpx, on asyncio and httptools' C parser.

httpx's default transport (httpcore, h11, anyio) costs about 4 ms of CPU for a 20-event stream,
three quarters of what the adapter spends per request. This transport keeps httpx as the client
API and does the same job in a fraction: a keep-alive pool per origin, TLS, connect and read
timeouts (the read timeout bounds the wait for the status line and every later body read), and
back-pressure on slow readers. It raises httpx's own exceptions, so callers see no difference.

It speaks HTTP/1.1 only and does not do proxies: `app.py` uses httpx's default transport when a
proxy is configured in the environment.
"""

from __future__ import annotations

import asyncio
import collections
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable, Mapping

import certifi
import httptools
import httpx

_HIGH_WATER = 1 << 20  # pause reading when this many body bytes wait for the reader
_KEEPALIVE_EXPIRY = 4.0  # idle seconds before reuse stops: under the usual 5 s server timeout
_SWEEP_EVERY = _KEEPALIVE_EXPIRY / 3  # so none outlives its expiry by more than a third
_MAX_IDLE = 256  # idle connections kept per origin; beyond, the oldest are closed


class BlockedAddress(httpx.ConnectError):
    """The host resolves to an address the transport's guard refuses."""


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection carrying one request at a time."""

    def __init__(self, origin: tuple[bytes, bytes, int]) -> None:
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.error: Exception | None = None
        self.idle_since = 0.0
        self.used = False
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.headers_done = False
        self.keep_alive = False
        self.complete = False
        self.body: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self.waiter: asyncio.Future[None] | None = None
        self.reading_paused = False
        self.bytes_seen = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.bytes_seen = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.error = httpx.RemoteProtocolError(f"malformed HTTP response: {exc}")
            self.close()
        self._wake()

    def eof_received(self) -> bool:
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.headers_done and not self.complete and not any(
                name.lower() in (b"content-length", b"transfer-encoding")
                for name, _ in self.headers):
            self.complete = True  # a body delimited by the end of the connection
        if not self.complete and self.error is None:
            self.error = httpx.RemoteProtocolError(
                "Server disconnected without sending a complete response.")
        self._wake()

    # httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.keep_alive = self.parser.should_keep_alive()
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.body.append(body)
        self.buffered += len(body)
        if self.buffered > _HIGH_WATER and not self.reading_paused and self.transport:
            self.reading_paused = True
            self.transport.pause_reading()

    def on_message_complete(self) -> None:
        self.complete = True

    # used by the transport

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, timeout: float | None) -> None:
        """Wait for more from the server, at most `timeout` seconds."""
        loop = asyncio.get_running_loop()
        waiter = self.waiter = loop.create_future()
        timer = loop.call_later(timeout, self._wake) if timeout is not None else None
        try:
            await waiter
        finally:
            self.waiter = None
            if timer is not None:
                timer.cancel()

    def send(self, data: bytes) -> None:
        assert self.transport is not None
        self.used = True
        self._reset()
        self.parser = httptools.HttpResponseParser(self)
        self.transport.write(data)

    def take_body(self) -> bytes:
        data = b"".join(self.body) if len(self.body) > 1 else self.body.popleft()
        self.body.clear()
        self.buffered = 0
        if self.reading_paused and self.transport is not None:
            self.reading_paused = False
            self.transport.resume_reading()
        return data

    def reusable(self) -> bool:
        return self.complete and self.keep_alive and not self.closed and self.error is None

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class _ResponseStream(httpx.AsyncByteStream):
    """The body of one response; gives the connection back to the pool when read to the end."""

    def __init__(self, pool: FastTransport, connection: _Connection, timeout: float | None,
                 first_timeout: float | None) -> None:
        self._pool = pool
        self._connection = connection
        self._timeout = first_timeout  # until the first body bytes; then `timeout` per gap
        self._gap_timeout = timeout
        self._released = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self._connection
        deadline: float | None = None  # when the current wait for data runs out
        while True:
            if connection.body:
                self._timeout = self._gap_timeout
                deadline = None
                yield connection.take_body()
                continue
            if connection.complete:
                break
            if connection.error is not None:
                raise httpx.ReadError(str(connection.error))
            if self._timeout is None:
                await connection.wait(None)
                continue
            if deadline is None:
                deadline = time.monotonic() + self._timeout
            # A deadline, not a fresh timeout per wake: the event loop's timers may fire a
            # little early (uvloop keeps milliseconds), which must not restart the wait.
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                connection.close()
                raise httpx.ReadTimeout(f"no data for {self._timeout:g} s")
            await connection.wait(remaining)

    async def aclose(self) -> None:
        if not self._released:
            self._released = True
            self._pool.release(self._connection)


class FastTransport(httpx.AsyncBaseTransport):
    """httpx transport: HTTP/1.1 keep-alive connections pooled per origin."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None,
                 address_guard: Callable[[str], bool] | None = None) -> None:
        """`address_guard`, when given, must accept every address a host resolves to; the
        connection then goes to the address that was checked (no second DNS lookup)."""
        self._idle: dict[tuple[bytes, bytes, int], list[_Connection]] = {}
        self._ssl = ssl_context
        self._guard = address_guard
        self._open: set[_Connection] = set()
        self._sweeper: asyncio.TimerHandle | None = None

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context(cafile=certifi.where())
        return self._ssl

    async def _connect(self, origin: tuple[bytes, bytes, int],
                       timeout: float | None) -> _Connection:
        scheme, raw_host, port = origin
        host = raw_host.decode("ascii")
        loop = asyncio.get_running_loop()
        tls = scheme == b"https"
        try:
            async with asyncio.timeout(timeout):
                address = await self._checked_address(host, port) if self._guard else host
                _, connection = await loop.create_connection(
                    lambda: _Connection(origin), address, port,
                    ssl=self._ssl_context() if tls else None,
                    server_hostname=host if tls else None)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from None
        except (OSError, ValueError) as exc:  # ValueError: a name the resolver cannot encode
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc}") from None
        self._open.add(connection)
        return connection

    async def _checked_address(self, host: str, port: int) -> str:
        assert self._guard is not None
        infos = await asyncio.get_running_loop().getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM)
        addresses = [str(info[4][0]) for info in infos]  # an IPv4 or IPv6 address
        if not addresses or not all(self._guard(address) for address in addresses):
            raise BlockedAddress(f"{host} resolves to an address that may not be reached")
        return addresses[0]

    def _idle_connection(self, origin: tuple[bytes, bytes, int]) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            if not connection.closed and now - connection.idle_since < _KEEPALIVE_EXPIRY:
                return connection
            self._discard(connection)
        return None

    def release(self, connection: _Connection) -> None:
        if not connection.reusable():
            self._discard(connection)
            return
        connection.idle_since = time.monotonic()
        idle = self._idle.setdefault(connection.origin, [])
        idle.append(connection)
        while len(idle) > _MAX_IDLE:
            self._discard(idle.pop(0))
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().call_later(_SWEEP_EVERY, self._sweep)

    def _sweep(self) -> None:
        """Close connections idle past their expiry, so a burst's descriptors are given back."""
        self._sweeper = None
        cutoff = time.monotonic() - _KEEPALIVE_EXPIRY
        for idle in self._idle.values():
            while idle and (idle[0].closed or idle[0].idle_since <= cutoff):
                self._discard(idle.pop(0))  # oldest first: the list is in release order
        if any(self._idle.values()):
            self._sweeper = asyncio.get_running_loop().call_later(_SWEEP_EVERY, self._sweep)

    def _discard(self, connection: _Connection) -> None:
        connection.close()
        self._open.discard(connection)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        port = url.port or (443 if url.raw_scheme == b"https" else 80)
        origin = (url.raw_scheme, url.raw_host, port)
        timeouts = request.extensions.get("timeout", {})
        # A caller may allow longer (a model thinking) before the answer's first byte.
        first_byte = request.extensions.get("first_byte_timeout", timeouts.get("read"))
        head = _request_head(request)
        body = await request.aread()
        payload = head + body if len(body) < 65536 else None
        for attempt in (0, 1):
            connection = self._idle_connection(origin) if attempt == 0 else None
            reused = connection is not None
            if connection is None:
                connection = await self._connect(origin, timeouts.get("connect"))
            if payload is not None:
                connection.send(payload)
            else:
                connection.send(head)
                assert connection.transport is not None
                connection.transport.write(body)
            try:
                await self._wait_for_head(connection, first_byte)
            except httpx.TransportError as exc:
                self._discard(connection)
                # A kept-alive connection the server had closed: nothing was processed. Not a
                # timeout: a slow server may be working on the request, and sending it again
                # would run it twice.
                if reused and not connection.bytes_seen \
                        and not isinstance(exc, httpx.TimeoutException):
                    continue
                raise
            except BaseException:
                self._discard(connection)
                raise
            return httpx.Response(
                connection.status,
                headers=connection.headers,
                stream=_ResponseStream(self, connection, timeouts.get("read"), first_byte),
                extensions={"http_version": b"HTTP/1.1"},
            )
        raise AssertionError("unreachable")

    async def _wait_for_head(self, connection: _Connection, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not connection.headers_done:
            if connection.error is not None:
                raise httpx.ReadError(str(connection.error))
            if connection.closed:
                raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise httpx.ReadTimeout(f"no response within {timeout:g} s")
            await connection.wait(remaining)

    async def aclose(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for connection in list(self._open):
            connection.close()
        self._open.clear()
        self._idle.clear()


def _request_head(request: httpx.Request) -> bytes:
    target = request.url.raw_path
    lines = [request.method.encode("ascii") + b" " + target + b" HTTP/1.1"]
    lines.extend(name + b": " + value for name, value in request.headers.raw)
    return b"\r\n".join(lines) + b"\r\n\r\n"


def proxies_configured(environ: Mapping[str, str]) -> bool:
    """Whether httpx would route requests through a proxy because of the environment."""
    return any(environ.get(name) for name in (
        "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"))
