"""The HTTP protocol `python -m adapter` serves with: uvicorn's, with two TCP options on each
connection so that a client that stops reading is noticed soon and then dropped.

A stream ends when one of its writes waits `ADAPTER_WRITE_TIMEOUT` seconds for the client (see
EventStreamResponse). The process only sees the client take data when the kernel lets it write
again, which by default is once a third of the socket's send buffer (up to 4 MB) is free: the
timeout would then measure megabytes, not a stall. TCP_NOTSENT_LOWAT keeps at most
NOTSENT_LOWAT bytes queued unsent in the kernel, so each write waits for that much progress
at most (and a stalled client pins that much kernel memory, not megabytes).

When the stream ends, uvicorn closes the connection with `transport.close()`, which waits until
every buffered byte has been sent: for a client that never reads again, never; the socket would
stay. TCP_USER_TIMEOUT makes the kernel drop a connection whose data stays unacknowledged, or
unsent for want of room in the client's receive window, for `ADAPTER_WRITE_TIMEOUT`; the process
then sees the connection lost and frees it. A client that keeps reading resets that clock.

Both options are Linux's; elsewhere the stream still ends, but a stalled connection stays open.
"""

from __future__ import annotations

import asyncio
import functools
import socket
from typing import TYPE_CHECKING

from .config import Settings

if TYPE_CHECKING:  # uvicorn picks its class at import time; both have the same interface
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as AutoHTTPProtocol
else:
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

NOTSENT_LOWAT = 128 * 1024


@functools.cache
def user_timeout_ms() -> int:
    """ADAPTER_WRITE_TIMEOUT in milliseconds (each worker reads its settings from the
    environment, as the app does)."""
    return max(1, round(Settings.from_env().write_timeout * 1000))


class HTTPProtocol(AutoHTTPProtocol):
    """uvicorn's HTTP/1.1 protocol (httptools or h11, as uvicorn picks), with the options set
    on each TCP connection as it is accepted."""

    # A stream server's protocol is given a Transport; uvicorn's own classes narrow it likewise.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            if hasattr(socket, "TCP_NOTSENT_LOWAT"):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NOTSENT_LOWAT, NOTSENT_LOWAT)
            if hasattr(socket, "TCP_USER_TIMEOUT"):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, user_timeout_ms())
        super().connection_made(transport)
