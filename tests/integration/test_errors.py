"""Every error a client can meet is OpenAI-shaped, with the right status, streaming or not."""

from __future__ import annotations

import httpx
import openai
import pytest

from ..fake_gemini import FakeGemini, Reply, fixture_json
from ..servers import free_port
from .helpers import SERVER_KEY, assert_openai_error

MODEL = "gemini-2.5-flash"
HELLO = [{"role": "user", "content": "hi"}]


def post(url: str, body: object, **kw) -> httpx.Response:
    return httpx.post(f"{url}/v1/chat/completions", json=body, timeout=20, **kw)


@pytest.mark.parametrize(("body", "param", "words"), [
    ({"messages": HELLO}, "model", "model"),
    ({"model": "", "messages": HELLO}, "model", "model"),
    ({"model": "a/b?c", "messages": HELLO}, "model", "not a valid model"),
    ({"model": MODEL}, "messages", "messages"),
    ({"model": MODEL, "messages": []}, "messages", "at least one"),
    ({"model": MODEL, "messages": "hi"}, "messages", "array"),
    ({"model": MODEL, "messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role",
     "wizard"),
    ({"model": MODEL, "messages": HELLO, "temperature": "hot"}, "temperature", "number"),
    ({"model": MODEL, "messages": HELLO, "max_tokens": 1.5}, "max_tokens", "integer"),
    ({"model": MODEL, "messages": HELLO, "n": True}, "n", "integer"),
    ({"model": MODEL, "messages": HELLO, "stop": [1]}, "stop[0]", "string"),
    ({"model": MODEL, "messages": HELLO, "stream": "yes"}, "stream", "boolean"),
    ({"model": MODEL, "messages": [*HELLO, {"role": "tool", "tool_call_id": "call_x",
                                            "content": "42"}]},
     "messages[1].tool_call_id", "call_x"),
    ({"model": MODEL, "messages": [{"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{oops"}}]}]},
     "messages[0].tool_calls[0].function.arguments", "not valid JSON"),
])
def test_bad_input_is_a_400_naming_the_param(adapter_url, fake: FakeGemini, body, param, words):
    for stream in (False, True):
        error = assert_openai_error(post(adapter_url, {**body, "stream": body.get(
            "stream", stream)}), 400)
        assert error["param"] == param
        assert words in error["message"]
        assert error["type"] == "invalid_request_error"
    assert fake.seen == []


@pytest.mark.parametrize("content", [b"{not json", b"", b"\xff\xfe"])
def test_body_that_is_not_json_is_a_400(adapter_url: str, content: bytes) -> None:
    response = httpx.post(f"{adapter_url}/v1/chat/completions", content=content)
    assert "JSON" in assert_openai_error(response, 400)["message"]


def test_body_that_is_not_an_object_is_a_400(adapter_url: str) -> None:
    assert "object" in assert_openai_error(post(adapter_url, [1, 2]), 400)["message"]


def test_sdk_raises_bad_request_error(client) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=MODEL, messages=[])
    assert info.value.status_code == 400


@pytest.mark.parametrize(("fixture", "status", "sdk_error", "kind", "code"), [
    ("error-400-invalid-argument.json", 400, openai.BadRequestError,
     "invalid_request_error", None),
    ("error-400-api-key-invalid.json", 400, openai.BadRequestError,
     "invalid_request_error", "invalid_api_key"),
    ("error-400-input-token-count-exceeded.json", 400, openai.BadRequestError,
     "invalid_request_error", "context_length_exceeded"),
    ("error-403-permission-denied-service-disabled.json", 403, openai.PermissionDeniedError,
     "invalid_request_error", None),
    ("error-404-model-not-found.json", 404, openai.NotFoundError,
     "invalid_request_error", "model_not_found"),
    ("error-429-rate-limit-exceeded-errorinfo.json", 429, openai.RateLimitError,
     "requests", "rate_limit_exceeded"),
    ("error-429-resource-exhausted-retry-info-trimmed.json", 429, openai.RateLimitError,
     "requests", "rate_limit_exceeded"),
    ("error-429-input-tokens-per-minute.json", 429, openai.RateLimitError,
     "tokens", "rate_limit_exceeded"),
])
def test_upstream_errors_in_openai_words(client, fake: FakeGemini, fixture, status, sdk_error,
                                         kind, code) -> None:
    """The status and message are Gemini's; `type` and `code` are what OpenAI sends for the
    same failure, so code that branches on `err.code == "rate_limit_exceeded"` works; Gemini's
    own status rides beside them."""
    gemini = fixture_json(fixture)["error"]
    for stream in (False, True):
        fake.queue(Reply.error(fixture, status))
        with pytest.raises(sdk_error) as info:
            result = client.chat.completions.create(model=MODEL, messages=HELLO, stream=stream)
            list(result) if stream else None
        assert info.value.status_code == status
        assert info.value.body["message"] == gemini["message"]
        assert (info.value.type, info.value.code) == (kind, code)
        assert info.value.body["gemini_status"] == gemini["status"]


