"""OpenAI message content (a string or an array of parts) -> Gemini `parts`."""

from __future__ import annotations

from typing import Any

from . import validate
from .errors import InvalidRequest

_TEXT_FIELD_BY_TYPE = {"text": "text", "input_text": "text", "output_text": "text",
                       "refusal": "refusal"}


def _part_text(part: Any, where: str) -> str:
    part = validate.mapping(part, where)
    kind = part.get("type")
    field = _TEXT_FIELD_BY_TYPE.get(kind) if isinstance(kind, str) else None
    if field is None:
        raise InvalidRequest(f"Content part type {kind!r} is not supported here.", f"{where}.type")
    return validate.string(part.get(field), f"{where}.{field}")


def text_of(content: Any, param: str) -> str:
    """The text of content that may only hold text: a string or an array of text parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    items = validate.array(content, param)
    return "".join(_part_text(part, f"{param}[{i}]") for i, part in enumerate(items))


def content_parts(content: Any, param: str) -> list[dict[str, Any]]:
    """Gemini parts for a user or assistant message's content. Empty text is dropped."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts: list[dict[str, Any]] = []
    for i, part in enumerate(validate.array(content, param)):
        text = _part_text(part, f"{param}[{i}]")
        if text:
            parts.append({"text": text})
    return parts
