"""Conversations from other models: a history that began elsewhere continues on Gemini.

Two things make such a history fail on Gemini if nothing is done: function calls without the
thought signature Gemini 3 checks (they get the documented placeholder, `signatures.py`), and
message fields other providers' APIs carry (each accepted, with the decision in `messages.py`).
The OpenAI side uses recorded gpt-4o-mini answers from `fixtures/openai/` (see its SOURCES.md).
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from adapter.translate import tool_ids
from adapter.translate.capabilities import capabilities
from adapter.translate.errors import InvalidRequest
from adapter.translate.request import chat_request
from adapter.translate.responses_request import responses_call
from adapter.translate.signatures import PLACEHOLDER, add_placeholders

from .helpers import (
    SIG_A,
    SIG_B,
    assistant,
    call,
    fc,
    fr,
    openai_history,
    recorded_message,
    tool,
    user,
)

GEMINI_3 = "gemini-3-flash-preview"
NO_PLACEHOLDER = ["gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.0-flash", "gemini-1.5-pro",
                  "gemini-3-pro-image-preview", "gemini-3.1-flash-image-preview",
                  "gemini-2.5-flash-image", "gemma-3-27b-it", "gemini-exp-1206", "my-model"]


def contents(messages: list[Any], model: str = GEMINI_3) -> list[dict[str, Any]]:
    before = copy.deepcopy(messages)
    result = chat_request({"model": model, "messages": messages}).gemini["contents"]
    assert messages == before
    return result


def signed(result: list[dict[str, Any]]) -> list[tuple[int, int, str]]:
    """(content index, part index, signature) of every signed part."""
    return [(i, j, part["thoughtSignature"]) for i, content in enumerate(result)
            for j, part in enumerate(content["parts"]) if "thoughtSignature" in part]


def rejects(messages: list[Any]) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        chat_request({"model": GEMINI_3, "messages": messages})
    assert caught.value.status == 400
    return caught.value


# --- the recorded OpenAI conversation -------------------------------------------------------------

def test_recorded_openai_history_gets_one_placeholder_per_call_turn() -> None:
    result = contents(openai_history())
    placeholder = {"thoughtSignature": PLACEHOLDER}
    assert result == [
        {"role": "user", "parts": [{"text": "Add and multiply the numbers 2 and 3."}]},
        {"role": "model", "parts": [{**fc("add", {"a": 2, "b": 3}), **placeholder},
                                    fc("multiply", {"a": 2, "b": 3})]},
        {"role": "user", "parts": [fr("add", {"result": 5}), fr("multiply", {"result": 6})]},
        {"role": "model", "parts": [{"text": "2 + 3 = 5 and 2 * 3 = 6."}]},
        {"role": "user", "parts": [{"text": "What is the weather in Florence?"}]},
        {"role": "model", "parts": [{**fc("weather", {"location": "Florence,Italy"}),
                                     **placeholder}]},
        {"role": "user", "parts": [fr("weather", {"content": "Sunny, 40 C"})]},
        {"role": "model", "parts": [{"text": "It is sunny and 40 C in Florence."}]},
        {"role": "user", "parts": [{"text": "Thanks! Anything else I should know?"}]},
    ]
    assert signed(result) == [(1, 0, PLACEHOLDER), (5, 0, PLACEHOLDER)]


@pytest.mark.parametrize("model", NO_PLACEHOLDER)
def test_models_that_do_not_validate_get_no_placeholder(model: str) -> None:
    result = contents(openai_history(), model)
    assert signed(result) == []
    assert result == [_unsigned(c) for c in contents(openai_history())]


def _unsigned(content: dict[str, Any]) -> dict[str, Any]:
    return {**content, "parts": [{k: v for k, v in part.items() if k != "thoughtSignature"}
                                 for part in content["parts"]]}


@pytest.mark.parametrize("model", ["gemini-3-flash-preview", "gemini-3-pro-preview",
                                   "gemini-3.1-pro-preview", "gemini-3.1-flash-lite-preview",
                                   "gemini-flash-latest", "gemini-pro-latest",
                                   "gemini-4-flash", "gemini-10-pro"])
def test_gemini_3_and_later_text_models_validate(model: str) -> None:
    assert capabilities(model).checks_signatures
    assert signed(contents(openai_history(), model))[0] == (1, 0, PLACEHOLDER)


@pytest.mark.parametrize("model", [*NO_PLACEHOLDER, "text-embedding-004", "my-gemini-3-proxy",
                                   "gemini-flash-image-latest", "gemini-"])
def test_other_models_do_not_validate(model: str) -> None:
    assert not capabilities(model).checks_signatures


def test_models_prefix_and_aliases_are_resolved_first() -> None:
    body = {"model": "models/gemini-3-flash-preview", "messages": openai_history()}
    assert signed(chat_request(body).gemini["contents"])[0][2] == PLACEHOLDER
    body["model"] = "team-default"
    gemini = chat_request(body, {"team-default": GEMINI_3}).gemini
    assert signed(gemini["contents"])[0][2] == PLACEHOLDER


def test_responses_api_history_gets_the_placeholder_too() -> None:
    call = responses_call({"model": GEMINI_3, "input": [
        {"role": "user", "content": "Weather?"},
        {"type": "function_call", "call_id": "call_qLFv8oQOs68qRuEVmG8TuEJp", "name": "weather",
         "arguments": '{"location": "Florence,Italy"}'},
        {"type": "function_call_output", "call_id": "call_qLFv8oQOs68qRuEVmG8TuEJp",
         "output": "Sunny"},
    ]}, [])
    result = chat_request(call.chat).gemini["contents"]
    assert signed(result) == [(1, 0, PLACEHOLDER)]


# --- placeholder rules ----------------------------------------------------------------------------

def test_only_the_first_of_parallel_calls() -> None:
    result = contents([user("q"), assistant(None, tool_calls=[
        call("call_a", "one"), call("call_b", "two"), call("call_c", "three")])])
    assert result[1]["parts"] == [{**fc("one", {}), "thoughtSignature": PLACEHOLDER},
                                  fc("two", {}), fc("three", {})]


def test_the_first_call_after_text_not_the_text() -> None:
    result = contents([user("q"), assistant("Let me check.", tool_calls=[call("c1", "f")])])
    assert result[1]["parts"] == [{"text": "Let me check."},
                                  {**fc("f", {}), "thoughtSignature": PLACEHOLDER}]


def test_each_model_turn_gets_its_own() -> None:
    result = contents([
        user("q"),
        assistant(None, tool_calls=[call("a", "first"), call("b", "second")]),
        tool("b", "2"), tool("a", "1"),
        assistant(None, tool_calls=[call("c", "third")]), tool("c", "3"),
        assistant("done"), user("again"),
        assistant(None, tool_calls=[call("d", "fourth")]),
    ])
    assert signed(result) == [(1, 0, PLACEHOLDER), (3, 0, PLACEHOLDER), (7, 0, PLACEHOLDER)]


def test_consecutive_assistant_messages_are_one_turn_with_one_placeholder() -> None:
    result = contents([user("q"), assistant(None, tool_calls=[call("a", "one")]),
                       assistant(None, tool_calls=[call("b", "two")])])
    assert len(result) == 2
    assert signed(result) == [(1, 0, PLACEHOLDER)]


@pytest.mark.parametrize("gemini_id", ["g1bmv6il", None])
def test_a_real_signature_is_kept(gemini_id: str | None) -> None:
    ours = tool_ids.encode(gemini_id, SIG_A)
    result = contents([user("q"), assistant(None, tool_calls=[call(ours, "f"),
                                                              call("call_x", "g")]),
                       tool(ours, "1"), tool("call_x", "2")])
    assert result[1]["parts"] == [fc("f", {}, gemini_id, SIG_A), fc("g", {})]
    assert signed(result) == [(1, 0, SIG_A)]


def test_foreign_call_first_gets_the_placeholder_and_ours_keeps_its_signature() -> None:
    ours = tool_ids.encode("k0srpqrc", SIG_B)
    result = contents([user("q"), assistant(None, tool_calls=[call("call_x", "g"),
                                                              call(ours, "f")])])
    assert result[1]["parts"] == [{**fc("g", {}), "thoughtSignature": PLACEHOLDER},
                                  fc("f", {}, "k0srpqrc", SIG_B)]


def test_our_call_without_a_signature_gets_the_placeholder_and_keeps_its_id() -> None:
    ours = tool_ids.encode("abcd1234", None)
    result = contents([user("q"), assistant(None, tool_calls=[call(ours, "f")]), tool(ours, "1")])
    assert result[1]["parts"] == [{**fc("f", {}, "abcd1234"), "thoughtSignature": PLACEHOLDER}]
    assert result[2]["parts"] == [fr("f", {"content": "1"}, "abcd1234")]


def test_a_placeholder_signature_from_an_id_is_kept_as_it_is() -> None:
    ours = tool_ids.encode(None, "context_engineering_is_the_way_to_go")
    result = contents([user("q"), assistant(None, tool_calls=[call(ours, "f")])])
    assert signed(result) == [(1, 0, "context_engineering_is_the_way_to_go")]


def test_legacy_function_call_and_function_message() -> None:
    result = contents([
        user("Weather in Rome?"),
        assistant(None, function_call={"name": "weather", "arguments": '{"city": "Rome"}'}),
        {"role": "function", "name": "weather", "content": '{"temp": 30}'},
        user("Thanks."),
    ])
    assert result[1:] == [
        {"role": "model", "parts": [{**fc("weather", {"city": "Rome"}),
                                     "thoughtSignature": PLACEHOLDER}]},
        {"role": "user", "parts": [fr("weather", {"temp": 30})]},
        {"role": "user", "parts": [{"text": "Thanks."}]},
    ]


def test_user_turns_and_text_only_turns_are_left_alone() -> None:
    given = [{"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {}}}]},
             {"role": "model", "parts": [{"text": "hi"}]},
             {"role": "user", "parts": [{"functionCall": {"name": "odd", "args": {}}}]}]
    assert add_placeholders(copy.deepcopy(given), GEMINI_3) == given


def test_add_placeholders_changes_in_place_and_is_idempotent() -> None:
    given = [{"role": "model", "parts": [fc("f", {}), fc("g", {})]}]
    once = add_placeholders(given, GEMINI_3)
    assert once is given
    assert add_placeholders(copy.deepcopy(once), GEMINI_3) == once
    assert once[0]["parts"][0]["thoughtSignature"] == PLACEHOLDER
    assert "thoughtSignature" not in once[0]["parts"][1]


# --- fields of other providers' messages ----------------------------------------------------------

def test_name_is_accepted_and_not_sent() -> None:
    named = contents([{"role": "system", "content": "s", "name": "rules"},
                      {"role": "user", "content": "hi", "name": "alice"},
                      {"role": "assistant", "content": "hello", "name": "bot"},
                      {"role": "user", "content": "bye", "name": "bob"}])
    plain = contents([{"role": "system", "content": "s"}, user("hi"), assistant("hello"),
                      user("bye")])
    assert named == plain
    assert "name" not in orjson.dumps(named).decode()


@pytest.mark.parametrize(("message", "parts"), [
    (assistant(None, refusal="I can't help with that."), [{"text": "I can't help with that."}]),
    (assistant("", refusal="I can't help with that."), [{"text": "I can't help with that."}]),
    (assistant("Partly: ", refusal="the rest I can't."),
     [{"text": "Partly: "}, {"text": "the rest I can't."}]),
    (assistant("I can't.", refusal="I can't."), [{"text": "I can't."}]),
    (assistant("ok", refusal=None), [{"text": "ok"}]),
    (assistant("ok", refusal=""), [{"text": "ok"}]),
    (assistant([{"type": "refusal", "refusal": "No."}]), [{"text": "No."}]),
    (assistant([{"type": "text", "text": "Well. "}, {"type": "refusal", "refusal": "No."}]),
     [{"text": "Well. "}, {"text": "No."}]),
], ids=["refusal-null-content", "refusal-empty-content", "content-then-refusal", "repeated",
        "null", "empty", "refusal-part", "text-and-refusal-parts"])
def test_refusal_is_model_text(message: dict[str, Any], parts: list[dict[str, Any]]) -> None:
    result = contents([user("q"), message, user("why?")])
    assert result[1] == {"role": "model", "parts": parts}


def test_refusal_next_to_tool_calls() -> None:
    result = contents([user("q"), assistant(None, refusal="Not that one.",
                                            tool_calls=[call("call_1", "f")])])
    assert result[1]["parts"] == [{"text": "Not that one."},
                                  {**fc("f", {}), "thoughtSignature": PLACEHOLDER}]


def test_refusal_part_in_a_user_message_is_text() -> None:
    assert contents([user([{"type": "refusal", "refusal": "quoted"}])])[0]["parts"] == [
        {"text": "quoted"}]


@pytest.mark.parametrize(("field", "value", "param"), [
    ("refusal", 3, "messages[1].refusal"),
    ("refusal", {"text": "no"}, "messages[1].refusal"),
    ("audio", "audio_abc", "messages[1].audio"),
    ("audio", {"id": "audio_abc", "transcript": 5}, "messages[1].audio.transcript"),
    ("reasoning_content", ["thinking"], "messages[1].reasoning_content"),
    ("reasoning_content", {"text": "thinking"}, "messages[1].reasoning_content"),
    ("reasoning_content", 1, "messages[1].reasoning_content"),
])
def test_malformed_fields_name_the_param(field: str, value: Any, param: str) -> None:
    assert rejects([user("q"), assistant("a", **{field: value})]).param == param


@pytest.mark.parametrize(("message", "parts"), [
    (assistant(None, audio={"id": "audio_6789abcd"}), []),
    (assistant(None, audio={"id": "audio_1", "transcript": "Hello there!"}),
     [{"text": "Hello there!"}]),
    (assistant(None, audio={"id": "audio_1", "data": "UklGRg==", "expires_at": 1729234747,
                            "transcript": "Hello there!"}), [{"text": "Hello there!"}]),
    (assistant("Hi!", audio={"id": "audio_1", "transcript": "Hello there!"}), [{"text": "Hi!"}]),
    (assistant(None, refusal="No.", audio={"id": "audio_1", "transcript": "No, sorry."}),
     [{"text": "No."}]),
    (assistant(None, audio={"id": "audio_1", "transcript": ""}), []),
    (assistant("Hi!", audio=None), [{"text": "Hi!"}]),
], ids=["id-only", "transcript", "full-object", "content-wins", "refusal-wins",
        "empty-transcript", "null"])
def test_audio_is_dropped_and_its_transcript_kept_when_alone(
        message: dict[str, Any], parts: list[dict[str, Any]]) -> None:
    result = contents([user("q"), message, user("more")])
    if parts:
        assert result[1] == {"role": "model", "parts": parts}
    else:  # nothing to send: the turn is dropped and the user turns around it merge
        assert result == [{"role": "user", "parts": [{"text": "q"}, {"text": "more"}]}]


def test_annotations_are_dropped() -> None:
    message = assistant("Paris is the capital [1].", annotations=[
        {"type": "url_citation", "url_citation": {
            "url": "https://en.wikipedia.org/wiki/Paris", "title": "Paris",
            "start_index": 21, "end_index": 24}}])
    assert contents([user("q"), message])[1] == {
        "role": "model", "parts": [{"text": "Paris is the capital [1]."}]}


@pytest.mark.parametrize(("fields", "thought"), [
    ({"reasoning_content": "The user greets me."}, "The user greets me."),
    ({"reasoning": "The user greets me."}, "The user greets me."),
    ({"reasoning_content": "from content", "reasoning": "from reasoning"}, "from content"),
    ({"reasoning_content": "", "reasoning": "from reasoning"}, "from reasoning"),
    ({"reasoning_content": None, "reasoning": "from reasoning"}, "from reasoning"),
    ({"reasoning_content": ""}, None),
    ({"reasoning": ""}, None),
    ({"reasoning": {"effort": "high", "summary": "thinking"}}, None),
    ({"reasoning": [{"type": "reasoning.text", "text": "thinking"}]}, None),
    ({"reasoning": 3}, None),
    ({"reasoning_details": [{"type": "reasoning.text", "text": "thinking"}]}, None),
    ({"reasoning_content": "kept", "reasoning_details": [{"type": "reasoning.encrypted",
                                                          "data": "abc"}]}, "kept"),
], ids=["reasoning_content", "reasoning", "both", "empty-content", "null-content",
        "empty", "empty-reasoning", "reasoning-object", "reasoning-array", "reasoning-number",
        "reasoning_details", "with-details"])
def test_reasoning_becomes_a_thought_part_first(fields: dict[str, Any],
                                                thought: str | None) -> None:
    result = contents([user("hi"), assistant("Hello!", **fields), user("bye")])
    expected = [{"text": thought, "thought": True}] if thought else []
    assert result[1] == {"role": "model", "parts": [*expected, {"text": "Hello!"}]}


def test_reasoning_before_foreign_calls_and_the_placeholder_on_the_call() -> None:
    result = contents([user("q"), assistant(None, reasoning_content="I need the weather.",
                                            tool_calls=[call("call_1", "weather")])])
    assert result[1]["parts"] == [{"text": "I need the weather.", "thought": True},
                                  {**fc("weather", {}), "thoughtSignature": PLACEHOLDER}]


def test_reasoning_is_not_added_to_a_turn_gemini_signed() -> None:
    ours = tool_ids.encode("g1bmv6il", SIG_A)
    result = contents([user("q"), assistant(None, reasoning_content="summary",
                                            tool_calls=[call(ours, "weather")])])
    assert result[1]["parts"] == [fc("weather", {}, "g1bmv6il", SIG_A)]


def test_reasoning_alone_does_not_make_a_turn() -> None:
    result = contents([user("q"), assistant(None, reasoning_content="Thinking about it..."),
                       user("hello?")])
    assert result == [{"role": "user", "parts": [{"text": "q"}, {"text": "hello?"}]}]


def test_each_merged_message_keeps_its_reasoning_before_its_text() -> None:
    result = contents([user("q"), assistant("one", reasoning_content="r1"),
                       assistant("two", reasoning="r2")])
    assert result[1]["parts"] == [{"text": "r1", "thought": True}, {"text": "one"},
                                  {"text": "r2", "thought": True}, {"text": "two"}]


@pytest.mark.parametrize("empty", [
    assistant(""), assistant(None), assistant([]), assistant(None, tool_calls=[]),
    assistant("", tool_calls=None, function_call=None, refusal=None, audio=None),
    {"role": "assistant"},
], ids=["empty-string", "null", "empty-array", "no-calls", "all-null", "no-content"])
def test_empty_assistant_turns_are_dropped(empty: dict[str, Any]) -> None:
    result = contents([user("Write a poem."), empty, user("Never mind, a haiku.")])
    assert result == [{"role": "user", "parts": [{"text": "Write a poem."},
                                                 {"text": "Never mind, a haiku."}]}]


def test_unknown_fields_are_ignored() -> None:
    result = contents([
        {"role": "system", "content": "s", "id": "msg_0"},
        {"role": "user", "content": "q", "id": "msg_1", "created": 1782321905,
         "metadata": {"client": "x"}},
        {"role": "assistant", "content": None, "id": "msg_2", "created": 1782321906,
         "function_call": None, "tool_calls": [
             {"index": 0, "id": "call_1", "type": "function",
              "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "1", "name": "f", "id": "msg_3"},
        {"role": "assistant", "content": "Answer: ", "prefix": True, "tool_calls": []},
    ])
    assert result == [
        {"role": "user", "parts": [{"text": "q"}]},
        {"role": "model", "parts": [{**fc("f", {}), "thoughtSignature": PLACEHOLDER}]},
        {"role": "user", "parts": [fr("f", {"content": "1"})]},
        {"role": "model", "parts": [{"text": "Answer: "}]},
    ]


def test_a_whole_recorded_choice_message_as_clients_store_it() -> None:
    """Some clients store the message exactly as it came, extra fields and all."""
    message = recorded_message()
    assert {"refusal", "annotations"} <= set(message)
    result = contents([user("q"), message,
                       *[tool(c["id"], "r") for c in message["tool_calls"]]])
    assert [len(c["parts"]) for c in result] == [1, 2, 2]
    assert signed(result) == [(1, 0, PLACEHOLDER)]
