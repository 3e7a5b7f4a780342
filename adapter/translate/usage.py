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
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": get("totalTokenCount") or prompt + completion,
        "prompt_tokens_details": {"cached_tokens": get("cachedContentTokenCount") or 0},
        "completion_tokens_details": {"reasoning_tokens": thoughts},
    }
