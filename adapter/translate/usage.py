"""Gemini `usageMetadata` -> OpenAI `usage`."""

from __future__ import annotations

from .wire import ModalityTokenCount, Usage, UsageMetadata


def usage(meta: UsageMetadata) -> Usage:
    """OpenAI usage for Gemini usage metadata.

    Completion tokens include thinking tokens, as OpenAI counts reasoning tokens; the prompt
    includes tokens of tool-use prompts (code execution, search results) that Gemini bills as input.
    """
    prompt = (meta.get("promptTokenCount") or 0) + (meta.get("toolUsePromptTokenCount") or 0)
    thoughts = meta.get("thoughtsTokenCount") or 0
    completion = (meta.get("candidatesTokenCount") or 0) + thoughts
    prompt_details = {"cached_tokens": meta.get("cachedContentTokenCount") or 0}
    completion_details = {"reasoning_tokens": thoughts}
    if images := _image_tokens(meta.get("promptTokensDetails")):
        prompt_details["image_tokens"] = images
    if images := _image_tokens(meta.get("candidatesTokensDetails")):
        completion_details["image_tokens"] = images
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": meta.get("totalTokenCount") or prompt + completion,
        "prompt_tokens_details": prompt_details,
        "completion_tokens_details": completion_details,
    }


def _image_tokens(details: list[ModalityTokenCount] | None) -> int:
    """The IMAGE tokens of a Gemini per-modality count (given only when there are some)."""
    return sum(d.get("tokenCount") or 0 for d in details or () if d.get("modality") == "IMAGE")
