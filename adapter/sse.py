"""Incremental decoders for Gemini's two stream formats, and the SSE encoders for our answers
(Chat Completions' `data:` events and `[DONE]`, Responses' typed events)."""

from __future__ import annotations

import re
from typing import Any

import orjson


class SSEDecoder:
    """Splits `alt=sse` bytes into the `data` payloads of complete events.

    Events end with a blank line (Gemini sends CRLF CRLF); a partial event waits for more bytes.
    """

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> list[bytes]:
        buffer = self._buffer + data
        if b"\r" in buffer:
            buffer = buffer.replace(b"\r\n", b"\n")
        *events, self._buffer = buffer.split(b"\n\n")
        payloads = []
        for event in events:
            if event.startswith(b"data: ") and b"\n" not in event:
                payloads.append(event[6:])
                continue
            lines = [line[5:].removeprefix(b" ") for line in event.split(b"\n")
                     if line.startswith(b"data:")]
            if lines:
                payloads.append(b"\n".join(lines))
        return payloads

    @property
    def pending(self) -> bytes:
        """Bytes of an event that has not been completed yet."""
        return self._buffer

    def flush(self) -> list[bytes]:
        """At the end of the stream: the last event, if it lacked its closing blank line."""
        return self.feed(b"\n\n") if self._buffer.strip() else []


_OUTSIDE_STRING = re.compile(rb'[{}"]')
_INSIDE_STRING = re.compile(rb'["\\]')


class JSONArrayDecoder:
    """Splits the JSON-array stream (`streamGenerateContent` without `alt=sse`) into the raw
    bytes of each top-level object as soon as that object is complete."""

    __slots__ = ("_buffer", "_depth", "_in_string", "_pos", "_start")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._pos = 0
        self._depth = 0
        self._in_string = False
        self._start = 0

    def feed(self, data: bytes) -> list[bytes]:
        buffer = self._buffer
        buffer += data
        pos, depth, in_string, start = self._pos, self._depth, self._in_string, self._start
        objects = []
        while True:
            if in_string:
                match = _INSIDE_STRING.search(buffer, pos)
                if match is None:
                    pos = len(buffer)
                    break
                at = match.start()
                if buffer[at] == 0x5C:  # backslash: skip the escaped character
                    if at + 1 >= len(buffer):
                        pos = at
                        break
                    pos = at + 2
                    continue
                in_string = False
                pos = at + 1
                continue
            match = _OUTSIDE_STRING.search(buffer, pos)
            if match is None:
                pos = len(buffer)
                break
            at = match.start()
            pos = at + 1
            char = buffer[at]
            if char == 0x22:
                in_string = True
            elif char == 0x7B:
                if depth == 0:
                    start = at
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    objects.append(bytes(buffer[start:pos]))
        keep_from = start if depth else pos
        del buffer[:keep_from]
        self._pos, self._depth, self._in_string = pos - keep_from, depth, in_string
        self._start = start - keep_from if depth else 0
        return objects

    @property
    def pending(self) -> bytes:
        return bytes(self._buffer).strip(b" \r\n,[]")

    def flush(self) -> list[bytes]:
        """At the end of the stream: nothing more can complete."""
        return []


def encode_event(payload: Any) -> bytes:
    """One SSE event carrying `payload` as JSON: Chat Completions' events."""
    return b"data: " + orjson.dumps(payload) + b"\n\n"


DONE = b"data: [DONE]\n\n"
"""The event that ends a Chat Completions stream."""


class _Heads(dict[str, bytes]):
    """`event: <type>` and the `data: ` that follows, made once per event type."""

    def __missing__(self, kind: str) -> bytes:
        head = self[kind] = f"event: {kind}\ndata: ".encode()
        return head


_HEADS = _Heads()


def encode_typed(events: list[dict[str, Any]]) -> bytes:
    """Responses events, each with an `event:` line naming its `type`, in one piece."""
    if not events:
        return b""
    dumps, heads = orjson.dumps, _HEADS
    encoded = [heads[event["type"]] + dumps(event) for event in events]
    encoded.append(b"")  # so that the last event ends with its blank line too
    return b"\n\n".join(encoded)
