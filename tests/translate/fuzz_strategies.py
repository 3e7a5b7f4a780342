"""Hypothesis strategies for fuzzing the request translators: arbitrary JSON values, realistic
request bodies of each API, and those bodies with one place (at any depth) replaced, added or
removed.

Values are drawn as JSON text can hold them, integers of any size included; test_fuzz sends them
through the routes' parse, where an integer beyond 64 bits becomes a float (beyond a double, the
body is refused).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
from hypothesis import strategies as st

from adapter.translate import tool_ids
from adapter.translate.validate import MAX_DEPTH

Place = tuple[str | int, ...]  # keys and indexes from the top of a value

SIGNATURE = "CiQBvj72+xCKZ6n2ewHIHg3nIWfu6zy4Znh/TJTlgZMDBj7UcfoK"
SIGNED_CALL = tool_ids.encode("fc1", SIGNATURE)
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAC0lEQVR4nGNgAAIAAAUAAXpeqz8AAAAASUVORK5CYII="
PNG_URL = f"data:image/png;base64,{PNG}"

EDGE_INTS = (0, -1, 1, 2, 8, 9, 20, 21, 128, 2**31, 2**53 + 1, 2**63 - 1, -(2**63), 2**64 - 1,
             2**64, -(2**63) - 1, 10**30, -(10**30), 10**400)
# JSON an argument or tool result string may hold: deeper than orjson writes (254 levels).
DEEP_JSON_TEXT = '{"a":' * 300 + "1" + "}" * 300
# A value of each JSON type, for a field that expects another.
OTHER_TYPES = (None, True, False, 0, -1, 2**31, 1.5, 1e30, "", "x", DEEP_JSON_TEXT, [], [[]],
               [{}], {}, {"a": []}, {"type": "text"})
# Nesting around the limit the routes check before translating (validate.nesting), and far over.
DEPTHS = (8, MAX_DEPTH - 16, MAX_DEPTH - 4, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, 300)
EDGE_FLOATS = (0.0, -0.0, 0.5, 1.5, 2.5, -2.5, 1e20, 1e30, -1e30, 1e308, -1e308, 5e-324, 1.0,
               2.0)
# Strings that mean something to some translator: discriminators, URLs, ids, base64.
WORDS = (
    "", " ", "user", "assistant", "system", "developer", "tool", "function", "model", "message",
    "text", "input_text", "output_text", "refusal", "image_url", "input_audio", "file",
    "input_image", "input_file", "function_call", "function_call_output", "custom_tool_call",
    "custom_tool_call_output", "reasoning", "image_generation_call", "code_interpreter_call",
    "custom", "namespace", "web_search", "code_interpreter", "url_context", "google_search",
    "code_execution", "image_generation", "json_schema", "json_object", "auto", "none",
    "required", "low", "medium", "high", "minimal", "original", "float", "base64", "b64_json",
    "url", "1024x1024", "0x0", "99999x1", "png", "wav", "object", "array", "string", "null",
    "#/$defs/A", "#", "#/", "$ref", "gemini-3-pro-preview", "gemini-2.5-flash-image",
    "models/gemini-2.5-flash", "call_1", "call_abc__g", SIGNED_CALL, "call_x__tt_@@", PNG,
    PNG_URL, "data:image/png;base64,!!", "data:;base64,", "https://example.com/a.png",
    "http://0177.0.0.1/", "http://[::1/", "https://www.youtube.com/watch?v=x", "gs://b/o",
    "files/abc", "a.pdf", "{", "{}", '{"a": 1}', "[]", "1e999", "\x00", "\u202e\ufeff",
    "\U0001f600" * 3, "x" * 70_000,
)


def leaves() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(), st.booleans(),
        st.integers(), st.sampled_from(EDGE_INTS),
        st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(EDGE_FLOATS),
        st.text(max_size=20), st.sampled_from(WORDS),
    )


def nested(depth: int, leaf: Any = None) -> Any:
    """`leaf` inside `depth` containers, lists and objects in turn."""
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


def json_values() -> st.SearchStrategy[Any]:
    """Any JSON value: one of another type than a field expects, scalars at their edges, small
    containers, and deep nesting (orjson writes at most 254 levels; the routes refuse more than
    validate.MAX_DEPTH)."""
    small = st.recursive(
        leaves(),
        lambda children: st.one_of(st.lists(children, max_size=4),
                                   st.dictionaries(_KEYS, children, max_size=4)),
        max_leaves=12,
    )
    deep = st.builds(nested, st.sampled_from(DEPTHS), small)
    return st.one_of(st.sampled_from(OTHER_TYPES), small, deep)


# Field names the translators read, to add where a client might put them.
FIELDS = (
    "model", "messages", "input", "role", "content", "type", "text", "name", "arguments",
    "tool_calls", "tool_call_id", "function", "function_call", "functions", "tools",
    "tool_choice", "parameters", "description", "id", "call_id", "output", "result",
    "image_url", "url", "detail", "input_audio", "data", "format", "file", "file_data",
    "file_id", "file_url", "filename", "refusal", "audio", "transcript", "reasoning_content",
    "reasoning", "images", "thought_signature", "code_execution", "code", "language", "outcome",
    "temperature", "top_p", "max_tokens", "max_completion_tokens", "max_output_tokens", "stop",
    "n", "presence_penalty", "frequency_penalty", "seed", "logprobs", "top_logprobs", "user",
    "metadata", "store", "stream", "stream_options", "include_usage", "reasoning_effort",
    "response_format", "json_schema", "schema", "strict", "modalities", "image_config",
    "web_search_options", "parallel_tool_calls", "extra_body", "google", "generationConfig",
    "generation_config", "thinkingConfig", "thinking_config", "safetySettings",
    "safety_settings", "cachedContent", "cached_content", "url_context", "google_search",
    "instructions", "previous_response_id", "effort", "summary", "namespace", "syntax",
    "definition", "size", "external_web_access", "encoding_format", "dimensions", "prompt",
    "quality", "style", "background", "moderation", "output_format", "output_compression",
    "partial_images", "$defs", "$ref", "anyOf", "allOf", "oneOf", "properties", "items",
    "required", "enum", "const", "nullable",
)

_KEYS = st.one_of(st.sampled_from(FIELDS), st.text(max_size=8))
JSON_VALUES = json_values()  # built once: building a strategy costs more than drawing from it

_WEATHER = {"type": "object", "properties": {
    "city": {"type": "string", "description": "City", "format": "hostname"},
    "unit": {"anyOf": [{"enum": ["c", "f"]}, {"type": "null"}]},
    "when": {"$ref": "#/$defs/When"}}, "required": ["city"], "additionalProperties": False,
    "$defs": {"When": {"type": ["string", "null"], "format": "date-time"}}}
_CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
_HELLO = [{"role": "user", "content": "Hello"}]

# Small bodies, each about one part of the API, so that every place is likely to be drawn.
CHAT_BODIES: tuple[dict[str, Any], ...] = (
    {"model": "gemini-2.5-flash", "messages": _HELLO},
    {  # tools and a finished round of parallel tool calls (Gemini 3: signatures)
        "model": "gemini-3-pro-preview",
        "messages": [
            {"role": "user", "content": "Weather in Paris and Rome?", "name": "ann"},
            {"role": "assistant", "content": None, "reasoning_content": "Two cities.",
             "tool_calls": [
                 {"id": SIGNED_CALL, "type": "function",
                  "function": {"name": "weather", "arguments": '{"city": "Paris"}'}},
                 {"id": "call_2", "type": "function", "index": 1,
                  "function": {"name": "weather", "arguments": {"city": "Rome"}}}]},
            {"role": "tool", "tool_call_id": "call_2", "content": '{"temp": 21}'},
            {"role": "tool", "tool_call_id": SIGNED_CALL,
             "content": [{"type": "text", "text": "18C"}]}],
        "tools": [{"type": "function", "function": {
            "name": "weather", "description": "Weather for a city", "parameters": _CITY,
            "strict": True}}, {"type": "code_interpreter"}],
        "tool_choice": {"type": "function", "function": {"name": "weather"}},
        "parallel_tool_calls": True,
    },
    {  # legacy functions
        "model": "gemini-2.5-flash",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Use tools."}]},
            {"role": "user", "content": "Weather in Oslo?"},
            {"role": "assistant", "content": "",
             "function_call": {"name": "lookup", "arguments": '{"q": "Oslo"}'}},
            {"role": "function", "name": "lookup", "content": "3C"}],
        "functions": [{"name": "lookup", "description": "Looks up.", "parameters": {
            "type": "object", "properties": {"q": {"type": "string"}}}}],
        "function_call": {"name": "lookup"},
    },
    {  # media in a user message
        "model": "gemini-2.5-flash",
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "What is in these?"},
            {"type": "image_url", "image_url": {"url": PNG_URL, "detail": "high"}},
            {"type": "image_url", "image_url": "https://example.com/cat.png"},
            {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
            {"type": "file", "file": {"file_data": "JVBERi0=", "filename": "a.pdf"}},
            {"type": "file", "file": {"file_data": PNG_URL}},
            {"type": "file", "file": {"file_id": "files/abc123"}},
            {"type": "file", "file": {"file_url": "https://www.youtube.com/watch?v=x"}}]}],
    },
    {  # an assistant message as other providers and this adapter's answers write it
        "model": "gemini-3-pro-image-preview",
        "messages": [
            {"role": "user", "content": "Draw and run."},
            {"role": "assistant", "content": [{"type": "text", "text": "A cat."},
                                              {"type": "refusal", "refusal": "No more."}],
             "refusal": "Sorry.", "audio": {"id": "audio_1", "transcript": "A cat."},
             "reasoning": "Looked.", "annotations": [],
             "images": [{"index": 0, "type": "image_url", "image_url": {"url": PNG_URL},
                         "thought_signature": SIGNATURE}]},
            {"role": "assistant", "content": "\n```python\nprint(1)\n```\n\n```output\n1\n```\n",
             "code_execution": [{"id": "ce1", "language": "python", "code": "print(1)",
                                 "outcome": "OUTCOME_OK", "output": "1\n",
                                 "thought_signature": SIGNATURE}]},
            {"role": "user", "content": "Again."}],
        "modalities": ["text", "image"], "image_config": {"aspect_ratio": "16:9"},
    },
    {  # every sampling parameter
        "model": "models/gemini-2.5-pro", "messages": _HELLO, "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0.7, "top_p": 0.9, "max_completion_tokens": 512, "max_tokens": 100,
        "stop": ["END", ""], "n": 2, "presence_penalty": 0.5, "frequency_penalty": -0.5,
        "seed": 42, "logprobs": True, "top_logprobs": 3, "user": "u1", "metadata": {"k": "v"},
        "store": False,
    },
    {  # structured output and reasoning
        "model": "gemini-2.5-flash", "messages": _HELLO, "reasoning_effort": "low",
        "response_format": {"type": "json_schema", "json_schema": {
            "name": "w", "strict": True, "schema": _WEATHER}},
    },
    {  # Gemini's own fields and tools
        "model": "gemini-2.5-flash", "messages": _HELLO,
        "web_search_options": {}, "code_execution": {}, "url_context": True,
        "generationConfig": {"candidate_count": 1},
        "thinking_config": {"include_thoughts": True},
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
        "cached_content": "cachedContents/abc",
        "extra_body": {"google": {"thinking_config": {"thinking_budget": 128},
                                  "tools": [{"google_search": {}}], "cachedContent": "c"}},
    },
)

_EXEC = {"type": "function", "name": "exec_command", "strict": False,
         "description": "Runs a command.", "parameters": {"type": "object", "properties": {
             "cmd": {"type": "string"}}, "required": ["cmd"], "additionalProperties": False}}
_FIXTURES = Path(__file__).parents[2] / "fixtures" / "openai"

RESPONSES_BODIES: tuple[dict[str, Any], ...] = (
    {"model": "gemini-2.5-flash", "input": "Hello"},
    *(orjson.loads((_FIXTURES / name).read_bytes()) for name in (
        "responses-request-ai-sdk-openai-3.0.json",
        "responses-request-openai-agents-python-0.24.json")),
    {  # a Codex turn after a shell call and a patch
        "model": "gemini-3-pro-preview", "stream": True, "store": False,
        "instructions": "You are a coding agent.",
        "tools": [_EXEC, {"type": "namespace", "name": "agents", "tools": [
                      {"type": "function", "name": "close_agent", "parameters": {
                          "type": "object", "properties": {"target": {"type": "string"}}}}]},
                  {"type": "custom", "name": "apply_patch", "description": "Patch files.",
                   "format": {"type": "grammar", "syntax": "lark",
                              "definition": "start: /.+/"}},
                  {"type": "web_search", "external_web_access": True}],
        "tool_choice": "auto", "parallel_tool_calls": True,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "include": ["reasoning.encrypted_content"], "prompt_cache_key": "k",
        "input": [
            {"type": "message", "id": "msg_1", "role": "developer", "content": [
                {"type": "input_text", "text": "<permissions/>"}]},
            {"role": "user", "content": "Run it."},
            {"type": "reasoning", "id": "rs_1", "summary": [
                {"type": "summary_text", "text": "**Running**"}], "encrypted_content": None},
            {"type": "function_call", "id": "fc_1", "name": "exec_command",
             "arguments": '{"cmd": "ls"}', "call_id": SIGNED_CALL, "status": "completed"},
            {"type": "function_call_output", "call_id": SIGNED_CALL, "output": "a\nb\n"},
            {"type": "custom_tool_call", "call_id": "call_p", "name": "apply_patch",
             "input": "*** Begin Patch"},
            {"type": "custom_tool_call_output", "call_id": "call_p", "output": [
                {"type": "input_text", "text": "Done"}]},
            {"type": "code_interpreter_call", "id": "ci_1", "code": "1"}],
    },
    {  # every kind of content part
        "model": "gemini-2.5-flash",
        "input": [
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "Look."},
                {"type": "input_image", "image_url": PNG_URL, "detail": "original"},
                {"type": "input_image", "file_id": "files/img1"},
                {"type": "input_file", "file_data": PNG_URL, "filename": "p.png"},
                {"type": "input_file", "file_url": "https://example.com/a.pdf"}]},
            {"type": "message", "role": "assistant", "content": [
                {"type": "output_text", "text": "Listed.", "annotations": []},
                {"type": "refusal", "refusal": "Not that."}]},
            {"role": "system", "content": [{"type": "text", "text": "Short."}]}],
    },
    {  # images made and asked for
        "model": "gemini-2.5-flash-image",
        "tools": [{"type": "image_generation", "size": "1536x1024", "quality": "high"},
                  {"type": "code_interpreter", "container": {"type": "auto"}},
                  {"type": "url_context"}],
        "input": [
            {"role": "user", "content": "Draw a cat"},
            {"type": "image_generation_call", "id": "ig_1", "status": "completed",
             "result": PNG, "thought_signature": SIGNATURE},
            {"type": "message", "role": "assistant", "content": "Here."},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "Bigger"}]}],
    },
    {  # structured output, sampling and Gemini's own fields
        "model": "gemini-2.5-flash", "input": "JSON please", "temperature": 1, "top_p": 0.5,
        "max_output_tokens": 1000, "top_logprobs": 2, "user": "u", "metadata": {"a": "b"},
        "tools": [{"type": "function", "name": "f", "parameters": _CITY}],
        "tool_choice": {"type": "function", "name": "f"},
        "reasoning": {"summary": "detailed"},
        "text": {"format": {"type": "json_schema", "name": "w", "schema": _WEATHER,
                            "strict": True}},
        "generationConfig": {"temperature": 0.2}, "safety_settings": [],
        "extra_body": {"google": {"cached_content": "c"}},
    },
)

EMBEDDINGS_BODIES: tuple[dict[str, Any], ...] = (
    {"model": "text-embedding-004", "input": "Hello"},
    {"model": "models/gemini-embedding-001", "input": ["a", "b", "c"],
     "encoding_format": "base64", "dimensions": 256, "user": "u"},
)

IMAGES_BODIES: tuple[dict[str, Any], ...] = (
    {"prompt": "A cat"},
    {"model": "gemini-2.5-flash-image", "prompt": "A cat", "n": 2, "size": "1536x1024",
     "response_format": "b64_json", "quality": "high", "style": "vivid", "user": "u",
     "background": "opaque", "moderation": "low", "output_format": "webp",
     "output_compression": 80, "partial_images": 0, "stream": False},
)


def paths(value: Any, prefix: Place = ()) -> Iterator[Place]:
    """Every place in a JSON value, the value itself first."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from paths(item, (*prefix, i))


