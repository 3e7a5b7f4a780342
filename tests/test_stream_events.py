"""Gemini stream events as the upstream client reads them: error events raise, keys masked;
transport failures become the adapter's errors, before the stream and inside it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import orjson
import pytest

from adapter.retry import RetryPolicy
from adapter.translate.errors import (
    AdapterError,
    UpstreamDisconnected,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from adapter.upstream import GeminiClient, stream_event, transport_error

KEY = "AIzaSyD-this-is-the-requests-own-key-0001"
OTHER = "server-pool-key-secret"


def test_an_event_is_parsed() -> None:
    assert stream_event(b'{"candidates": []}', ()) == {"candidates": []}


@pytest.mark.parametrize("status", [400, 429, 500, 503])
def test_error_event_raises_with_its_status(status: int) -> None:
    error = {"error": {"code": status, "message": "went wrong", "status": "SOME_STATUS"}}
    with pytest.raises(AdapterError) as caught:
        stream_event(orjson.dumps(error), ())
    assert isinstance(caught.value, UpstreamError)
    assert caught.value.status == status
    assert caught.value.message == "went wrong"
    assert caught.value.code == {400: None, 429: "rate_limit_exceeded"}.get(status, "server_error")
    assert caught.value.gemini_status == "SOME_STATUS"


@pytest.mark.parametrize("error", [{"message": "boom"}, {"code": "x", "message": "boom"},
                                   {"code": 99999}, "just text", None, [1, 2]])
def test_error_event_without_a_usable_code_is_a_500(error: object) -> None:
    with pytest.raises(AdapterError) as caught:
        stream_event(orjson.dumps({"error": error}), ())
    assert caught.value.status == 500


def test_error_event_masks_the_key_in_message_and_code() -> None:
    error = {"error": {"code": 400, "status": f"BAD {KEY}",
                       "message": f"API key {KEY} and {OTHER} not valid"}}
    with pytest.raises(AdapterError) as caught:
        stream_event(orjson.dumps(error), (KEY, OTHER))
    text = orjson.dumps(caught.value.body()).decode()
    assert KEY not in text and OTHER not in text
    assert caught.value.code is None  # the echoed status is not copied (a 400 has no code)
    assert "gemini_status" not in caught.value.body()["error"]


def test_a_google_key_nobody_named_is_masked_too() -> None:
    stray = "AIza" + "B" * 35
    with pytest.raises(AdapterError) as caught:
        stream_event(orjson.dumps({"error": {"code": 403, "message": f"key {stray} blocked"}}),
                     ())
    assert stray not in caught.value.message


@pytest.mark.parametrize("payload", [b"[1, 2]", b'"text"', b"not json", b"null"])
def test_an_event_that_is_not_an_object_is_a_502(payload: bytes) -> None:
    with pytest.raises(AdapterError) as caught:
        stream_event(payload, ())
    assert caught.value.status == 502


BASE = "http://gemini.test"


@pytest.mark.parametrize(("exc", "streaming", "kind", "words"), [
    (httpx.ConnectError("refused"), False, UpstreamUnreachable, "Could not reach"),
    (httpx.RemoteProtocolError("eof"), False, UpstreamUnreachable, "Could not reach"),
    (httpx.ConnectTimeout("slow"), False, UpstreamTimeout, "did not answer in time"),
    (httpx.ReadTimeout("slow"), False, UpstreamTimeout, "did not answer in time"),
    (httpx.ReadTimeout("slow"), True, UpstreamTimeout, "sent nothing for the time allowed"),
    (httpx.ReadError("reset"), True, UpstreamDisconnected, "broke mid-stream"),
    (httpx.ConnectError("refused"), True, UpstreamDisconnected, "broke mid-stream"),
])
def test_one_mapping_of_transport_failures(exc: httpx.HTTPError, streaming: bool,
                                           kind: type[AdapterError], words: str) -> None:
    error = transport_error(exc, BASE, streaming=streaming)
    assert type(error) is kind
    assert words in error.message
    assert (BASE in error.message) is not streaming


class _Body(httpx.AsyncByteStream):
    """A response body that sends `chunks`, then fails with `failure` (if any)."""

    def __init__(self, chunks: list[bytes], failure: Exception | None) -> None:
        self._chunks = chunks
        self._failure = failure

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk
        if self._failure is not None:
            raise self._failure


def client_for(handler: Callable[[httpx.Request], httpx.Response], retries: int = 0,
               ) -> GeminiClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return GeminiClient(http, BASE, first_byte_timeout=5.0, secrets=(), pool=None,
                        retry=RetryPolicy(retries, 10.0), max_streams=1, queue_timeout=1.0)


async def read_stream(client: GeminiClient) -> list[dict[str, object]]:
    stream = await client.open_stream("gemini-2.5-flash", b"{}", "key")
    events: list[dict[str, object]] = []
    try:
        async for batch in stream.batches():
            events.extend(batch)
    finally:
        await stream.aclose()
    return events


SSE = ("text/event-stream", b'data: {"candidates": []}\r\n\r\n')
JSON_ARRAY = ("application/json", b'[{"candidates": []},\n{"candi')  # ends inside an event


@pytest.mark.parametrize(("body", "failure", "kind", "code"), [
    (SSE, httpx.ReadTimeout("quiet"), UpstreamTimeout, "upstream_timeout"),
    (SSE, httpx.ReadError("reset"), UpstreamDisconnected, "upstream_disconnected"),
    (JSON_ARRAY, None, UpstreamDisconnected, "upstream_disconnected"),
])
async def test_a_stream_that_breaks_after_it_began(
        body: tuple[str, bytes], failure: Exception | None, kind: type[AdapterError],
        code: str) -> None:
    content_type, data = body
    client = client_for(lambda request: httpx.Response(
        200, headers={"content-type": content_type}, stream=_Body([data], failure)))
    with pytest.raises(AdapterError) as caught:
        await read_stream(client)
    assert type(caught.value) is kind and caught.value.code == code


async def test_an_unreachable_upstream_is_retried_then_reported() -> None:
    calls: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("refused")

    with pytest.raises(UpstreamUnreachable) as caught:
        await read_stream(client_for(refuse, retries=1))
    assert len(calls) == 2
    assert caught.value.body()["error"]["code"] == "upstream_unreachable"


async def test_a_timeout_before_the_answer_is_not_retried() -> None:
    calls: list[httpx.Request] = []

    def slow(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadTimeout("slow")

    with pytest.raises(UpstreamTimeout):
        await read_stream(client_for(slow, retries=2))
    assert len(calls) == 1


async def test_the_retry_after_header_reaches_the_error() -> None:
    client = client_for(lambda request: httpx.Response(
        429, headers={"retry-after": "42"}, json={"error": {"code": 429, "message": "slow"}}))
    with pytest.raises(UpstreamError) as caught:
        await read_stream(client)
    assert caught.value.retry_after == 42.0
