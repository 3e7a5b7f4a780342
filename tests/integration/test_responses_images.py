"""The Responses API with Gemini's own tools, through the OpenAI SDK: generated images come back
as image_generation_call items, code execution shows in the output text."""

from __future__ import annotations

import base64

import openai
import orjson

from ..fake_gemini import FakeGemini, Reply, sse_events

IMAGE_MODEL = "gemini-2.5-flash-image"


def recorded_png() -> bytes:
    for raw in sse_events("stream-sse-image-output.txt"):
        event = orjson.loads(raw.strip().removeprefix(b"data:"))
        for candidate in event.get("candidates", ()):
            for part in (candidate.get("content") or {}).get("parts", ()):
                if "inlineData" in part:
                    return base64.b64decode(part["inlineData"]["data"])
    raise AssertionError("no image in the recording")


def test_image_generation_whole(client: openai.OpenAI, fake: FakeGemini) -> None:
    fake.queue(Reply.sse("stream-sse-image-output.txt"))
    response = client.responses.create(model=IMAGE_MODEL, input="Draw a kitten",
                                       tools=[{"type": "image_generation", "size": "1536x1024"}])
    [image] = [item for item in response.output if item.type == "image_generation_call"]
    assert base64.b64decode(image.result) == recorded_png()
    assert response.output_text.startswith("Here's a cute cartoon kitten")
    config = fake.seen[0].body["generationConfig"]
    assert config["responseModalities"] == ["TEXT", "IMAGE"]
    assert config["imageConfig"] == {"aspectRatio": "3:2"}


def test_image_generation_streamed_and_sent_back(client: openai.OpenAI, fake: FakeGemini) -> None:
    fake.queue(Reply.sse("stream-sse-image-output.txt"))
    with client.responses.stream(model=IMAGE_MODEL, input="Draw a kitten",
                                 tools=[{"type": "image_generation"}]) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert "response.image_generation_call.completed" in kinds
    [image] = [item for item in final.output if item.type == "image_generation_call"]
    assert base64.b64decode(image.result) == recorded_png()
    # The next turn sends the output back, as agents do with store off.
    fake.queue(Reply.sse("stream-sse-image-output.txt"))
    client.responses.create(model=IMAGE_MODEL, store=False, tools=[{"type": "image_generation"}],
                            input=[{"role": "user", "content": "Draw a kitten"},
                                   *[item.model_dump(exclude_none=True) for item in final.output],
                                   {"role": "user", "content": "Now make it blue"}])
    model_turn = fake.seen[-1].body["contents"][1]
    assert model_turn["role"] == "model"
    assert model_turn["parts"][-1]["inlineData"] == {
        "mimeType": "image/png", "data": base64.b64encode(recorded_png()).decode()}


def test_code_interpreter_runs_geminis_code_execution(client: openai.OpenAI,
                                                      fake: FakeGemini) -> None:
    fake.queue(Reply.sse("stream-sse-code-execution.txt"))
    with client.responses.stream(
            model="gemini-3-flash-preview", input="Compute it",
            tools=[{"type": "code_interpreter", "container": {"type": "auto"}}]) as stream:
        text = "".join(event.delta for event in stream
                       if event.type == "response.output_text.delta")
    assert fake.seen[0].body["tools"] == [{"codeExecution": {}}]
    assert text.index("```python\nresult = 65465") < text.index("```output\n-428330955.97745") \
        < text.index("The result of")


def test_image_continues_with_previous_response_id(client: openai.OpenAI,
                                                   fake: FakeGemini) -> None:
    fake.queue(Reply.sse("stream-sse-image-output.txt"), Reply.sse("stream-sse-text.txt"))
    first = client.responses.create(model=IMAGE_MODEL, input="Draw a kitten",
                                    tools=[{"type": "image_generation"}])
    client.responses.create(model=IMAGE_MODEL, input="Now make it blue",
                            previous_response_id=first.id)
    user, model_turn, again = fake.seen[-1].body["contents"]
    assert [user["role"], model_turn["role"], again["role"]] == ["user", "model", "user"]
    assert model_turn["parts"][0]["text"].startswith("Here's a cute cartoon kitten")
    assert base64.b64decode(model_turn["parts"][-1]["inlineData"]["data"]) == recorded_png()
