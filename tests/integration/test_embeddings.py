"""POST /v1/embeddings with the OpenAI SDK and raw HTTP, over the fake batchEmbedContents."""

from __future__ import annotations

import array
import base64
import struct
import sys
from typing import Any

import httpx
import openai
import pytest

from ..fake_gemini import FakeGemini, Reply, fixture_json
from ..servers import free_port
from .helpers import SERVER_KEY, Echo, assert_openai_error

MODEL = "gemini-embedding-001"
PATH = f"/v1beta/models/{MODEL}:batchEmbedContents"
RECORDED = fixture_json("batch-embed-contents.json")  # two 768-value vectors, 4 prompt tokens
VECTORS = [e["values"] for e in RECORDED["embeddings"]]


def float32(values: list[float]) -> list[float]:
    """`values` as the float32 numbers the base64 wire format carries."""
    return list(struct.unpack(f"<{len(values)}f", struct.pack(f"<{len(values)}f", *values)))


def decode(data: str) -> list[float]:
    values = array.array("f", base64.b64decode(data))
    if sys.byteorder == "big":
        values.byteswap()
    return values.tolist()


def one_vector() -> Reply:
    return Reply.body({"embeddings": RECORDED["embeddings"][:1],
                       "usageMetadata": {"promptTokenCount": 2}})


def post(url: str, body: object, **kw: Any) -> httpx.Response:
    return httpx.post(f"{url}/v1/embeddings", json=body, timeout=20, **kw)


def texts_sent(body: dict[str, Any]) -> list[str]:
    return [r["content"]["parts"][0]["text"] for r in body["requests"]]


def numbered(body: dict[str, Any]) -> Reply:
    """One vector per text "t<i>": [i, i + 0.5], after a pause that lets the calls overlap."""
    numbers = [float(text[1:]) for text in texts_sent(body)]
    return Reply(chunks=[Reply.body({
        "embeddings": [{"values": [n, n + 0.5]} for n in numbers],
        "usageMetadata": {"promptTokenCount": len(numbers)},
    }).chunks[0]], content_type="application/json", delay=0.3)


# --- what the clients get ------------------------------------------------------------------------


def test_string_input_with_the_sdk(client: openai.OpenAI, fake: FakeGemini) -> None:
    fake.queue(one_vector())
    result = client.embeddings.create(model=MODEL, input="The food was delicious.",
                                      encoding_format="float")
    assert result.object == "list"
    assert result.model == MODEL
    [item] = result.data
    assert item.object == "embedding"
    assert item.index == 0
    assert item.embedding == VECTORS[0]  # floats pass through exactly
    assert result.usage.prompt_tokens == result.usage.total_tokens == 2
    [seen] = fake.seen
    assert seen.method == "POST"
    assert seen.path == PATH
    assert seen.query == ""  # the key travels in a header, never in the URL
    assert seen.headers["x-goog-api-key"] == SERVER_KEY
    assert seen.headers["content-type"] == "application/json"
    assert seen.body == {"requests": [{"model": f"models/{MODEL}", "content": {
        "parts": [{"text": "The food was delicious."}]}}]}


def test_list_input_with_dimensions_sdk_default_base64(client, fake: FakeGemini) -> None:
    # Without encoding_format the SDK asks for base64 and decodes it itself.
    fake.queue(Reply.body(RECORDED))
    result = client.embeddings.create(model=MODEL, input=["first text", "second text"],
                                      dimensions=768, user="someone")
    assert [d.index for d in result.data] == [0, 1]
    assert [d.embedding for d in result.data] == [float32(v) for v in VECTORS]
    assert result.usage.prompt_tokens == 4
    [seen] = fake.seen
    assert texts_sent(seen.body) == ["first text", "second text"]
    assert [r["outputDimensionality"] for r in seen.body["requests"]] == [768, 768]
    assert all("user" not in r for r in seen.body["requests"])