def _containers(value: Any) -> list[Place]:
    return [p for p in paths(value) if isinstance(_at(value, p), dict)]


def _at(value: Any, path: Place) -> Any:
    for step in path:
        value = value[step]
    return value


def _edited(value: Any, path: Place, edit: Callable[[Any], None]) -> Any:
    """A copy of `value` with `edit` applied to the container at `path`: only the containers on
    the way are copied (the seeds stay as they are, and a deep new value is never copied)."""
    copied = dict(value) if isinstance(value, dict) else list(value)
    if path:
        copied[path[0]] = _edited(value[path[0]], path[1:], edit)
    else:
        edit(copied)
    return copied


def replaced(body: Any, path: Place, new: Any) -> Any:
    if not path:
        return new
    return _edited(body, path[:-1], lambda parent: parent.__setitem__(path[-1], new))


def added(body: Any, path: Place, key: str, new: Any) -> Any:
    return _edited(body, path, lambda parent: parent.__setitem__(key, new))


def removed(body: Any, path: Place) -> Any:
    return _edited(body, path[:-1], lambda parent: parent.__delitem__(path[-1]))


def variants(body: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(what changed, the body changed) for each place of `body` removed, and replaced by each of
    OTHER_TYPES: every field of every type, in a fixed order."""
    for place in list(paths(body))[1:]:
        yield f"{place} removed", removed(body, place)
        for value in OTHER_TYPES:
            yield f"{place} = {value!r:.60}", replaced(body, place, value)


def mutations(seeds: tuple[dict[str, Any], ...]) -> st.SearchStrategy[Any]:
    """A seed body with one place replaced by any JSON value, or a field added (a name some
    translator reads, or any) wherever an object is."""
    tables = [(seed, list(paths(seed)), _containers(seed)) for seed in seeds]

    @st.composite
    def mutated(draw: st.DrawFn) -> Any:
        body, places, containers = draw(st.sampled_from(tables))
        if draw(st.booleans()):
            where = draw(st.sampled_from(containers))
            return added(body, where, draw(_KEYS), draw(JSON_VALUES))
        return replaced(body, draw(st.sampled_from(places)), draw(JSON_VALUES))

    return mutated()


def arbitrary_bodies() -> st.SearchStrategy[Any]:
    """Any JSON value, mostly objects with the fields some translator reads."""
    return st.one_of(JSON_VALUES, st.dictionaries(_KEYS, JSON_VALUES, max_size=8))
