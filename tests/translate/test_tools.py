"""OpenAI `tools` / `tool_choice` (and legacy `functions` / `function_call`) -> Gemini `tools`
and `toolConfig`."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from adapter.translate import tool_ids
from adapter.translate.errors import InvalidRequest
from adapter.translate.request import chat_request
from adapter.translate.tools import (
    BUILT_IN,
    CODE_EXECUTION,
    GEMINI_TOOLS,
    GOOGLE_SEARCH,
    SWITCHES,
    URL_CONTEXT,
    gemini_tools,
)
from adapter.translate.tools import function_declarations as declarations_of
from adapter.translate.tools import tool_fields as fields_of

from .helpers import assert_gemini_schema

WEATHER_PARAMS = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "City name"},
        "unit": {"type": "string", "enum": ["c", "f"], "default": "c"},
    },
    "required": ["city"],
    "additionalProperties": False,
}
WEATHER_GEMINI_PARAMS = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "City name"},
        "unit": {"type": "string", "enum": ["c", "f"]},
    },
    "required": ["city"],
}


def function(name: str, description: str | None = None, parameters: Any = None,
             **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, **extra}
    if description is not None:
        spec["description"] = description
    if parameters is not None:
        spec["parameters"] = parameters
    return spec


def tool(name: str, description: str | None = None, parameters: Any = None,
         **extra: Any) -> dict[str, Any]:
    return {"type": "function", "function": function(name, description, parameters, **extra)}


WEATHER = tool("get_weather", "Current weather", WEATHER_PARAMS)
TIME = tool("get_time")


def check_declarations(declarations: list[dict[str, Any]]) -> None:
    """Every declaration has only Gemini's fields, and valid, non-empty parameters."""
    for declaration in declarations:
        assert set(declaration) <= {"name", "description", "parameters"}
        if "parameters" in declaration:
            assert_gemini_schema(declaration["parameters"])
            assert declaration["parameters"]["type"] == "object"
            assert declaration["parameters"]["properties"]


def function_declarations(body: dict[str, Any]) -> list[dict[str, Any]]:
    declarations = declarations_of(body, [])
    check_declarations(declarations)
    return declarations


def tool_fields(body: dict[str, Any]) -> dict[str, Any]:
    before = copy.deepcopy(body)
    fields = fields_of(body)
    assert body == before
    assert set(fields) <= {"tools", "toolConfig"}
    if "toolConfig" in fields:
        assert "tools" in fields
    if "tools" in fields:
        [entry] = fields["tools"]
        assert set(entry) == {"functionDeclarations"}
        assert entry["functionDeclarations"]
        check_declarations(entry["functionDeclarations"])
    return fields


def rejects(body: dict[str, Any]) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        fields_of(body)
    error = caught.value
    assert error.status == 400
    assert error.body()["error"]["param"] == error.param
    assert error.body()["error"]["type"] == "invalid_request_error"
    return error


# --- declarations ---------------------------------------------------------------------------------

def test_tools_become_function_declarations() -> None:
    assert tool_fields({"tools": [WEATHER, TIME]}) == {"tools": [{"functionDeclarations": [
        {"name": "get_weather", "description": "Current weather",
         "parameters": WEATHER_GEMINI_PARAMS},
        {"name": "get_time"},
    ]}]}


def test_declarations_keep_the_order_of_the_tools() -> None:
    names = [f"fn_{i}" for i in range(20)]
    declarations = function_declarations({"tools": [tool(n) for n in reversed(names)]})
    assert [d["name"] for d in declarations] == list(reversed(names))


@pytest.mark.parametrize("parameters", [
    None,
    {},
    {"type": "object"},
    {"type": "object", "properties": {}},
    {"type": "object", "properties": {}, "required": []},
    {"type": "object", "properties": {}, "additionalProperties": False,
     "$schema": "http://json-schema.org/draft-07/schema#"},
], ids=["absent", "empty", "object", "empty-properties", "empty-required", "zod-empty"])
def test_no_or_empty_parameters_give_no_parameters_key(parameters: Any) -> None:
    [declaration] = function_declarations({"tools": [tool("ping", "Ping", parameters)]})
    assert declaration == {"name": "ping", "description": "Ping"}


