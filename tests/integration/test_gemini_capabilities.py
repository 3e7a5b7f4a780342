"""Gemini's own capabilities through the OpenAI SDK's chat completions: image output, code
execution and URL context, driven by recorded Gemini streams."""

from __future__ import annotations

import base64
import time
from typing import Any

import openai
import orjson
import pytest

from ..fake_gemini import FakeGemini, Reply, fixture_json, sse_events

IMAGE_MODEL = "gemini-2.5-flash-image"
CODE = "result = 65465 - 6544 * 65464 - 6 + 1.02255\nprint(result)"
KITTEN = [{"role": "user", "content": "Draw a kitten"}]


def recorded_image() -> bytes:
    events = [orjson.loads(raw.strip().removeprefix(b"data:"))
              for raw in sse_events("stream-sse-image-output.txt")]
    return next(base64.b64decode(p["inlineData"]["data"]) for e in events
                for c in e.get("candidates", ()) for p in (c.get("content") or {}).get("parts", ())
                if "inlineData" in p)


def decoded(image: dict[str, Any]) -> bytes:
    head, data = image["image_url"]["url"].split(",", 1)
    assert head == "data:image/png;base64"
    return base64.b64decode(data)


def test_image_answer_streamed(client: openai.OpenAI, fake: FakeGemini) -> None:
    fake.queue(Reply.sse("stream-sse-image-output.txt"))
    chunks = list(client.chat.completions.create(model=IMAGE_MODEL, messages=KITTEN, stream=True,
                                                 stream_options={"include_usage": True}))
    images = [image for chunk in chunks for choice in chunk.choices
              for image in (choice.delta.model_extra or {}).get("images") or ()]
    assert [decoded(image) for image in images] == [recorded_image()]
    text = "".join(choice.delta.content or "" for chunk in chunks for choice in chunk.choices)
    assert text.startswith("Here's a cute cartoon kitten")
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens_details.model_extra["image_tokens"] > 0
    [seen] = fake.seen
    assert seen.body["generationConfig"]["responseModalities"] == ["TEXT", "IMAGE"]


def test_image_answer_whole_and_sent_back(client: openai.OpenAI, fake: FakeGemini) -> None:
    fake.queue(Reply.sse("stream-sse-image-output.txt"))
    completion = client.chat.completions.create(
        model="gemini-2.5-flash", messages=KITTEN, modalities=["text", "image"])  # type: ignore[list-item]
    message = completion.choices[0].message
    [image] = message.model_extra["images"]
    assert decoded(image) == recorded_image()
    assert message.content.startswith("Here's a cute cartoon kitten")
    # The application keeps the message as it came and asks for a change to the picture.
    fake.queue(Reply.sse("stream-sse-image-output.txt"))
    client.chat.completions.create(model=IMAGE_MODEL, messages=[
        *KITTEN, message.model_dump(exclude_none=True),
        {"role": "user", "content": "Now make it blue"}])
    model_turn = fake.seen[-1].body["contents"][1]
    assert model_turn["role"] == "model"
    assert model_turn["parts"][-1] == {"inlineData": {
        "mimeType": "image/png", "data": base64.b64encode(recorded_image()).decode()}}


def test_code_execution_streamed_in_order(client: openai.OpenAI, fake: FakeGemini) -> None:
    fake.queue(Reply.sse("stream-sse-code-execution.txt"))
    stream = client.chat.completions.create(
        model="gemini-3-flash-preview", messages=[{"role": "user", "content": "Compute it"}],
        tools=[{"type": "code_interpreter"}], stream=True)  # type: ignore[list-item]
    deltas = [choice.delta for chunk in stream for choice in chunk.choices]
    text = "".join(delta.content or "" for delta in deltas)
    code_at = text.index(f"```python\n{CODE}\n```")
    output_at = text.index("```output\n-428330955.97745\n```")
    answer_at = text.index("The result of")
    assert code_at < output_at < answer_at
    runs = [run for delta in deltas for run in (delta.model_extra or {}).get("code_execution")
            or ()]
    assert runs[0]["code"] == CODE and runs[1]["output"] == "-428330955.97745\n"
    assert fake.seen[0].body["tools"] == [{"codeExecution": {}}]


def test_code_execution_round_trip(client: openai.OpenAI, fake: FakeGemini) -> None:
    fake.queue(Reply.body(fixture_json("generate-content-code-execution.json")))
    messages: list[Any] = [{"role": "user", "content": "Run it"}]
    completion = client.chat.completions.create(
        model="gemini-3-flash-preview", messages=messages,
        extra_body={"code_execution": {}})
    message = completion.choices[0].message
    assert "```python\nprint('ok')\nprint(1/0)\n```" in message.content
    assert "```error\ndivision by zero" in message.content
    client.chat.completions.create(
        model="gemini-3-flash-preview",
        messages=[*messages, message.model_dump(exclude_none=True),
                  {"role": "user", "content": "Why did it fail?"}])
    sent = fake.seen[-1].body["contents"][1]["parts"]
    recorded = fixture_json("generate-content-code-execution.json")["candidates"][0]["content"]
    assert [p for p in sent if "text" not in p] == \
        [p for p in recorded["parts"] if "text" not in p]  # signature kept on the code part


def test_url_context_gives_citations(client: openai.OpenAI, fake: FakeGemini) -> None:
    fake.queue(Reply.sse("stream-sse-url-context.txt"))
    completion = client.chat.completions.create(
        model="gemini-2.5-flash", tools=[{"type": "url_context"}],  # type: ignore[list-item]
        messages=[{"role": "user", "content": "What's new on https://ai.pydantic.dev?"}])
    [annotation] = completion.choices[0].message.annotations
    assert annotation.url_citation.url == "https://ai.pydantic.dev"
    assert annotation.url_citation.end_index == 37
    assert fake.seen[0].body["tools"] == [{"urlContext": {}}]


def test_unsupported_tool_type_is_a_400(client: openai.OpenAI, fake: FakeGemini) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(
            model="gemini-2.5-flash", messages=KITTEN,
            tools=[{"type": "file_search"}])  # type: ignore[list-item]
    assert raised.value.body["param"] == "tools[0].type"
    assert fake.seen == []


def test_parts_with_no_openai_form_are_logged(client: openai.OpenAI, fake: FakeGemini,
                                              caplog: pytest.LogCaptureFixture) -> None:
    fake.queue(Reply.events({"candidates": [{"content": {"role": "model", "parts": [
        {"text": "Here you go"}, {"fileData": {"fileUri": "gs://bucket/report.pdf"}}]},
        "finishReason": "STOP"}]}))
    with caplog.at_level("WARNING", logger="adapter"):
        completion = client.chat.completions.create(model="gemini-2.5-flash", messages=KITTEN)
        assert completion.choices[0].message.content == "Here you go"
        deadline = time.monotonic() + 5  # logged once the answer has gone out
        while not any("does not translate: fileData" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, "no warning logged"
            time.sleep(0.01)
