"""Gemini's `tools` and `toolConfig`: the names of Gemini's own tools in every spelling a client
may use, OpenAI `tools` / `tool_choice` (and legacy `functions` / `function_call`), and the one
place where the final `tools` list is assembled."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from . import validate
from .errors import InvalidRequest
from .function_names import MAX_LENGTH, from_gemini, to_gemini, valid_for_gemini
from .schema import SchemaBudget, function_parameters

# Gemini's `tools` entries: the one that holds function declarations, and Gemini's own tools.
FUNCTIONS = "functionDeclarations"
CODE_EXECUTION = "codeExecution"
URL_CONTEXT = "urlContext"
GOOGLE_SEARCH = "googleSearch"
GEMINI_TOOLS = (CODE_EXECUTION, URL_CONTEXT, GOOGLE_SEARCH)
# `tools` entry types (of either API) that switch on one of Gemini's own tools.
BUILT_IN: Mapping[str, str] = MappingProxyType({
    "code_interpreter": CODE_EXECUTION, "code_execution": CODE_EXECUTION,
    "url_context": URL_CONTEXT, "google_search": GOOGLE_SEARCH})
# Request fields that switch one on (`extra_body={"code_execution": {}}`): the types above and
# Gemini's own names.
SWITCHES: Mapping[str, str] = MappingProxyType(
    {**BUILT_IN, **{name: name for name in GEMINI_TOOLS}})
# Responses tool types for OpenAI's web search, which is Google Search on Gemini.
WEB_SEARCH = ("web_search", "web_search_preview", "web_search_2025_08_26",
              "web_search_preview_2025_03_11")

_MODES = {"none": "NONE", "auto": "AUTO", "required": "ANY"}


def _declaration(function: Any, where: str, budget: SchemaBudget) -> dict[str, Any]:
    function = validate.mapping(function, where)
    name = validate.string(function.get("name"), f"{where}.name")
    gemini_name = to_gemini(name)
    if not valid_for_gemini(gemini_name):
        raise InvalidRequest(
            f"'{where}.name' {name!r} is not a valid function name: use letters, digits, "
            f"underscores, dots, colons or dashes, at most {MAX_LENGTH} characters "
            f"({MAX_LENGTH - 2} when it does not start with a letter or underscore).",
            f"{where}.name")
    declaration: dict[str, Any] = {"name": gemini_name}
    if (description := function.get("description")) is not None:
        declaration["description"] = validate.string(description, f"{where}.description")
    if (parameters := function.get("parameters")) is not None:
        validate.mapping(parameters, f"{where}.parameters")
        converted = function_parameters(parameters, f"{where}.parameters", budget)
        if converted is not None:
            declaration["parameters"] = converted
    return declaration


def function_declarations(body: dict[str, Any], built_in: list[str],
                          budget: SchemaBudget | None = None) -> list[dict[str, Any]]:
    """Gemini functionDeclarations for `tools` (type function) and legacy `functions`; the
    Gemini tools that other `tools` entries switch on are added to `built_in`. All their
    schemas spend one `budget` (the request's, or a fresh one). Names are Gemini's
    (`function_names.to_gemini`)."""
    budget = SchemaBudget() if budget is None else budget
    declarations = []
    if (tools := body.get("tools")) is not None:
        for i, tool in enumerate(validate.array(tools, "tools")):
            tool = validate.mapping(tool, f"tools[{i}]")
            kind = tool.get("type", "function")
            if isinstance(kind, str) and kind in BUILT_IN:
                built_in.append(BUILT_IN[kind])
                continue
            if kind != "function":
                raise InvalidRequest(
                    f"Tool type {kind!r} is not supported; use function, "
                    f"{', '.join(BUILT_IN)}.", f"tools[{i}].type")
            declarations.append(_declaration(tool.get("function"), f"tools[{i}].function", budget))
    if (functions := body.get("functions")) is not None:
        for i, function in enumerate(validate.array(functions, "functions")):
            declarations.append(_declaration(function, f"functions[{i}]", budget))
    names = [d["name"] for d in declarations]
    if len(set(names)) < len(names):
        duplicate = next(n for n in names if names.count(n) > 1)
        raise InvalidRequest(f"Function {from_gemini(duplicate)!r} is declared twice.", "tools")
    return declarations


def _choice(choice: Any, param: str, declared: set[str]) -> dict[str, Any]:
    """functionCallingConfig for a `tool_choice` (or legacy `function_call`) value; `declared`
    holds the Gemini names of the declared functions."""
    if isinstance(choice, str):
        if choice not in _MODES:
            raise InvalidRequest(
                f"'{param}' must be 'none', 'auto', 'required' or a named function, not "
                f"{choice!r}.", param)
        if choice == "required" and not declared:
            raise InvalidRequest(f"'{param}' is 'required' but no tools are declared.", param)
        return {"mode": _MODES[choice]}
    choice = validate.mapping(choice, param)
    function = choice.get("function") if "function" in choice else choice
    function = validate.mapping(function, f"{param}.function")
    name = validate.string(function.get("name"), f"{param}.function.name")
    if to_gemini(name) not in declared:
        raise InvalidRequest(f"'{param}' names function {name!r}, which is not declared.",
                             f"{param}.function.name")
    return {"mode": "ANY", "allowedFunctionNames": [to_gemini(name)]}


def gemini_tools(declarations: list[dict[str, Any]], built_in: Iterable[str],
                 given: Iterable[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """The final Gemini `tools` list: the function declarations, then Gemini's own tools in the
    order they were asked for, then the tools given in Gemini's own spelling. Each Gemini tool
    goes once (one switched on twice would be refused), where it first appeared, with the
    settings it was given last."""
    tools: list[dict[str, Any]] = [{FUNCTIONS: declarations}] if declarations else []
    tools += [{name: {}} for name in built_in]
    tools += given
    return list({",".join(tool): tool for tool in tools}.values())


def tool_fields(body: dict[str, Any], budget: SchemaBudget | None = None,
                given: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
    """The `tools` and `toolConfig` fields of the Gemini request (empty when there are none):
    the `tools` entries, `web_search_options` (Google Search) and the Gemini tools `given`
    directly (switches and `extra_body.google.tools`)."""
    built_in: list[str] = []
    declarations = function_declarations(body, built_in, budget)
    if (parallel := body.get("parallel_tool_calls")) is not None:
        validate.boolean(parallel, "parallel_tool_calls")  # Gemini decides; accepted as a hint
    declared = {d["name"] for d in declarations}
    config = None
    if (choice := body.get("tool_choice")) is not None:
        config = _choice(choice, "tool_choice", declared)
    elif (legacy := body.get("function_call")) is not None:
        config = _choice(legacy, "function_call", declared)
    if (search := body.get("web_search_options")) is not None:
        validate.mapping(search, "web_search_options")
        built_in.append(GOOGLE_SEARCH)
    fields: dict[str, Any] = {}
    if tools := gemini_tools(declarations, built_in, given):
        fields["tools"] = tools
    if config is not None and declarations:
        fields["toolConfig"] = {"functionCallingConfig": config}
    return fields
