"""Images API bodies and forms -> generateContent bodies, and Gemini's answers -> OpenAI's."""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import orjson
import pytest

from adapter.translate.errors import AdapterError, InvalidRequest
from adapter.translate.images import (
    DEFAULT_MODEL,
    MASK_NOTE,
    Upload,
    aspect_ratio,
    edit_request,
    generation_request,
    images_response,
    images_usage,
    sniff_image,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "gemini"
RECORDED = orjson.loads((FIXTURES / "generate-content-image-output.json").read_bytes())
PNG_B64 = RECORDED["candidates"][0]["content"]["parts"][1]["inlineData"]["data"]
PNG = base64.b64decode(PNG_B64)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 "
GIF = b"GIF89a\x01\x00\x01\x00"


def body(**fields: Any) -> dict[str, Any]:
    return {"prompt": "a kitten", **fields}


def rejects(value: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        generation_request(value)
    assert caught.value.status == 400
    return caught.value


def edit_rejects(fields: list[tuple[str, Any]]) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        edit_request(fields)
    return caught.value


def answer(*parts: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"candidates": [{"content": {"role": "model", "parts": list(parts)}, **fields}]}


def image(data: str = PNG_B64, mime: str = "image/png") -> dict[str, Any]:
    return {"inlineData": {"mimeType": mime, "data": data}}


def refusal(value: Any) -> AdapterError:
    with pytest.raises(AdapterError) as caught:
        images_response([value], 0)
    return caught.value


# --- sizes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "ratio"), [
    ("1024x1024", "1:1"),
    ("256x256", "1:1"),
    ("512x512", "1:1"),
    ("1536x1024", "3:2"),
    ("1024x1536", "2:3"),
    ("1792x1024", "16:9"),
    ("1024x1792", "9:16"),
    ("1920x1080", "16:9"),
    ("2560x1080", "21:9"),
    ("1024x768", "4:3"),
    ("768x1024", "3:4"),
    ("1280x1024", "5:4"),
    ("1024x1280", "4:5"),
    ("3000x1000", "21:9"),  # wider than any: the widest
    ("100x1000", "9:16"),  # taller than any: the tallest
    ("1100x1000", "1:1"),
])
def test_size_maps_to_the_nearest_aspect_ratio(size: str, ratio: str) -> None:
    assert aspect_ratio(size) == ratio
    sent = generation_request(body(size=size)).body["generationConfig"]
    assert sent == {"responseModalities": ["TEXT", "IMAGE"], "imageConfig": {"aspectRatio": ratio}}


@pytest.mark.parametrize("size", [None, "auto"])
def test_auto_or_no_size_sends_no_image_config(size: Any) -> None:
    assert aspect_ratio(size) is None
    request = generation_request(body(size=size))
    assert request.body == {
        "contents": [{"role": "user", "parts": [{"text": "a kitten"}]}],
        "generationConfig": {"responseModalities": ["TEXT", "IMAGE"]},
    }


@pytest.mark.parametrize("size", ["big", "1024", "1024x", "0x1024", "1024x0", "-5x10",
                                  "1024 x 1024", "1024X1024", 1024, ["1024x1024"]])
def test_malformed_size_is_a_400(size: Any) -> None:
    assert rejects(body(size=size)).param == "size"


# --- the request ---------------------------------------------------------------------------------


def test_defaults() -> None:
    request = generation_request(body())
    assert (request.model, request.n) == (DEFAULT_MODEL, 1)
    assert DEFAULT_MODEL == "gemini-2.5-flash-image"


def test_model_and_n() -> None:
    request = generation_request(body(model="models/gemini-3-pro-image-preview", n=4))
    assert (request.model, request.n) == ("gemini-3-pro-image-preview", 4)
    assert generation_request(body(model=None)).model == DEFAULT_MODEL


def test_openai_names_pass_through_unless_aliased() -> None:
    assert generation_request(body(model="dall-e-3")).model == "dall-e-3"
    aliases = {"dall-e-3": "gemini-2.5-flash-image", "gpt-image-1": "gemini-3-pro-image-preview"}
    assert generation_request(body(model="dall-e-3"), aliases).model == "gemini-2.5-flash-image"
    assert generation_request(body(model="gpt-image-1"), aliases).model == \
        "gemini-3-pro-image-preview"


