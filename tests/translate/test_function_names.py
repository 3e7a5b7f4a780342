"""Function names Gemini cannot take (`3d-render`) go to Gemini mapped, and come back as the
client's own: in declarations, tool_choice, history, and the calls Gemini makes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapter.translate.errors import InvalidRequest
from adapter.translate.function_names import from_gemini, to_gemini, valid_for_gemini
from adapter.translate.messages import translate_messages
from adapter.translate.request import chat_request

from .helpers import (
    assistant,
    build,
    call,
    call_part,
    candidate,
    event,
    fc,
    fr,
    only_message,
    run,
    tool,
    user,
)

OPENAI_NAMES = st.from_regex(r"[a-zA-Z0-9_-]{1,62}", fullmatch=True)


def declare(*names: str, **extra: Any) -> dict[str, Any]:
    return chat_request({"model": "gemini-2.5-flash", "messages": [user("hi")],
                         "tools": [{"type": "function", "function": {"name": n}} for n in names],
                         **extra}).gemini


@pytest.mark.parametrize(("name", "gemini"), [
    ("get_weather", "get_weather"), ("_private", "_private"), ("ns.tool", "ns.tool"),
    ("server:tool", "server:tool"), ("3d-render", "_.3d-render"), ("-x", "_.-x"),
    ("9", "_.9"), (".x", "_..x"), ("_.x", "_._.x"), ("1" + "a" * 61, "_.1" + "a" * 61),
])
def test_names_gemini_cannot_take_are_prefixed(name: str, gemini: str) -> None:
    assert to_gemini(name) == gemini
    assert valid_for_gemini(gemini)
    assert from_gemini(gemini) == name


@given(OPENAI_NAMES)
def test_every_openai_name_maps_to_a_gemini_name_and_back(name: str) -> None:
    assert valid_for_gemini(to_gemini(name))
    assert from_gemini(to_gemini(name)) == name


@given(OPENAI_NAMES, OPENAI_NAMES)
def test_distinct_names_stay_distinct(a: str, b: str) -> None:
    assert (to_gemini(a) == to_gemini(b)) == (a == b)


def test_declaration_and_tool_choice_use_the_mapped_name() -> None:
    gemini = declare("3d-render", "render_3d",
                     tool_choice={"type": "function", "function": {"name": "3d-render"}})
    assert [d["name"] for d in gemini["tools"][0]["functionDeclarations"]] == [
        "_.3d-render", "render_3d"]
    assert gemini["toolConfig"] == {"functionCallingConfig": {
        "mode": "ANY", "allowedFunctionNames": ["_.3d-render"]}}


def test_a_name_too_long_to_map_is_a_400_naming_it() -> None:
    with pytest.raises(InvalidRequest) as caught:
        declare("ok", "1" + "a" * 62)
    assert caught.value.param == "tools[1].function.name"


def test_history_calls_and_results_use_the_mapped_name() -> None:
    contents, _ = translate_messages([
        user("render a cube"),
        assistant(None, tool_calls=[call("call_1", "3d-render", '{"shape": "cube"}')]),
        tool("call_1", '{"ok": true}'),
        assistant(None, function_call={"name": "2fa", "arguments": "{}"}),
        {"role": "function", "name": "2fa", "content": "123456"},
    ])
    assert contents[1]["parts"][0] == fc("_.3d-render", {"shape": "cube"})
    assert contents[2]["parts"] == [fr("_.3d-render", {"ok": True})]
    assert contents[3]["parts"] == [fc("_.2fa", {})]
    assert contents[4]["parts"] == [fr("_.2fa", {"content": "123456"})]


def test_calls_gemini_makes_come_back_with_the_clients_name() -> None:
    events = [event(candidate(call_part("_.3d-render", args={"shape": "cube"}),
                              call_part("get_time", args={}), finishReason="STOP"))]
    _, chunks = run(events)
    names = [c["function"]["name"] for c in chunks[0]["choices"][0]["delta"]["tool_calls"]]
    assert names == ["3d-render", "get_time"]
    message = only_message(build(events))
    assert [c["function"]["name"] for c in message["tool_calls"]] == ["3d-render", "get_time"]