@pytest.mark.parametrize(("status", "gemini_status", "sdk_error", "kind", "code"), [
    (401, "UNAUTHENTICATED", openai.AuthenticationError, "invalid_request_error",
     "invalid_api_key"),
    (500, "INTERNAL", openai.InternalServerError, "server_error", "server_error"),
    (503, "UNAVAILABLE", openai.InternalServerError, "server_error", "server_error"),
    (504, "DEADLINE_EXCEEDED", openai.InternalServerError, "server_error", "server_error"),
])
def test_other_upstream_statuses_in_openai_words(client, fake: FakeGemini, status, gemini_status,
                                                 sdk_error, kind, code) -> None:
    body = {"error": {"code": status, "message": f"upstream says {status}",
                      "status": gemini_status}}
    fake.queue(Reply.body(body, status))
    with pytest.raises(sdk_error) as info:
        client.chat.completions.create(model=MODEL, messages=HELLO)
    assert info.value.status_code == status
    assert info.value.body["message"] == f"upstream says {status}"
    assert (info.value.type, info.value.code) == (kind, code)
    assert info.value.body["gemini_status"] == gemini_status


def test_responses_api_errors_in_openai_words(client, fake: FakeGemini) -> None:
    fake.queue(Reply.error("error-429-resource-exhausted-retry-info-trimmed.json", 429))
    with pytest.raises(openai.RateLimitError) as info:
        client.responses.create(model=MODEL, input="hi")
    assert (info.value.type, info.value.code) == ("requests", "rate_limit_exceeded")
    fake.queue(Reply.error("error-404-model-not-found.json", 404))
    with pytest.raises(openai.NotFoundError) as info:
        client.responses.create(model=MODEL, input="hi")
    assert (info.value.type, info.value.code) == ("invalid_request_error", "model_not_found")


def test_rate_limit_carries_retry_after(adapter_url, fake: FakeGemini) -> None:
    fake.queue(Reply.error("error-429-resource-exhausted-retry-info-trimmed.json", 429))
    response = post(adapter_url, {"model": MODEL, "messages": HELLO, "stream": True})
    assert_openai_error(response, 429)
    assert response.headers["retry-after"] == "35"  # RetryInfo.retryDelay "34.4s", rounded up


def test_404_on_a_stream_request_answered_as_event_stream(adapter_url, fake: FakeGemini) -> None:
    recording = fixture_json("jsgenai-recordings/stream-error-404-model-not-found.recording.json")
    body = recording["interactions"][0]["response"]["bodySegments"][0]
    fake.queue(Reply(status=404, chunks=[httpx.Response(200, json=body).content]))
    error = assert_openai_error(post(adapter_url, {"model": "custom-gemini-2.0-flash",
                                                   "messages": HELLO, "stream": True}), 404)
    assert "custom-gemini-2.0-flash is not found" in error["message"]


def test_keys_never_leak_from_upstream_errors(start_adapter, fake: FakeGemini) -> None:
    url = start_adapter(GEMINI_API_KEY="key1234")  # the key the recorded DebugInfo echoes
    fake.queue(Reply.error("error-400-api-key-invalid.json", 400))
    response = post(url, {"model": MODEL, "messages": HELLO})
    assert_openai_error(response, 400)
    assert "key1234" not in response.text


