"""Batch input lines -> Gemini batch requests, and Gemini results lines -> OpenAI output lines,
through the live endpoints' own translators."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion
from openai.types.responses import Response

from adapter.routes.chat import ChatOutput
from adapter.translate.batch_lines import (
    CHAT,
    EMBEDDINGS,
    RESPONSES,
    InputLine,
    LineError,
    batch_error,
    duplicate_custom_id,
    error_line,
    gemini_key,
    gemini_line,
    output_line,
    parse_key,
    parse_line,
    parts_of,
    result_tokens,
    translate_line,
    unanswered_line,
    upstream_error,
)
from adapter.translate.embeddings import embeddings_request
from adapter.translate.errors import AdapterError, InvalidRequest
from adapter.translate.request import chat_request
from adapter.translate.responses_request import responses_call
from adapter.translate.stream import StreamTranslator

from .helpers import CREATED, FIXTURES, FORMAT, HELLO, MODEL, TEMPERATURE


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def results(name: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in fixture(name).splitlines() if line.strip()]


def raw(custom_id: Any = "req-1", url: str = CHAT, **body: Any) -> bytes:
    return orjson.dumps({"custom_id": custom_id, "method": "POST", "url": url,
                         "body": {"model": MODEL, "messages": HELLO, **body}})


def line(url: str = CHAT, custom_id: str = "req-1", **body: Any) -> InputLine:
    parsed = parse_line(orjson.dumps({"custom_id": custom_id, "method": "POST", "url": url,
                                      "body": body}), 0, url)
    assert parsed is not None
    return parsed


def chat_line(**body: Any) -> InputLine:
    return line(CHAT, model=MODEL, messages=HELLO, **body)


def context_of(request: Any) -> dict[str, Any]:
    """The context as the caller keeps it: through JSON and back."""
    return orjson.loads(orjson.dumps(request.context))


# --- input lines ---------------------------------------------------------------------------


def test_parse_line() -> None:
    parsed = parse_line(raw(), 0, CHAT)
    assert parsed == InputLine("req-1", {"model": MODEL, "messages": HELLO})
    assert parse_line(b"  \r", 3, CHAT) is None


@pytest.mark.parametrize(("text", "param", "custom_id"), [
    (b"{nope", None, None),
    (b"[1, 2]", None, None),
    (b'{"method": "POST", "url": "/v1/chat/completions", "body": {}}', "custom_id", None),
    (raw(custom_id=""), "custom_id", None),
    (raw(custom_id=7), "custom_id", None),
    (raw(custom_id="x" * 513), "custom_id", None),
    (orjson.dumps({"custom_id": "a", "method": "GET", "url": CHAT, "body": {}}), "method", "a"),
    (orjson.dumps({"custom_id": "a", "url": CHAT, "body": {}}), "method", "a"),
    (raw(url=EMBEDDINGS), "url", "req-1"),
    (orjson.dumps({"custom_id": "a", "method": "POST", "url": CHAT, "body": []}), "body", "a"),
    (orjson.dumps({"custom_id": "a", "method": "POST", "url": CHAT}), "body", "a"),
])
def test_bad_lines_name_what_is_wrong(text: bytes, param: str | None,
                                      custom_id: str | None) -> None:
    with pytest.raises(LineError) as caught:
        parse_line(text, 4, CHAT)
    assert caught.value.param == param and caught.value.status == 400
    assert caught.value.custom_id == custom_id
    assert "Line 5" in caught.value.message


def test_too_deep_a_body_is_refused() -> None:
    deep: Any = "x"
    for _ in range(200):
        deep = [deep]
    with pytest.raises(LineError) as caught:
        parse_line(orjson.dumps({"custom_id": "a", "method": "POST", "url": CHAT,
                                 "body": {"model": MODEL, "messages": deep}}), 0, CHAT)
    assert caught.value.custom_id == "a"


def test_duplicate_custom_id_error() -> None:
    error = duplicate_custom_id("req-1", 9)
    assert (error.param, error.code, error.custom_id) == ("custom_id", "duplicate_custom_id",
                                                          "req-1")
    assert batch_error(error, 9) == {"code": "duplicate_custom_id", "message": error.message,
                                     "param": "custom_id", "line": 10}


def test_chat_line_is_the_live_request() -> None:
    request = translate_line(chat_line(temperature=0.2, max_tokens=20), CHAT, {})
    live = chat_request({"model": MODEL, "messages": HELLO, "temperature": 0.2,
                         "max_tokens": 20})
    assert request.model == MODEL and request.requests == [live.gemini]
    assert context_of(request) == {"custom_id": "req-1", "model": MODEL}
    assert parts_of(request.context) == 1 and request.remote_media == []


def test_alias_resolves_and_the_client_model_is_kept() -> None:
    request = translate_line(line(CHAT, model="fast", messages=HELLO), CHAT, {"fast": MODEL})
    assert request.model == MODEL and request.context["model"] == "fast"


def test_remote_media_are_handed_over() -> None:
    messages = [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}]
    request = translate_line(line(CHAT, model=MODEL, messages=messages), CHAT, {})
    assert len(request.remote_media) == 1
    contents = request.requests[0]["contents"]
    assert any(part is request.remote_media[0] for part in contents[0]["parts"])


def test_chat_context_keeps_the_finish_function_and_usage_flag() -> None:
    request = translate_line(chat_line(tools=[TEMPERATURE], response_format=FORMAT,
                                       stream_options={"include_usage": True}), CHAT, {})
    context = context_of(request)
    assert context["finish"]["name"] == "final_answer" and not context["finish"]["wrapped"]
    assert context["include_usage"] is True
    assert request.requests[0]["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}


def test_chat_context_keeps_the_audio_format() -> None:
    request = translate_line(chat_line(modalities=["text", "audio"],
                                       audio={"voice": "alloy", "format": "pcm16"}), CHAT, {})
    assert request.context["audio_format"] == "pcm16"


def test_live_errors_name_the_live_parameter() -> None:
    with pytest.raises(InvalidRequest) as caught:
        translate_line(line(CHAT, model=MODEL), CHAT, {})
    assert caught.value.param == "messages"
    with pytest.raises(InvalidRequest) as caught:
        translate_line(chat_line(temperature="hot"), CHAT, {})
    assert caught.value.param == "temperature"
    with pytest.raises(InvalidRequest) as caught:
        translate_line(line(CHAT, messages=HELLO), CHAT, {})
    assert caught.value.param == "model"


def test_batch_refusals_name_the_body_field() -> None:
    with pytest.raises(InvalidRequest) as caught:
        translate_line(chat_line(stream=True), CHAT, {})
    assert caught.value.param == "body.stream"
    assert translate_line(chat_line(stream=False), CHAT, {}).requests
    with pytest.raises(InvalidRequest) as caught:
        translate_line(line(CHAT, model="gemini-2.5-pro", messages=HELLO), CHAT, {}, MODEL)
    assert (caught.value.param, caught.value.code) == ("body.model", "mismatched_model")
    assert translate_line(line(CHAT, model="fast", messages=HELLO), CHAT, {"fast": MODEL},
                          MODEL).model == MODEL


def responses_body(**fields: Any) -> dict[str, Any]:
    return {"model": MODEL, "input": "Say hi.", "instructions": "Be brief.", **fields}


def test_responses_line_is_the_live_request() -> None:
    body = responses_body(max_output_tokens=50, store=True, metadata={"k": "v"})
    request = translate_line(line(RESPONSES, **body), RESPONSES, {})
    live = chat_request(responses_call(body, [], {}).chat, {})
    assert request.requests == [live.gemini]
    context = context_of(request)
    assert context["echo"] == {"instructions": "Be brief.", "max_output_tokens": 50,
                               "metadata": {"k": "v"}, "store": False}


def test_responses_refusals() -> None:
    for field, value in (("previous_response_id", "resp_1"), ("stream", True)):
        with pytest.raises(InvalidRequest) as caught:
            translate_line(line(RESPONSES, **responses_body(**{field: value})), RESPONSES, {})
        assert caught.value.param == f"body.{field}"
    with pytest.raises(InvalidRequest) as caught:
        translate_line(line(RESPONSES, model=MODEL), RESPONSES, {})
    assert caught.value.param == "input"


def test_responses_context_keeps_custom_tools_and_namespaces() -> None:
    tools = [{"type": "custom", "name": "shell"},
             {"type": "namespace", "name": "fs", "tools": [
                 {"type": "function", "name": "read", "parameters": {"type": "object"}}]}]
    request = translate_line(line(RESPONSES, **responses_body(tools=tools)), RESPONSES, {})
    context = context_of(request)
    assert context["custom_tools"] == ["shell"]
    assert "fs" in set(context["namespaces"].values())


def test_embeddings_line_is_one_request_per_input() -> None:
    body = {"model": "gemini-embedding-001", "input": ["a", "b", "c"], "dimensions": 8,
            "encoding_format": "base64"}
    request = translate_line(line(EMBEDDINGS, **body), EMBEDDINGS, {})
    live = embeddings_request(body)
    assert request.requests == live.batches[0]["requests"]
    assert context_of(request) == {"custom_id": "req-1", "model": "gemini-embedding-001",
                                   "inputs": 3, "encoding_format": "base64"}
    assert parts_of(request.context) == 3
    with pytest.raises(InvalidRequest) as caught:
        translate_line(line(EMBEDDINGS, model="gemini-embedding-001", input=[]), EMBEDDINGS, {})
    assert caught.value.param == "input"


def test_keys_round_trip() -> None:
    assert parse_key(gemini_key(0)) == (0, 0)
    assert parse_key(gemini_key(99_999, 2047)) == (99_999, 2047)
    encoded = gemini_line(7, 1, {"contents": []})
    assert encoded.endswith(b"\n")
    assert orjson.loads(encoded) == {"key": "7:1", "request": {"contents": []}}


@pytest.mark.parametrize("key", [None, 7, "", "7", "request_1", "a:b", "1:2:3", ":1", "1:",
                                 "-1:0", "\u0663:0", "1:" + "9" * 40, " 1:0"])
def test_keys_that_do_not_parse_are_reported_not_raised(key: Any) -> None:
    assert parse_key(key) is None


# --- output lines --------------------------------------------------------------------------


def chat_context(**fields: Any) -> dict[str, Any]:
    return context_of(translate_line(chat_line(**fields), CHAT, {}))


def live_chat(response: dict[str, Any], model: str = MODEL, **options: Any) -> Any:
    """What POST /v1/chat/completions answers for one Gemini response (routes/chat.py)."""
    translator = StreamTranslator(model, CREATED, **options)
    output = ChatOutput(translator)
    chunk = translator.translate(response)
    output.fold([chunk] if chunk is not None else [])
    return output.folded(translator.finish())


def test_recorded_results_become_chat_completions() -> None:
    for result in results("batch-results-file.jsonl"):
        ok, out = output_line(result, chat_context(), CHAT, CREATED, seed="b/1")
        assert ok and out["custom_id"] == "req-1" and out["error"] is None
        assert out["id"].startswith("batch_req_") and out["response"]["status_code"] == 200
        body = out["response"]["body"]
        ChatCompletion.model_validate(body)
        assert body == live_chat(result["response"])
        assert body["choices"][0]["message"]["content"] == \
            result["response"]["candidates"][0]["content"]["parts"][0]["text"]
        usage = result["response"]["usageMetadata"]
        assert body["usage"]["prompt_tokens"] == usage["promptTokenCount"]
        assert body["model"] == MODEL and body["created"] == CREATED


def test_seeded_ids_are_stable() -> None:
    result = results("batch-results-file.jsonl")[0]
    first = output_line(result, chat_context(), CHAT, CREATED, seed="batch_x/0")[1]
    again = output_line(result, chat_context(), CHAT, CREATED, seed="batch_x/0")[1]
    other = output_line(result, chat_context(), CHAT, CREATED)[1]
    assert first == again and first["id"] != other["id"]
    assert len(first["response"]["request_id"]) == 32


def test_finish_function_answer_comes_back_as_content() -> None:
    recorded = orjson.loads(fixture("generate-content-finish-function-call.json"))
    context = chat_context(tools=[TEMPERATURE], response_format=FORMAT)
    ok, out = output_line({"response": recorded, "key": "0:0"}, context, CHAT, CREATED)
    message = out["response"]["body"]["choices"][0]["message"]
    assert ok and "tool_calls" not in message and message["role"] == "assistant"
    assert orjson.loads(message["content"]) == {"temperature": "30°C", "date": "2022-01-01",
                                                "city": "London"}
    assert list(orjson.loads(message["content"])) == ["temperature", "date", "city"]


def test_blocked_prompt_is_what_the_live_endpoint_answers() -> None:
    blocked = orjson.loads(fixture("generate-content-prompt-blocked-vertex-model-armor.json"))
    ok, out = output_line({"response": blocked, "key": "0:0"}, chat_context(), CHAT, CREATED)
    assert ok and out["response"]["body"] == live_chat(blocked)
    assert out["response"]["body"]["choices"][0]["finish_reason"] == "content_filter"


def test_a_turn_gemini_could_not_complete_is_the_live_error() -> None:
    broken = results("batch-results-file.jsonl")[0]["response"]
    broken["candidates"][0]["finishReason"] = "MALFORMED_FUNCTION_CALL"
    ok, out = output_line({"response": broken, "key": "0:0"}, chat_context(), CHAT, CREATED)
    assert not ok and out["response"]["status_code"] == 502
    assert out["response"]["body"]["error"]["code"] == "malformed_function_call"
    with pytest.raises(AdapterError) as caught:
        live_chat(broken)
    assert out["response"]["body"] == caught.value.body()


def test_unfinished_answer_is_the_live_error() -> None:
    cut = results("batch-results-file.jsonl")[0]["response"]
    del cut["candidates"][0]["finishReason"]
    ok, out = output_line({"response": cut}, chat_context(), CHAT, CREATED)
    assert not ok and out["response"]["body"]["error"]["code"] == "upstream_incomplete"


@pytest.mark.parametrize(("error", "status", "code", "kind"), [
    ({"code": 8, "message": "Quota exceeded."}, 429, "rate_limit_exceeded", "requests"),
    ({"code": 429, "message": "Too many.", "status": "RESOURCE_EXHAUSTED"}, 429,
     "rate_limit_exceeded", "requests"),
    ({"code": 3, "message": "Bad value."}, 400, None, "invalid_request_error"),
    ({"code": 400, "message": "The input token count (9) exceeds the maximum number of tokens "
      "allowed (1).", "status": "INVALID_ARGUMENT"}, 400, "context_length_exceeded",
     "invalid_request_error"),
    ({"code": 13, "message": "Internal."}, 500, "server_error", "server_error"),
    ({"code": 5, "message": "No such model."}, 404, "model_not_found", "invalid_request_error"),
    ({"message": "Odd."}, 500, "server_error", "server_error"),
])
def test_upstream_errors_are_mapped_as_live(error: dict[str, Any], status: int,
                                            code: str | None, kind: str) -> None:
    ok, out = output_line({"error": error, "key": "0:0"}, chat_context(), CHAT, CREATED)
    assert not ok and out["error"] is None
    assert out["response"]["status_code"] == status
    assert out["response"]["body"]["error"]["code"] == code
    assert out["response"]["body"]["error"]["type"] == kind
    assert out["response"]["body"]["error"]["message"] == error["message"]


def test_result_without_response_is_a_bad_response() -> None:
    for result in ({"key": "0:0"}, {"response": "text"}):
        ok, out = output_line(result, chat_context(), CHAT, CREATED)
        assert not ok and out["response"]["status_code"] == 502
        assert out["response"]["body"]["error"]["code"] == "upstream_bad_response"
    assert upstream_error({"response": {}}) is None


def test_recorded_results_become_responses() -> None:
    body = responses_body(metadata={"run": "7"}, temperature=0.5)
    context = context_of(translate_line(line(RESPONSES, **body), RESPONSES, {}))
    for result in results("batch-results-file.jsonl"):
        ok, out = output_line(result, context, RESPONSES, CREATED)
        assert ok
        response = out["response"]["body"]
        Response.model_validate(response)
        assert response["status"] == "completed" and response["created_at"] == CREATED
        assert response["model"] == MODEL and response["metadata"] == {"run": "7"}
        assert response["store"] is False and response["temperature"] == 0.5
        text = result["response"]["candidates"][0]["content"]["parts"][0]["text"]
        assert response["output"][-1]["content"][0]["text"] == text
        usage = result["response"]["usageMetadata"]
        assert response["usage"]["input_tokens"] == usage["promptTokenCount"]
        assert response["usage"]["output_tokens_details"]["reasoning_tokens"] == \
            usage["thoughtsTokenCount"]


def test_responses_error_line() -> None:
    context = context_of(translate_line(line(RESPONSES, **responses_body()), RESPONSES, {}))
    ok, out = output_line({"error": {"code": 14, "message": "Try later."}}, context, RESPONSES)
    assert not ok and out["response"]["status_code"] == 503


def test_recorded_embedding_results_become_one_list() -> None:
    lines = results("batch-embed-results-file.jsonl")  # two inputs of one request
    body = {"model": "gemini-embedding-001", "input": ["a", "b"]}
    context = context_of(translate_line(line(EMBEDDINGS, **body), EMBEDDINGS, {}))
    ok, out = output_line(lines, context, EMBEDDINGS)
    assert ok
    answer = out["response"]["body"]
    CreateEmbeddingResponse.model_validate(answer)
    assert [d["embedding"] for d in answer["data"]] == \
        [line["response"]["embedding"]["values"] for line in lines]
    assert [d["index"] for d in answer["data"]] == [0, 1]
    assert answer["usage"] == {"prompt_tokens": 2, "total_tokens": 2}


def test_embeddings_in_base64_and_single_inputs() -> None:
    first = results("batch-embed-results-file.jsonl")[0]
    body = {"model": "gemini-embedding-001", "input": "a", "encoding_format": "base64"}
    context = context_of(translate_line(line(EMBEDDINGS, **body), EMBEDDINGS, {}))
    ok, out = output_line(first, context, EMBEDDINGS)
    assert ok and isinstance(out["response"]["body"]["data"][0]["embedding"], str)


def test_embedding_results_that_do_not_fit() -> None:
    lines = results("batch-embed-results-file.jsonl")
    context = {"custom_id": "e", "model": "gemini-embedding-001", "inputs": 3}
    ok, out = output_line(lines, context, EMBEDDINGS)
    assert not ok and out["response"]["body"]["error"]["code"] == "upstream_bad_response"
    broken = [lines[0], {"response": {"tokenCount": "1"}}]
    ok, out = output_line(broken, {**context, "inputs": 2}, EMBEDDINGS)
    assert not ok and out["response"]["status_code"] == 502
    failed = [lines[0], {"error": {"code": 8, "message": "Quota."}}]
    ok, out = output_line(failed, {**context, "inputs": 2}, EMBEDDINGS)
    assert not ok and out["response"]["status_code"] == 429


def test_error_and_unanswered_lines() -> None:
    error = InvalidRequest("'temperature' must be a number, not str.", "temperature")
    out = error_line("req-9", error, seed="s")
    assert out["custom_id"] == "req-9" and out["error"] is None
    assert out["response"]["status_code"] == 400 and out["response"]["body"] == error.body()
    missing = unanswered_line("req-9", "batch_expired", "This request could not be executed "
                              "before the completion window expired.")
    assert missing["response"] is None
    assert missing["error"] == {"code": "batch_expired", "message": missing["error"]["message"]}
    assert missing["id"].startswith("batch_req_")


def test_result_tokens_count_as_the_live_usage_does() -> None:
    meta = {"promptTokenCount": 10, "toolUsePromptTokenCount": 5, "candidatesTokenCount": 7,
            "thoughtsTokenCount": 3, "cachedContentTokenCount": 4, "totalTokenCount": 25}
    assert result_tokens({"response": {"usageMetadata": meta}, "key": "0:0"}) == (15, 4, 10, 3)


@pytest.mark.parametrize(("result", "tokens"), [
    ({"response": {"tokenCount": "6", "embedding": {"values": [0.1]}}}, (6, 0, 0, 0)),
    ({"error": {"code": 400, "message": "bad"}}, (0, 0, 0, 0)),
    ({"response": {"usageMetadata": {"promptTokenCount": "12", "candidatesTokenCount": -3,
                                     "thoughtsTokenCount": True}}}, (12, 0, 0, 0)),
    ({"response": "nonsense"}, (0, 0, 0, 0)),
])
def test_result_tokens_of_embeddings_errors_and_odd_counts(result: dict[str, Any],
                                                           tokens: tuple[int, ...]) -> None:
    assert result_tokens(result) == tokens