def test_ignored_fields_are_accepted_and_not_sent() -> None:
    request = generation_request(body(
        quality="high", style="vivid", user="u-1", safety_identifier="s", background="transparent",
        output_format="webp", moderation="low", output_compression=80, partial_images=0,
        response_format="b64_json", stream=False, complexity="low"))
    assert generation_request(body(stream=None, quality=None, n=None)).n == 1
    assert request.body == generation_request(body()).body


@pytest.mark.parametrize(("fields", "param", "words"), [
    ({"prompt": None}, "prompt", "required"),
    ({"prompt": ""}, "prompt", "non-empty"),
    ({"prompt": "  "}, "prompt", "non-empty"),
    ({"prompt": 5}, "prompt", "string"),
    ({"model": ""}, "model", "non-empty"),
    ({"model": "a/b"}, "model", "not a valid model"),
    ({"n": 0}, "n", "at least 1"),
    ({"n": 11}, "n", "at most 10"),
    ({"n": "2"}, "n", "integer"),
    ({"n": 1.5}, "n", "integer"),
    ({"response_format": "url"}, "response_format", "does not host"),
    ({"response_format": "png"}, "response_format", "b64_json"),
    ({"quality": 3}, "quality", "string"),
    ({"style": ["vivid"]}, "style", "string"),
    ({"user": 1}, "user", "string"),
    ({"background": "green"}, "background", "transparent, opaque, auto"),
    ({"output_format": "svg"}, "output_format", "png, jpeg, webp"),
    ({"output_format": "gif"}, "output_format", "png, jpeg, webp"),
    ({"moderation": "off"}, "moderation", "low, auto"),
    ({"output_compression": 101}, "output_compression", "at most 100"),
    ({"partial_images": 2.5}, "partial_images", "integer"),
    ({"stream": True}, "stream", "Streaming images is not supported"),
    ({"stream": "yes"}, "stream", "boolean"),
])
def test_malformed_fields_are_a_400_naming_the_param(fields, param, words) -> None:
    error = rejects(body(**fields))
    assert error.param == param
    assert words in error.message


def test_url_response_format_has_its_own_code() -> None:
    assert rejects(body(response_format="url")).code == "unsupported_value"


@pytest.mark.parametrize("value", [None, [], "prompt", 3])
def test_body_must_be_an_object(value: Any) -> None:
    assert "JSON object" in rejects(value).message


# --- edits ---------------------------------------------------------------------------------------


def test_edit_parts_are_the_images_then_the_prompt() -> None:
    request = edit_request([("prompt", "make it blue"), ("image[]", Upload(PNG, "image/png")),
                            ("image[]", Upload(JPEG, "image/jpeg")), ("n", "2"),
                            ("size", "1024x1536"), ("model", "gemini-3-pro-image-preview")])
    assert (request.model, request.n) == ("gemini-3-pro-image-preview", 2)
    assert request.body == {
        "contents": [{"role": "user", "parts": [
            {"inlineData": {"mimeType": "image/png", "data": PNG_B64}},
            {"inlineData": {"mimeType": "image/jpeg", "data": base64.b64encode(JPEG).decode()}},
            {"text": "make it blue"},
        ]}],
        "generationConfig": {"responseModalities": ["TEXT", "IMAGE"],
                             "imageConfig": {"aspectRatio": "2:3"}},
    }


def test_a_mask_follows_the_images_with_a_note_before_the_prompt() -> None:
    request = edit_request([("image", Upload(JPEG, "image/jpeg")), ("prompt", "add a hat"),
                            ("mask", Upload(PNG, "image/png"))])
    parts = request.body["contents"][0]["parts"]
    assert parts == [
        {"inlineData": {"mimeType": "image/jpeg", "data": base64.b64encode(JPEG).decode()}},
        {"text": MASK_NOTE},
        {"inlineData": {"mimeType": "image/png", "data": PNG_B64}},
        {"text": "add a hat"},
    ]
    assert "transparent" in MASK_NOTE
    assert (request.model, request.n) == (DEFAULT_MODEL, 1)


@pytest.mark.parametrize("name", ["image", "image[]", "image[0]"])
def test_image_field_spellings(name: str) -> None:
    request = edit_request([(name, Upload(PNG, "image/png")), ("prompt", "x")])
    assert request.body["contents"][0]["parts"][0]["inlineData"]["mimeType"] == "image/png"


