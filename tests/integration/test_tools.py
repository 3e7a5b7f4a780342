"""Function calling through the real OpenAI SDK: declarations, calls, results, signatures."""

from __future__ import annotations

import json

import openai
import orjson
import pytest
import yaml

from adapter.translate import tool_ids

from ..fake_gemini import FIXTURES, FakeGemini, Reply, fixture_json
from .helpers import ADD_AND_MULTIPLY, WEATHER

MODEL = "gemini-2.5-flash"


def cassette() -> list[dict]:
    """The two recorded exchanges of a real two-turn parallel tool call (gemini-2.5-flash)."""
    raw = yaml.safe_load((FIXTURES / "cassettes" /
                          "fantasy-gemini-2.5-flash-multi-tool-streaming.yaml").read_text())
    return raw["interactions"]


def recorded_reply(interaction: dict) -> Reply:
    body = interaction["response"]["body"].encode()
    return Reply(chunks=[e + b"\r\n\r\n" for e in body.split(b"\r\n\r\n") if e.strip()])


def test_tools_and_tool_choice_reach_gemini(client, fake: FakeGemini) -> None:
    fake.queue(Reply.sse("stream-sse-tool-calls-parallel.txt"))
    client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Add and multiply 2 and 3"}],
        tools=ADD_AND_MULTIPLY, tool_choice={"type": "function", "function": {"name": "add"}},
        parallel_tool_calls=True)
    body = fake.seen[-1].body
    [tool] = body["tools"]
    assert [d["name"] for d in tool["functionDeclarations"]] == ["add", "multiply"]
    params = tool["functionDeclarations"][0]["parameters"]
    assert params == {"type": "object", "required": ["a", "b"], "properties": {
        "a": {"type": "integer", "description": "first number"},
        "b": {"type": "integer", "description": "second number"}}}
    assert body["toolConfig"] == {"functionCallingConfig": {
        "mode": "ANY", "allowedFunctionNames": ["add"]}}


@pytest.mark.parametrize("stream", [False, True])
def test_single_call_comes_back_as_tool_calls(client, fake: FakeGemini, stream: bool) -> None:
    fake.queue(Reply.sse("stream-sse-tool-call.txt"))
    messages = [{"role": "user", "content": "Weather in Florence?"}]
    if stream:
        with client.chat.completions.stream(model=MODEL, messages=messages,
                                            tools=WEATHER) as events:
            completion = events.get_final_completion()
    else:
        completion = client.chat.completions.create(model=MODEL, messages=messages, tools=WEATHER)
    [choice] = completion.choices
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls
    assert call.type == "function"
    assert call.function.name == "weather"
    assert json.loads(call.function.arguments) == {"location": "Florence,Italy"}
    recorded = orjson.loads(Reply.sse("stream-sse-tool-call.txt").chunks[0][6:])
    signature = recorded["candidates"][0]["content"]["parts"][0]["thoughtSignature"]
    assert tool_ids.decode(call.id) == (None, signature)


@pytest.mark.parametrize("fixture", [
    "stream-sse-tool-calls-parallel.txt", "stream-sse-tool-calls-parallel-separate-events.txt"])
def test_parallel_calls_accumulate_in_the_sdk(client, fake: FakeGemini, fixture: str) -> None:
    fake.queue(Reply.sse(fixture))
    with client.chat.completions.stream(
            model=MODEL, messages=[{"role": "user", "content": "2 and 3"}],
            tools=ADD_AND_MULTIPLY) as events:
        completion = events.get_final_completion()
    calls = completion.choices[0].message.tool_calls
    assert [c.function.name for c in calls] == ["add", "multiply"]
    assert [json.loads(c.function.arguments) for c in calls] == [{"a": 2, "b": 3}] * 2
    assert len({c.id for c in calls}) == 2
    assert completion.choices[0].finish_reason == "tool_calls"


