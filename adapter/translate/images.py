"""OpenAI Images requests (generations and edits) -> Gemini `generateContent` bodies, and the
answers back into an OpenAI `ImagesResponse`.

Gemini image models ignore `candidateCount`, so `n` images are `n` calls with the same body. An
edit's images become `inlineData` parts before the prompt; Gemini has no mask parameter, so a mask
is one more image, introduced by a sentence that says what it marks.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import validate
from .errors import AdapterError, InvalidRequest
from .request import NO_ALIASES, model_id
from .uploads import Upload
from .wire import Part

DEFAULT_MODEL = "gemini-2.5-flash-image"  # when the request names no model
MAX_N = 10  # OpenAI's limit on images in one request
MAX_IMAGES = 16  # OpenAI's limit on images to edit in one request
ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
MASK_NOTE = ("The next image is a mask for the first image: change only the area where the "
             "mask is transparent (or white), and keep everything else as it is.")

_LOG_RATIOS = {ratio: math.log(int(w) / int(h))
               for ratio, (w, h) in ((r, r.split(":")) for r in ASPECT_RATIOS)}
_SIZE = re.compile(r"([0-9]{1,5})x([0-9]{1,5})")
_INTEGER = re.compile(r"-?[0-9]{1,9}")
_IMAGE_FIELD = re.compile(r"image(\[[0-9]*\])?")
# Accepted, checked and ignored: Gemini has nothing they could set.
_STRINGS = ("quality", "style", "user", "safety_identifier", "input_fidelity")
_CHOICES = {"background": ("transparent", "opaque", "auto"), "moderation": ("low", "auto"),
            "output_format": ("png", "jpeg", "webp")}
_INTEGERS = {"output_compression": (0, 100), "partial_images": (0, 3)}
# An answer without an image for these reasons is a refusal, which OpenAI answers with a 400.
_POLICY_REASONS = frozenset({"SAFETY", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "RECITATION",
                             "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION"})
_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/webp": "webp"}


@dataclass(slots=True)
class ImagesRequest:
    """What the HTTP shell needs to call Gemini: `n` calls of `body` to `model`."""

    model: str  # Gemini model id, without the "models/" prefix
    body: dict[str, Any]  # the GenerateContentRequest
    n: int


def aspect_ratio(size: Any, param: str = "size") -> str | None:
    """Gemini's `aspectRatio` nearest to an OpenAI `size` ("WIDTHxHEIGHT"); None for "auto"."""
    if size is None or size == "auto":
        return None
    match = _SIZE.fullmatch(validate.string(size, param))
    if not match or not int(match[1]) or not int(match[2]):
        raise InvalidRequest(f"'{param}' must be 'auto' or WIDTHxHEIGHT such as '1024x1024', "
                             f"got {size!r}.", param)
    target = math.log(int(match[1]) / int(match[2]))
    return min(ASPECT_RATIOS, key=lambda ratio: abs(_LOG_RATIOS[ratio] - target))