@pytest.mark.parametrize(("data", "mime"), [
    (PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp"), (GIF, "image/gif"),
    (b"%PDF-1.7", None), (b"", None), (b"RIFF1234WAVE", None),
])
def test_sniffing(data: bytes, mime: str | None) -> None:
    assert sniff_image(data) == mime


@pytest.mark.parametrize("declared", [None, "application/octet-stream", "text/plain"])
def test_an_upload_without_an_image_type_is_sniffed(declared: str | None) -> None:
    request = edit_request([("image", Upload(WEBP, declared)), ("prompt", "x")])
    assert request.body["contents"][0]["parts"][0]["inlineData"]["mimeType"] == "image/webp"


def test_a_declared_image_type_is_kept() -> None:
    request = edit_request([("image", Upload(PNG, "Image/HEIC; q=1")), ("prompt", "x")])
    assert request.body["contents"][0]["parts"][0]["inlineData"]["mimeType"] == "image/heic"


def test_form_values_are_typed() -> None:
    request = edit_request([("image", Upload(PNG, None)), ("prompt", "x"), ("n", "3"),
                            ("stream", "false"), ("output_compression", "50")])
    assert request.n == 3


@pytest.mark.parametrize(("fields", "param", "words"), [
    ([("prompt", "x")], "image", "at least one image"),
    ([("image", "not a file"), ("prompt", "x")], "image", "file upload"),
    ([("image", Upload(PNG, None)), ("mask", "m"), ("prompt", "x")], "mask", "file upload"),
    ([("image", Upload(PNG, None))], "prompt", "required"),
    ([("image", Upload(b"%PDF-1.7", "application/octet-stream")), ("prompt", "x")], "image",
     "not a PNG, JPEG, WebP or GIF"),
    ([("image", Upload(b"", "image/png")), ("prompt", "x")], "image", "empty file"),
    ([("image", Upload(PNG, None)), ("mask", Upload(b"junk", None)), ("prompt", "x")], "mask",
     "not a PNG"),
    ([("image", Upload(PNG, None)), ("mask", Upload(PNG, None)), ("mask", Upload(PNG, None)),
      ("prompt", "x")], "mask", "once"),
    ([("image", Upload(PNG, None)), ("markup", Upload(PNG, None)), ("prompt", "x")], "markup",
     "not a file this endpoint takes"),
    ([("image", Upload(PNG, None)), ("prompt", "x"), ("n", "two")], "n", "integer"),
    ([("image", Upload(PNG, None)), ("prompt", "x"), ("n", "0")], "n", "at least 1"),
    ([("image", Upload(PNG, None)), ("prompt", "x"), ("stream", "true")], "stream", "Streaming"),
    ([("image", Upload(PNG, None)), ("prompt", "x"), ("size", "wide")], "size", "WIDTHxHEIGHT"),
    ([("image", Upload(PNG, None)), ("prompt", "x"), ("response_format", "url")],
     "response_format", "does not host"),
    ([("image", Upload(PNG, None))] * 17 + [("prompt", "x")], "image", "at most 16"),
])
def test_malformed_edits_are_a_400_naming_the_param(fields, param, words) -> None:
    error = edit_rejects(fields)
    assert error.param == param
    assert words in error.message


# --- answers -------------------------------------------------------------------------------------


def test_the_recorded_answer() -> None:
    result = images_response([RECORDED], 1700000000)
    assert result == {
        "created": 1700000000,
        "data": [{"b64_json": PNG_B64,
                  "revised_prompt": "Here's a cute cartoon kitten playing with a ball of yarn "
                                    "for you!"}],
        "output_format": "png",
        "usage": {
            "input_tokens": 16,
            "input_tokens_details": {"image_tokens": 0, "text_tokens": 16},
            "output_tokens": 1307,
            "output_tokens_details": {"image_tokens": 1290, "text_tokens": 17},
            "total_tokens": 1323,
        },
    }
    assert base64.b64decode(result["data"][0]["b64_json"]) == PNG


def test_n_answers_are_n_images_in_order_with_usage_summed() -> None:
    second = {**answer(image("AAAA")), "usageMetadata": {
        "promptTokenCount": 300, "candidatesTokenCount": 1290, "thoughtsTokenCount": 10,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 42},
                                {"modality": "IMAGE", "tokenCount": 258}],
        "candidatesTokensDetails": [{"modality": "IMAGE", "tokenCount": 1290}]}}
    result = images_response([RECORDED, second], 5)
    assert [d["b64_json"] for d in result["data"]] == [PNG_B64, "AAAA"]
    assert "revised_prompt" not in result["data"][1]  # the model said nothing
    assert result["usage"] == {
        "input_tokens": 316,
        "input_tokens_details": {"image_tokens": 258, "text_tokens": 58},
        "output_tokens": 2607,
        "output_tokens_details": {"image_tokens": 2580, "text_tokens": 27},
        "total_tokens": 2923,
    }


