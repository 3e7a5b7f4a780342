"""Tool calls in the chat history: Gemini call ids and thought signatures go back to Gemini.

The round-trip tests take recorded Gemini answers with function calls, translate them into the
OpenAI assistant message a client receives, send that message back with tool results, and check
that Gemini gets its own functionCall parts back exactly: same name, args, id and signature.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest

from adapter.translate import tool_ids
from adapter.translate.errors import AdapterError
from adapter.translate.messages import translate_messages
from adapter.translate.stream import StreamTranslator

from .helpers import (
    CREATED,
    FIXTURES,
    GENERATE,
    MODEL,
    SIG_A,
    SIG_B,
    STREAMS,
    assistant,
    build,
    call,
    candidate,
    event,
    fc,
    fr,
    has_partial_args,
    name_of,
    only_message,
    parts,
    recorded_calls,
    recording,
    tool,
    user,
)


def contents_of(messages: list[Any]) -> list[dict[str, Any]]:
    before = copy.deepcopy(messages)
    contents = translate_messages(messages)[0]
    assert messages == before
    return contents


# --- signatures and ids from adapter-made tool call ids -------------------------------------------

@pytest.mark.parametrize(("gemini_id", "signature"), [
    ("g1bmv6il", SIG_A), (None, SIG_A), ("g1bmv6il", None), (None, None),
], ids=["id+signature", "signature", "id", "neither"])
def test_adapter_ids_give_back_id_and_signature(gemini_id: str | None,
                                                signature: str | None) -> None:
    call_id = tool_ids.encode(gemini_id, signature)
    contents = contents_of([
        user("Weather in Paris?"),
        assistant(None, tool_calls=[call(call_id, "get_weather", '{"city": "Paris"}')]),
        tool(call_id, "sunny"),
    ])
    assert contents == [
        {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
        {"role": "model", "parts": [fc("get_weather", {"city": "Paris"}, gemini_id, signature)]},
        {"role": "user", "parts": [fr("get_weather", {"content": "sunny"}, gemini_id)]},
    ]


def test_signature_is_a_sibling_of_function_call() -> None:
    call_id = tool_ids.encode("abc12345", SIG_B)
    [part] = contents_of([user("q"), assistant(tool_calls=[call(call_id, "f")])])[1]["parts"]
    assert set(part) == {"functionCall", "thoughtSignature"}
    assert part["thoughtSignature"] == SIG_B
    assert set(part["functionCall"]) == {"name", "args", "id"}


def test_parallel_calls_where_only_the_first_has_a_signature() -> None:
    first = tool_ids.encode("8hd01vsf", SIG_A)
    second = tool_ids.encode("k0srpqrc", None)
    third = tool_ids.encode(None, None)
    contents = contents_of([
        user("2+3 and 2*3?"),
        assistant(None, tool_calls=[call(first, "add", '{"a": 2, "b": 3}'),
                                    call(second, "multiply", '{"b": 3, "a": 2}'),
                                    call(third, "log", "")]),
        tool(third, "ok"), tool(second, "6"), tool(first, '{"sum": 5}'),
    ])
    assert contents[1]["parts"] == [
        fc("add", {"a": 2, "b": 3}, "8hd01vsf", SIG_A),
        fc("multiply", {"a": 2, "b": 3}, "k0srpqrc"),
        fc("log", {}),
    ]
    assert contents[2] == {"role": "user", "parts": [
        fr("add", {"sum": 5}, "8hd01vsf"),
        fr("multiply", {"content": "6"}, "k0srpqrc"),
        fr("log", {"content": "ok"}),
    ]}
    assert len(contents) == 3


@pytest.mark.parametrize("call_id", [
    "call_abc123", "call_DdmO9UHuFqzWe5Pih3y3AE1N", "toolu_01A09q90qw90lq917835lq9",
    "functions.get_weather:0", "call_9c2e4d6f-1b3a-4c5d-8e7f-0a1b2c3d4e5f", "0",
])
def test_foreign_ids_give_no_signature_and_no_id(call_id: str) -> None:
    contents = contents_of([user("q"),
                            assistant(None, tool_calls=[call(call_id, "f", '{"x": 1}')]),
                            tool(call_id, "done")])
    assert contents[1]["parts"] == [{"functionCall": {"name": "f", "args": {"x": 1}}}]
    assert contents[2]["parts"] == [{"functionResponse": {"name": "f",
                                                          "response": {"content": "done"}}}]


def test_adapter_and_foreign_ids_mixed_in_one_turn() -> None:
    ours = tool_ids.encode("g1bmv6il", SIG_B)
    contents = contents_of([user("q"), assistant(None, tool_calls=[
        call("call_abc123", "foreign"), call(ours, "ours")]),
        tool(ours, "2"), tool("call_abc123", "1")])
    assert contents[1]["parts"] == [fc("foreign", {}), fc("ours", {}, "g1bmv6il", SIG_B)]
    assert contents[2]["parts"] == [fr("foreign", {"content": "1"}),
                                    fr("ours", {"content": "2"}, "g1bmv6il")]


def test_tool_result_named_from_a_call_several_turns_back() -> None:
    weather = tool_ids.encode("aaaa1111", SIG_A)
    clock = tool_ids.encode("bbbb2222", None)
    news = tool_ids.encode(None, SIG_B)
    contents = contents_of([
        user("q"),
        assistant(None, tool_calls=[call(weather, "get_weather", '{"city": "Rome"}')]),
        user("Also the time, please."),
        assistant("Sure.", tool_calls=[call(clock, "get_time"), call(news, "get_news")]),
        tool(news, "quiet day"),
        tool(clock, "12:00"),
        user("And the weather?"),
        assistant("Checking the earlier call."),
        tool(weather, '{"temp": 20}'),
    ])
    assert contents[1]["parts"] == [fc("get_weather", {"city": "Rome"}, "aaaa1111", SIG_A)]
    assert contents[3]["parts"] == [{"text": "Sure."}, fc("get_time", {}, "bbbb2222"),
                                    fc("get_news", {}, None, SIG_B)]
    assert contents[4]["parts"] == [fr("get_time", {"content": "12:00"}, "bbbb2222"),
                                    fr("get_news", {"content": "quiet day"})]
    assert contents[-1] == {"role": "user",
                            "parts": [fr("get_weather", {"temp": 20}, "aaaa1111")]}


def test_results_several_messages_after_their_call_keep_call_order() -> None:
    ids = [tool_ids.encode(f"id{i}abcde", SIG_A if i == 0 else None) for i in range(3)]
    contents = contents_of([user("q"), assistant(None, tool_calls=[
        call(ids[0], "one"), call(ids[1], "two"), call(ids[2], "three")]),
        tool(ids[2], "3"), tool(ids[1], "2"), tool(ids[0], "1")])
    assert contents[2]["parts"] == [fr("one", {"content": "1"}, "id0abcde"),
                                    fr("two", {"content": "2"}, "id1abcde"),
                                    fr("three", {"content": "3"}, "id2abcde")]


# --- content next to tool calls -------------------------------------------------------------------

@pytest.mark.parametrize(("content", "text_parts"), [
    (None, []),
    ("", []),
    ("Let me check.", [{"text": "Let me check."}]),
    ([{"type": "text", "text": "Let me "}, {"type": "text", "text": "check."}],
     [{"text": "Let me "}, {"text": "check."}]),
    ([{"type": "text", "text": ""}], []),
    ([], []),
])
def test_content_with_tool_calls(content: Any, text_parts: list[dict[str, Any]]) -> None:
    call_id = tool_ids.encode("g1bmv6il", SIG_A)
    message = assistant(content, tool_calls=[call(call_id, "get_weather", '{"city": "SF"}')])
    contents = contents_of([user("q"), message])
    assert contents[1] == {"role": "model", "parts": [
        *text_parts, fc("get_weather", {"city": "SF"}, "g1bmv6il", SIG_A)]}


@pytest.mark.parametrize(("arguments", "args"), [
    ("", {}),
    (None, {}),
    ("{}", {}),
    ('{"city": "Zürich", "greeting": "こんにちは", "emoji": "🌍"}',
     {"city": "Zürich", "greeting": "こんにちは", "emoji": "🌍"}),
    ('{"city": "Z\\u00fcrich", "pair": "\\ud83c\\udf0d"}', {"city": "Zürich", "pair": "🌍"}),
    ('{"nested": {"list": [1, 2.5, null, true, "ß"]}, "empty": {}}',
     {"nested": {"list": [1, 2.5, None, True, "ß"]}, "empty": {}}),
    ('  {"spaced": 1}\n', {"spaced": 1}),
])
def test_arguments(arguments: Any, args: dict[str, Any]) -> None:
    call_id = tool_ids.encode(None, SIG_B)
    contents = contents_of([user("q"), assistant(None, tool_calls=[call(call_id, "f", arguments)])])
    assert contents[1]["parts"] == [fc("f", args, None, SIG_B)]


# --- tool results ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("content", "response"), [
    ('{"temp": 21, "unit": "C"}', {"temp": 21, "unit": "C"}),
    ('{"nested": {"a": [1, "é"]}, "ok": true}', {"nested": {"a": [1, "é"]}, "ok": True}),
    ("[1, 2, 3]", {"content": "[1, 2, 3]"}),
    ('[{"a": 1}]', {"content": '[{"a": 1}]'}),
    ("sunny", {"content": "sunny"}),
    ("42", {"content": "42"}),
    ("3.5", {"content": "3.5"}),
    ("null", {"content": "null"}),
    ('"quoted"', {"content": '"quoted"'}),
    ("{broken", {"content": "{broken"}),
    ("", {"content": ""}),
    ([{"type": "text", "text": "sunny "}, {"type": "text", "text": "and warm"}],
     {"content": "sunny and warm"}),
    ([{"type": "text", "text": '{"temp": '}, {"type": "text", "text": "21}"}], {"temp": 21}),
])
def test_tool_result_content(content: Any, response: dict[str, Any]) -> None:
    call_id = tool_ids.encode("abcd1234", SIG_A)
    contents = contents_of([user("q"), assistant(None, tool_calls=[call(call_id, "f")]),
                            tool(call_id, content)])
    assert contents[2] == {"role": "user", "parts": [fr("f", response, "abcd1234")]}


def test_consecutive_tool_messages_become_one_user_content_in_call_order() -> None:
    ids = [tool_ids.encode(gid, sig) for gid, sig in
           [("aaaa0000", SIG_A), (None, None), ("cccc2222", None), (None, SIG_B)]]
    names = ["w", "x", "y", "z"]
    contents = contents_of([
        user("q"),
        assistant(None, tool_calls=[call(i, n) for i, n in zip(ids, names, strict=True)]),
        tool(ids[3], "3"), tool(ids[1], "1"), tool(ids[0], "0"), tool(ids[2], "2"),
        user("thanks"),
    ])
    assert [c["role"] for c in contents] == ["user", "model", "user", "user"]
    assert contents[2]["parts"] == [
        fr("w", {"content": "0"}, "aaaa0000"), fr("x", {"content": "1"}),
        fr("y", {"content": "2"}, "cccc2222"), fr("z", {"content": "3"}),
    ]
    assert contents[3]["parts"] == [{"text": "thanks"}]


# --- round trip of recorded answers ---------------------------------------------------------------

ROUND_TRIP = [p for p in [*STREAMS, *GENERATE]
              if recorded_calls(recording(p)) and not has_partial_args(recording(p))]
NAMED = [
    "stream-sse-tool-calls-parallel.txt",
    "stream-sse-tool-calls-parallel-separate-events.txt",
    "stream-sse-thinking-thoughts-tool-call.txt",
    "stream-sse-tool-call-no-args-gemini-3.txt",
    "vercel-chunks/derived-sse/issue-10781.1.sse.txt",
]


def recorded_call_parts(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The functionCall parts as Gemini sent them (a missing `args` is an empty object)."""
    out = []
    for part in parts(events):
        if "functionCall" in part:
            assert set(part) <= {"functionCall", "thoughtSignature"}
            part = copy.deepcopy(part)
            part["functionCall"].setdefault("args", {})
            out.append(part)
    return out


