"""Helpers shared by the translator tests: the recorded Gemini streams and answers in fixtures/,
running them through the translators, the messages and schemas the tests build, and the Responses
events as the OpenAI SDK reads them."""

from __future__ import annotations

import copy
import hashlib
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from openai import omit
from openai._models import BaseModel, construct_type
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

from adapter.sse import JSONArrayDecoder, SSEDecoder
from adapter.translate.code_execution import render_code, render_result
from adapter.translate.response import CompletionBuilder
from adapter.translate.responses_stream import ResponsesEmitter
from adapter.translate.stream import StreamTranslator

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "gemini"
OPENAI = Path(__file__).resolve().parents[2] / "fixtures" / "openai"
MODEL = "gemini-2.5-flash"
CREATED = 1_700_000_000
OWNER = hashlib.sha256(b"sk-tenant-a").hexdigest()  # two callers' identities (auth.identity)
OTHER_OWNER = hashlib.sha256(b"sk-tenant-b").hexdigest()
FINISH = {"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter",
          "RECITATION": "content_filter"}
GENERATED_CALL_ID = re.compile(r"call_[0-9A-Za-z_-]{8,}")

# A question, a tool and a JSON answer's schema (final_answer, batch lines).
HELLO = [{"role": "user", "content": "What was the temperature in London on 1 January 2022?"}]
# The client's order (the recorded answer's arguments come back alphabetically).
FORECAST = {"type": "object", "properties": {
    "temperature": {"type": "string"}, "date": {"type": "string"}, "city": {"type": "string"}},
    "required": ["temperature", "date", "city"], "additionalProperties": False}
FORMAT = {"type": "json_schema",
          "json_schema": {"name": "Forecast", "schema": FORECAST, "strict": True}}