def test_usage_without_metadata_is_zero() -> None:
    assert images_usage([answer(image())]) == {
        "input_tokens": 0, "input_tokens_details": {"image_tokens": 0, "text_tokens": 0},
        "output_tokens": 0, "output_tokens_details": {"image_tokens": 0, "text_tokens": 0},
        "total_tokens": 0}


def test_thought_images_and_thought_text_are_left_out() -> None:
    result = images_response([answer(
        {"text": "planning", "thought": True},
        {**image("DRAFT"), "thought": True},
        {"text": "Here you go."},
        image("FINAL", "image/jpeg"),
    )], 0)
    assert result["data"] == [{"b64_json": "FINAL", "revised_prompt": "Here you go."}]
    assert result["output_format"] == "jpeg"


def test_output_format_only_when_all_images_agree_on_a_known_type() -> None:
    assert "output_format" not in images_response(
        [answer(image()), answer(image(mime="image/webp"))], 0)
    assert "output_format" not in images_response([answer(image(mime="image/heic"))], 0)
    assert images_response([answer(image(mime="image/webp"))] * 2, 0)["output_format"] == "webp"


def test_one_answer_with_two_images_gives_both() -> None:
    result = images_response([answer(image("ONE"), image("TWO"))], 0)
    assert [d["b64_json"] for d in result["data"]] == ["ONE", "TWO"]


@pytest.mark.parametrize("reason", ["SAFETY", "IMAGE_SAFETY", "PROHIBITED_CONTENT",
                                    "IMAGE_PROHIBITED_CONTENT", "BLOCKLIST", "SPII",
                                    "RECITATION", "IMAGE_RECITATION"])
def test_a_refused_image_is_a_content_policy_violation(reason: str) -> None:
    error = refusal(answer(finishReason=reason, finishMessage="Unable to show the image."))
    assert (error.status, error.code) == (400, "content_policy_violation")
    assert reason in error.message
    assert "Unable to show the image." in error.message


def test_the_recorded_safety_refusal() -> None:
    recorded = orjson.loads((FIXTURES / "generate-content-finish-reason-safety.json").read_bytes())
    error = refusal(recorded)
    assert (error.status, error.code) == (400, "content_policy_violation")
    assert "SAFETY" in error.message


def test_a_blocked_prompt_is_a_content_policy_violation() -> None:
    recorded = orjson.loads(
        (FIXTURES / "generate-content-prompt-blocked-vertex-model-armor.json").read_bytes())
    error = refusal(recorded)
    assert (error.status, error.code) == (400, "content_policy_violation")
    assert "MODEL_ARMOR" in error.message
    assert "Prompt Injection" in error.message


@pytest.mark.parametrize(("value", "words"), [
    (answer({"text": "I can only describe it: a kitten."}, finishReason="STOP"),
     ["finishReason STOP", "The model said: I can only describe it: a kitten."]),
    (answer(finishReason="NO_IMAGE", finishMessage="No image was made."),
     ["NO_IMAGE", "No image was made."]),
    (answer(finishReason="IMAGE_OTHER"), ["IMAGE_OTHER"]),
    (answer({"inlineData": {"mimeType": "audio/wav", "data": "AAAA"}}), ["finishReason none"]),
    (answer({"inlineData": {"mimeType": "image/png"}}), ["without an image"]),
    ({"candidates": []}, ["finishReason none"]),
    ({}, ["without an image"]),
])
def test_an_answer_without_an_image_is_a_502_that_says_why(value, words) -> None:
    error = refusal(value)
    assert (error.status, error.code) == (502, "upstream_no_image")
    for word in words:
        assert word in error.message


def test_one_answer_without_an_image_fails_them_all() -> None:
    with pytest.raises(AdapterError) as caught:
        images_response([RECORDED, answer(finishReason="IMAGE_SAFETY")], 0)
    assert caught.value.code == "content_policy_violation"


@pytest.mark.parametrize("value", [None, [], "text"])
def test_an_answer_that_is_not_an_object_is_a_bad_response(value: Any) -> None:
    error = refusal(value)
    assert (error.status, error.code) == (502, "upstream_bad_response")


def test_the_answer_is_not_changed() -> None:
    recorded = copy.deepcopy(RECORDED)
    images_response([recorded], 0)
    assert recorded == RECORDED
