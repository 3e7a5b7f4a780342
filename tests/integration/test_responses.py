"""The Responses API through the real OpenAI SDK, over the fake Gemini."""

from __future__ import annotations

import json
import time

import httpx
import openai
import orjson
import pytest

from adapter.translate import tool_ids

from ..fake_gemini import FakeGemini, Reply, fixture_json

MODEL = "gemini-2.5-flash"
WEATHER = [{"type": "function", "name": "weather", "description": "Get the weather",
            "parameters": {"type": "object", "properties": {"location": {"type": "string"}},
                           "required": ["location"], "additionalProperties": False},
            "strict": True}]


def test_create_returns_a_response(client, fake: FakeGemini) -> None:
    response = client.responses.create(model=MODEL, input="What is the capital of France?",
                                       instructions="Be brief.", max_output_tokens=50)
    assert response.object == "response"
    assert response.status == "completed"
    assert response.output_text == "The capital of France is Paris.\n"
    assert response.usage.input_tokens == 13
    assert response.usage.output_tokens == 8
    assert response.usage.output_tokens_details.reasoning_tokens == 0
    body = fake.seen[-1].body
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert body["generationConfig"] == {"maxOutputTokens": 50}


def test_stream_events_accumulate_in_the_sdk(client, fake: FakeGemini) -> None:
    fake.queue(Reply.sse("stream-sse-thinking-thoughts-long.txt"))
    with client.responses.stream(model="gemini-2.5-pro", input="Think, then answer.",
                                 reasoning={"effort": "low", "summary": "auto"}) as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert "response.reasoning_summary_text.delta" in kinds
    reasoning, message = final.output
    assert reasoning.type == "reasoning"
    recorded = [orjson.loads(e[6:]) for e in
                Reply.sse("stream-sse-thinking-thoughts-long.txt").chunks]
    parts = [p for e in recorded for p in e["candidates"][0]["content"].get("parts", [])]
    assert reasoning.summary[0].text == "".join(p["text"] for p in parts if p.get("thought"))
    answer = "".join(p.get("text", "") for p in parts if not p.get("thought"))
    assert final.output_text == answer  # reasoning never leaks into output_text
    assert message.content[0].text == answer
    assert final.usage.output_tokens_details.reasoning_tokens == \
        recorded[-1]["usageMetadata"]["thoughtsTokenCount"]


def test_function_call_round_trip_by_appending_output(client, fake: FakeGemini) -> None:
    fake.queue(Reply.sse("stream-sse-tool-call.txt"),
               Reply.sse("stream-sse-text-after-tool-result.txt"))
    first = client.responses.create(model=MODEL, input="Weather in Florence?", tools=WEATHER,
                                    store=False)
    [call] = first.output
    assert call.type == "function_call"
    assert call.name == "weather"
    assert json.loads(call.arguments) == {"location": "Florence,Italy"}
    signature = tool_ids.decode(call.call_id)[1]
    assert signature
    follow_up = [{"role": "user", "content": "Weather in Florence?"},
                 *[item.model_dump(exclude_none=True) for item in first.output],
                 {"type": "function_call_output", "call_id": call.call_id,
                  "output": "40 C and sunny"}]
    second = client.responses.create(model=MODEL, input=follow_up, tools=WEATHER, store=False)
    assert second.output_text == "The weather in Florence,Italy is 40 C."
    model_turn, results = fake.seen[-1].body["contents"][1:]
    assert model_turn["parts"][0]["thoughtSignature"] == signature
    assert results["parts"][0]["functionResponse"] == {
        "name": "weather", "response": {"content": "40 C and sunny"}}


