"""A tool-using agent from the OpenAI Agents SDK, run to its final answer through the adapter."""

from __future__ import annotations

from agents import (
    Agent,
    OpenAIResponsesModel,
    RunConfig,
    Runner,
    function_tool,
    set_tracing_disabled,
)
from openai import AsyncOpenAI

from adapter.translate import tool_ids

from ..fake_gemini import FakeGemini, Reply

set_tracing_disabled(True)  # the SDK would upload traces to OpenAI otherwise


@function_tool
def weather(location: str) -> str:
    """Get the weather for a location."""
    return f"{location}: 40 C and sunny"


async def test_agent_runs_a_tool_and_answers(adapter_url: str, fake: FakeGemini) -> None:
    fake.queue(Reply.sse("stream-sse-tool-call.txt"),
               Reply.sse("stream-sse-text-after-tool-result.txt"))
    client = AsyncOpenAI(base_url=f"{adapter_url}/v1", api_key="client-key", max_retries=0)
    agent = Agent(name="Forecaster", instructions="Answer with the weather tool.",
                  tools=[weather],
                  model=OpenAIResponsesModel(model="gemini-2.5-flash", openai_client=client))
    result = await Runner.run(agent, "What's the weather in Florence?",
                              run_config=RunConfig(tracing_disabled=True))
    assert result.final_output == "The weather in Florence,Italy is 40 C."
    first, second = (seen.body for seen in fake.seen)
    assert first["systemInstruction"] == {"parts": [{"text": "Answer with the weather tool."}]}
    assert first["tools"][0]["functionDeclarations"][0]["name"] == "weather"
    call, response = second["contents"][1]["parts"][0], second["contents"][2]["parts"][0]
    assert call["functionCall"] == {"name": "weather", "args": {"location": "Florence,Italy"}}
    assert call["thoughtSignature"]  # came back through the agent's echoed items
    assert response["functionResponse"] == {
        "name": "weather", "response": {"content": "Florence,Italy: 40 C and sunny"}}
    ids = [item.raw_item.call_id for item in result.new_items
           if getattr(item.raw_item, "type", None) == "function_call"]
    assert tool_ids.decode(ids[0])[1] == call["thoughtSignature"]


async def test_agent_streams_its_answer(adapter_url: str, fake: FakeGemini) -> None:
    fake.queue(Reply.sse("stream-sse-text.txt"))
    client = AsyncOpenAI(base_url=f"{adapter_url}/v1", api_key="client-key", max_retries=0)
    agent = Agent(name="Geographer", instructions="Be brief.",
                  model=OpenAIResponsesModel(model="gemini-2.5-flash", openai_client=client))
    result = Runner.run_streamed(agent, "Capital of France?",
                                 run_config=RunConfig(tracing_disabled=True))
    deltas = [event.data.delta async for event in result.stream_events()
              if event.type == "raw_response_event"
              and event.data.type == "response.output_text.delta"]
    assert "".join(deltas) == "The capital of France is Paris.\n"
    assert result.final_output == "The capital of France is Paris.\n"