def test_explicit_null_parameters_and_description_are_absent() -> None:
    spec = {"type": "function",
            "function": {"name": "ping", "description": None, "parameters": None}}
    assert function_declarations({"tools": [spec]}) == [{"name": "ping"}]


def test_openai_only_fields_are_not_sent() -> None:
    [declaration] = function_declarations({"tools": [
        tool("get_weather", "Current weather", WEATHER_PARAMS, strict=True)]})
    assert declaration == {"name": "get_weather", "description": "Current weather",
                           "parameters": WEATHER_GEMINI_PARAMS}


def test_parameters_are_converted_schemas() -> None:
    params = {"$defs": {"Unit": {"type": "string", "enum": ["c", "f"]}},
              "type": "object",
              "properties": {"unit": {"$ref": "#/$defs/Unit"},
                             "days": {"type": ["integer", "null"]}},
              "title": "Args"}
    [declaration] = function_declarations({"tools": [tool("f", parameters=params)]})
    assert declaration["parameters"] == {
        "type": "object",
        "properties": {"unit": {"type": "string", "enum": ["c", "f"]},
                       "days": {"type": "integer", "nullable": True}}}


def test_tool_without_type_is_a_function() -> None:
    assert function_declarations({"tools": [{"function": {"name": "f"}}]}) == [{"name": "f"}]


def test_legacy_functions() -> None:
    fields = tool_fields({"functions": [function("get_weather", "Current weather",
                                                 WEATHER_PARAMS), function("noop")]})
    assert fields == {"tools": [{"functionDeclarations": [
        {"name": "get_weather", "description": "Current weather",
         "parameters": WEATHER_GEMINI_PARAMS},
        {"name": "noop"},
    ]}]}


def test_tools_and_legacy_functions_together() -> None:
    declarations = function_declarations({"tools": [TIME], "functions": [function("legacy")]})
    assert [d["name"] for d in declarations] == ["get_time", "legacy"]


@pytest.mark.parametrize("body", [{}, {"tools": []}, {"functions": []}, {"tools": None},
                                  {"tools": [], "functions": []}])
def test_no_tools_no_fields(body: dict[str, Any]) -> None:
    assert tool_fields(body) == {}


def test_input_is_not_modified() -> None:
    body = {"tools": [WEATHER, TIME], "tool_choice": "required", "parallel_tool_calls": False}
    before = copy.deepcopy(body)
    tool_fields(body)
    assert body == before


# --- tool_choice ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("choice", "mode"), [("none", "NONE"), ("auto", "AUTO"),
                                               ("required", "ANY")])
def test_tool_choice_modes(choice: str, mode: str) -> None:
    fields = tool_fields({"tools": [WEATHER, TIME], "tool_choice": choice})
    assert fields["toolConfig"] == {"functionCallingConfig": {"mode": mode}}
    assert len(fields["tools"][0]["functionDeclarations"]) == 2


@pytest.mark.parametrize("choice", [
    {"type": "function", "function": {"name": "get_time"}},
    {"type": "function", "name": "get_time"},
])
def test_tool_choice_naming_a_function(choice: dict[str, Any]) -> None:
    assert tool_fields({"tools": [WEATHER, TIME], "tool_choice": choice})["toolConfig"] == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_time"]}}


def test_no_tool_choice_no_tool_config() -> None:
    assert "toolConfig" not in tool_fields({"tools": [WEATHER]})


@pytest.mark.parametrize("choice", ["none", "auto"])
def test_no_tool_config_without_tools(choice: str) -> None:
    assert tool_fields({"tool_choice": choice}) == {}
    assert tool_fields({"tools": [], "tool_choice": choice}) == {}
    assert tool_fields({"function_call": choice}) == {}