def sniff_image(data: bytes) -> str | None:
    """The mime type of PNG, JPEG, WebP or GIF bytes, from their magic numbers."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


def image_mime(upload: Upload, param: str) -> str:
    """The declared `image/*` type, else (octet-stream, none, other) the type the bytes show."""
    declared = (upload.content_type or "").split(";")[0].strip().lower()
    if declared.startswith("image/"):
        return declared
    if sniffed := sniff_image(upload.data):
        return sniffed
    raise InvalidRequest(f"'{param}' is not a PNG, JPEG, WebP or GIF image (its content type is "
                         f"{declared or 'not given'}).", param)


def _inline(upload: Upload, param: str) -> Part:
    if not upload.data:
        raise InvalidRequest(f"'{param}' is an empty file.", param)
    return {"inlineData": {"mimeType": image_mime(upload, param),
                           "data": base64.b64encode(upload.data).decode("ascii")}}


def _check_response_format(value: Any) -> None:
    if value is None or value == "b64_json":
        return
    if value == "url":
        raise InvalidRequest("'response_format' 'url' is not supported: the adapter does not host "
                             "image files. Use 'b64_json' (the default).", "response_format",
                             code="unsupported_value")
    raise InvalidRequest(f"'response_format' must be 'b64_json', got {value!r}.",
                         "response_format")


def _check_ignored(body: dict[str, Any]) -> None:
    """Fields Gemini has no use for must still be well-formed; streaming is refused."""
    stream = body.get("stream")
    if stream is not None and validate.boolean(stream, "stream"):
        raise InvalidRequest("Streaming images is not supported; send 'stream': false.",
                             "stream", code="unsupported_value")
    for name in _STRINGS:
        if body.get(name) is not None:
            validate.string(body[name], name)
    for name, choices in _CHOICES.items():
        if (value := body.get(name)) is not None and value not in choices:
            raise InvalidRequest(f"'{name}' must be one of {', '.join(choices)}, got {value!r}.",
                                 name)
    for name, (low, high) in _INTEGERS.items():
        if body.get(name) is not None:
            validate.integer(body[name], name, low=low, high=high)


def _plan(body: dict[str, Any], images: list[Part],
          aliases: Mapping[str, str]) -> ImagesRequest:
    """The request for the fields both endpoints share, with `images` before the prompt."""
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidRequest("'prompt' is required and must be a non-empty string.", "prompt")
    model = body.get("model")
    model = DEFAULT_MODEL if model is None else model_id(model, aliases=aliases)
    n = body.get("n")
    n = 1 if n is None else validate.integer(n, "n", low=1, high=MAX_N)
    _check_response_format(body.get("response_format"))
    _check_ignored(body)
    config: dict[str, Any] = {"responseModalities": ["TEXT", "IMAGE"]}
    if ratio := aspect_ratio(body.get("size")):
        config["imageConfig"] = {"aspectRatio": ratio}
    contents = [{"role": "user", "parts": [*images, {"text": prompt}]}]
    return ImagesRequest(model, {"contents": contents, "generationConfig": config}, n)


def generation_request(body: Any, aliases: Mapping[str, str] = NO_ALIASES) -> ImagesRequest:
    """Translate a parsed `/v1/images/generations` body. Raises InvalidRequest on bad input."""
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    return _plan(body, [], aliases)


def _form_value(name: str, text: str) -> Any:
    """A form field's text as the JSON value it stands for (numbers, `stream`)."""
    if (name == "n" or name in _INTEGERS) and _INTEGER.fullmatch(text):
        return int(text)
    if name == "stream" and text in ("true", "false"):
        return text == "true"
    return text


def edit_request(fields: list[tuple[str, str | Upload]],
                 aliases: Mapping[str, str] = NO_ALIASES) -> ImagesRequest:
    """Translate the fields of a `/v1/images/edits` form, in order: files as `image`, `image[]`
    (or `image[<i>]`) and `mask`, everything else text. Raises InvalidRequest on bad input."""
    values: dict[str, Any] = {}
    images: list[Upload] = []
    masks: list[Upload] = []
    for name, value in fields:
        if _IMAGE_FIELD.fullmatch(name) or name == "mask":
            if not isinstance(value, Upload):
                raise InvalidRequest(f"'{name}' must be a file upload.", name)
            (masks if name == "mask" else images).append(value)
        elif isinstance(value, Upload):
            raise InvalidRequest(f"'{name}' is not a file this endpoint takes; send the images "
                                 "as 'image' (or 'image[]') and a mask as 'mask'.", name)
        else:
            values[name] = _form_value(name, value)
    if not images:
        raise InvalidRequest("'image' is required: send at least one image file.", "image")
    if len(images) > MAX_IMAGES:
        raise InvalidRequest(f"'image' may hold at most {MAX_IMAGES} images, got {len(images)}.",
                             "image")
    if len(masks) > 1:
        raise InvalidRequest("'mask' may be given once.", "mask")
    parts = [_inline(upload, "image") for upload in images]
    if masks:
        parts += [{"text": MASK_NOTE}, _inline(masks[0], "mask")]
    return _plan(values, parts, aliases)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _no_image(answer: dict[str, Any], candidate: dict[str, Any], text: str) -> AdapterError:
    """The error for an answer without an image: a refusal (400) or a 502 that says why."""
    feedback = _dict(answer.get("promptFeedback"))
    if blocked := feedback.get("blockReason"):
        message = _sentences(f"Gemini blocked the prompt ({blocked}).",
                             feedback.get("blockReasonMessage"))
        return AdapterError(message, 400, code="content_policy_violation")
    reason = candidate.get("finishReason")
    message = _sentences(f"Gemini answered without an image (finishReason {reason or 'none'}).",
                         candidate.get("finishMessage"), text and f"The model said: {text}")
    if str(reason) in _POLICY_REASONS:
        return AdapterError(message, 400, code="content_policy_violation")
    return AdapterError(message, 502, code="upstream_no_image")


