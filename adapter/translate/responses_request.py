"""An OpenAI Responses request -> the Chat Completions request it stands for.

The Responses API is a second front door to the same translation core: its items become chat
messages and its options chat parameters, and `chat_request` then makes the Gemini request, so
both APIs send Gemini exactly the same thing for the same conversation.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from . import validate
from .capabilities import capabilities
from .errors import InvalidRequest
from .images import aspect_ratio, sniff_image
from .request import NO_ALIASES, model_id
from .schema import SchemaBudget, function_parameters, to_gemini_schema
from .tools import BUILT_IN, GOOGLE_SEARCH, WEB_SEARCH

_CUSTOM_INPUT = {"type": "object", "properties": {"input": {
    "type": "string", "description": "The tool's input, as free-form text."}},
    "required": ["input"]}


@dataclass(slots=True)
class ResponsesCall:
    """A Responses request, as the route needs it."""

    chat: dict[str, Any]  # the equivalent Chat Completions body
    messages: list[dict[str, Any]]  # chat messages of this request's input (without history)
    custom_tools: set[str] = field(default_factory=set)  # tools answered as custom_tool_call
    namespaces: dict[str, str] = field(default_factory=dict)  # function name -> its namespace
    echo: dict[str, Any] = field(default_factory=dict)  # request fields the response repeats


def _content(content: Any, where: str) -> str | list[dict[str, Any]]:
    """Responses message content -> chat message content."""
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for i, part in enumerate(validate.array(content, where)):
        part = validate.mapping(part, f"{where}[{i}]")
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text"):
            parts.append({"type": "text", "text": validate.string(part.get("text"),
                                                                  f"{where}[{i}].text")})
        elif kind == "refusal":
            parts.append({"type": "text", "text": validate.string(part.get("refusal"),
                                                                  f"{where}[{i}].refusal")})
        elif kind == "input_image":
            if part.get("file_id"):
                parts.append({"type": "file", "file": {"file_id": part["file_id"]}})
            else:
                image = {"url": validate.string(part.get("image_url"), f"{where}[{i}].image_url")}
                if part.get("detail"):
                    # "original" (full size) is the most detail Gemini's resolutions offer: high
                    image["detail"] = "high" if part["detail"] == "original" else part["detail"]
                parts.append({"type": "image_url", "image_url": image})
        elif kind == "input_file":
            if part.get("file_url"):
                parts.append({"type": "file", "file": {"file_url": part["file_url"]}})
            else:
                file = {k: part[k] for k in ("file_data", "file_id", "filename") if part.get(k)}
                parts.append({"type": "file", "file": file})
        else:
            raise InvalidRequest(f"Content part type {kind!r} is not supported.",
                                 f"{where}[{i}].type")
    return parts


def _tool_output(output: Any, where: str) -> str | list[dict[str, Any]]:
    if isinstance(output, str):
        return output
    return _content(output, where)


class _Messages:
    """Builds chat messages from items, keeping a model turn's output in assistant messages.

    The chat core sends an assistant message's content, then its images, then its tool calls, and
    merges consecutive assistant messages into one model turn: an item joins the last assistant
    message only when nothing that goes after it is there yet, so the turn keeps the items' order.
    """

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def _assistant(self) -> dict[str, Any]:
        last = self.messages[-1] if self.messages else None
        if last is None or last["role"] != "assistant":
            last = {"role": "assistant", "content": None}
            self.messages.append(last)
        return last

    def image(self, item: dict[str, Any], where: str) -> None:
        """An image Gemini made earlier (an `image_generation_call` item), back on its turn."""
        if item.get("result") is None:
            return  # an image that never came (a failed call): nothing to give back
        result = validate.string(item["result"], f"{where}.result")
        try:
            head = base64.b64decode(result[:24], validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest(f"'{where}.result' must be base64 image data.",
                                 f"{where}.result") from None
        entry = {"type": "image_url", "image_url": {
            "url": f"data:{sniff_image(head) or 'image/png'};base64,{result}"}}
        if item.get("thought_signature"):  # put there by our emitter, for Gemini 3
            entry["thought_signature"] = item["thought_signature"]
        last = self._assistant()
        if last.get("tool_calls"):
            last = {"role": "assistant", "content": None}
            self.messages.append(last)
        last.setdefault("images", []).append(entry)

    def call(self, call_id: str, name: str, arguments: str) -> None:
        self._assistant().setdefault("tool_calls", []).append(
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}})

    def text(self, role: str, content: str | list[dict[str, Any]]) -> None:
        if role == "assistant":
            last = self._assistant()
            if last.get("tool_calls") or last.get("images") or last["content"] is not None:
                last = {"role": "assistant", "content": None}
                self.messages.append(last)
            last["content"] = content
        else:
            self.messages.append({"role": role, "content": content})


def input_messages(items: Any, where: str = "input") -> list[dict[str, Any]]:
    """Chat messages for a Responses `input` (a string or a list of items)."""
    if isinstance(items, str):
        return [{"role": "user", "content": items}]
    built = _Messages()
    for i, item in enumerate(validate.array(items, where)):
        at = f"{where}[{i}]"
        item = validate.mapping(item, at)
        kind = item.get("type", "message" if "role" in item else None)
        if kind == "message":
            role = item.get("role")
            if role not in ("user", "assistant", "system", "developer"):
                raise InvalidRequest(f"Invalid role {role!r} in '{at}'.", f"{at}.role")
            built.text(role, _content(item.get("content"), f"{at}.content"))
        elif kind == "function_call":
            built.call(validate.string(item.get("call_id"), f"{at}.call_id"),
                       validate.string(item.get("name"), f"{at}.name"),
                       item.get("arguments") or "")
        elif kind == "custom_tool_call":
            text = validate.string(item.get("input", ""), f"{at}.input")
            built.call(validate.string(item.get("call_id"), f"{at}.call_id"),
                       validate.string(item.get("name"), f"{at}.name"),
                       orjson.dumps({"input": text}).decode())
        elif kind in ("function_call_output", "custom_tool_call_output"):
            built.messages.append({
                "role": "tool",
                "tool_call_id": validate.string(item.get("call_id"), f"{at}.call_id"),
                "content": _tool_output(item.get("output", ""), f"{at}.output")})
        elif kind == "image_generation_call":
            built.image(item, at)
        elif kind in ("reasoning", "code_interpreter_call"):
            # Skipped: our signatures ride in call ids, a reasoning summary is no input for
            # Gemini, and the code Gemini ran is in the message text already, as Markdown.
            continue
        else:
            raise InvalidRequest(f"Input item type {kind!r} is not supported.", f"{at}.type")
    return built.messages


@dataclass(slots=True)
class _Tools:
    """What a Responses `tools` list asks for."""

    functions: list[dict[str, Any]] = field(default_factory=list)  # chat function tools
    custom: set[str] = field(default_factory=set)  # names of custom tools
    namespaces: dict[str, str] = field(default_factory=dict)  # function -> its namespace
    built_in: list[dict[str, Any]] = field(default_factory=list)  # Gemini's own tools
    search: bool = False  # web search asked for
    image: dict[str, Any] | None = None  # the image_generation tool
    image_at: str = ""  # where it is, for errors


def _tools(tools: Any, schemas: SchemaBudget) -> _Tools:
    """Sort a Responses `tools` list into what the chat request needs (function schemas are
    checked here, so that a schema too large or deep is named as the client named it)."""
    found = _Tools()
    chat_tools, custom, namespaces = found.functions, found.custom, found.namespaces

    def add(tool: dict[str, Any], at: str, namespace: str | None = None) -> None:
        kind = tool.get("type")
        if kind == "function":
            function = {k: tool[k] for k in ("name", "description", "parameters") if k in tool}
            function_parameters(tool.get("parameters"), f"{at}.parameters", schemas)
            chat_tools.append({"type": "function", "function": function})
            if namespace is not None:
                namespaces[validate.string(tool.get("name"), f"{at}.name")] = namespace
        elif kind == "custom":
            name = validate.string(tool.get("name"), f"{at}.name")
            custom.add(name)
            description = validate.string(tool.get("description") or "", f"{at}.description")
            if (fmt := tool.get("format")) and isinstance(fmt, dict) and fmt.get("definition"):
                description += f"\n\nThe input must follow this {fmt.get('syntax', '')} " \
                               f"grammar:\n{fmt['definition']}"
            chat_tools.append({"type": "function", "function": {
                "name": name, "description": description.strip(), "parameters": _CUSTOM_INPUT}})
        elif kind == "namespace":
            name = validate.string(tool.get("name"), f"{at}.name")
            for j, inner in enumerate(validate.array(tool.get("tools"), f"{at}.tools")):
                add(validate.mapping(inner, f"{at}.tools[{j}]"), f"{at}.tools[{j}]", name)
        elif kind in WEB_SEARCH:
            found.search = found.search or tool.get("external_web_access") is not False
        elif isinstance(kind, str) and kind in BUILT_IN:
            found.built_in.append({"type": kind})  # a code_interpreter's container is Gemini's
        elif kind == "image_generation":
            found.image, found.image_at = tool, at
        else:
            raise InvalidRequest(f"Tool type {kind!r} is not supported by this adapter.",
                                 f"{at}.type")

    for i, tool in enumerate(validate.array(tools, "tools")):
        add(validate.mapping(tool, f"tools[{i}]"), f"tools[{i}]")
    return found


def _echoed_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """A (validated) tool as OpenAI repeats it in the response: a function with `description`,
    `parameters` and `strict` present (null when not sent: Gemini enforces no strict schemas),
    a custom tool with `description` and its `format` (unconstrained text unless told)."""
    kind = tool.get("type")
    if kind == "function":
        return {**tool, "description": tool.get("description"),
                "parameters": tool.get("parameters"), "strict": tool.get("strict")}
    if kind == "custom":
        return {**tool, "description": tool.get("description"),
                "format": tool.get("format") or {"type": "text"}}
    if kind == "namespace":
        return {**tool, "tools": [_echoed_tool(inner) for inner in tool["tools"]]}
    return tool


def _tool_choice(choice: Any) -> Any:
    if isinstance(choice, dict) and choice.get("type") in ("function", "custom"):
        return {"type": "function", "function": {"name": choice.get("name")}}
    if isinstance(choice, dict):  # a hosted tool: Gemini decides when to use its own tools
        return "auto"
    return choice


def _image_options(tool: dict[str, Any], at: str) -> dict[str, Any]:
    """Chat fields for the image_generation tool: images in the answer, at the size asked for.
    Quality, background, output format, moderation and the like have no Gemini counterpart and
    are ignored; Gemini picks the image format (the item says which)."""
    options: dict[str, Any] = {"modalities": ["text", "image"]}
    if ratio := aspect_ratio(tool.get("size"), f"{at}.size"):
        options["image_config"] = {"aspect_ratio": ratio}
    return options


def _text_format(text: Any, schemas: SchemaBudget) -> dict[str, Any] | None:
    fmt = validate.mapping(text, "text").get("format")
    if fmt is None:
        return None
    fmt = validate.mapping(fmt, "text.format")
    if fmt.get("type") == "json_schema":
        spec = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
        if isinstance(schema := fmt.get("schema"), dict) and schema:
            to_gemini_schema(schema, "text.format.schema", schemas)
        return {"type": "json_schema", "json_schema": spec}
    return {"type": fmt.get("type")}


def _searches_beside_functions(model: Any, aliases: Mapping[str, str]) -> bool:
    """Whether the model a request names (an alias or `models/` id resolved first) can search
    in a request that declares functions."""
    return GOOGLE_SEARCH in capabilities(model_id(model, aliases=aliases)).tools_beside_functions


def responses_call(body: Any, history: list[dict[str, Any]],
                   aliases: Mapping[str, str] = NO_ALIASES) -> ResponsesCall:
    """Translate a `/v1/responses` body; `history` holds the chat messages of the stored
    conversation that `previous_response_id` continues (empty without one), `aliases` the
    model aliases (ADAPTER_MODEL_MAP) the chat request will resolve."""
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    if body.get("input") is None:
        raise InvalidRequest("'input' is a required property.", "input")
    messages = input_messages(body["input"])
    instructions = body.get("instructions")
    system = [{"role": "system", "content": validate.string(instructions, "instructions")}] \
        if instructions else []
    chat: dict[str, Any] = {"model": body.get("model"), "messages": [*system, *history, *messages],
                            "stream": body.get("stream") is not None
                            and validate.boolean(body["stream"], "stream")}
    for name, target in (("temperature", "temperature"), ("top_p", "top_p"),
                         ("max_output_tokens", "max_completion_tokens"),
                         ("parallel_tool_calls", "parallel_tool_calls"),
                         ("top_logprobs", "top_logprobs"), ("user", "user"),
                         ("metadata", "metadata")):
        if body.get(name) is not None:
            chat[target] = body[name]
    if body.get("max_output_tokens") is not None:  # named as the client named it
        validate.integer(body["max_output_tokens"], "max_output_tokens", 1)
    if body.get("top_logprobs") is not None:
        chat["logprobs"] = True
    schemas = SchemaBudget()  # checked with this request's own names; chat_request converts
    tools = _tools(body["tools"], schemas) if body.get("tools") else _Tools()
    if tools.functions or tools.built_in:
        chat["tools"] = [*tools.functions, *tools.built_in]
    # Clients offer web search beside their functions as a matter of course; a model that
    # cannot have both (Gemini before 3) gets the functions.
    if tools.search and (not tools.functions
                         or _searches_beside_functions(body.get("model"), aliases)):
        chat["web_search_options"] = {}
    if tools.image is not None:
        chat.update(_image_options(tools.image, tools.image_at))
    if (choice := body.get("tool_choice")) is not None and tools.functions:
        chat["tool_choice"] = _tool_choice(choice)
    if (reasoning := body.get("reasoning")) is not None:
        reasoning = validate.mapping(reasoning, "reasoning")
        if (effort := reasoning.get("effort")) is not None:
            chat["reasoning_effort"] = effort
        elif reasoning.get("summary"):  # summaries asked for at the model's own effort
            chat["thinking_config"] = {"includeThoughts": True}
    if (text := body.get("text")) is not None and (fmt := _text_format(text, schemas)):
        chat["response_format"] = fmt
    for name in ("generationConfig", "generation_config", "thinkingConfig", "thinking_config",
                 "safetySettings", "safety_settings", "cachedContent", "cached_content",
                 "extra_body"):
        if name in body:
            chat[name] = body[name]
    echo = {k: body.get(k) for k in (
        "instructions", "max_output_tokens", "metadata", "previous_response_id", "reasoning",
        "temperature", "text", "tool_choice", "tools", "top_p", "user", "truncation",
        "parallel_tool_calls", "store", "prompt_cache_key", "service_tier")}
    if body.get("tools"):  # validated by _tools
        echo["tools"] = [_echoed_tool(tool) for tool in body["tools"]]
    return ResponsesCall(chat, messages, tools.custom, tools.namespaces, echo)