TEMPERATURE = {"type": "function", "function": {
    "name": "temperature", "description": "The temperature in a city on a date.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                    "date": {"type": "string"}}}}}

# --- recorded Gemini streams and answers, through the chat translators ---------------------------


def _is_successful_stream(path: Path) -> bool:
    """Whether a js-genai recording is a successful stream (its segments are the events)."""
    return orjson.loads(path.read_bytes())["interactions"][0]["response"]["statusCode"] == 200


STREAMS = sorted([
    *FIXTURES.glob("stream-sse-*.txt"),
    *FIXTURES.glob("vercel-chunks/derived-sse/*.sse.txt"),
    *FIXTURES.glob("stream-json-array-*.txt"),
    *filter(_is_successful_stream, FIXTURES.glob("jsgenai-recordings/*.recording.json")),
])


def name_of(path: Path) -> str:
    return str(path.relative_to(FIXTURES))


def events_of(path: Path) -> list[dict[str, Any]]:
    """The parsed Gemini events of a recorded stream, decoded with the adapter's decoders."""
    raw = path.read_bytes()
    if path.name.endswith(".recording.json"):
        return orjson.loads(raw)["interactions"][0]["response"]["bodySegments"]
    if path.name.startswith("stream-json-array-"):
        decoder: SSEDecoder | JSONArrayDecoder = JSONArrayDecoder()
        payloads = decoder.feed(raw)
    else:
        decoder = SSEDecoder()
        payloads = decoder.feed(raw)
        if decoder.pending.strip():  # two recordings lost the blank line after their last event
            payloads += decoder.feed(b"\n\n")
    assert decoder.pending.strip() == b""
    return [orjson.loads(payload) for payload in payloads]


def stream(name: str) -> list[dict[str, Any]]:
    return events_of(FIXTURES / name)


def run(events: list[dict[str, Any]],
        include_usage: bool = False) -> tuple[StreamTranslator, list[dict[str, Any]]]:
    translator = StreamTranslator(MODEL, CREATED, include_usage)
    chunks = [chunk for event in events if (chunk := translator.translate(event)) is not None]
    return translator, chunks


def candidates(events: list[dict[str, Any]], index: int = 0) -> list[dict[str, Any]]:
    return [c for e in events for c in e.get("candidates") or () if c.get("index", 0) == index]


def parts(events: list[dict[str, Any]], index: int = 0) -> list[dict[str, Any]]:
    return [p for c in candidates(events, index) for p in (c.get("content") or {}).get("parts", ())]


def recorded_text(events: list[dict[str, Any]], thought: bool, index: int = 0) -> str:
    """The answer's text (or thoughts); code Gemini ran is in the answer as Markdown."""
    text = []
    for p in parts(events, index):
        if "text" in p and bool(p.get("thought")) == thought:
            text.append(p["text"])
        elif "executableCode" in p and not thought:
            text.append(render_code(p["executableCode"]["language"],
                                    p["executableCode"]["code"]))
        elif "codeExecutionResult" in p and not thought:
            result = p["codeExecutionResult"]
            text.append(render_result(result["outcome"], result.get("output")))
    return "".join(text)


def recorded_calls(events: list[dict[str, Any]], index: int = 0) -> list[dict[str, Any]]:
    return [p["functionCall"] for p in parts(events, index) if "functionCall" in p]


def recorded_signatures(events: list[dict[str, Any]], index: int = 0) -> list[str | None]:
    return [p.get("thoughtSignature") for p in parts(events, index) if "functionCall" in p]


def is_blocked(events: list[dict[str, Any]]) -> bool:
    return any((e.get("promptFeedback") or {}).get("blockReason") for e in events)


def expected_finish(events: list[dict[str, Any]], index: int = 0) -> str:
    if is_blocked(events):
        return "content_filter"
    reason = [c["finishReason"] for c in candidates(events, index) if c.get("finishReason")][-1]
    mapped = FINISH[reason]
    return "tool_calls" if mapped == "stop" and recorded_calls(events, index) else mapped


def expected_usage(meta: dict[str, Any]) -> dict[str, Any]:
    prompt = meta.get("promptTokenCount", 0) + meta.get("toolUsePromptTokenCount", 0)
    thoughts = meta.get("thoughtsTokenCount", 0)
    completion = meta.get("candidatesTokenCount", 0) + thoughts
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": meta.get("totalTokenCount", prompt + completion),
        "prompt_tokens_details": {"cached_tokens": meta.get("cachedContentTokenCount", 0)},
        "completion_tokens_details": {"reasoning_tokens": thoughts},
    }
    for details, key in (("promptTokensDetails", "prompt_tokens_details"),
                         ("candidatesTokensDetails", "completion_tokens_details")):
        for detail in meta.get(details, ()):
            if detail["modality"] == "IMAGE":
                usage[key]["image_tokens"] = detail["tokenCount"]
    return usage


def choices(chunks: list[dict[str, Any]], index: int = 0) -> list[dict[str, Any]]:
    return [c for chunk in chunks for c in chunk["choices"] if c["index"] == index]


def joined(chunks: list[dict[str, Any]], key: str, index: int = 0) -> str:
    return "".join(c["delta"].get(key) or "" for c in choices(chunks, index))


def has_partial_args(events: list[dict[str, Any]]) -> bool:
    """Vertex AI `streamFunctionCallArguments` fragments (opt-in; the adapter never asks)."""
    return any("partialArgs" in call or "willContinue" in call or not call
               for call in recorded_calls(events))


def event(*cands: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"candidates": list(cands), "responseId": "r1", **extra}


def candidate(*parts_: dict[str, Any], index: int = 0, **extra: Any) -> dict[str, Any]:
    return {"content": {"parts": list(parts_), "role": "model"}, "index": index, **extra}


def call_part(name: str, **call: Any) -> dict[str, Any]:
    return {"functionCall": {"name": name, **call}}


GENERATE = sorted(FIXTURES.glob("generate-content-*.json"))  # generateContent answers


def recording(path: Path) -> list[dict[str, Any]]:
    """The events of a recording; a generateContent answer has the shape of one stream event."""
    if path not in GENERATE:
        return events_of(path)
    doc = orjson.loads(path.read_bytes())
    return [doc["response"]["body"] if "response" in doc else doc]


def build(events: list[dict[str, Any]], include_usage: bool = False) -> dict[str, Any]:
    translator, chunks = run(events, include_usage)
    builder = CompletionBuilder(translator)
    for chunk in chunks:
        builder.add(chunk)
    if (final := translator.finish()) is not None:
        builder.add(final)
    return builder.build()


def only_message(completion: dict[str, Any]) -> dict[str, Any]:
    [choice] = completion["choices"]
    assert choice["index"] == 0
    return choice["message"]


# --- chat messages and Gemini function parts -----------------------------------------------------

def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def assistant(content: Any = None, **extra: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": content, **extra}


def call(call_id: str, name: str, arguments: Any = "{}") -> dict[str, Any]:
    return {"id": call_id, "type": "function",
            "function": {"name": name, "arguments": arguments}}


def tool(call_id: str, content: Any) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": content}


# Real signatures (from stream-sse-tool-calls-parallel.txt and stream-sse-tool-call.txt).
SIG_A = ("CloBvj72+4/aTlyeodvVsF6WQseQLaqynO0Ocu6hCxSIV1rJCGFv67dtpjtFqWaborKte+82ZXWG2DaoPZaL+k7"
         "ONU3tUVwUXH0yI3ADtb46NJAqGWp2V/Ht3uMKhQEBvj72+53r7rtJS2JS+RSr/gNHTgRy4DDPTPtEEj+K6F4GF"
         "NMQEXVmXPYPa87j/74GGwi14Qwvde1kfemWz/+cRwpf2EDDKELVYuZ56LWb6pmPj4kyXPBERjn3dCiTrAhaysdd"
         "21dD0/t3xSXCKNFbPTDjK6IeGzqAGRFeL5D37oKPrh2N")
SIG_B = ("EjQKMgFyyNp8EcK2k/joUmmIxJlqtIvdJP/1F+ziwsCn9P4uyk2ZNeBiYz2Um4GXD4IEGlE9")


def fc(name: str, args: dict[str, Any], gemini_id: str | None = None,
       signature: str | None = None) -> dict[str, Any]:
    function_call: dict[str, Any] = {"name": name, "args": args}
    if gemini_id is not None:
        function_call["id"] = gemini_id
    part: dict[str, Any] = {"functionCall": function_call}
    if signature is not None:
        part["thoughtSignature"] = signature
    return part


def fr(name: str, response: dict[str, Any], gemini_id: str | None = None) -> dict[str, Any]:
    function_response: dict[str, Any] = {"name": name, "response": response}
    if gemini_id is not None:
        function_response["id"] = gemini_id
    return {"functionResponse": function_response}


# --- Gemini's schema subset (OpenAPI 3.0) --------------------------------------------------------

ALLOWED_KEYS = frozenset({
    "type", "format", "description", "nullable", "enum", "items", "properties", "required",
    "minItems", "maxItems", "minLength", "maxLength", "pattern", "minProperties",
    "maxProperties", "minimum", "maximum", "anyOf", "propertyOrdering",
})
TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object"})
FORMATS = {"string": {"date-time", "enum"}, "number": {"float", "double"},
           "integer": {"int32", "int64"}}
FORBIDDEN = frozenset({
    "$ref", "$defs", "definitions", "$schema", "additionalProperties", "strict", "$id",
    "examples", "const", "title", "default", "oneOf", "allOf",
})
COUNTS = ("minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties")


def keywords(schema: Any) -> list[str]:
    """Every key used as a keyword anywhere in a converted schema (property names excluded)."""
    if not isinstance(schema, dict):
        return []
    found = list(schema)
    for key, value in schema.items():
        if key == "properties" and isinstance(value, dict):
            for sub in value.values():
                found += keywords(sub)
        elif key == "items":
            found += keywords(value)
        elif key == "anyOf" and isinstance(value, list):
            for sub in value:
                found += keywords(sub)
    return found


def assert_gemini_schema(schema: Any, path: str = "$") -> None:
    """Fail unless `schema` uses only what Gemini's `parameters` (OpenAPI 3.0 subset) accept."""
    assert isinstance(schema, dict), f"{path}: not an object: {schema!r}"
    assert set(schema) <= ALLOWED_KEYS, f"{path}: unsupported keys {set(schema) - ALLOWED_KEYS}"
    if path == "$":
        used = set(keywords(schema))
        assert not used & FORBIDDEN, f"forbidden keywords {used & FORBIDDEN}"
    kind = schema.get("type")
    if "anyOf" in schema:
        branches = schema["anyOf"]
        assert isinstance(branches, list), f"{path}.anyOf: not a list"
        assert branches, f"{path}.anyOf: empty"
        for i, branch in enumerate(branches):
            assert_gemini_schema(branch, f"{path}.anyOf[{i}]")
    else:
        assert "type" in schema, f"{path}: no type"
    if kind is not None:
        assert isinstance(kind, str) and kind in TYPES, f"{path}: bad type {kind!r}"
    if "enum" in schema:
        assert kind == "string", f"{path}: enum on type {kind!r}"
        values = schema["enum"]
        assert isinstance(values, list), f"{path}.enum: not a list"
        assert values, f"{path}.enum: empty"
        assert all(isinstance(v, str) for v in values), f"{path}.enum: non-string {values!r}"
    if "format" in schema:
        assert schema["format"] in FORMATS.get(kind, ()), \
            f"{path}: format {schema['format']!r} on type {kind!r}"
    if "properties" in schema:
        properties = schema["properties"]
        assert kind == "object", f"{path}: properties on type {kind!r}"
        assert isinstance(properties, dict), f"{path}.properties: not an object"
        assert properties, f"{path}.properties: empty"
        for name, sub in properties.items():
            assert isinstance(name, str), f"{path}.properties: name {name!r}"
            assert_gemini_schema(sub, f"{path}.properties[{name!r}]")
    if "required" in schema:
        required = schema["required"]
        assert isinstance(required, list), f"{path}.required: not a list"
        assert all(isinstance(name, str) for name in required), f"{path}.required: {required!r}"
        assert len(set(required)) == len(required), f"{path}.required: duplicates {required!r}"
        missing = set(required) - set(schema.get("properties", {}))
        assert not missing, f"{path}.required names missing properties {missing}"
    if "propertyOrdering" in schema:
        ordering = schema["propertyOrdering"]
        assert sorted(ordering) == sorted(schema.get("properties", {})), \
            f"{path}.propertyOrdering: {ordering!r} does not name exactly the properties"
    if kind == "array":
        assert "items" in schema, f"{path}: array without items"
    if "items" in schema:
        assert kind == "array", f"{path}: items on type {kind!r}"
        assert_gemini_schema(schema["items"], f"{path}.items")
    if "nullable" in schema:
        assert isinstance(schema["nullable"], bool), f"{path}.nullable: not a boolean"
    if "description" in schema:
        assert isinstance(schema["description"], str), f"{path}.description: not a string"
    if "pattern" in schema:
        assert isinstance(schema["pattern"], str), f"{path}.pattern: not a string"
    for key in COUNTS:
        if key in schema:
            value = schema[key]
            assert isinstance(value, int) and not isinstance(value, bool), f"{path}.{key}"
            assert value >= 0, f"{path}.{key} negative"
    for key in ("minimum", "maximum"):
        if key in schema:
            value = schema[key]
            assert isinstance(value, int | float) and not isinstance(value, bool), \
                f"{path}.{key}"


# --- grounding -----------------------------------------------------------------------------------

def expected_citations(metadata: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(segment text, url, title) for every (support, chunk index) pair, in order."""
    chunks = metadata["groundingChunks"]
    return [(s["segment"]["text"], chunks[i]["web"]["uri"], chunks[i]["web"]["title"])
            for s in metadata["groundingSupports"] for i in s["groundingChunkIndices"]]


# --- a conversation held with an OpenAI model ----------------------------------------------------

def recorded_message() -> dict[str, Any]:
    """The assistant message of a recorded non-streamed OpenAI answer: two parallel calls with
    `call_...` ids, `content: null`, `refusal: null`, `annotations: []`."""
    completion = orjson.loads((OPENAI / "chat-completion-tool-calls-parallel.json").read_bytes())
    return completion["choices"][0]["message"]


def streamed_message() -> dict[str, Any]:
    """The assistant message an SDK assembles from a recorded OpenAI stream with one call;
    its tool call keeps the delta's `index`, as some clients store it."""
    message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": []}
    for line in (OPENAI / "chat-stream-tool-call.txt").read_text().splitlines():
        if not line.startswith("data: {"):
            continue
        for choice in orjson.loads(line[6:])["choices"]:
            for delta in choice["delta"].get("tool_calls") or ():
                if "id" in delta:
                    message["tool_calls"].append(copy.deepcopy(delta))
                else:
                    message["tool_calls"][delta["index"]]["function"]["arguments"] += \
                        delta["function"]["arguments"]
    return message


def openai_history() -> list[dict[str, Any]]:
    """A conversation held with gpt-4o-mini: two rounds of tool calls, then a new question."""
    first, second = recorded_message(), streamed_message()
    add, multiply = (c["id"] for c in first["tool_calls"])
    [weather] = (c["id"] for c in second["tool_calls"])
    return [
        {"role": "system", "content": "You are a helpful assistant."},
        user("Add and multiply the numbers 2 and 3."),
        first,
        tool(multiply, '{"result": 6}'),  # answered out of order
        tool(add, '{"result": 5}'),
        assistant("2 + 3 = 5 and 2 * 3 = 6.", refusal=None, annotations=[]),
        user("What is the weather in Florence?"),
        second,
        tool(weather, "Sunny, 40 C"),
        assistant("It is sunny and 40 C in Florence."),
        user("Thanks! Anything else I should know?"),
    ]

# --- the Responses events the emitter makes, as the OpenAI SDK reads them ------------------------

# The SDK's event classes by their `type`, for readable validation errors.
EVENT_MODELS: dict[str, type[BaseModel]] = {
    literal: cls
    for cls in typing.get_args(typing.get_args(ResponseStreamEvent)[0])
    for literal in typing.get_args(cls.model_fields["type"].annotation)
}
EVENT_UNION: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)


# Fields the live API sends that the SDK's models do not declare (its models keep extras):
# `store` on a response, `name` on function_call_arguments.done.
UNDECLARED = {("Response", "store"), ("ResponseFunctionCallArgumentsDoneEvent", "name")}


@dataclass
class Run:
    gemini: list[dict[str, Any]]  # the recorded Gemini events
    events: list[dict[str, Any]]  # the Responses events, in order, as the client reads them
    wire: list[bytes]  # each event as serialized the moment it was returned
    emitter: ResponsesEmitter
    returned: list[dict[str, Any]] = field(default_factory=list)  # the events as returned

    @property
    def response(self) -> dict[str, Any]:
        return self.emitter.response

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]


def emit(gemini: list[dict[str, Any]], custom_tools: set[str] | None = None,
         echo: dict[str, Any] | None = None) -> Run:
    """start(), feed() for every chunk incl. the final usage chunk, finish()."""
    translator = StreamTranslator(MODEL, CREATED, include_usage=True)
    emitter = ResponsesEmitter(MODEL, echo or {}, custom_tools or set())
    run = Run(gemini, [], [], emitter)

    def take(events: list[dict[str, Any]]) -> None:
        wire = [orjson.dumps(e) for e in events]
        run.returned += events
        run.wire += wire
        run.events += [orjson.loads(data) for data in wire]

    take(emitter.start())
    for gemini_event in gemini:
        if (chunk := translator.translate(gemini_event)) is not None:
            take(emitter.feed(chunk))
    final = translator.finish()
    assert final is not None and "usage" in final
    take(emitter.feed(final))
    take(emitter.finish())
    return run


def undeclared(model: Any) -> set[tuple[str, str]]:
    """(model class, field) for every field a validated model holds but does not declare."""
    found: set[tuple[str, str]] = set()
    if isinstance(model, BaseModel):
        found |= {(type(model).__name__, name) for name in model.model_extra or {}}
        for name in type(model).model_fields:
            found |= undeclared(getattr(model, name))
    elif isinstance(model, list):
        for item in model:
            found |= undeclared(item)
    return found


def validate_event(event: dict[str, Any]) -> BaseModel:
    model = EVENT_MODELS[event["type"]].model_validate(event)
    union = EVENT_UNION.validate_python(event)
    assert type(union) is type(model)
    assert union.type == model.type == event["type"]
    as_json = orjson.loads(orjson.dumps(event))
    assert model.model_dump(mode="json", by_alias=True, exclude_unset=True) == as_json
    assert undeclared(model) <= UNDECLARED
    return model


def sdk_events(events: list[dict[str, Any]]) -> list[Any]:
    """The events as the SDK's stream builds them from the wire (construct_type, no checks)."""
    return [construct_type(type_=ResponseStreamEvent, value=orjson.loads(orjson.dumps(e)))
            for e in events]


def accumulate(events: list[dict[str, Any]]) -> tuple[ResponseStreamState[Any], list[Any]]:
    """Drive the SDK's ResponseStreamState over the events; (state, the events it fired)."""
    state: ResponseStreamState[Any] = ResponseStreamState(input_tools=omit, text_format=omit)
    fired = []
    for sdk_event in sdk_events(events):
        fired += state.handle_event(sdk_event)
    return state, fired


def plain(response: Any) -> dict[str, Any]:
    """An SDK response as a dict, without the `parsed*` fields its parser adds."""
    data = response.to_dict()
    for item in data.get("output") or ():
        item.pop("parsed_arguments", None)
        for part in item.get("content") or ():
            part.pop("parsed", None)
    return data