def test_tool_choice_wins_over_legacy_function_call() -> None:
    fields = tool_fields({"tools": [WEATHER], "tool_choice": "none", "function_call": "auto"})
    assert fields["toolConfig"] == {"functionCallingConfig": {"mode": "NONE"}}


@pytest.mark.parametrize(("choice", "expected"), [
    ("none", {"mode": "NONE"}),
    ("auto", {"mode": "AUTO"}),
    ({"name": "get_weather"}, {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}),
])
def test_legacy_function_call(choice: Any, expected: dict[str, Any]) -> None:
    fields = tool_fields({"functions": [function("get_weather", parameters=WEATHER_PARAMS)],
                          "function_call": choice})
    assert fields["toolConfig"] == {"functionCallingConfig": expected}


# --- parallel_tool_calls --------------------------------------------------------------------------

@pytest.mark.parametrize("value", [True, False])
def test_parallel_tool_calls_accepted(value: bool) -> None:
    assert tool_fields({"tools": [WEATHER], "parallel_tool_calls": value}) == tool_fields(
        {"tools": [WEATHER]})
    assert tool_fields({"parallel_tool_calls": value}) == {}


@pytest.mark.parametrize("value", ["true", 1, 0, [], {}, "false"])
def test_parallel_tool_calls_must_be_a_boolean(value: Any) -> None:
    error = rejects({"tools": [WEATHER], "parallel_tool_calls": value})
    assert error.param == "parallel_tool_calls"


# --- errors ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "param"), [
    ({"tools": {"type": "function"}}, "tools"),
    ({"tools": "get_weather"}, "tools"),
    ({"tools": [WEATHER, "get_time"]}, "tools[1]"),
    ({"tools": [None]}, "tools[0]"),
    ({"tools": [{"type": "retrieval"}]}, "tools[0].type"),
    ({"tools": [TIME, {"type": "file_search"}]}, "tools[1].type"),
    ({"tools": [{"type": "custom", "custom": {"name": "x"}}]}, "tools[0].type"),
    ({"tools": [{"type": "function"}]}, "tools[0].function"),
    ({"tools": [{"type": "function", "function": "get_time"}]}, "tools[0].function"),
    ({"tools": [{"type": "function", "function": {}}]}, "tools[0].function.name"),
    ({"tools": [{"type": "function", "function": {"name": 5}}]}, "tools[0].function.name"),
    ({"tools": [tool("f", description=["x"])]}, "tools[0].function.description"),
    ({"tools": [tool("f", parameters=["x"])]}, "tools[0].function.parameters"),
    ({"tools": [tool("f", parameters="object")]}, "tools[0].function.parameters"),
    ({"functions": {"name": "f"}}, "functions"),
    ({"functions": ["f"]}, "functions[0]"),
    ({"functions": [function("ok"), {"description": "no name"}]}, "functions[1].name"),
    ({"functions": [function("bad name")]}, "functions[0].name"),
])
def test_malformed_tools(body: dict[str, Any], param: str) -> None:
    assert rejects(body).param == param


@pytest.mark.parametrize("name", [
    "get_weather", "a", "_private", "ns.tool", "server:tool", "tool-name", "Tool_2",
    "mcp__github__create_issue", "a" * 64,
])
def test_valid_function_names(name: str) -> None:
    assert function_declarations({"tools": [tool(name)]}) == [{"name": name}]


@pytest.mark.parametrize("name", [
    "", " ", "get weather", " get_weather", "get_weather ", "tool/name", "tool$",
    "wetter_für_köln", "tool\n", "a" * 65, "a" * 500, "1" + "a" * 62,
])
def test_invalid_function_names(name: str) -> None:
    error = rejects({"tools": [TIME, tool(name)]})
    assert error.param == "tools[1].function.name"
    assert repr(name) in error.message


