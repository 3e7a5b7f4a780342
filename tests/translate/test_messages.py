"""OpenAI `messages` -> Gemini `contents` and `systemInstruction`."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from adapter.translate.errors import InvalidRequest
from adapter.translate.messages import parse_arguments, tool_result, translate_messages

from .helpers import assistant, call, tool, user


def text_parts(*texts: str) -> list[dict[str, str]]:
    return [{"type": "text", "text": t} for t in texts]


def contents_of(messages: list[Any]) -> list[dict[str, Any]]:
    return translate_messages(messages)[0]


def response(name: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"functionResponse": {"name": name, "response": value}}


def rejects(messages: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        translate_messages(messages)
    assert caught.value.status == 400
    assert caught.value.body()["error"]["param"] == caught.value.param
    return caught.value


WEATHER_TURN = assistant(None, tool_calls=[
    call("c1", "weather", '{"city": "Paris"}'),
    call("c2", "time", '{"tz": "CET"}'),
    call("c3", "news", ""),
])


# --- roles and system instruction -----------------------------------------------------------------

def test_user_and_assistant_roles() -> None:
    contents, system = translate_messages([user("Hi"), assistant("Hello"), user("Bye")])
    assert contents == [
        {"role": "user", "parts": [{"text": "Hi"}]},
        {"role": "model", "parts": [{"text": "Hello"}]},
        {"role": "user", "parts": [{"text": "Bye"}]},
    ]
    assert system is None


def test_system_and_developer_anywhere_go_to_system_instruction_in_order() -> None:
    contents, system = translate_messages([
        {"role": "system", "content": "one"},
        user("q"),
        {"role": "developer", "content": text_parts("two", "+three")},
        assistant("a"),
        {"role": "system", "content": "four"},
    ])
    assert system == {"parts": [{"text": "one"}, {"text": "two+three"}, {"text": "four"}]}
    assert contents == [{"role": "user", "parts": [{"text": "q"}]},
                        {"role": "model", "parts": [{"text": "a"}]}]


def test_empty_system_messages_are_dropped() -> None:
    _, system = translate_messages([{"role": "system", "content": ""},
                                    {"role": "developer", "content": None}, user("q")])
    assert system is None


def test_array_content_becomes_one_part_per_text() -> None:
    assert contents_of([user(text_parts("a", "", "b"))]) == [
        {"role": "user", "parts": [{"text": "a"}, {"text": "b"}]}]


@pytest.mark.parametrize("kind", ["text", "input_text", "output_text"])
def test_text_part_types(kind: str) -> None:
    assert contents_of([user([{"type": kind, "text": "x"}])]) == [
        {"role": "user", "parts": [{"text": "x"}]}]


def test_consecutive_same_role_turns_are_merged() -> None:
    contents = contents_of([user("a"), user(text_parts("b", "c")), assistant("d"),
                            assistant("e"), user("f")])
    assert contents == [
        {"role": "user", "parts": [{"text": "a"}, {"text": "b"}, {"text": "c"}]},
        {"role": "model", "parts": [{"text": "d"}, {"text": "e"}]},
        {"role": "user", "parts": [{"text": "f"}]},
    ]


def test_system_between_user_turns_does_not_split_them() -> None:
    contents = contents_of([user("a"), {"role": "system", "content": "s"}, user("b")])
    assert contents == [{"role": "user", "parts": [{"text": "a"}, {"text": "b"}]}]


@pytest.mark.parametrize("empty", ["", None, [], text_parts("", "")])
def test_empty_content_is_dropped(empty: Any) -> None:
    assert contents_of([user("a"), assistant(empty), user(empty), user("b")]) == [
        {"role": "user", "parts": [{"text": "a"}, {"text": "b"}]}]


@pytest.mark.parametrize(("bad", "role"), [("bot", "bot"), (None, None), (3, 3)])
def test_unknown_role_names_the_message(bad: Any, role: Any) -> None:
    error = rejects([user("a"), {"role": bad, "content": "x"}])
    assert error.param == "messages[1].role"
    assert repr(role) in error.message


def test_message_without_role_is_rejected() -> None:
    assert rejects([{"content": "x"}]).param == "messages[0].role"


@pytest.mark.parametrize("messages", [[], None, "hi", {"role": "user"}])
def test_messages_must_be_a_non_empty_array(messages: Any) -> None:
    assert rejects(messages).param == "messages"


@pytest.mark.parametrize("messages", [
    [{"role": "system", "content": "only"}],
    [{"role": "system", "content": "s"}, {"role": "developer", "content": "d"}],
    [user(""), assistant(None)],
])
def test_history_without_user_or_assistant_content_is_rejected(messages: list[Any]) -> None:
    assert rejects(messages).param == "messages"


def test_message_that_is_not_an_object() -> None:
    assert rejects([user("a"), "hello"]).param == "messages[1]"


@pytest.mark.parametrize(("content", "param"), [
    (42, "messages[0].content"),
    ([{"type": "image_url", "image_url": {"url": "x"}}], "messages[0].content[0].image_url.url"),
    ([{"type": "bogus"}], "messages[0].content[0].type"),
    ([{"text": "no type"}], "messages[0].content[0].type"),
    ([{"type": "text", "text": 5}], "messages[0].content[0].text"),
    (["plain string"], "messages[0].content[0]"),
])
def test_bad_content_names_the_part(content: Any, param: str) -> None:
    assert rejects([user(content)]).param == param


def test_system_content_must_be_text() -> None:
    error = rejects([{"role": "system", "content": [{"type": "bogus"}]}, user("q")])
    assert error.param == "messages[0].content[0].type"


def test_input_messages_are_not_modified() -> None:
    messages = [{"role": "system", "content": "s"}, user(text_parts("a")), WEATHER_TURN,
                tool("c2", '{"t": 1}'), tool("c1", "sunny"), tool("c3", "none"), user("b")]
    before = copy.deepcopy(messages)
    translate_messages(messages)
    assert messages == before


# --- assistant tool calls -------------------------------------------------------------------------

def test_tool_calls_become_function_call_parts_after_the_text() -> None:
    contents = contents_of([user("q"), assistant("Let me look.", tool_calls=[
        call("c1", "weather", '{"city": "Zürich", "days": [1, 2]}'),
        call("c2", "time", ""),
        call("c3", "noargs", None),
        call("c4", "dict_args", {"already": "parsed"}),
    ])])
    assert contents[1] == {"role": "model", "parts": [
        {"text": "Let me look."},
        {"functionCall": {"name": "weather", "args": {"city": "Zürich", "days": [1, 2]}}},
        {"functionCall": {"name": "time", "args": {}}},
        {"functionCall": {"name": "noargs", "args": {}}},
        {"functionCall": {"name": "dict_args", "args": {"already": "parsed"}}},
    ]}


@pytest.mark.parametrize("arguments", ['{"city": ', "not json", "[1, 2]", '"text"', "3", 7])
def test_bad_tool_call_arguments_name_the_call(arguments: Any) -> None:
    error = rejects([user("q"), assistant(None, tool_calls=[
        call("c1", "ok"), call("c2", "weather", arguments)])])
    assert error.param == "messages[1].tool_calls[1].function.arguments"


@pytest.mark.parametrize(("tool_call", "param"), [
    ("nope", "messages[1].tool_calls[0]"),
    ({"id": "c1", "type": "function"}, "messages[1].tool_calls[0].function"),
    ({"id": "c1", "function": {"arguments": "{}"}}, "messages[1].tool_calls[0].function.name"),
    ({"id": 5, "function": {"name": "f"}}, "messages[1].tool_calls[0].id"),
])
def test_malformed_tool_call(tool_call: Any, param: str) -> None:
    assert rejects([user("q"), assistant(None, tool_calls=[tool_call])]).param == param


def test_tool_calls_must_be_an_array() -> None:
    error = rejects([user("q"), assistant(None, tool_calls={"id": "c1"})])
    assert error.param == "messages[1].tool_calls"


def test_null_tool_calls_are_ignored() -> None:
    assert contents_of([user("q"), assistant("a", tool_calls=None)])[1] == {
        "role": "model", "parts": [{"text": "a"}]}


# --- tool results ---------------------------------------------------------------------------------

def test_tool_results_form_one_user_turn_in_call_order() -> None:
    contents = contents_of([
        user("q"), WEATHER_TURN,
        tool("c3", "no news"), tool("c1", '{"temp": 21, "unit": "C"}'), tool("c2", "12:00"),
    ])
    assert contents[2] == {"role": "user", "parts": [
        response("weather", {"temp": 21, "unit": "C"}),
        response("time", {"content": "12:00"}),
        response("news", {"content": "no news"}),
    ]}
    assert len(contents) == 3


def test_text_after_tool_results_is_kept_after_them() -> None:
    contents = contents_of([user("q"), WEATHER_TURN, tool("c2", "t"), tool("c1", "w"),
                            tool("c3", "n"), user("thanks"), assistant("ok")])
    assert contents[1]["role"] == "model"
    after = [p for c in contents[2:-1] for p in c["parts"]]
    assert all(c["role"] == "user" for c in contents[2:-1])
    assert after == [response("weather", {"content": "w"}), response("time", {"content": "t"}),
                     response("news", {"content": "n"}), {"text": "thanks"}]
    assert contents[-1] == {"role": "model", "parts": [{"text": "ok"}]}


def test_second_round_of_tool_calls() -> None:
    contents = contents_of([
        user("q"),
        assistant(None, tool_calls=[call("a", "first")]), tool("a", "1"),
        assistant(None, tool_calls=[call("b", "second"), call("c", "third")]),
        tool("c", "3"), tool("b", "2"),
    ])
    assert [c["role"] for c in contents] == ["user", "model", "user", "model", "user"]
    assert contents[2]["parts"] == [response("first", {"content": "1"})]
    assert contents[4]["parts"] == [response("second", {"content": "2"}),
                                    response("third", {"content": "3"})]


@pytest.mark.parametrize(("content", "expected"), [
    ('{"temp": 21}', {"temp": 21}),
    ('{"nested": {"a": [1, "é"]}}', {"nested": {"a": [1, "é"]}}),
    ("sunny", {"content": "sunny"}),
    ("[1, 2]", {"content": "[1, 2]"}),
    ("42", {"content": "42"}),
    ("{not json", {"content": "{not json"}),
    (' {"leading": "space"}', {"content": ' {"leading": "space"}'}),
    ("", {"content": ""}),
    (None, {"content": ""}),
    (text_parts('{"a": ', "1}"), {"a": 1}),
    (text_parts("part one, ", "part two"), {"content": "part one, part two"}),
])
def test_tool_result_content(content: Any, expected: dict[str, Any]) -> None:
    contents = contents_of([user("q"), assistant(None, tool_calls=[call("c1", "f")]),
                            tool("c1", content)])
    assert contents[2]["parts"] == [response("f", expected)]
    assert tool_result(content, "x") == expected


def test_unknown_tool_call_id_is_rejected() -> None:
    error = rejects([user("q"), WEATHER_TURN, tool("c1", "ok"), tool("zzz", "?")])
    assert error.param == "messages[3].tool_call_id"
    assert "zzz" in error.message


def test_tool_result_before_any_call_is_rejected() -> None:
    assert rejects([user("q"), tool("c1", "x")]).param == "messages[1].tool_call_id"


@pytest.mark.parametrize("missing", [{}, {"tool_call_id": None}, {"tool_call_id": 3}])
def test_tool_message_needs_a_string_tool_call_id(missing: dict[str, Any]) -> None:
    message = {"role": "tool", "content": "x", **missing}
    assert rejects([user("q"), WEATHER_TURN, message]).param == "messages[2].tool_call_id"


def test_tool_result_content_must_be_text() -> None:
    error = rejects([user("q"), WEATHER_TURN, tool("c1", [{"type": "image_url"}])])
    assert error.param == "messages[2].content[0].type"


# --- legacy function calling ----------------------------------------------------------------------

def test_legacy_function_call_and_function_role() -> None:
    contents = contents_of([
        user("q"),
        assistant(None, function_call={"name": "weather", "arguments": '{"city": "Rome"}'}),
        {"role": "function", "name": "weather", "content": '{"temp": 30}'},
        {"role": "function", "name": "extra", "content": "plain"},
    ])
    assert contents[1:] == [
        {"role": "model", "parts": [{"functionCall": {"name": "weather",
                                                      "args": {"city": "Rome"}}}]},
        {"role": "user", "parts": [response("weather", {"temp": 30}),
                                   response("extra", {"content": "plain"})]},
    ]


def test_legacy_function_call_with_bad_arguments() -> None:
    error = rejects([user("q"), assistant(None, function_call={"name": "f", "arguments": "{"})])
    assert error.param == "messages[1].function_call.arguments"


@pytest.mark.parametrize(("function_call", "param"), [
    ("f", "messages[1].function_call"),
    ({"arguments": "{}"}, "messages[1].function_call.name"),
])
def test_malformed_legacy_function_call(function_call: Any, param: str) -> None:
    assert rejects([user("q"), assistant(None, function_call=function_call)]).param == param


def test_function_role_needs_a_name() -> None:
    error = rejects([user("q"), {"role": "function", "content": "x"}])
    assert error.param == "messages[1].name"


# --- parse_arguments ------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    (None, {}), ("", {}), ("{}", {}), ({"a": 1}, {"a": 1}),
    ('{"a": {"b": [null, true, 1.5]}}', {"a": {"b": [None, True, 1.5]}}),
    ('  {"padded": 1}  ', {"padded": 1}),
])
def test_parse_arguments(raw: Any, expected: dict[str, Any]) -> None:
    assert parse_arguments(raw, "where") == expected


@pytest.mark.parametrize("raw", ["{", "[]", "null", "1", 1, [1], True])
def test_parse_arguments_rejects(raw: Any) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_arguments(raw, "messages[4].tool_calls[2].function.arguments")
    assert caught.value.param == "messages[4].tool_calls[2].function.arguments"
