"""Placeholder thought signatures for function calls that Gemini did not make.

Gemini 3 validates thought signatures: in a follow-up, the first `functionCall` part of each
model turn must carry the `thoughtSignature` Gemini gave it, or the request fails with 400
("Function call ... is missing a thought_signature"). Calls that come back from our own answers
have theirs (`tool_ids` carries it inside the tool call id). Calls that Gemini never made have
none: a conversation started on another model (OpenAI's `call_...` ids), calls an application
wrote into the history itself, legacy `function_call` messages. For exactly these, Gemini's
documentation (https://ai.google.dev/gemini-api/docs/thought-signatures, FAQ; Vertex AI
documents the same value) gives a dummy signature that skips the check:
`skip_thought_signature_validator`.

The rules, applied by `chat_request` right after the history is translated (the model is known
there, so both the Chat Completions and the Responses API get them):

- only for models that validate (`capabilities.checks_signatures`): Gemini 3 and later text
  models, and Google's moving `gemini-*-latest` aliases. Image models are left alone (Gemini 3
  Pro Image does not enforce the check), and so are Gemini 2.x and any other model, which would
  gain nothing;
- in each `model` content, only the FIRST functionCall part, and only when it has no signature:
  Gemini signs just the first of parallel calls, so the others go as they are;
- a real signature is never replaced.
"""

from __future__ import annotations

from .capabilities import capabilities
from .wire import Content

PLACEHOLDER = "skip_thought_signature_validator"


def add_placeholders(contents: list[Content], model: str) -> list[Content]:
    """Give the first unsigned functionCall of each model content the placeholder signature,
    if `model` needs one. Changes `contents` in place and returns it."""
    if not capabilities(model).checks_signatures:
        return contents
    for content in contents:
        if content.get("role") != "model":
            continue
        first = next((part for part in content.get("parts", ()) if "functionCall" in part), None)
        if first is not None and not first.get("thoughtSignature"):
            first["thoughtSignature"] = PLACEHOLDER
    return contents
