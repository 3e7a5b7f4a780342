"""Stored Responses input items -> the API's `ItemResource` list (`GET .../input_items`).

The store keeps the input items as the client sent them (with an id each); typed clients choose
an item's kind by `type` and read typed content parts, so they are converted when read: every
item has `type`, `id` and `status`, message content is a list of parts (`input_text`,
`input_image`, `input_file`; `output_text` or `refusal` on assistant messages).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .pages import after_of, limit_of, order_of, page_of

_STATUSES = ("in_progress", "completed", "incomplete")
_TEXT = ("input_text", "output_text", "text")


def _part(part: Mapping[str, Any], assistant: bool) -> dict[str, Any]:
    """One content part, typed as the item list declares it for the message's role."""
    kind = part.get("type")
    if kind in _TEXT or (kind == "refusal" and not assistant):
        text = part.get("text") if kind in _TEXT else part.get("refusal")
        if not assistant:
            return {"type": "input_text", "text": text}
        annotations = part.get("annotations")
        return {"type": "output_text", "text": text,
                "annotations": annotations if isinstance(annotations, list) else []}
    if kind == "refusal":
        return {"type": "refusal", "refusal": part.get("refusal")}
    if kind == "input_image":
        return {"type": "input_image", "detail": part.get("detail") or "auto",
                "file_id": part.get("file_id"), "image_url": part.get("image_url")}
    return dict(part)  # input_file: its fields are the item list's own


def _content(content: Any, assistant: bool) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [_part({"type": "input_text", "text": content}, assistant)]
    return [_part(part, assistant) for part in content or ()]


def _status(item: Mapping[str, Any]) -> str:
    status = item.get("status")
    return status if status in _STATUSES else "completed"


def item_resource(item: Mapping[str, Any]) -> dict[str, Any]:
    """An input item (as sent, validated when it was, with its stored `id`) as an
    `ItemResource`."""
    kind = item.get("type", "message")
    base = {"id": item["id"], "type": kind}
    if kind == "message":
        role = item.get("role")
        resource = {**base, "role": role, "status": _status(item),
                    "content": _content(item.get("content"), role == "assistant")}
        if role == "assistant" and item.get("phase") is not None:
            resource["phase"] = item["phase"]
        return resource
    if kind in ("function_call_output", "custom_tool_call_output"):
        output = item.get("output", "")
        return {**base, "call_id": item.get("call_id"), "status": _status(item),
                "output": output if isinstance(output, str) else _content(output, False)}
    if kind == "function_call":
        resource = {**base, "call_id": item.get("call_id"), "name": item.get("name"),
                    "arguments": item.get("arguments") or "", "status": _status(item)}
        if item.get("namespace") is not None:
            resource["namespace"] = item["namespace"]
        return resource
    if kind == "custom_tool_call":
        return {**base, "call_id": item.get("call_id"), "name": item.get("name"),
                "input": item.get("input", ""), "status": _status(item)}
    if kind == "reasoning":
        return {**item, "summary": item.get("summary") or []}
    return {**item, "status": item.get("status") or "completed"}  # image or code calls


def input_item_list(items: list[dict[str, Any]], query: Mapping[str, str]) -> dict[str, Any]:
    """The `input_items` list object for the stored items and the query's `order` (`desc`
    unless told), `limit` (1 to 100, 20 unless told) and `after` (an item id: the page starts
    after it, in that order). A bad value is a 400 naming its parameter."""
    ordered = items if order_of(query) == "asc" else items[::-1]
    listed = page_of(ordered, after_of(query), limit_of(query, 20, 100),
                     "input item in this response")
    listed["data"] = [item_resource(item) for item in listed["data"]]
    return listed