def test_previous_response_id_continues_and_get_returns_it(client, fake: FakeGemini) -> None:
    fake.queue(Reply.sse("stream-sse-tool-call.txt"),
               Reply.sse("stream-sse-text-after-tool-result.txt"))
    first = client.responses.create(model=MODEL, input="Weather in Florence?", tools=WEATHER)
    call = first.output[0]
    second = client.responses.create(
        model=MODEL, previous_response_id=first.id, tools=WEATHER,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "40 C"}])
    assert second.previous_response_id == first.id
    contents = fake.seen[-1].body["contents"]
    assert contents[0] == {"role": "user", "parts": [{"text": "Weather in Florence?"}]}
    assert contents[1]["parts"][0]["functionCall"]["name"] == "weather"
    assert contents[2]["parts"][0]["functionResponse"]["name"] == "weather"
    fetched = client.responses.retrieve(second.id)
    assert fetched.output_text == second.output_text
    items = client.responses.input_items.list(second.id)
    assert [i.type for i in items.data] == ["function_call_output"]
    client.responses.delete(second.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(second.id)


def test_unknown_previous_response_is_a_400(client, fake: FakeGemini) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.responses.create(model=MODEL, input="hi", previous_response_id="resp_nope")
    assert info.value.body["param"] == "previous_response_id"
    assert fake.seen == []


@pytest.mark.parametrize(("body", "param"), [
    ({"model": MODEL}, "input"),
    ({"model": MODEL, "input": [{"type": "telepathy"}]}, "input[0].type"),
    ({"model": MODEL, "input": "x", "tools": [{"type": "computer_use_preview"}]},
     "tools[0].type"),
])
def test_bad_input_is_a_400(adapter_url, body, param) -> None:
    response = httpx.post(f"{adapter_url}/v1/responses", json=body,
                          headers={"authorization": "Bearer client-key"})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


def test_custom_tool_round_trip(client, fake: FakeGemini) -> None:
    event = orjson.loads(Reply.sse("stream-sse-tool-call.txt").chunks[0][6:])
    part = event["candidates"][0]["content"]["parts"][0]
    part["functionCall"] = {"name": "apply_patch", "args": {"input": "*** Begin Patch"}}
    fake.queue(Reply.events(event))
    tools = [{"type": "custom", "name": "apply_patch", "description": "Apply a patch",
              "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}}]
    with client.responses.stream(model=MODEL, input="patch it", tools=tools) as stream:
        final = stream.get_final_response()
    [call] = final.output
    assert call.type == "custom_tool_call"
    assert call.input == "*** Begin Patch"
    assert "status" not in call.to_dict()  # the spec's custom_tool_call declares none
    declared = fake.seen[-1].body["tools"][0]["functionDeclarations"][0]
    assert declared["name"] == "apply_patch"
    assert declared["parameters"]["properties"]["input"]["type"] == "string"


def test_max_tokens_is_incomplete(client, fake: FakeGemini) -> None:
    fake.queue(Reply.events(fixture_json("generate-content-max-tokens.json")))
    response = client.responses.create(model=MODEL, input="long story", max_output_tokens=5)
    assert response.status == "incomplete"
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.output[0].status == "incomplete"  # the message it stopped in
    assert response.completed_at is None
    assert client.responses.retrieve(response.id).output[0].status == "incomplete"


def test_completed_at_in_the_body_the_stream_and_get(client, fake: FakeGemini) -> None:
    before = time.time()
    response = client.responses.create(model=MODEL, input="hi")
    assert response.status == "completed"
    assert before - 1 <= response.completed_at <= time.time()
    assert client.responses.retrieve(response.id).completed_at == response.completed_at
    fake.queue(Reply.sse("stream-sse-text.txt"))
    with client.responses.stream(model=MODEL, input="hi") as stream:
        final = stream.get_final_response()
    assert final.completed_at is not None and final.completed_at >= response.created_at


def test_tools_are_repeated_normalised(adapter_url, fake: FakeGemini) -> None:
    """JSON body, GET and the stream's lifecycle events repeat the tools as OpenAI does:
    `description`, `parameters` and `strict` present on every function."""
    tools = [{"type": "function", "name": "now"}, WEATHER[0]]
    expected = [{"type": "function", "name": "now", "description": None, "parameters": None,
                 "strict": None}, WEATHER[0]]
    auth = {"authorization": "Bearer client-key"}
    created = httpx.post(f"{adapter_url}/v1/responses", headers=auth,
                         json={"model": MODEL, "input": "hi", "tools": tools}).json()
    assert created["tools"] == expected
    fetched = httpx.get(f"{adapter_url}/v1/responses/{created['id']}", headers=auth).json()
    assert fetched["tools"] == expected
    fake.queue(Reply.sse("stream-sse-text.txt"))
    streamed = httpx.post(f"{adapter_url}/v1/responses", headers=auth,
                          json={"model": MODEL, "input": "hi", "tools": tools, "stream": True})
    lifecycle = [json.loads(line[6:]) for line in streamed.text.splitlines()
                 if line.startswith("data: ") and '"response":' in line]
    assert [e["type"] for e in lifecycle] == ["response.created", "response.in_progress",
                                              "response.completed"]
    assert all(e["response"]["tools"] == expected for e in lifecycle)


def test_failure_mid_stream_is_response_failed(client, fake: FakeGemini) -> None:
    fake.queue(Reply(chunks=Reply.sse("stream-sse-text.txt").chunks[:2], drop=True))
    events = list(client.responses.create(model=MODEL, input="hi", stream=True))
    kinds = [e.type for e in events]
    assert kinds[-2:] == ["response.failed", "error"]
    assert "response.completed" not in kinds
    assert events[-2].response.status == "failed"
    assert "broke mid-stream" in events[-2].response.error.message
    assert events[-1].code == "upstream_disconnected"


def test_upstream_error_before_streaming_keeps_its_status(client, fake: FakeGemini) -> None:
    fake.queue(Reply.error("error-429-resource-exhausted-retry-info-trimmed.json", 429))
    with pytest.raises(openai.RateLimitError):
        client.responses.create(model=MODEL, input="hi", stream=True)