def as_sent_back(message: dict[str, Any]) -> dict[str, Any]:
    """The assistant message as an OpenAI client sends it back: role, content, tool_calls."""
    sent = {"role": "assistant", "content": message["content"],
            "tool_calls": [{"id": c["id"], "type": c["type"],
                            "function": {"name": c["function"]["name"],
                                         "arguments": c["function"]["arguments"]}}
                           for c in message["tool_calls"]]}
    return orjson.loads(orjson.dumps(sent))  # over the wire


def test_round_trip_recordings_are_collected() -> None:
    names = {name_of(p) for p in ROUND_TRIP}
    assert set(NAMED) <= names
    assert "generate-content-tool-calls-parallel.json" in names
    assert len(ROUND_TRIP) >= 12


@pytest.mark.parametrize("path", ROUND_TRIP, ids=name_of)
@pytest.mark.parametrize("whole_message", [False, True], ids=["minimal", "as-built"])
def test_recorded_function_calls_go_back_exactly(path: Path, whole_message: bool) -> None:
    events = recording(path)
    message = only_message(build(events))
    sent = message if whole_message else as_sent_back(message)
    results = [tool(c["id"], orjson.dumps({"result": i}).decode())
               for i, c in enumerate(message["tool_calls"])]
    contents = contents_of([user("question"), sent, *reversed(results)])
    expected_calls = recorded_call_parts(events)
    text = [{"text": message["content"]}] if message["content"] else []
    assert contents[1] == {"role": "model", "parts": [*text, *expected_calls]}
    assert contents[2] == {"role": "user", "parts": [
        fr(part["functionCall"]["name"], {"result": i}, part["functionCall"].get("id"))
        for i, part in enumerate(expected_calls)]}
    assert len(contents) == 3


