"""The clients people point at the adapter: LangChain, LiteLLM, and an agent loop on two workers."""

from __future__ import annotations

import json

import litellm
import openai
import orjson
import pytest
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, Field

from adapter.translate import tool_ids

from ..fake_gemini import FakeGemini, Reply
from ..processes import adapter_process
from .helpers import SERVER_KEY

MODEL = "gemini-2.5-flash"


@tool
def weather(location: str) -> str:
    """Get the weather for a location."""
    return f"The weather in {location} is 40 C."


class Weather(BaseModel):
    """Weather report request."""

    location: str = Field(description="City and country")


def chat_model(url: str, **kw) -> ChatOpenAI:
    return ChatOpenAI(model=MODEL, base_url=f"{url}/v1", api_key="client-key", max_retries=0,
                      **kw)


def test_langchain_bind_tools_agent_turns(adapter_url: str, fake: FakeGemini) -> None:
    fake.queue(Reply.sse("stream-sse-tool-call.txt"),
               Reply.sse("stream-sse-text-after-tool-result.txt"))
    llm = chat_model(adapter_url).bind_tools([weather])
    history = [HumanMessage("What's the weather in Florence?")]
    reply = llm.invoke(history)
    [call] = reply.tool_calls
    assert call["name"] == "weather"
    assert call["args"] == {"location": "Florence,Italy"}
    declared = fake.seen[-1].body["tools"][0]["functionDeclarations"][0]
    assert declared["name"] == "weather"
    assert declared["parameters"]["properties"]["location"]["type"] == "string"
    history += [reply, ToolMessage(weather.invoke(call["args"]), tool_call_id=call["id"])]
    answer = llm.invoke(history)
    assert answer.content == "The weather in Florence,Italy is 40 C."
    sent = fake.seen[-1].body["contents"]
    assert sent[1]["parts"][0]["thoughtSignature"] == tool_ids.decode(call["id"])[1]
    assert sent[2]["parts"][0]["functionResponse"]["name"] == "weather"


@pytest.mark.parametrize("fixture", [
    "stream-sse-tool-calls-parallel.txt", "stream-sse-tool-calls-parallel-separate-events.txt"])
def test_langchain_streams_parallel_tool_calls(adapter_url, fake: FakeGemini, fixture) -> None:
    fake.queue(Reply.sse(fixture))

    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    @tool
    def multiply(a: int, b: int) -> int:
        """Multiply two numbers."""
        return a * b

    llm = chat_model(adapter_url, streaming=True).bind_tools([add, multiply])
    message = None
    for chunk in llm.stream("Add and multiply 2 and 3"):
        message = chunk if message is None else message + chunk
    assert message is not None
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [
        ("add", {"a": 2, "b": 3}), ("multiply", {"a": 2, "b": 3})]
    assert message.response_metadata["finish_reason"] == "tool_calls"


def test_langchain_structured_output_by_function_calling(adapter_url, fake: FakeGemini) -> None:
    event = orjson.loads(Reply.sse("stream-sse-tool-call.txt").chunks[0][6:])
    event["candidates"][0]["content"]["parts"][0]["functionCall"]["name"] = "Weather"
    fake.queue(Reply.events(event))
    structured = chat_model(adapter_url).with_structured_output(Weather, method="function_calling")
    result = structured.invoke("Weather in Florence?")
    assert result == Weather(location="Florence,Italy")
    config = fake.seen[-1].body["toolConfig"]["functionCallingConfig"]
    assert config == {"mode": "ANY", "allowedFunctionNames": ["Weather"]}


@pytest.mark.parametrize("stream", [False, True])
def test_litellm_as_openai_compatible_client(adapter_url, fake: FakeGemini, stream) -> None:
    fake.queue(Reply.sse("stream-sse-tool-calls-parallel-separate-events.txt"))
    tools = [{"type": "function", "function": {
        "name": name, "description": name,
        "parameters": {"type": "object", "properties": {"a": {"type": "integer"},
                                                        "b": {"type": "integer"}}}}}
        for name in ("add", "multiply")]
    response = litellm.completion(
        model=f"openai/{MODEL}", api_base=f"{adapter_url}/v1", api_key="client-key",
        messages=[{"role": "user", "content": "2 and 3"}], tools=tools, stream=stream,
        num_retries=0)
    if stream:
        response = litellm.stream_chunk_builder(list(response))
    message = response.choices[0].message
    assert [(c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls] == [
        ("add", {"a": 2, "b": 3}), ("multiply", {"a": 2, "b": 3})]
    assert response.choices[0].finish_reason == "tool_calls"
    assert tool_ids.decode(message.tool_calls[0].id)[1]  # the signature survives LiteLLM


def test_agent_loop_across_two_workers(fake_server: tuple[FakeGemini, str]) -> None:
    """call -> result -> answer, three times, each turn on a new connection to two workers."""
    fake, fake_url = fake_server
    fake.reset()
    tools = [{"type": "function", "function": {
        "name": name, "parameters": {"type": "object", "properties": {
            "a": {"type": "integer"}, "b": {"type": "integer"}}}}} for name in ("add", "multiply")]
    recorded = [orjson.loads(e[6:]) for e in
                Reply.sse("stream-sse-tool-calls-parallel-separate-events.txt").chunks]
    signature = recorded[0]["candidates"][0]["content"]["parts"][0]["thoughtSignature"]
    env = {"GEMINI_BASE_URL": fake_url, "GEMINI_API_KEY": SERVER_KEY}
    with adapter_process("--workers", "2", env=env) as url:
        for _ in range(3):
            fake.queue(Reply.sse("stream-sse-tool-calls-parallel-separate-events.txt"),
                       Reply.sse("stream-sse-text-after-tool-result.txt"))
            messages = [{"role": "user", "content": "Add and multiply 2 and 3"}]
            with openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0) as client:
                first = client.chat.completions.create(model="gemini-3-pro-preview",
                                                       messages=messages, tools=tools)
            message = first.choices[0].message
            messages.append(message.model_dump(exclude_none=True))
            for call in message.tool_calls:
                args = json.loads(call.function.arguments)
                value = args["a"] + args["b"] if call.function.name == "add" else \
                    args["a"] * args["b"]
                messages.append({"role": "tool", "tool_call_id": call.id, "content": str(value)})
            with openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0) as client:
                final = client.chat.completions.create(model="gemini-3-pro-preview",
                                                       messages=messages, tools=tools)
            assert final.choices[0].finish_reason == "stop"
            model_turn, results = fake.seen[-1].body["contents"][1:3]
            assert [p["functionCall"]["id"] for p in model_turn["parts"]] == [
                "8hd01vsf", "k0srpqrc"]
            assert model_turn["parts"][0]["thoughtSignature"] == signature
            assert "thoughtSignature" not in model_turn["parts"][1]
            assert [(p["functionResponse"]["id"], p["functionResponse"]["name"],
                     p["functionResponse"]["response"]) for p in results["parts"]] == [
                ("8hd01vsf", "add", {"content": "5"}), ("k0srpqrc", "multiply", {"content": "6"})]
