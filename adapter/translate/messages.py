"""OpenAI chat history -> Gemini `contents` and `systemInstruction`.

Histories that began on another model or provider carry message fields Gemini has no place for.
Each is accepted, and what happens to it is decided here:

- `name` (on any message but `function`, where it names the function): accepted and not sent;
  Gemini has no participant names.
- assistant `refusal` (a string) and `{"type": "refusal", "refusal": ...}` content parts: the
  refusal is what the assistant said, so it goes to Gemini as model text. With both `content`
  and `refusal`, the content comes first and the refusal after it, unless it repeats the content.
- assistant `audio` (`{"id": "audio_..."}`): dropped, as Gemini cannot fetch OpenAI's stored
  audio; its `transcript`, when given, is sent as the text of a message that has no other text.
- assistant `annotations` (citations): dropped; they describe the text, they are not content.
- assistant `reasoning_content` (DeepSeek, vLLM, LiteLLM, and this adapter's own answers) and
  `reasoning` (OpenRouter): sent as a thought part `{"text": ..., "thought": true}` before the
  message's other parts, as Gemini's own SDK sends thoughts back in chat history.
  `reasoning_content` wins when both are given; empty text is dropped; a `reasoning_content`
  that is not a string is a 400, while a `reasoning` that is not a string (an object, or
  OpenRouter's `reasoning_details` array) is dropped. Reasoning alone does not make a turn: an
  assistant message with nothing else to send is dropped with it. A turn that carries a real
  Gemini signature (its calls came from this adapter) goes back as Gemini made it, without the
  text: the signature already holds Gemini's reasoning, and the summary would add a part to a
  turn Gemini signed.
- an assistant turn with nothing to send (content `""` or null, no calls, e.g. a cancelled
  generation) is dropped.
- any other field (`id`, `created`, `tool_calls[].index`, `prefix`, ...) is ignored, and null or
  empty `tool_calls` / `function_call` mean none.

Function names go to Gemini as `function_names.to_gemini` makes them, as the declarations do.
Function calls made by other models carry no thought signature; `signatures.py` gives Gemini 3
the placeholder it accepts instead.
"""

from __future__ import annotations

from typing import Any

import orjson

from . import code_execution, image_output, tool_ids, validate
from .content import content_parts, text_of
from .errors import InvalidRequest
from .function_names import to_gemini
from .wire import Content, FunctionCall, FunctionResponse, Part

_ROLE_BY_OPENAI = {"user": "user", "assistant": "model"}


def _function_call(call: Any, where: str) -> tuple[str, str, Part]:
    """(id, Gemini name, Gemini functionCall part) for one OpenAI `tool_calls` entry.

    The id gives back the Gemini call id and thought signature the call came with, if any.
    """
    call = validate.mapping(call, where)
    function = validate.mapping(call.get("function"), f"{where}.function")
    name = to_gemini(validate.string(function.get("name"), f"{where}.function.name"))
    call_id = call.get("id")
    if call_id is not None:
        validate.string(call_id, f"{where}.id")
    args = parse_arguments(function.get("arguments"), f"{where}.function.arguments")
    gemini_id, signature = tool_ids.decode(call_id) if call_id else (None, None)
    function_call: FunctionCall = {"name": name, "args": args}
    if gemini_id:
        function_call["id"] = gemini_id
    part: Part = {"functionCall": function_call}
    if signature:
        part["thoughtSignature"] = signature
    return call_id or "", name, part