def test_text_before_calls_is_kept(client, fake: FakeGemini) -> None:
    fake.queue(Reply.sse("vercel-chunks/derived-sse/issue-10781.1.sse.txt"))
    chunks = list(client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "weather?"}], tools=WEATHER,
        stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Let me check."
    calls = [t for c in chunks for t in c.choices[0].delta.tool_calls or ()]
    assert [(t.index, t.function.name) for t in calls] == [(0, "get_weather")]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_recorded_two_turn_conversation_is_replayed_exactly(client, fake: FakeGemini) -> None:
    """The follow-up the adapter sends Gemini matches what the real client sent in the recording:
    the signature back on the call it came with, function names recovered for the results."""
    first, second = cassette()
    fake.queue(recorded_reply(first), recorded_reply(second))
    messages = [
        {"role": "system", "content": "You are a helpful assistant. Always use both add and "
                                      "multiply at the same time."},
        {"role": "user", "content": "Add and multiply the number 2 and 3"},
    ]
    stream = client.chat.completions.create(model=MODEL, messages=messages,
                                            tools=ADD_AND_MULTIPLY, max_tokens=4000, stream=True)
    calls: dict[int, dict] = {}
    for chunk in stream:
        for delta in chunk.choices[0].delta.tool_calls or ():
            calls[delta.index] = delta.model_dump(exclude={"index"}, exclude_none=True)
    messages.append({"role": "assistant", "content": None,
                     "tool_calls": [calls[i] for i in sorted(calls)]})
    results = {"add": '{"result": "5"}', "multiply": '{"result": "6"}'}
    for call in reversed(messages[-1]["tool_calls"]):  # answered out of order on purpose
        messages.append({"role": "tool", "tool_call_id": call["id"],
                         "content": results[call["function"]["name"]]})
    answer = client.chat.completions.create(model=MODEL, messages=messages,
                                            tools=ADD_AND_MULTIPLY, max_tokens=4000)
    assert answer.choices[0].message.content == \
        "The sum of 2 and 3 is 5. The product of 2 and 3 is 6."
    assert answer.choices[0].finish_reason == "stop"

    sent = fake.seen[-1].body["contents"]
    recorded = orjson.loads(second["request"]["body"])["contents"]
    # The recording's client invented ids "1" and "2" for Gemini; we send none (Gemini gave none).
    for content in recorded:
        for part in content["parts"]:
            for key in ("functionCall", "functionResponse"):
                part.get(key, {}).pop("id", None)
    assert sent == recorded


def test_history_from_another_model_needs_no_signature(client, fake: FakeGemini) -> None:
    messages = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_abc123", "type": "function",
             "function": {"name": "weather", "arguments": ""}}]},
        {"role": "tool", "tool_call_id": "call_abc123", "content": "Sunny, 40 C"},
    ]
    fake.queue(Reply.sse("stream-sse-text-after-tool-result.txt"))
    client.chat.completions.create(model=MODEL, messages=messages, tools=WEATHER)
    assert fake.seen[-1].body["contents"][1:] == [
        {"role": "model", "parts": [{"functionCall": {"name": "weather", "args": {}}}]},
        {"role": "user", "parts": [{"functionResponse": {
            "name": "weather", "response": {"content": "Sunny, 40 C"}}}]},
    ]


@pytest.mark.parametrize("reason", ["MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL"])
def test_failed_tool_turn_is_an_error_not_an_empty_answer(client, fake, reason: str) -> None:
    event = {"candidates": [{"content": {"role": "model"}, "finishReason": reason, "index": 0,
                             "finishMessage": "Malformed function call: print(foo"}],
             "responseId": "r1"}
    fake.queue(Reply.events(event), Reply.events(event))
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}],
                                       tools=WEATHER)
    assert info.value.status_code == 502
    assert "Malformed function call: print(foo" in info.value.message
    with pytest.raises(openai.APIError):
        list(client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "x"}], tools=WEATHER, stream=True))


