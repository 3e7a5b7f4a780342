"""Gemini `usageMetadata` -> OpenAI `usage`."""

from __future__ import annotations

from typing import Any


def usage(meta: dict[str, Any]) -> dict[str, Any]:
    """OpenAI usage for Gemini usage metadata.

    Completion tokens include thinking tokens, as OpenAI counts reasoning tokens; the prompt
    includes tokens of tool-use prompts (code execution, search results) that Gemini bills as input.
    """
    get = meta.get
    prompt = (get("promptTokenCount") or 0) + (get("toolUsePromptTokenCount") or 0)
    thoughts = get("thoughtsTokenCount") or 0
    completion = (get("candidatesTokenCount") or 0) + thoughts
    prompt_details = {"cached_tokens": get("cachedContentTokenCount") or 0}
    completion_details = {"reasoning_tokens": thoughts}
    if images := _image_tokens(get("promptTokensDetails")):
        prompt_details["image_tokens"] = images
    if images := _image_tokens(get("candidatesTokensDetails")):
        completion_details["image_tokens"] = images
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": get("totalTokenCount") or prompt + completion,
        "prompt_tokens_details": prompt_details,
        "completion_tokens_details": completion_details,
    }


def _image_tokens(details: list[dict[str, Any]] | None) -> int:
    """The IMAGE tokens of a Gemini per-modality count (given only when there are some)."""
    return sum(d.get("tokenCount") or 0 for d in details or () if d.get("modality") == "IMAGE")
