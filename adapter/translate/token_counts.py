"""Token counts: Gemini's countTokens request for a translated request, and OpenAI's answer."""

from __future__ import annotations

from typing import Any

from .errors import AdapterError
from .request import ChatRequest


def count_request(chat: ChatRequest) -> dict[str, Any]:
    """The countTokens body: the live request's GenerateContentRequest as it is (contents,
    systemInstruction, tools, generationConfig...), named with its model."""
    return {"generateContentRequest": {**chat.gemini, "model": f"models/{chat.model}"}}


def count_response(answer: Any) -> dict[str, Any]:
    """OpenAI's `response.input_tokens` object for Gemini's countTokens answer (proto3 JSON
    leaves a zero `totalTokens` out)."""
    total = answer.get("totalTokens", 0) if isinstance(answer, dict) else None
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise AdapterError("Gemini answered countTokens without a token count.", 502,
                           code="upstream_bad_response")
    return {"object": "response.input_tokens", "input_tokens": total}