def test_sdk_with_explicit_base64_gets_the_strings(client, fake: FakeGemini) -> None:
    fake.queue(Reply.body(RECORDED))
    result = client.embeddings.create(model=MODEL, input=["a", "b"], encoding_format="base64")
    assert all(isinstance(d.embedding, str) for d in result.data)
    assert [decode(d.embedding) for d in result.data] == [float32(v) for v in VECTORS]


def test_base64_wire_format_is_little_endian_float32(adapter_url, fake: FakeGemini) -> None:
    fake.queue(Reply.body({"embeddings": [{"values": [1.0, -2.5, 0.0]}]}))
    response = post(adapter_url, {"model": MODEL, "input": "x", "encoding_format": "base64"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    payload = response.json()
    assert payload["data"] == [{"object": "embedding", "index": 0,
                                "embedding": base64.b64encode(
                                    bytes.fromhex("0000803f000020c000000000")).decode()}]
    assert payload["usage"] == {"prompt_tokens": 0, "total_tokens": 0}  # no usageMetadata


def test_float_wire_format(adapter_url, fake: FakeGemini) -> None:
    fake.queue(Reply.body(RECORDED))
    payload = post(adapter_url, {"model": f"models/{MODEL}", "input": ["a", "b"]}).json()
    assert payload["model"] == f"models/{MODEL}"  # echoed as sent
    assert [d["embedding"] for d in payload["data"]] == VECTORS
    assert fake.seen[0].path == PATH  # the prefix is not doubled in the URL
    assert {r["model"] for r in fake.seen[0].body["requests"]} == {f"models/{MODEL}"}


def test_250_inputs_are_three_concurrent_calls_answered_in_order(
        client, fake: FakeGemini, monkeypatch: pytest.MonkeyPatch) -> None:
    echo = Echo(fake, numbered)
    monkeypatch.setattr(fake, "replies", echo)
    texts = [f"t{i}" for i in range(250)]
    result = client.embeddings.create(model=MODEL, input=texts, encoding_format="float")
    assert [d.index for d in result.data] == list(range(250))
    assert [d.embedding for d in result.data] == [[float(i), i + 0.5] for i in range(250)]
    assert result.usage.total_tokens == 250
    assert len(fake.seen) == 3
    assert all(s.path == PATH and s.headers["x-goog-api-key"] == SERVER_KEY for s in fake.seen)
    batches = sorted((texts_sent(s.body) for s in fake.seen), key=lambda b: int(b[0][1:]))
    assert batches == [texts[:100], texts[100:200], texts[200:]]
    # Each call pauses 0.3 s; one after another, none would find another still open.
    assert max(echo.open_on_arrival) >= 1


def test_the_clients_key_goes_upstream_without_a_server_key(start_adapter, fake) -> None:
    url = start_adapter()
    fake.queue(one_vector())
    sdk = openai.OpenAI(base_url=f"{url}/v1", api_key="client-gemini-key", max_retries=0)
    assert len(sdk.embeddings.create(model=MODEL, input="x").data[0].embedding) == 768
    assert fake.seen[0].headers["x-goog-api-key"] == "client-gemini-key"


def test_adapter_keys_guard_embeddings(start_adapter, fake: FakeGemini) -> None:
    url = start_adapter(GEMINI_API_KEY=SERVER_KEY, ADAPTER_API_KEYS="team-a")
    error = assert_openai_error(post(url, {"model": MODEL, "input": "x"}), 401)
    assert error["code"] == "invalid_api_key"
    assert fake.seen == []
    fake.queue(one_vector())
    ok = post(url, {"model": MODEL, "input": "x"}, headers={"authorization": "Bearer team-a"})
    assert ok.status_code == 200


def test_replay_upstream_serves_embeddings(start_adapter, fake: FakeGemini) -> None:
    url = start_adapter(ADAPTER_UPSTREAM="replay")
    sdk = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
    result = sdk.embeddings.create(model=MODEL, input=["a", "b", "c"], dimensions=256)
    assert [len(d.embedding) for d in result.data] == [256, 256, 256]
    assert [d.embedding for d in result.data] == [
        float32(VECTORS[i % 2][:256]) for i in range(3)]
    assert result.usage.prompt_tokens == 4
    many = sdk.embeddings.create(model=MODEL, input=[f"t{i}" for i in range(150)],
                                 encoding_format="float")
    assert len(many.data) == 150
    assert [len(d.embedding) for d in many.data] == [768] * 150
    assert many.data[149].embedding == VECTORS[1]  # index 49 of the second batch: recording 1
    assert many.usage.prompt_tokens == 8  # the recorded usage, once per batch
    assert fake.seen == []  # nothing went over the network


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "param", "words"), [
    ({"input": "x"}, "model", "model"),
    ({"model": "a/b?c", "input": "x"}, "model", "not a valid model"),
    ({"model": MODEL}, "input", "required"),
    ({"model": MODEL, "input": ""}, "input", "empty string"),
    ({"model": MODEL, "input": []}, "input", "empty array"),
    ({"model": MODEL, "input": ["a", ""]}, "input[1]", "empty string"),
    ({"model": MODEL, "input": [1, 2, 3]}, "input", "token ids"),
    ({"model": MODEL, "input": [[1, 2], [3, 4]]}, "input", "token ids"),
    ({"model": MODEL, "input": ["a", {"b": 1}]}, "input[1]", "string"),
    ({"model": MODEL, "input": 42}, "input", "string or an array"),
    ({"model": MODEL, "input": "x", "dimensions": 0}, "dimensions", "at least 1"),
    ({"model": MODEL, "input": "x", "dimensions": "256"}, "dimensions", "integer"),
    ({"model": MODEL, "input": "x", "encoding_format": "int8"}, "encoding_format", "base64"),
    ({"model": MODEL, "input": "x", "encoding_format": 1}, "encoding_format", "string"),
])
def test_bad_input_is_a_400_naming_the_param(adapter_url, fake: FakeGemini, body, param,
                                             words) -> None:
    error = assert_openai_error(post(adapter_url, body), 400)
    assert error["param"] == param
    assert words in error["message"]
    assert error["type"] == "invalid_request_error"
    assert fake.seen == []


