"""POST /v1/responses/input_tokens (the openai SDK's responses.input_tokens.count) and
/v1/chat/completions/input_tokens over the fake countTokens: the body Gemini gets is the live
request's translation wrapped in generateContentRequest."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from openai.types.responses.input_token_count_response import InputTokenCountResponse

from ..fake_gemini import FakeGemini, Reply, fixture_json
from .helpers import assert_openai_error

MODEL = "gemini-2.5-flash"
# ruby_llm's recorded countTokens exchange (instructions, one question, one function tool)
RECORDED_REQUEST = fixture_json("count-tokens-generate-content-request-tools-system.request.json")
RECORDED = fixture_json("count-tokens-generate-content-request-tools-system.json")  # 61 tokens
TOOLS: list[Any] = [{"type": "function", "name": "counting_weather",
                     "description": "Gets current weather for a city",
                     "parameters": {"type": "object", "properties": {"city": {
                         "type": "string", "description": "City name"}},
                         "required": ["city"]}}]
ASK = {"model": MODEL, "instructions": "Be terse.", "input": "What is the capital of France?",
       "tools": TOOLS}


def test_sdk_counts_responses_input_tokens(client: openai.OpenAI, fake: FakeGemini) -> None:
    client.responses.create(**ASK, store=False)  # the live request, for comparison
    live = fake.seen[-1].body
    fake.queue(Reply.body(RECORDED))
    count = client.responses.input_tokens.count(**ASK)
    assert isinstance(count, InputTokenCountResponse)
    assert (count.object, count.input_tokens) == ("response.input_tokens", 61)
    seen = fake.seen[-1]
    assert seen.path == f"/v1beta/models/{MODEL}:countTokens"
    assert seen.body == {"generateContentRequest": {**live, "model": f"models/{MODEL}"}}
    # The recorded request's shape: the same members, the same text and instructions.
    wrapped = seen.body["generateContentRequest"]
    assert set(RECORDED_REQUEST["generateContentRequest"]) <= set(wrapped)
    assert wrapped["contents"] == RECORDED_REQUEST["generateContentRequest"]["contents"]
    assert wrapped["systemInstruction"]["parts"] == \
        RECORDED_REQUEST["generateContentRequest"]["systemInstruction"]["parts"]


def test_chat_completions_input_tokens(adapter_url: str, fake: FakeGemini) -> None:
    body = {"model": MODEL, "messages": [{"role": "system", "content": "Be terse."},
                                         {"role": "user", "content": "Hi"}], "max_tokens": 9}
    httpx.post(f"{adapter_url}/v1/chat/completions", json=body, timeout=20).raise_for_status()
    live = fake.seen[-1].body
    fake.queue(Reply.body(fixture_json("count-tokens.json")))
    answer = httpx.post(f"{adapter_url}/v1/chat/completions/input_tokens", json=body, timeout=20)
    assert answer.status_code == 200, answer.text
    assert InputTokenCountResponse.model_validate(answer.json()).input_tokens == 5
    assert fake.seen[-1].path == f"/v1beta/models/{MODEL}:countTokens"
    assert fake.seen[-1].body == {"generateContentRequest": {**live, "model": f"models/{MODEL}"}}


@pytest.mark.parametrize(("path", "body", "param"), [
    ("/v1/responses/input_tokens", {"model": MODEL}, "input"),
    ("/v1/responses/input_tokens", {"model": MODEL, "input": "x", "temperature": 9}, "temperature"),
    ("/v1/responses/input_tokens", {"model": MODEL, "input": "x", "instructions": 3},
     "instructions"),
    ("/v1/chat/completions/input_tokens", {"model": MODEL}, "messages"),
    ("/v1/chat/completions/input_tokens",
     {"model": MODEL, "messages": [{"role": "user", "content": "x"}], "top_p": 7}, "top_p"),
])
def test_bad_requests_name_the_parameter(adapter_url: str, fake: FakeGemini, path: str,
                                         body: dict[str, Any], param: str) -> None:
    answer = httpx.post(f"{adapter_url}{path}", json=body, timeout=20)
    assert assert_openai_error(answer, 400)["param"] == param
    assert fake.seen == []  # refused before Gemini was called


def test_gemini_count_zero_and_malformed(client: openai.OpenAI, fake: FakeGemini) -> None:
    fake.queue(Reply.body({}))  # proto3 JSON leaves a zero out
    assert client.responses.input_tokens.count(model=MODEL, input="x").input_tokens == 0
    fake.queue(Reply.body({"totalTokens": "many"}))
    with pytest.raises(openai.APIStatusError) as caught:
        client.responses.input_tokens.count(model=MODEL, input="x")
    assert caught.value.status_code == 502
