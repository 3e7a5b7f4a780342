"""Images in chat answers: `modalities`, `images` on deltas and messages, image tokens, and
images sent back in the history."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from adapter.translate.errors import InvalidRequest
from adapter.translate.request import chat_request

from .helpers import build, joined, run, stream

IMAGE_STREAM = "stream-sse-image-output.txt"
USER = [{"role": "user", "content": "Draw a kitten"}]


def recorded_image(events: list[dict[str, Any]]) -> dict[str, Any]:
    return next(p["inlineData"] for e in events for c in e.get("candidates", ())
                for p in (c.get("content") or {}).get("parts", ()) if "inlineData" in p)


def data_url_bytes(url: str) -> tuple[str, bytes]:
    head, data = url.split(",", 1)
    assert head.startswith("data:") and head.endswith(";base64")
    return head[5:-7], base64.b64decode(data)


def test_streamed_image_decodes_to_the_recorded_bytes() -> None:
    events = stream(IMAGE_STREAM)
    _, chunks = run(events)
    images = [image for chunk in chunks for choice in chunk["choices"]
              for image in choice["delta"].get("images", ())]
    assert len(images) == 1
    assert images[0]["index"] == 0 and images[0]["type"] == "image_url"
    mime, data = data_url_bytes(images[0]["image_url"]["url"])
    recorded = recorded_image(events)
    assert mime == recorded["mimeType"] == "image/png"
    assert data == base64.b64decode(recorded["data"])
    assert data.startswith(b"\x89PNG")
    text = joined(chunks, "content")
    assert text.startswith("Here's a cute cartoon kitten")


def test_image_comes_after_the_text_that_preceded_it() -> None:
    _, chunks = run(stream(IMAGE_STREAM))
    kinds = [key for chunk in chunks for choice in chunk["choices"]
             for key in ("content", "images") if choice["delta"].get(key)]
    assert kinds[-1] == "images" and "content" in kinds[:-1]


def test_non_streamed_message_carries_images_and_image_tokens() -> None:
    events = stream(IMAGE_STREAM)
    completion = build(events)
    message = completion["choices"][0]["message"]
    [image] = message["images"]
    assert data_url_bytes(image["image_url"]["url"])[1] == \
        base64.b64decode(recorded_image(events)["data"])
    assert message["content"].startswith("Here's a cute cartoon kitten")
    final = events[-1]["usageMetadata"]
    image_tokens = next(d["tokenCount"] for d in final["candidatesTokensDetails"]
                        if d["modality"] == "IMAGE")
    assert completion["usage"]["completion_tokens_details"]["image_tokens"] == image_tokens
    assert "image_tokens" not in completion["usage"]["prompt_tokens_details"]


def test_signed_images_keep_their_signature() -> None:
    event = {"candidates": [{"content": {"role": "model", "parts": [
        {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/"}, "thoughtSignature": "c2ln"},
    ]}, "finishReason": "STOP"}]}
    _, chunks = run([event])
    [image] = chunks[0]["choices"][0]["delta"]["images"]
    assert image == {"index": 0, "type": "image_url", "thought_signature": "c2ln",
                     "image_url": {"url": "data:image/jpeg;base64,/9j/"}}


def test_images_sent_back_become_model_parts() -> None:
    message = {"role": "assistant", "content": "Here it is", "images": [
        {"index": 0, "type": "image_url", "thought_signature": "c2ln",
         "image_url": {"url": "data:image/png;base64,iVBORw0K"}}]}
    body = {"model": "gemini-3-pro-image-preview",
            "messages": [*USER, message, {"role": "user", "content": "Make it blue"}]}
    model_turn = chat_request(body).gemini["contents"][1]
    assert model_turn == {"role": "model", "parts": [
        {"text": "Here it is"},
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0K"}, "thoughtSignature": "c2ln"},
    ]}


def test_bad_image_sent_back_names_its_param() -> None:
    message = {"role": "assistant", "content": "x", "images": [{"image_url": {"url": 5}}]}
    with pytest.raises(InvalidRequest) as raised:
        chat_request({"model": "m", "messages": [*USER, message]})
    assert raised.value.param == "messages[1].images[0].image_url.url"


@pytest.mark.parametrize(("model", "extra", "expected"), [
    ("gemini-2.5-flash", {"modalities": ["text", "image"]}, ["TEXT", "IMAGE"]),
    ("gemini-2.5-flash", {"modalities": ["text"]}, ["TEXT"]),
    ("gemini-2.5-flash-image", {}, ["TEXT", "IMAGE"]),
    ("gemini-3-pro-image-preview", {}, ["TEXT", "IMAGE"]),
    ("gemini-2.5-flash-image", {"modalities": ["image"]}, ["IMAGE"]),
    ("gemini-2.5-flash", {}, None),
])
def test_response_modalities(model: str, extra: dict[str, Any], expected: list[str] | None) -> None:
    config = chat_request({"model": model, "messages": USER, **extra}).gemini.get(
        "generationConfig", {})
    assert config.get("responseModalities") == expected


def test_unknown_modality_is_a_400() -> None:
    with pytest.raises(InvalidRequest) as raised:
        chat_request({"model": "m", "messages": USER, "modalities": ["text", "video"]})
    assert raised.value.param == "modalities[1]"


def test_image_config_and_passthrough() -> None:
    body = {"model": "gemini-2.5-flash-image", "messages": USER,
            "image_config": {"aspect_ratio": "16:9", "image_size": "2K"}}
    config = chat_request(body).gemini["generationConfig"]
    assert config["imageConfig"] == {"aspectRatio": "16:9", "imageSize": "2K"}
    body = {"model": "gemini-2.5-flash-image", "messages": USER,
            "generationConfig": {"responseModalities": ["IMAGE"]}}
    assert chat_request(body).gemini["generationConfig"]["responseModalities"] == ["IMAGE"]