def test_mid_stream_drop_raises_in_the_sdk(client, fake: FakeGemini) -> None:
    fake.queue(Reply(chunks=Reply.sse("stream-sse-text.txt").chunks[:2], drop=True))
    stream = client.chat.completions.create(model=MODEL, messages=HELLO, stream=True)
    received = []
    with pytest.raises(openai.APIError) as info:
        for chunk in stream:
            received.append(chunk)
    assert "".join(c.choices[0].delta.content for c in received) == "The capital of France"
    assert "broke mid-stream" in info.value.message


def test_stream_that_ends_without_finishing_is_an_error(client, fake: FakeGemini) -> None:
    fake.queue(Reply(chunks=Reply.sse("stream-sse-text.txt").chunks[:2]))
    with pytest.raises(openai.APIError) as info:
        list(client.chat.completions.create(model=MODEL, messages=HELLO, stream=True))
    assert "before the answer was complete" in info.value.message


def test_mid_stream_drop_without_streaming_is_a_502(adapter_url, fake: FakeGemini) -> None:
    fake.queue(Reply(chunks=Reply.sse("stream-sse-text.txt").chunks[:2], drop=True))
    assert_openai_error(post(adapter_url, {"model": MODEL, "messages": HELLO}), 502)


def test_error_event_mid_stream_reaches_the_sdk(client, fake: FakeGemini) -> None:
    first = Reply.sse("stream-sse-text.txt").chunks[0]
    error = b'data: {"error": {"code": 503, "message": "The model is overloaded.", ' \
            b'"status": "UNAVAILABLE"}}\r\n\r\n'
    fake.queue(Reply(chunks=[first, error], delay=0.05))
    with pytest.raises(openai.APIError) as info:
        list(client.chat.completions.create(model=MODEL, messages=HELLO, stream=True))
    assert info.value.message == "The model is overloaded."
    assert (info.value.type, info.value.code) == ("server_error", "server_error")
    assert info.value.body["gemini_status"] == "UNAVAILABLE"


def test_error_event_first_is_a_real_http_status(adapter_url, fake: FakeGemini) -> None:
    fake.queue(Reply(chunks=[b'data: {"error": {"code": 429, "message": "slow down", '
                             b'"status": "RESOURCE_EXHAUSTED"}}\r\n\r\n']))
    response = post(adapter_url, {"model": MODEL, "messages": HELLO, "stream": True})
    error = assert_openai_error(response, 429)
    assert (error["message"], error["type"], error["code"]) == \
        ("slow down", "requests", "rate_limit_exceeded")


def test_unreachable_upstream_is_a_502(start_adapter) -> None:
    url = start_adapter(GEMINI_API_KEY=SERVER_KEY,
                        GEMINI_BASE_URL=f"http://127.0.0.1:{free_port()}")
    for stream in (False, True):
        error = assert_openai_error(post(url, {"model": MODEL, "messages": HELLO,
                                               "stream": stream}), 502)
        assert "Could not reach" in error["message"]
        assert (error["type"], error["code"]) == ("server_error", "upstream_unreachable")
        assert SERVER_KEY not in error["message"]


def test_upstream_timeout_is_a_504(start_adapter, fake: FakeGemini) -> None:
    url = start_adapter(GEMINI_API_KEY=SERVER_KEY, ADAPTER_READ_TIMEOUT="0.3")
    fake.queue(Reply.sse("stream-sse-text.txt", delay=1.0))
    error = assert_openai_error(post(url, {"model": MODEL, "messages": HELLO,
                                           "stream": True}), 504)
    assert "did not answer in time" in error["message"] or "sent nothing" in error["message"]
    assert (error["type"], error["code"]) == ("server_error", "upstream_timeout")


def test_slow_but_live_stream_is_not_cut(start_adapter, fake: FakeGemini) -> None:
    url = start_adapter(GEMINI_API_KEY=SERVER_KEY, ADAPTER_READ_TIMEOUT="0.5")
    fake.queue(Reply.sse("stream-sse-text.txt", delay=0.3))
    response = post(url, {"model": MODEL, "messages": HELLO})
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == \
        "The capital of France is Paris.\n"


def test_unknown_route_and_method_are_openai_shaped(adapter_url: str) -> None:
    assert_openai_error(httpx.get(f"{adapter_url}/v1/nothing-here"), 404)
    assert_openai_error(httpx.get(f"{adapter_url}/v1/chat/completions"), 405)