@pytest.mark.parametrize("name", NAMED)
def test_named_recordings_signatures_land_on_the_same_parts(name: str) -> None:
    events = recording(FIXTURES / name)
    message = only_message(build(events))
    contents = contents_of([user("q"), as_sent_back(message)])
    sent_calls = [p for p in contents[1]["parts"] if "functionCall" in p]
    recorded = [p for p in parts(events) if "functionCall" in p]
    assert len(sent_calls) == len(recorded) >= 1
    for sent, original in zip(sent_calls, recorded, strict=True):
        assert sent.get("thoughtSignature") == original.get("thoughtSignature")
        assert sent["functionCall"].get("id") == original["functionCall"].get("id")
        assert sent["functionCall"]["name"] == original["functionCall"]["name"]
        assert sent["functionCall"]["args"] == original["functionCall"].get("args", {})
    assert recorded[0].get("thoughtSignature")


def test_two_recorded_turns_in_one_history() -> None:
    first_events = recording(FIXTURES / "stream-sse-tool-calls-parallel-separate-events.txt")
    second_events = recording(FIXTURES / "vercel-chunks/derived-sse/issue-10781.1.sse.txt")
    first = as_sent_back(only_message(build(first_events)))
    second = as_sent_back(only_message(build(second_events)))
    messages = [user("q1"), first, *[tool(c["id"], "r") for c in first["tool_calls"]],
                user("q2"), second, *[tool(c["id"], "r") for c in second["tool_calls"]]]
    contents = contents_of(messages)
    assert [c["role"] for c in contents] == ["user", "model", "user", "user", "model", "user"]
    assert contents[3]["parts"] == [{"text": "q2"}]
    assert contents[1]["parts"] == recorded_call_parts(first_events)
    assert contents[4]["parts"] == [{"text": "Let me check."},
                                    *recorded_call_parts(second_events)]
    assert contents[2]["parts"] == [fr("add", {"content": "r"}, "8hd01vsf"),
                                    fr("multiply", {"content": "r"}, "k0srpqrc")]
    assert contents[5]["parts"] == [fr("get_weather", {"content": "r"}, "g1bmv6il")]


# --- failed turns ---------------------------------------------------------------------------------

@pytest.mark.parametrize("reason", ["MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL"])
@pytest.mark.parametrize("after_text", [False, True])
def test_failed_tool_turn_raises_502_with_the_finish_message(reason: str,
                                                             after_text: bool) -> None:
    translator = StreamTranslator(MODEL, CREATED)
    if after_text:
        assert translator.translate(event(candidate({"text": "Calling"}))) is not None
    detail = "Malformed function call: print(default_api.get_weather(city='Paris'"
    with pytest.raises(AdapterError) as caught:
        translator.translate(event(candidate(finishReason=reason, finishMessage=detail)))
    error = caught.value
    assert error.status == 502
    assert detail in error.message
    assert reason in error.message
    assert error.code == reason.lower()
    assert error.body()["error"]["type"] == "server_error"


@pytest.mark.parametrize("reason", ["MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL"])
def test_failed_tool_turn_without_a_finish_message(reason: str) -> None:
    translator = StreamTranslator(MODEL, CREATED)
    with pytest.raises(AdapterError) as caught:
        translator.translate({"candidates": [{"finishReason": reason, "index": 0}]})
    assert caught.value.status == 502
    assert reason in caught.value.message
