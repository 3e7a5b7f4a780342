"""Gemini `finishReason` / `promptFeedback.blockReason` -> OpenAI `finish_reason`."""

from __future__ import annotations

_CONTENT_FILTER = (
    "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION", "MODEL_ARMOR", "LANGUAGE",
)
_FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    **dict.fromkeys(_CONTENT_FILTER, "content_filter"),
}


# Turns that failed on the model's side: an empty or half answer would pass for a real one, so
# they become errors (5xx, which OpenAI clients retry when nothing was streamed yet).
FAILED_TURNS = frozenset({
    "MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS",
    "MISSING_THOUGHT_SIGNATURE", "MALFORMED_RESPONSE",
})


def finish_reason(gemini_reason: str, made_tool_calls: bool) -> str:
    """OpenAI finish_reason for a candidate's Gemini finishReason.

    Gemini says STOP after function calls; OpenAI clients need `tool_calls` to run them. Reasons
    without an OpenAI counterpart (OTHER, NO_IMAGE, unknown future values) end the turn as `stop`.
    """
    reason = _FINISH_REASONS.get(gemini_reason, "stop")
    if made_tool_calls and reason == "stop":
        return "tool_calls"
    return reason