def test_token_ids_from_the_sdk_are_a_bad_request(client, fake: FakeGemini) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.embeddings.create(model=MODEL, input=[[101, 2023], [101, 2003]])
    assert info.value.body["param"] == "input"
    assert "text only" in info.value.body["message"]
    assert fake.seen == []


@pytest.mark.parametrize("content", [b"{not json", b"", b"[1, 2]"])
def test_body_that_is_not_a_json_object_is_a_400(adapter_url, fake, content: bytes) -> None:
    response = httpx.post(f"{adapter_url}/v1/embeddings", content=content)
    assert "JSON" in assert_openai_error(response, 400)["message"]
    assert fake.seen == []


def test_get_is_a_405(adapter_url: str) -> None:
    assert_openai_error(httpx.get(f"{adapter_url}/v1/embeddings"), 405)


@pytest.mark.parametrize(("fixture", "status", "sdk_error", "code"), [
    ("error-404-model-not-found-embed.json", 404, openai.NotFoundError, "model_not_found"),
    ("error-400-batch-embed-too-many-requests.json", 400, openai.BadRequestError, None),
    ("error-429-resource-exhausted-retry-info-trimmed.json", 429, openai.RateLimitError,
     "rate_limit_exceeded"),
    ("error-403-permission-denied-service-disabled.json", 403, openai.PermissionDeniedError,
     None),
])
def test_upstream_errors_keep_status_and_message(client, fake: FakeGemini, fixture, status,
                                                 sdk_error, code) -> None:
    fake.queue(Reply.error(fixture, status))
    with pytest.raises(sdk_error) as info:
        client.embeddings.create(model="nonexistent-model", input="x")
    error = fixture_json(fixture)["error"]
    assert info.value.status_code == status
    assert info.value.body["message"] == error["message"]
    assert info.value.code == code  # OpenAI's word; Gemini's status rides beside it
    assert info.value.body["gemini_status"] == error["status"]
    assert fake.seen[0].path == "/v1beta/models/nonexistent-model:batchEmbedContents"


