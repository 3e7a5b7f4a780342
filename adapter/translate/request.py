"""An OpenAI chat completion request -> the Gemini request it stands for."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from . import validate
from .errors import InvalidRequest
from .messages import translate_messages
from .params import generation_config
from .tools import tool_fields

_MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]*")


@dataclass(slots=True)
class ChatRequest:
    """What the HTTP shell needs to call Gemini and answer the client."""

    model: str  # Gemini model id, without the "models/" prefix
    stream: bool
    include_usage: bool
    gemini: dict[str, Any]  # the GenerateContentRequest body


def model_id(value: Any, param: str = "model") -> str:
    """A Gemini model id from an OpenAI `model` field; `models/x` is accepted."""
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"'{param}' is required and must be a non-empty string.", param)
    name = value.removeprefix("models/")
    if not _MODEL_ID.fullmatch(name):
        raise InvalidRequest(f"'{param}' {value!r} is not a valid model id.", param,
                             code="model_not_found")
    return name


def chat_request(body: Any) -> ChatRequest:
    """Translate a parsed `/v1/chat/completions` body. Raises InvalidRequest on bad input."""
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    model = model_id(body.get("model"))
    if "messages" not in body:
        raise InvalidRequest("'messages' is a required property.", "messages")
    contents, system = translate_messages(body["messages"])
    stream = body.get("stream")
    stream = stream is not None and validate.boolean(stream, "stream")
    include_usage = False
    if (options := body.get("stream_options")) is not None:
        options = validate.mapping(options, "stream_options")
        flag = options.get("include_usage")
        include_usage = flag is not None and validate.boolean(flag, "stream_options.include_usage")
    gemini: dict[str, Any] = {"contents": contents}
    if system is not None:
        gemini["systemInstruction"] = system
    if config := generation_config(body):
        gemini["generationConfig"] = config
    gemini.update(tool_fields(body))
    return ChatRequest(model, stream, include_usage, gemini)