@pytest.mark.parametrize("body", [
    {"tools": [WEATHER, TIME, tool("get_weather")]},
    {"tools": [WEATHER], "functions": [function("get_weather")]},
    {"functions": [function("f"), function("f")]},
])
def test_duplicate_names(body: dict[str, Any]) -> None:
    error = rejects(body)
    assert error.param == "tools"
    assert "declared twice" in error.message


@pytest.mark.parametrize(("body", "param"), [
    ({"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "other"}}},
     "tool_choice.function.name"),
    ({"tool_choice": {"type": "function", "function": {"name": "get_weather"}}},
     "tool_choice.function.name"),
    ({"tools": [WEATHER], "tool_choice": {"type": "function", "function": {}}},
     "tool_choice.function.name"),
    ({"tools": [WEATHER], "tool_choice": {"type": "function"}}, "tool_choice.function.name"),
    ({"tools": [WEATHER], "tool_choice": {"type": "function", "function": "get_weather"}},
     "tool_choice.function"),
    ({"tools": [WEATHER], "tool_choice": 1}, "tool_choice"),
    ({"tools": [WEATHER], "tool_choice": ["auto"]}, "tool_choice"),
    ({"tools": [WEATHER], "tool_choice": True}, "tool_choice"),
])
def test_bad_tool_choice(body: dict[str, Any], param: str) -> None:
    assert rejects(body).param == param


def test_tool_choice_naming_an_undeclared_function_names_it() -> None:
    error = rejects({"tools": [WEATHER],
                     "tool_choice": {"type": "function", "function": {"name": "other"}}})
    assert "'other'" in error.message


@pytest.mark.parametrize("choice", ["any", "AUTO", "None", "", "function", "required ",
                                    "validated"])
def test_invalid_tool_choice_strings(choice: str) -> None:
    error = rejects({"tools": [WEATHER], "tool_choice": choice})
    assert error.param == "tool_choice"
    assert repr(choice) in error.message


@pytest.mark.parametrize("body", [{"tool_choice": "required"},
                                  {"tools": [], "tool_choice": "required"},
                                  {"functions": [], "tool_choice": "required"}])
def test_required_without_tools(body: dict[str, Any]) -> None:
    error = rejects(body)
    assert error.param == "tool_choice"
    assert "no tools" in error.message


@pytest.mark.parametrize(("choice", "param"), [
    ("sometimes", "function_call"),
    ({"name": "undeclared"}, "function_call"),
    ({}, "function_call"),
    (3, "function_call"),
])
def test_bad_legacy_function_call(choice: Any, param: str) -> None:
    error = rejects({"functions": [function("f")], "function_call": choice})
    assert error.param is not None
    assert error.param.startswith(param)


# --- the Gemini tools list ------------------------------------------------------------------------

def test_gemini_tools_puts_each_tool_once_where_it_first_appeared() -> None:
    declarations = [{"name": "get_time"}]
    tools = gemini_tools(declarations, [CODE_EXECUTION, GOOGLE_SEARCH, CODE_EXECUTION],
                         [{URL_CONTEXT: {}}, {GOOGLE_SEARCH: {"timeRangeFilter": {}}}])
    assert tools == [{"functionDeclarations": declarations}, {CODE_EXECUTION: {}},
                     {GOOGLE_SEARCH: {"timeRangeFilter": {}}}, {URL_CONTEXT: {}}]


def test_gemini_tools_of_nothing_is_empty() -> None:
    assert gemini_tools([], []) == []


def test_tool_fields_assemble_entries_search_and_given_tools() -> None:
    body = {"tools": [WEATHER, {"type": "url_context"}], "web_search_options": {},
            "tool_choice": "auto"}
    fields = fields_of(body, None, [{CODE_EXECUTION: {}}, {URL_CONTEXT: {"x": 1}}])
    assert [list(tool) for tool in fields["tools"]] == [
        ["functionDeclarations"], [URL_CONTEXT], [GOOGLE_SEARCH], [CODE_EXECUTION]]
    assert fields["tools"][1] == {URL_CONTEXT: {"x": 1}}  # the settings given last
    assert fields["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}


def test_tool_choice_is_checked_before_web_search_options() -> None:
    assert rejects({"tool_choice": "sometimes", "web_search_options": "on"}).param == \
        "tool_choice"


def test_switches_are_the_built_in_types_and_geminis_own_names() -> None:
    assert set(SWITCHES) == {*BUILT_IN, *GEMINI_TOOLS}
    assert set(SWITCHES.values()) == set(GEMINI_TOOLS) == set(BUILT_IN.values())


@pytest.mark.parametrize(("name", "gemini_tool"), sorted(SWITCHES.items()))
def test_each_switch_turns_on_its_gemini_tool(name: str, gemini_tool: str) -> None:
    body = {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "Hi"}],
            name: {}}
    assert chat_request(body).gemini["tools"] == [{gemini_tool: {}}]
    body = {**body, name: None, "extra_body": {"google": {name: True}}}
    assert chat_request(body).gemini["tools"] == [{gemini_tool: {}}]


