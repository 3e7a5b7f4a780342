"""POST /v1/images/generations and /v1/images/edits with the OpenAI SDK, over the fake
generateContent."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import openai
import pytest

from adapter.translate.images import DEFAULT_MODEL, MASK_NOTE

from ..fake_gemini import FakeGemini, Reply, fixture_json, sse_events
from .helpers import SERVER_KEY, Echo, assert_openai_error

MODEL = "gemini-2.5-flash-image"
RECORDED = fixture_json("generate-content-image-output.json")  # derived from the SSE recording
RECORDED_B64 = RECORDED["candidates"][0]["content"]["parts"][1]["inlineData"]["data"]
PNG = base64.b64decode(RECORDED_B64)  # the recorded 1x1 PNG
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(64))
SAID = "Here's a cute cartoon kitten playing with a ball of yarn for you!"
# The recorded prompt-blocked event of a stream is a whole generateContent answer too.
BLOCKED = sse_events("stream-sse-prompt-blocked-safety.txt")[0].strip()[len(b"data: "):]


def recorded(**kw: Any) -> Reply:
    return Reply(chunks=Reply.body(RECORDED).chunks, content_type="application/json", **kw)


def path(model: str = MODEL) -> str:
    return f"/v1beta/models/{model}:generateContent"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def inline(data: bytes, mime: str) -> dict[str, Any]:
    return {"inlineData": {"mimeType": mime, "data": b64(data)}}


def generate(url: str, body: Any) -> httpx.Response:
    return httpx.post(f"{url}/v1/images/generations", json=body, timeout=20)


# --- generations ---------------------------------------------------------------------------------


def test_generate_two_images_with_the_sdk(client: openai.OpenAI, fake: FakeGemini,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    echo = Echo(fake, lambda body: recorded(delay=0.3))
    monkeypatch.setattr(fake, "replies", echo)
    result = client.images.generate(model=MODEL, prompt="A kitten with yarn", n=2,
                                    size="1536x1024", quality="high", user="someone")
    assert [base64.b64decode(d.b64_json) for d in result.data] == [PNG, PNG]
    assert [d.revised_prompt for d in result.data] == [SAID, SAID]
    assert result.output_format == "png"
    assert result.created > 0
    usage = result.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (32, 2614, 2646)
    assert usage.input_tokens_details.text_tokens == 32
    assert usage.output_tokens_details.image_tokens == 2580
    assert len(fake.seen) == 2  # one generateContent call per image
    for seen in fake.seen:
        assert (seen.method, seen.path, seen.query) == ("POST", path(), "")
        assert seen.headers["x-goog-api-key"] == SERVER_KEY
        assert seen.body == {
            "contents": [{"role": "user", "parts": [{"text": "A kitten with yarn"}]}],
            "generationConfig": {"responseModalities": ["TEXT", "IMAGE"],
                                 "imageConfig": {"aspectRatio": "3:2"}},
        }
    # Each call pauses 0.3 s; one after another, the second would find none still open.
    assert max(echo.open_on_arrival) >= 1


def test_no_model_is_the_default_image_model(client, fake: FakeGemini) -> None:
    fake.queue(recorded())
    result = client.images.generate(prompt="A kitten", size="auto")
    assert len(result.data) == 1
    [seen] = fake.seen
    assert seen.path == path(DEFAULT_MODEL)
    assert seen.body["generationConfig"] == {"responseModalities": ["TEXT", "IMAGE"]}


def test_openai_model_names_reach_gemini_as_they_are(client, fake: FakeGemini) -> None:
    fake.queue(Reply.error("error-404-model-not-found.json", 404))
    with pytest.raises(openai.NotFoundError) as info:
        client.images.generate(model="dall-e-3", prompt="A kitten")
    assert info.value.body["message"] == fixture_json(
        "error-404-model-not-found.json")["error"]["message"]
    assert fake.seen[0].path == path("dall-e-3")


def test_an_alias_names_the_gemini_model(start_adapter, fake: FakeGemini) -> None:
    url = start_adapter(GEMINI_API_KEY=SERVER_KEY,
                        ADAPTER_MODEL_MAP="gpt-image-1=gemini-3-pro-image-preview")
    fake.queue(recorded())
    sdk = openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0)
    assert sdk.images.generate(model="gpt-image-1", prompt="A kitten").data
    assert fake.seen[0].path == path("gemini-3-pro-image-preview")


def test_url_response_format_is_a_bad_request(client, fake: FakeGemini) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.images.generate(model=MODEL, prompt="A kitten", response_format="url")
    assert info.value.body["param"] == "response_format"
    assert "does not host" in info.value.body["message"]
    assert fake.seen == []


def test_a_blocked_prompt_is_a_content_policy_violation(client, fake: FakeGemini) -> None:
    fake.queue(Reply(chunks=[BLOCKED], content_type="application/json"))
    with pytest.raises(openai.BadRequestError) as info:
        client.images.generate(model=MODEL, prompt="something bad")
    assert info.value.body["code"] == "content_policy_violation"
    assert "SAFETY" in info.value.body["message"]


def test_a_refused_image_is_a_content_policy_violation(adapter_url, fake: FakeGemini) -> None:
    fake.queue(Reply.body({"candidates": [{"finishReason": "IMAGE_SAFETY",
                                           "finishMessage": "Unable to show the image."}]}))
    error = assert_openai_error(generate(adapter_url, {"prompt": "x"}), 400)
    assert error["code"] == "content_policy_violation"
    assert error["type"] == "invalid_request_error"
    assert "IMAGE_SAFETY" in error["message"]
    assert "Unable to show the image." in error["message"]


def test_an_answer_with_only_text_is_a_502_that_says_why(adapter_url, fake) -> None:
    fake.queue(Reply.body({"candidates": [{"content": {"role": "model", "parts": [
        {"text": "I can't draw that, but here is a poem."}]}, "finishReason": "STOP"}]}))
    error = assert_openai_error(generate(adapter_url, {"prompt": "x"}), 502)
    assert error["code"] == "upstream_no_image"
    assert "I can't draw that, but here is a poem." in error["message"]


def test_one_failing_call_fails_the_request(adapter_url, fake: FakeGemini) -> None:
    fake.queue(recorded(), Reply.error("error-429-rate-limit-exceeded-errorinfo.json", 429))
    response = generate(adapter_url, {"prompt": "x", "n": 2})
    assert_openai_error(response, 429)
    assert len(fake.seen) == 2


@pytest.mark.parametrize(("body", "param"), [
    ({}, "prompt"),
    ({"prompt": "x", "n": 11}, "n"),
    ({"prompt": "x", "size": "huge"}, "size"),
    ({"prompt": "x", "output_format": "svg"}, "output_format"),
    ({"prompt": "x", "stream": True}, "stream"),
])
def test_bad_generations_are_a_400_naming_the_param(adapter_url, fake, body, param) -> None:
    assert assert_openai_error(generate(adapter_url, body), 400)["param"] == param
    assert fake.seen == []


def test_get_is_a_405(adapter_url: str) -> None:
    assert_openai_error(httpx.get(f"{adapter_url}/v1/images/generations"), 405)


# --- edits ---------------------------------------------------------------------------------------


def test_edit_two_images_with_a_mask_with_the_sdk(client, fake: FakeGemini) -> None:
    fake.queue(recorded())
    result = client.images.edit(
        image=[("a.png", PNG, "image/png"), ("b.jpg", JPEG, "image/jpeg")],
        mask=("mask.png", PNG, "image/png"), prompt="Put the kitten in the photo",
        model=MODEL, size="1024x1536")
    [item] = result.data
    assert base64.b64decode(item.b64_json) == PNG
    [seen] = fake.seen
    assert (seen.path, seen.headers["x-goog-api-key"]) == (path(), SERVER_KEY)
    assert seen.body == {
        "contents": [{"role": "user", "parts": [
            inline(PNG, "image/png"),
            inline(JPEG, "image/jpeg"),
            {"text": MASK_NOTE},
            inline(PNG, "image/png"),
            {"text": "Put the kitten in the photo"},
        ]}],
        "generationConfig": {"responseModalities": ["TEXT", "IMAGE"],
                             "imageConfig": {"aspectRatio": "2:3"}},
    }


def test_edit_one_untyped_image_is_sniffed(client, fake: FakeGemini) -> None:
    fake.queue(recorded(), recorded())
    result = client.images.edit(image=("photo", JPEG), prompt="Make it blue", n=2)
    assert len(result.data) == 2
    assert len(fake.seen) == 2
    for seen in fake.seen:
        assert seen.path == path(DEFAULT_MODEL)
        assert seen.body["contents"][0]["parts"] == [inline(JPEG, "image/jpeg"),
                                                     {"text": "Make it blue"}]


def test_edit_with_an_octet_stream_upload(adapter_url, fake: FakeGemini) -> None:
    fake.queue(recorded())
    response = httpx.post(f"{adapter_url}/v1/images/edits", timeout=20,
                          data={"prompt": "x", "response_format": "b64_json"},
                          files={"image": ("x.bin", PNG, "application/octet-stream")})
    assert response.status_code == 200, response.text
    assert fake.seen[0].body["contents"][0]["parts"][0] == inline(PNG, "image/png")


def test_edit_url_response_format_is_a_bad_request(client, fake: FakeGemini) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.images.edit(image=("a.png", PNG, "image/png"), prompt="x", response_format="url")
    assert info.value.body["param"] == "response_format"
    assert fake.seen == []


@pytest.mark.parametrize(("files", "param"), [
    ([("prompt", (None, b"x"))], "image"),  # a text field alone still makes a multipart form
    ([("image", ("a.txt", b"hello", "text/plain")), ("prompt", (None, b"x"))], "image"),
    ([("image", ("a.png", PNG, "image/png"))], "prompt"),
    ([("image", ("a.png", PNG, "image/png")), ("prompt", (None, b"x")), ("n", (None, b"many"))],
     "n"),
    ([("image", ("a.png", PNG, "image/png")), ("prompt", (None, b"x")),
      ("markup", ("m.png", PNG, "image/png"))], "markup"),
])
def test_bad_edits_are_a_400_naming_the_param(adapter_url, fake, files, param) -> None:
    response = httpx.post(f"{adapter_url}/v1/images/edits", files=files, timeout=20)
    assert assert_openai_error(response, 400)["param"] == param
    assert fake.seen == []


def test_edits_must_be_multipart(adapter_url, fake: FakeGemini) -> None:
    response = httpx.post(f"{adapter_url}/v1/images/edits", json={"prompt": "x"}, timeout=20)
    assert "multipart/form-data" in assert_openai_error(response, 400)["message"]
    broken = httpx.post(f"{adapter_url}/v1/images/edits", content=b"not a form",
                        headers={"content-type": "multipart/form-data"}, timeout=20)
    assert "could not be read" in assert_openai_error(broken, 400)["message"]
    assert fake.seen == []


def test_an_oversized_upload_is_a_413(start_adapter, fake: FakeGemini) -> None:
    url = start_adapter(GEMINI_API_KEY=SERVER_KEY, ADAPTER_MAX_BODY_BYTES="2000")
    sdk = openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0)
    big = PNG + bytes(5000)
    with pytest.raises(openai.APIStatusError) as info:
        sdk.images.edit(image=("big.png", big, "image/png"), prompt="x")
    assert info.value.status_code == 413
    assert info.value.body["code"] == "request_too_large"
    form = httpx.Request("POST", f"{url}/v1/images/edits", data={"prompt": "x"},
                         files={"image": ("big.png", big, "image/png")})
    chunked = httpx.post(f"{url}/v1/images/edits", content=iter([form.read()]), timeout=10,
                         headers={"content-type": form.headers["content-type"]})
    assert "content-length" not in chunked.request.headers  # counted while reading
    assert_openai_error(chunked, 413)
    assert fake.seen == []
