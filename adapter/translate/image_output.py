"""Images in answers: `modalities` -> `responseModalities`, and Gemini `inlineData` answer parts
<-> the `images` list of an OpenAI message (the field OpenAI-compatible routers and LiteLLM use).
Audio parts are not images: they go to the message's `audio` (audio_output.py).

An entry is `{"index", "type": "image_url", "image_url": {"url": "data:<mime>;base64,..."}}`, plus
`thought_signature` when Gemini signed the image (Gemini 3 image models need it back to keep
editing the same picture).
"""

from __future__ import annotations

from typing import Any

from . import validate
from .capabilities import capabilities
from .content import content_parts
from .errors import InvalidRequest
from .wire import Blob, ImageEntry, Part

_MODALITIES = {"text": "TEXT", "image": "IMAGE", "audio": "AUDIO"}


def response_modalities(body: dict[str, Any], model: str) -> list[str] | None:
    """`generationConfig.responseModalities` for `modalities`; an image model answers with text
    and images unless told otherwise, a speaking model with audio. Audio goes alone: Gemini's
    speaking models refuse any other modality beside it (OpenAI's clients ask for
    `["text", "audio"]`)."""
    modalities = body.get("modalities")
    if modalities is None:
        can = capabilities(model)
        return ["TEXT", "IMAGE"] if can.image_output else ["AUDIO"] if can.audio_output else None
    result = []
    for i, modality in enumerate(validate.array(modalities, "modalities")):
        if not isinstance(modality, str) or modality not in _MODALITIES:
            raise InvalidRequest(f"'modalities[{i}]' must be one of text, image, audio, not "
                                 f"{modality!r}.", f"modalities[{i}]")
        result.append(_MODALITIES[modality])
    return ["AUDIO"] if "AUDIO" in result else result or None


def image_entry(blob: Blob, signature: str | None, index: int) -> ImageEntry:
    """The `images` entry for one inlineData part of an answer."""
    url = f"data:{blob.get('mimeType') or 'image/png'};base64,{blob.get('data') or ''}"
    entry: ImageEntry = {"index": index, "type": "image_url", "image_url": {"url": url}}
    if signature:
        entry["thought_signature"] = signature
    return entry


def history_parts(images: Any, where: str) -> list[Part]:
    """The model parts for the `images` an assistant message carries back."""
    entries = [validate.mapping(entry, f"{where}.images[{i}]")
               for i, entry in enumerate(validate.array(images, f"{where}.images"))]
    parts = content_parts([{"type": "image_url", "image_url": entry.get("image_url")}
                           for entry in entries], f"{where}.images")
    for i, (entry, part) in enumerate(zip(entries, parts, strict=True)):
        if (signature := entry.get("thought_signature")) is not None:
            part["thoughtSignature"] = validate.string(
                signature, f"{where}.images[{i}].thought_signature")
    return parts