def _sentences(*parts: Any) -> str:
    return " ".join(str(part) for part in parts if part)


def answer_images(answer: Any) -> tuple[list[dict[str, Any]], str]:
    """The `inlineData` images of one generateContent answer (thought images left out) and the
    text that came with them; raises the error for an answer without an image."""
    if not isinstance(answer, dict):
        raise AdapterError("Gemini's answer is not a JSON object.", 502,
                           code="upstream_bad_response")
    candidates = answer.get("candidates")
    candidate = _dict(candidates[0]) if isinstance(candidates, list) and candidates else {}
    parts = _dict(candidate.get("content")).get("parts")
    images: list[dict[str, Any]] = []
    texts: list[str] = []
    for part in parts if isinstance(parts, list) else ():
        if not isinstance(part, dict) or part.get("thought"):
            continue
        blob = _dict(part.get("inlineData"))
        if str(blob.get("mimeType", "")).startswith("image/") and blob.get("data"):
            images.append(blob)
        elif isinstance(part.get("text"), str):
            texts.append(part["text"])
    text = "".join(texts).strip()
    if not images:
        raise _no_image(answer, candidate, text)
    return images, text


def _modality(details: Any, modality: str) -> int:
    """The tokens of one modality in a Gemini per-modality count."""
    return sum(_count(d.get("tokenCount")) for d in details if isinstance(d, dict)
               and d.get("modality") == modality) if isinstance(details, list) else 0


def images_usage(answers: list[dict[str, Any]]) -> dict[str, Any]:
    """OpenAI image usage summed over Gemini answers' `usageMetadata` (thinking is output)."""
    inputs = outputs = input_images = output_images = 0
    for answer in answers:
        meta = _dict(answer.get("usageMetadata"))
        inputs += _count(meta.get("promptTokenCount"))
        outputs += _count(meta.get("candidatesTokenCount")) + _count(meta.get("thoughtsTokenCount"))
        input_images += _modality(meta.get("promptTokensDetails"), "IMAGE")
        output_images += _modality(meta.get("candidatesTokensDetails"), "IMAGE")
    return {
        "input_tokens": inputs,
        "input_tokens_details": {"image_tokens": input_images,
                                 "text_tokens": max(0, inputs - input_images)},
        "output_tokens": outputs,
        "output_tokens_details": {"image_tokens": output_images,
                                  "text_tokens": max(0, outputs - output_images)},
        "total_tokens": inputs + outputs,
    }


def images_response(answers: list[Any], created: int) -> dict[str, Any]:
    """The OpenAI ImagesResponse for the Gemini answers to the n calls, in order.

    Each image is one `data` entry, with any text the model said as its `revised_prompt`;
    `output_format` is given when every image has the same png/jpeg/webp type.
    """
    data: list[dict[str, Any]] = []
    formats: set[str | None] = set()
    for answer in answers:
        images, text = answer_images(answer)
        for blob in images:
            item = {"b64_json": blob["data"]}
            if text:
                item["revised_prompt"] = text
            data.append(item)
            formats.add(_FORMATS.get(str(blob.get("mimeType")).lower()))
    result: dict[str, Any] = {"created": created, "data": data, "usage": images_usage(answers)}
    if len(formats) == 1 and None not in formats:
        result["output_format"] = formats.pop()
    return result
