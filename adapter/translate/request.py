"""An OpenAI chat completion request -> the Gemini request it stands for."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from . import validate
from .audio_output import asks_for_audio, audio_format, speech_config
from .content import media_resolution, remote_parts
from .errors import InvalidRequest
from .final_answer import FinishFunction, finish_with_function
from .image_output import response_modalities
from .messages import translate_messages
from .params import generation_config
from .reasoning import thinking_config
from .schema import SchemaBudget
from .signatures import add_placeholders
from .structured_output import response_format
from .tools import SWITCHES, tool_fields
from .wire import Part

_MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]*")
MAX_MODEL_ID = 128  # characters; Gemini's model ids are far shorter
_SNAKE = re.compile(r"_([a-z0-9])")
NO_ALIASES: Mapping[str, str] = MappingProxyType({})
# Gemini fields a caller may set directly (OpenAI SDK `extra_body`), in either spelling.
_PASSTHROUGH = {
    "generationConfig": "generationConfig", "generation_config": "generationConfig",
    "thinkingConfig": "thinkingConfig", "thinking_config": "thinkingConfig",
    "safetySettings": "safetySettings", "safety_settings": "safetySettings",
    "cachedContent": "cachedContent", "cached_content": "cachedContent",
}


@dataclass(slots=True)
class ChatRequest:
    """What the HTTP shell needs to call Gemini and answer the client."""

    model: str  # Gemini model id, without the "models/" prefix
    stream: bool
    include_usage: bool
    gemini: dict[str, Any]  # the GenerateContentRequest body
    remote_media: list[Part] = field(default_factory=list)  # parts to fetch first
    finish: FinishFunction | None = None  # the call that is the JSON answer (Gemini 2.x)
    audio_format: str = "wav"  # of a spoken answer (audio_output.FORMATS)


def model_id(value: Any, param: str = "model", aliases: Mapping[str, str] = NO_ALIASES) -> str:
    """A Gemini model id from an OpenAI `model` field; `models/x` is accepted, and an alias
    (ADAPTER_MODEL_MAP) stands for its model."""
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"'{param}' is required and must be a non-empty string.", param)
    name = aliases.get(value, value).removeprefix("models/")
    if len(name) > MAX_MODEL_ID or not _MODEL_ID.fullmatch(name):
        shown = value if len(value) <= MAX_MODEL_ID else f"{value[:MAX_MODEL_ID]}..."
        raise InvalidRequest(f"'{param}' {shown!r} is not a valid model id.", param,
                             code="model_not_found")
    return name


def _passthrough(body: dict[str, Any]) -> dict[str, Any]:
    """Gemini fields given directly: top level, or under `extra_body.google` (the spelling of
    Google's own OpenAI-compatible endpoint). Gemini tools come back under "tools"."""
    given: dict[str, Any] = {}
    nested = body.get("extra_body")
    google = nested.get("google") if isinstance(nested, dict) else None
    if google is not None:
        google = validate.mapping(google, "extra_body.google")
    tools: list[dict[str, Any]] = []
    for source, where in ((body, ""), (google or {}, "extra_body.google.")):
        for name, canonical in _PASSTHROUGH.items():
            if (value := source.get(name)) is None:
                continue
            if canonical == "cachedContent":
                given[canonical] = validate.string(value, f"{where}{name}")
            elif canonical == "safetySettings":
                given[canonical] = validate.array(value, f"{where}{name}")
            else:
                fields = _camel_keys(validate.mapping(value, f"{where}{name}"))
                if (thinking := fields.get("thinkingConfig")) is not None:
                    fields["thinkingConfig"] = _camel_keys(
                        validate.mapping(thinking, f"{where}{name}.thinkingConfig"))
                given.setdefault(canonical, {}).update(fields)
        for name, tool in SWITCHES.items():
            if (value := source.get(name)) is not None and value is not False:
                config = {} if value is True else validate.mapping(value, f"{where}{name}")
                tools.append({tool: _camel_keys(config)})
    if google is not None and (extra := google.get("tools")) is not None:
        for i, tool in enumerate(validate.array(extra, "extra_body.google.tools")):
            tools.append(_camel_keys(validate.mapping(tool, f"extra_body.google.tools[{i}]")))
    if tools:
        given["tools"] = tools
    return given


def _camel_keys(fields: dict[str, Any]) -> dict[str, Any]:
    """Field names in Gemini's camelCase, so a caller's `max_output_tokens` replaces ours
    instead of standing beside it. Only names: values (a schema's properties) stay as given."""
    return {_SNAKE.sub(lambda m: m[1].upper(), key): value for key, value in fields.items()}


def chat_request(body: Any, aliases: Mapping[str, str] = NO_ALIASES) -> ChatRequest:
    """Translate a parsed `/v1/chat/completions` body. Raises InvalidRequest on bad input."""
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    model = model_id(body.get("model"), aliases=aliases)
    if "messages" not in body:
        raise InvalidRequest("'messages' is a required property.", "messages")
    contents, system = translate_messages(body["messages"])
    add_placeholders(contents, model)  # Gemini 3: calls Gemini did not make need one
    stream = body.get("stream")
    stream = stream is not None and validate.boolean(stream, "stream")
    include_usage = False
    if (options := body.get("stream_options")) is not None:
        options = validate.mapping(options, "stream_options")
        flag = options.get("include_usage")
        include_usage = flag is not None and validate.boolean(flag, "stream_options.include_usage")

    config = generation_config(body)
    schemas = SchemaBudget()  # what all of the request's schemas may expand to, together
    if (effort := body.get("reasoning_effort")) is not None:
        config["thinkingConfig"] = thinking_config(effort, model)
    if (fmt := body.get("response_format")) is not None:
        config.update(response_format(fmt, budget=schemas))
    if resolution := media_resolution(body["messages"]):
        config["mediaResolution"] = resolution
    if modalities := response_modalities(body, model):
        config["responseModalities"] = modalities
    spoken = audio_format(body) if asks_for_audio(body) else "wav"
    if asks_for_audio(body) and (speech := speech_config(body)):
        config["speechConfig"] = speech
    if (image := body.get("image_config")) is not None:
        config["imageConfig"] = _camel_keys(validate.mapping(image, "image_config"))
    given = _passthrough(body)
    config.update(given.pop("generationConfig", {}))
    if thinking := given.pop("thinkingConfig", None):
        config["thinkingConfig"] = {**(config.get("thinkingConfig") or {}), **thinking}

    gemini: dict[str, Any] = {"contents": contents}
    if system is not None:
        gemini["systemInstruction"] = system
    if config:
        gemini["generationConfig"] = config
    gemini.update(tool_fields(body, schemas, given.pop("tools", ())))
    gemini.update(given)
    finish = finish_with_function(gemini, model)  # a JSON answer beside functions, on Gemini 2.x
    return ChatRequest(model, stream, include_usage, gemini, remote_parts(contents), finish,
                       audio_format=spoken)