# --- through chat_request -------------------------------------------------------------------------

def test_tools_reach_the_gemini_request() -> None:
    call_id = tool_ids.encode("g1bmv6il", None)
    request = chat_request({
        "model": "gemini-2.5-flash",
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": call_id, "type": "function",
                 "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
            {"role": "tool", "tool_call_id": call_id, "content": '{"temp": 21}'},
        ],
        "tools": [WEATHER, TIME],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": True,
        "temperature": 0,
    })
    assert request.gemini == {
        "contents": [
            {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
            {"role": "model", "parts": [{"functionCall": {
                "name": "get_weather", "args": {"city": "Paris"}, "id": "g1bmv6il"}}]},
            {"role": "user", "parts": [{"functionResponse": {
                "name": "get_weather", "response": {"temp": 21}, "id": "g1bmv6il"}}]},
        ],
        "generationConfig": {"temperature": 0},
        "tools": [{"functionDeclarations": [
            {"name": "get_weather", "description": "Current weather",
             "parameters": WEATHER_GEMINI_PARAMS},
            {"name": "get_time"},
        ]}],
        "toolConfig": {"functionCallingConfig": {
            "mode": "ANY", "allowedFunctionNames": ["get_weather"]}},
    }
    check_declarations(request.gemini["tools"][0]["functionDeclarations"])


def test_chat_request_without_tools_has_no_tool_fields() -> None:
    request = chat_request({"model": "gemini-2.5-flash", "tool_choice": "auto",
                            "messages": [{"role": "user", "content": "hi"}]})
    assert "tools" not in request.gemini
    assert "toolConfig" not in request.gemini


def test_chat_request_legacy_functions() -> None:
    request = chat_request({"model": "gemini-2.5-flash",
                            "messages": [{"role": "user", "content": "hi"}],
                            "functions": [function("noop")], "function_call": "none"})
    assert request.gemini["tools"] == [{"functionDeclarations": [{"name": "noop"}]}]
    assert request.gemini["toolConfig"] == {"functionCallingConfig": {"mode": "NONE"}}


@pytest.mark.parametrize(("fields", "param"), [
    ({"tools": [tool("bad name")]}, "tools[0].function.name"),
    ({"tools": [WEATHER], "tool_choice": "sometimes"}, "tool_choice"),
    ({"tools": [WEATHER], "parallel_tool_calls": "yes"}, "parallel_tool_calls"),
])
def test_chat_request_reports_tool_errors(fields: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        chat_request({"model": "gemini-2.5-flash",
                      "messages": [{"role": "user", "content": "hi"}], **fields})
    assert caught.value.param == param
    assert caught.value.status == 400
