"""The Responses API and Gemini's own tools: image_generation -> image_generation_call items,
code_interpreter / url_context switches, images sent back in later turns."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from adapter.translate.errors import InvalidRequest
from adapter.translate.request import chat_request
from adapter.translate.responses_request import responses_call

from .helpers import accumulate, emit, plain, stream, validate_event

IMAGE_STREAM = "stream-sse-image-output.txt"


def recorded_png() -> str:
    return next(p["inlineData"]["data"] for e in stream(IMAGE_STREAM)
                for c in e.get("candidates", ()) for p in (c.get("content") or {}).get("parts", ())
                if "inlineData" in p)


def call(**body: Any) -> dict[str, Any]:
    return responses_call({"model": "gemini-2.5-flash-image", "input": "Draw a kitten", **body},
                          []).chat


def test_image_generation_tool_asks_for_images() -> None:
    chat = call(tools=[{"type": "image_generation"}])
    assert chat["modalities"] == ["text", "image"]
    assert "tools" not in chat and "image_config" not in chat
    gemini = chat_request(chat).gemini
    assert gemini["generationConfig"]["responseModalities"] == ["TEXT", "IMAGE"]


@pytest.mark.parametrize(("size", "ratio"), [("1536x1024", "3:2"), ("1024x1536", "2:3"),
                                             ("1024x1024", "1:1"), ("auto", None)])
def test_image_size_becomes_an_aspect_ratio(size: str, ratio: str | None) -> None:
    chat = call(tools=[{"type": "image_generation", "size": size, "quality": "high",
                        "background": "opaque", "output_format": "webp"}])
    assert chat.get("image_config") == ({"aspect_ratio": ratio} if ratio else None)


def test_bad_image_size_names_its_place() -> None:
    with pytest.raises(InvalidRequest) as raised:
        call(tools=[{"type": "function", "name": "f"}, {"type": "image_generation",
                                                        "size": "big"}])
    assert raised.value.param == "tools[1].size"


@pytest.mark.parametrize(("tool", "gemini"), [
    ({"type": "code_interpreter", "container": {"type": "auto"}}, {"codeExecution": {}}),
    ({"type": "url_context"}, {"urlContext": {}}),
])
def test_hosted_tools_switch_on_geminis_own(tool: dict[str, Any], gemini: dict[str, Any]) -> None:
    weather = {"type": "function", "name": "weather", "parameters": {"type": "object"}}
    chat = call(tools=[tool, weather], tool_choice={"type": tool["type"]})
    assert chat["tool_choice"] == "auto"
    tools = chat_request(chat).gemini["tools"]
    assert tools == [{"functionDeclarations": [{"name": "weather"}]}, gemini]


def test_image_generation_call_sent_back_is_the_image_on_its_turn() -> None:
    png = recorded_png()
    chat = call(input=[
        {"role": "user", "content": "Draw a kitten"},
        {"type": "message", "role": "assistant",
         "content": [{"type": "output_text", "text": "Here it is"}]},
        {"type": "image_generation_call", "id": "ig_1", "status": "completed", "result": png,
         "thought_signature": "c2ln"},
        {"type": "code_interpreter_call", "id": "ci_1", "code": "print(1)", "outputs": []},
        {"role": "user", "content": "Make it blue"}])
    model_turn = chat_request(chat).gemini["contents"][1]
    assert model_turn == {"role": "model", "parts": [
        {"text": "Here it is"},
        {"inlineData": {"mimeType": "image/png", "data": png}, "thoughtSignature": "c2ln"}]}


def test_image_sent_back_must_be_base64() -> None:
    with pytest.raises(InvalidRequest) as raised:
        call(input=[{"type": "image_generation_call", "id": "ig_1", "result": "not base64!"}])
    assert raised.value.param == "input[0].result"


def test_streamed_image_is_an_image_generation_call_item() -> None:
    run = emit(stream(IMAGE_STREAM))
    for event in run.events:
        validate_event(event)
    kinds = [e["type"] for e in run.events]
    image_events = [k for k in kinds if "image_generation_call" in k or k.startswith(
        "response.output_item")]
    assert image_events[-5:] == [
        "response.output_item.added", "response.image_generation_call.in_progress",
        "response.image_generation_call.generating", "response.image_generation_call.completed",
        "response.output_item.done"]
    message, image = run.response["output"]
    assert message["type"] == "message"
    assert message["content"][0]["text"].startswith("Here's a cute cartoon kitten")
    assert image["type"] == "image_generation_call" and image["status"] == "completed"
    assert image["id"].startswith("ig_") and image["output_format"] == "png"
    assert base64.b64decode(image["result"]) == base64.b64decode(recorded_png())
    added = next(e for e in run.events if e["type"] == "response.output_item.added"
                 and e["item"]["type"] == "image_generation_call")
    assert added["item"]["result"] is None and added["item"]["status"] == "in_progress"


def test_sdk_accumulates_the_image_item() -> None:
    run = emit(stream(IMAGE_STREAM))
    state, _ = accumulate(run.events)
    image = plain(state._completed_response)["output"][-1]
    assert image["type"] == "image_generation_call"
    assert image["result"] == run.response["output"][-1]["result"]


def test_text_after_an_image_opens_a_new_message() -> None:
    image = {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AAQ"}}
    events = [{"candidates": [{"content": {"role": "model", "parts": [part]}}]}
              for part in ({"text": "Before"}, image, {"text": "After"})]
    events[-1]["candidates"][0]["finishReason"] = "STOP"
    run = emit(events)
    assert [item["type"] for item in run.response["output"]] == [
        "message", "image_generation_call", "message"]
    assert run.response["output"][1]["output_format"] == "jpeg"
    assert [item["content"][0]["text"] for item in run.response["output"][::2]] == \
        ["Before", "After"]


def model_parts(*output: dict[str, Any]) -> list[dict[str, Any]]:
    """The Gemini parts of the model turn that the given output items send back."""
    chat = call(input=[{"role": "user", "content": "Draw a kitten"}, *output,
                       {"role": "user", "content": "Again"}])
    contents = chat_request(chat).gemini["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user"]
    return contents[1]["parts"]


def test_sent_back_turn_keeps_the_order_of_its_items() -> None:
    png = recorded_png()
    image = {"type": "image_generation_call", "id": "ig_1", "status": "completed", "result": png}
    said = {"type": "message", "role": "assistant",
            "content": [{"type": "output_text", "text": "There"}]}
    weather = {"type": "function_call", "call_id": "call_1", "name": "weather",
               "arguments": "{}"}
    parts = model_parts(image, said, weather, image)
    assert [next(iter(part)) for part in parts] == [
        "inlineData", "text", "functionCall", "inlineData"]


def test_failed_image_generation_call_sends_nothing_back() -> None:
    failed = {"type": "image_generation_call", "id": "ig_1", "status": "failed", "result": None}
    said = {"type": "message", "role": "assistant",
            "content": [{"type": "output_text", "text": "I could not draw that."}]}
    assert model_parts(failed, said) == [{"text": "I could not draw that."}]


@pytest.mark.parametrize("choice", ["required", "none", {"type": "image_generation"},
                                    {"type": "code_interpreter"}])
def test_tool_choice_without_function_tools_is_dropped(choice: Any) -> None:
    chat = call(tools=[{"type": "image_generation"}, {"type": "code_interpreter"}],
                tool_choice=choice)
    assert "tool_choice" not in chat
    assert "toolConfig" not in chat_request(chat).gemini


def test_signed_image_comes_back_with_its_signature() -> None:
    png = recorded_png()
    image = {"inlineData": {"mimeType": "image/png", "data": png}, "thoughtSignature": "c2ln"}
    events = [{"candidates": [{"content": {"role": "model", "parts": [part]}}]}
              for part in ({"text": "Here"}, image)]
    events[-1]["candidates"][0]["finishReason"] = "STOP"
    output = emit(events).response["output"]
    assert output[1]["thought_signature"] == "c2ln"
    assert "c2ln" not in output[1]["id"]
    assert model_parts(*output) == [
        {"text": "Here"},
        {"inlineData": {"mimeType": "image/png", "data": png}, "thoughtSignature": "c2ln"}]


def test_streamed_image_is_the_recorded_png() -> None:
    [image] = [item for item in emit(stream(IMAGE_STREAM)).response["output"]
               if item["type"] == "image_generation_call"]
    assert base64.b64decode(image["result"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert set(image) == {"id", "type", "status", "result", "output_format"}
