"""Structured output beside function tools on Gemini 2.x, end to end: the adapter offers the
schema as a finish function, and the fake Gemini answers with a recorded call of it (a Gemini
2.0 exchange: the client's tool first, then the finish function), which the client sees as the
message's JSON content, never as a tool call."""

from __future__ import annotations

from agents import (
    Agent,
    OpenAIResponsesModel,
    RunConfig,
    Runner,
    function_tool,
    set_tracing_disabled,
)
from openai import AsyncOpenAI, OpenAI
from pydantic import BaseModel

from ..fake_gemini import FakeGemini, Reply, fixture_json

set_tracing_disabled(True)  # the SDK would upload traces to OpenAI otherwise

MODEL = "gemini-2.5-flash"
ASK = [{"role": "user", "content": "What was the temperature in London on 1 January 2022?"}]
ANSWER = '{"temperature":"30°C","date":"2022-01-01","city":"London"}'  # the client's key order


class Forecast(BaseModel):
    temperature: str
    date: str
    city: str


TOOL = {"type": "function", "function": {
    "name": "temperature", "description": "The temperature in a city on a date.", "strict": True,
    "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                    "date": {"type": "string"}},
                   "required": ["city", "date"], "additionalProperties": False}}}


def finish_call() -> Reply:
    return Reply.events(fixture_json("generate-content-finish-function-call.json"))


def assert_finish_function_sent(body: dict[str, object]) -> None:
    names = [d["name"] for d in body["tools"][0]["functionDeclarations"]]  # type: ignore[index]
    assert names == ["temperature", "final_answer"]
    assert "generationConfig" not in body  # no responseMimeType beside functions on 2.x
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}


def test_chat_parse_gets_the_answer_as_json_content(client: OpenAI, fake: FakeGemini) -> None:
    fake.queue(finish_call())
    completion = client.chat.completions.parse(model=MODEL, messages=ASK, tools=[TOOL],
                                               response_format=Forecast)
    [choice] = completion.choices
    assert choice.finish_reason == "stop"
    assert choice.message.tool_calls in (None, [])
    assert choice.message.content == ANSWER
    assert choice.message.parsed == Forecast(temperature="30°C", date="2022-01-01",
                                             city="London")
    assert_finish_function_sent(fake.seen[-1].body)


def test_chat_stream_gets_the_answer_as_content_deltas(client: OpenAI, fake: FakeGemini) -> None:
    fake.queue(finish_call())
    stream = client.chat.completions.create(
        model=MODEL, messages=ASK, tools=[TOOL], stream=True,
        response_format={"type": "json_schema", "json_schema": {
            "name": "Forecast", "schema": Forecast.model_json_schema(), "strict": True}})
    chunks = list(stream)
    deltas = [choice.delta for chunk in chunks for choice in chunk.choices]
    assert "".join(d.content or "" for d in deltas) == ANSWER
    assert not any(d.tool_calls for d in deltas)
    assert [c.finish_reason for chunk in chunks for c in chunk.choices
            if c.finish_reason] == ["stop"]


@function_tool
def temperature(city: str, date: str) -> str:
    """The temperature in a city on a date."""
    return "30°C"


async def test_agent_with_an_output_type_and_a_tool(adapter_url: str, fake: FakeGemini) -> None:
    """The case reported for the OpenAI Agents SDK: an `output_type` beside a tool, which
    Gemini 2.x refuses natively."""
    fake.queue(Reply.events(fixture_json("generate-content-finish-function-tool-call.json")),
               finish_call())
    client = AsyncOpenAI(base_url=f"{adapter_url}/v1", api_key="client-key", max_retries=0)
    agent = Agent(name="Weather", instructions="Use the temperature tool.", tools=[temperature],
                  output_type=Forecast,
                  model=OpenAIResponsesModel(model=MODEL, openai_client=client))
    result = await Runner.run(agent, ASK[0]["content"], run_config=RunConfig(
        tracing_disabled=True))
    assert result.final_output == Forecast(temperature="30°C", date="2022-01-01", city="London")
    first, second = (seen.body for seen in fake.seen)
    assert_finish_function_sent(first)
    assert_finish_function_sent(second)
    call, response = second["contents"][1]["parts"][0], second["contents"][2]["parts"][0]
    assert call["functionCall"]["name"] == "temperature"
    assert response["functionResponse"]["response"] == {"content": "30°C"}
