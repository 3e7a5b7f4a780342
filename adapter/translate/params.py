"""OpenAI sampling parameters -> Gemini `generationConfig`."""

from __future__ import annotations

from typing import Any

from . import validate
from .errors import InvalidRequest


def _stop_sequences(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    items = validate.array(value, "stop")
    for i, item in enumerate(items):
        validate.string(item, f"stop[{i}]")
    return [s for s in items if s]


def generation_config(body: dict[str, Any]) -> dict[str, Any]:
    """Build `generationConfig` from the sampling fields of a chat request.

    Fields that are absent or null are left to Gemini's defaults.
    """
    config: dict[str, Any] = {}
    get = body.get
    if (v := get("temperature")) is not None:
        config["temperature"] = validate.number(v, "temperature", 0, 2)
    if (v := get("top_p")) is not None:
        config["topP"] = validate.number(v, "top_p", 0, 1)
    if (v := get("top_k")) is not None:  # not OpenAI's, but sent by many compatible clients
        config["topK"] = validate.integer(v, "top_k", 1)
    if (v := get("max_completion_tokens")) is not None:
        config["maxOutputTokens"] = validate.integer(v, "max_completion_tokens", 1)
    elif (v := get("max_tokens")) is not None:
        config["maxOutputTokens"] = validate.integer(v, "max_tokens", 1)
    if (v := get("stop")) is not None:
        stops = _stop_sequences(v)
        if stops:
            config["stopSequences"] = stops
    if (v := get("n")) is not None:
        n = validate.integer(v, "n", 1, 8)
        if n != 1:
            config["candidateCount"] = n
    if (v := get("presence_penalty")) is not None:
        config["presencePenalty"] = validate.number(v, "presence_penalty", -2, 2)
    if (v := get("frequency_penalty")) is not None:
        config["frequencyPenalty"] = validate.number(v, "frequency_penalty", -2, 2)
    if (v := get("seed")) is not None:
        config["seed"] = validate.integer(v, "seed")
    logprobs = get("logprobs")
    if logprobs is not None and validate.boolean(logprobs, "logprobs"):
        config["responseLogprobs"] = True
    if (v := get("top_logprobs")) is not None:
        top = validate.integer(v, "top_logprobs", 0, 20)
        if not logprobs:
            raise InvalidRequest("'top_logprobs' requires 'logprobs' to be true.", "top_logprobs")
        if top:
            config["logprobs"] = top
    # Accepted for compatibility only: Gemini has no counterpart, so they change nothing upstream.
    if (v := get("user")) is not None:
        validate.string(v, "user")
    if (v := get("metadata")) is not None:
        validate.mapping(v, "metadata")
    if (v := get("store")) is not None:
        validate.boolean(v, "store")
    return config