def parse_arguments(raw: Any, where: str) -> dict[str, Any]:
    """Tool call `arguments` (a JSON object string; empty means none) -> a dict."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, dict):
        return raw
    text = validate.string(raw, where)
    try:
        args = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"'{where}' is not valid JSON: {exc}.", where) from None
    if not isinstance(args, dict):
        raise InvalidRequest(f"'{where}' must be a JSON object.", where)
    if not _nests_within_limit(args):
        raise InvalidRequest(f"'{where}' is nested more than {validate.MAX_DEPTH} levels deep.",
                             where, code="too_deeply_nested")
    return args


def _nests_within_limit(value: Any) -> bool:
    """Whether JSON parsed from a string nests no deeper than a request may (the request's own
    nesting was checked when it was parsed; a string's was not)."""
    try:
        validate.nesting(value)
    except InvalidRequest:
        return False
    return True


def tool_result(content: Any, where: str) -> dict[str, Any]:
    """A tool message's content -> a functionResponse `response` object: the JSON object it
    holds, else (not an object, or nested too deep to send as one) its text."""
    text = text_of(content, where)
    if text.startswith("{"):
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            value = None
        if isinstance(value, dict) and _nests_within_limit(value):
            return value
    return {"content": text}


class _History:
    """Collects Gemini contents, merging consecutive turns of the same role."""

    def __init__(self) -> None:
        self.contents: list[Content] = []
        self._last_kind: str | None = None

    def add(self, role: str, parts: list[Part], kind: str) -> None:
        if not parts:
            return
        if self.contents and self._last_kind == kind:
            self.contents[-1]["parts"].extend(parts)
        else:
            self.contents.append({"role": role, "parts": parts})
            self._last_kind = kind


def translate_messages(messages: Any) -> tuple[list[Content], Content | None]:
    """(contents, systemInstruction) for an OpenAI `messages` array.

    `system` and `developer` messages go to systemInstruction wherever they appear. Tool results
    are named from the assistant turn that issued their call id, and a run of them becomes one
    user turn with the responses in the order the calls were made.
    """
    messages = validate.array(messages, "messages")
    if not messages:
        raise InvalidRequest("'messages' must contain at least one message.", "messages")
    system_parts: list[Part] = []
    history = _History()
    calls: dict[str, tuple[str, int]] = {}  # tool call id -> (Gemini name, position in its turn)
    pending: list[tuple[int, Part]] = []  # tool results awaiting their user turn

    def flush_tool_results() -> None:
        if pending:
            pending.sort(key=lambda item: item[0])
            history.add("user", [part for _, part in pending], "tool")
            pending.clear()

    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        message = validate.mapping(message, where)
        role = message.get("role")
        if role in ("tool", "function"):
            pending.append(_tool_response(message, where, calls, len(pending)))
            continue
        flush_tool_results()
        if role in ("system", "developer"):
            text = text_of(message.get("content"), f"{where}.content")
            if text:
                system_parts.append({"text": text})
        elif role == "user":
            history.add("user", content_parts(message.get("content"), f"{where}.content"), "user")
        elif role == "assistant":
            history.add("model", _assistant_parts(message, where, calls), "model")
        else:
            raise InvalidRequest(
                f"Invalid role {role!r} in '{where}'; expected one of system, developer, user, "
                "assistant, tool, function.",
                f"{where}.role",
            )
    flush_tool_results()
    if not history.contents:
        raise InvalidRequest(
            "'messages' must contain at least one user or assistant message with content.",
            "messages",
        )
    system: Content | None = {"parts": system_parts} if system_parts else None
    return history.contents, system


def _assistant_parts(
    message: dict[str, Any], where: str, calls: dict[str, tuple[str, int]]
) -> list[Part]:
    runs = message.get("code_execution")
    if runs:  # the code Gemini ran, rendered in the content: give Gemini back its parts
        text = text_of(message.get("content"), f"{where}.content")
        parts = code_execution.history_parts(text, runs, where)
    else:
        parts = content_parts(message.get("content"), f"{where}.content")
    parts.extend(_said_otherwise(message, where, parts))
    if images := message.get("images"):
        parts.extend(image_output.history_parts(images, where))
    tool_calls = message.get("tool_calls")
    if tool_calls is not None:
        for j, call in enumerate(validate.array(tool_calls, f"{where}.tool_calls")):
            call_id, name, part = _function_call(call, f"{where}.tool_calls[{j}]")
            if call_id:
                calls[call_id] = (name, j)
            parts.append(part)
    legacy = message.get("function_call")
    if legacy is not None:
        legacy = validate.mapping(legacy, f"{where}.function_call")
        name = to_gemini(validate.string(legacy.get("name"), f"{where}.function_call.name"))
        args = parse_arguments(legacy.get("arguments"), f"{where}.function_call.arguments")
        parts.append({"functionCall": {"name": name, "args": args}})
    thought = _reasoning(message, where)
    if thought and parts and not any("thoughtSignature" in part for part in parts):
        parts.insert(0, {"text": thought, "thought": True})
    return parts


def _said_otherwise(
    message: dict[str, Any], where: str, parts: list[Part]
) -> list[Part]:
    """Text parts for what an assistant message says outside `content`: its `refusal`, or the
    `transcript` of its `audio` when it has no text."""
    said = "".join(part.get("text", "") for part in parts)
    extra: list[Part] = []
    if (refusal := message.get("refusal")) is not None:
        refusal = validate.string(refusal, f"{where}.refusal")
        if refusal and refusal != said:
            extra.append({"text": refusal})
            said += refusal
    if (audio := message.get("audio")) is not None:
        audio = validate.mapping(audio, f"{where}.audio")
        if (transcript := audio.get("transcript")) is not None:
            transcript = validate.string(transcript, f"{where}.audio.transcript")
            if transcript and not said:
                extra.append({"text": transcript})
    return extra


def _reasoning(message: dict[str, Any], where: str) -> str:
    """The reasoning text an assistant message carries back (`reasoning_content`, else a
    string `reasoning`), or ""."""
    text = message.get("reasoning_content")
    if text is not None:
        text = validate.string(text, f"{where}.reasoning_content")
    if not text and isinstance(reasoning := message.get("reasoning"), str):
        text = reasoning
    return text or ""


def _tool_response(
    message: dict[str, Any], where: str, calls: dict[str, tuple[str, int]], arrival: int
) -> tuple[int, Part]:
    """(sort key, functionResponse part) for a `tool` or legacy `function` message."""
    gemini_id = None
    if message.get("role") == "function":
        name = to_gemini(validate.string(message.get("name"), f"{where}.name"))
        order = arrival
    else:
        call_id = validate.string(message.get("tool_call_id"), f"{where}.tool_call_id")
        if call_id not in calls:
            raise InvalidRequest(
                f"'{where}.tool_call_id' {call_id!r} does not match any tool call made by an "
                "earlier assistant message.",
                f"{where}.tool_call_id",
            )
        name, order = calls[call_id]
        gemini_id = tool_ids.decode(call_id)[0]
    result = tool_result(message.get("content"), f"{where}.content")
    response: FunctionResponse = {"name": name, "response": result}
    if gemini_id:
        response["id"] = gemini_id
    return order, {"functionResponse": response}