def test_legacy_functions_are_translated(client, fake: FakeGemini) -> None:
    fake.queue(Reply.sse("stream-sse-tool-call.txt"))
    completion = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Weather?"}],
        functions=[WEATHER[0]["function"]], function_call={"name": "weather"})
    body = fake.seen[-1].body
    assert body["tools"][0]["functionDeclarations"][0]["name"] == "weather"
    assert body["toolConfig"]["functionCallingConfig"] == {
        "mode": "ANY", "allowedFunctionNames": ["weather"]}
    assert completion.choices[0].message.tool_calls[0].function.name == "weather"


def test_generate_content_recording_with_three_parallel_calls(client, fake: FakeGemini) -> None:
    fake.queue(Reply.events(fixture_json("generate-content-tool-calls-parallel-3.json")))
    completion = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "go"}], tools=WEATHER)
    names = [c.function.name for c in completion.choices[0].message.tool_calls]
    assert names == ["print", "beep", "controlLight"]
    assert completion.choices[0].message.content is None


RENDER = [{"type": "function", "function": {
    "name": "3d-render", "description": "Render a 3D scene",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}}]


def renamed_call(name: str) -> Reply:
    """The recorded single call, made by Gemini under the name the adapter declared."""
    return Reply(chunks=[chunk.replace(b'"name": "weather"', f'"name": "{name}"'.encode())
                         for chunk in Reply.sse("stream-sse-tool-call.txt").chunks])


@pytest.mark.parametrize("stream", [False, True])
def test_a_name_gemini_cannot_take_round_trips(client, fake: FakeGemini, stream: bool) -> None:
    fake.queue(renamed_call("_.3d-render"), Reply.sse("stream-sse-text-after-tool-result.txt"))
    messages: list[dict] = [{"role": "user", "content": "Render Florence"}]
    if stream:
        with client.chat.completions.stream(model=MODEL, messages=messages,
                                            tools=RENDER) as events:
            completion = events.get_final_completion()
    else:
        completion = client.chat.completions.create(model=MODEL, messages=messages, tools=RENDER)
    declared = fake.seen[-1].body["tools"][0]["functionDeclarations"]
    assert [d["name"] for d in declared] == ["_.3d-render"]
    [call] = completion.choices[0].message.tool_calls
    assert call.function.name == "3d-render"
    messages += [completion.choices[0].message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "done"}]
    client.chat.completions.create(model=MODEL, messages=messages, tools=RENDER,
                                   tool_choice={"type": "function",
                                                "function": {"name": "3d-render"}})
    body = fake.seen[-1].body
    assert body["contents"][1]["parts"][0]["functionCall"]["name"] == "_.3d-render"
    assert body["contents"][2]["parts"][0]["functionResponse"]["name"] == "_.3d-render"
    assert body["toolConfig"]["functionCallingConfig"]["allowedFunctionNames"] == ["_.3d-render"]


def test_a_name_gemini_cannot_take_round_trips_in_responses(client, fake: FakeGemini) -> None:
    fake.queue(renamed_call("_.3d-render"), Reply.sse("stream-sse-text-after-tool-result.txt"))
    tools = [{"type": "function", **RENDER[0]["function"]}]
    first = client.responses.create(model=MODEL, input="Render Florence", tools=tools,
                                    store=False)
    [call] = first.output
    assert call.type == "function_call"
    assert call.name == "3d-render"
    follow_up = [{"role": "user", "content": "Render Florence"},
                 *[item.model_dump(exclude_none=True) for item in first.output],
                 {"type": "function_call_output", "call_id": call.call_id, "output": "done"}]
    client.responses.create(model=MODEL, input=follow_up, tools=tools, store=False)
    contents = fake.seen[-1].body["contents"]
    assert contents[1]["parts"][0]["functionCall"]["name"] == "_.3d-render"
    assert contents[2]["parts"][0]["functionResponse"]["name"] == "_.3d-render"