def test_rate_limit_carries_retry_after(adapter_url, fake: FakeGemini) -> None:
    fake.queue(Reply.error("error-429-resource-exhausted-retry-info-trimmed.json", 429))
    response = post(adapter_url, {"model": MODEL, "input": "x"})
    assert_openai_error(response, 429)
    assert response.headers["retry-after"] == "35"


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_pass_through(adapter_url, fake: FakeGemini, status: int) -> None:
    fake.queue(Reply.body({"error": {"code": status, "message": f"upstream says {status}",
                                     "status": "UNAVAILABLE"}}, status))
    error = assert_openai_error(post(adapter_url, {"model": MODEL, "input": "x"}), status)
    assert error["message"] == f"upstream says {status}"


def test_one_failing_batch_fails_the_request(adapter_url, fake, monkeypatch) -> None:
    def second_batch_fails(body: dict[str, Any]) -> Reply:
        if texts_sent(body)[0] == "t100":
            return Reply.error("error-429-rate-limit-exceeded-errorinfo.json", 429)
        return numbered(body)

    monkeypatch.setattr(fake, "replies", Echo(fake, second_batch_fails))
    response = post(adapter_url, {"model": MODEL, "input": [f"t{i}" for i in range(250)]})
    error = assert_openai_error(response, 429)
    assert error["message"] == fixture_json(
        "error-429-rate-limit-exceeded-errorinfo.json")["error"]["message"]
    assert "data" not in response.json()


@pytest.mark.parametrize("answer", [
    {"embeddings": []},  # fewer vectors than texts
    {"embeddings": [{"values": [1.0]}, {"values": [2.0]}]},  # more
    {"embeddings": [{"value": [1.0]}]},
    {"something": "else"},
])
def test_answer_of_the_wrong_shape_is_a_502(adapter_url, fake: FakeGemini, answer) -> None:
    fake.queue(Reply.body(answer))
    error = assert_openai_error(post(adapter_url, {"model": MODEL, "input": "x"}), 502)
    assert error["code"] == "upstream_bad_response"


def test_answer_that_is_not_json_is_a_502(adapter_url, fake: FakeGemini) -> None:
    fake.queue(Reply(chunks=[b"<html>gateway</html>"], content_type="text/html"))
    error = assert_openai_error(post(adapter_url, {"model": MODEL, "input": "x"}), 502)
    assert "not JSON" in error["message"]


def test_unreachable_upstream_is_a_502(start_adapter) -> None:
    url = start_adapter(GEMINI_API_KEY=SERVER_KEY,
                        GEMINI_BASE_URL=f"http://127.0.0.1:{free_port()}")
    error = assert_openai_error(post(url, {"model": MODEL, "input": "x"}), 502)
    assert "Could not reach" in error["message"]
    assert error["code"] == "upstream_unreachable"
    assert SERVER_KEY not in error["message"]


def test_upstream_timeout_is_a_504(start_adapter, fake: FakeGemini) -> None:
    url = start_adapter(GEMINI_API_KEY=SERVER_KEY, ADAPTER_READ_TIMEOUT="0.3")
    fake.queue(Reply(chunks=one_vector().chunks, content_type="application/json", delay=1.0))
    error = assert_openai_error(post(url, {"model": MODEL, "input": "x"}), 504)
    assert error["code"] == "upstream_timeout"
    assert "did not answer in time" in error["message"]
