"""OpenAI `tools` / `tool_choice` (and legacy `functions` / `function_call`) -> Gemini `tools`
and `toolConfig`."""

from __future__ import annotations

import re
from typing import Any

from . import validate
from .errors import InvalidRequest
from .schema import SchemaBudget, function_parameters

# Gemini function names: letters, digits, underscores, dots, colons and dashes, at most 128.
_FUNCTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:\-]{0,127}")
_MODES = {"none": "NONE", "auto": "AUTO", "required": "ANY"}
# OpenAI-style tool types that switch on one of Gemini's own tools.
BUILT_IN = {"code_interpreter": "codeExecution", "code_execution": "codeExecution",
            "url_context": "urlContext", "google_search": "googleSearch"}


def _declaration(function: Any, where: str, budget: SchemaBudget) -> dict[str, Any]:
    function = validate.mapping(function, where)
    name = validate.string(function.get("name"), f"{where}.name")
    if not _FUNCTION_NAME.fullmatch(name):
        raise InvalidRequest(
            f"'{where}.name' {name!r} is not a valid function name: use letters, digits, "
            "underscores, dots, colons or dashes, starting with a letter or underscore, at most "
            "128 characters.", f"{where}.name")
    declaration: dict[str, Any] = {"name": name}
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
    schemas spend one `budget` (the request's, or a fresh one)."""
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
        raise InvalidRequest(f"Function {duplicate!r} is declared twice.", "tools")
    return declarations


def _choice(choice: Any, param: str, declared: set[str]) -> dict[str, Any]:
    """functionCallingConfig for a `tool_choice` (or legacy `function_call`) value."""
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
    if name not in declared:
        raise InvalidRequest(f"'{param}' names function {name!r}, which is not declared.",
                             f"{param}.function.name")
    return {"mode": "ANY", "allowedFunctionNames": [name]}


def tool_fields(body: dict[str, Any], budget: SchemaBudget | None = None) -> dict[str, Any]:
    """The `tools` and `toolConfig` fields of the Gemini request (empty when there are none)."""
    built_in: list[str] = []
    declarations = function_declarations(body, built_in, budget)
    if (parallel := body.get("parallel_tool_calls")) is not None:
        validate.boolean(parallel, "parallel_tool_calls")  # Gemini decides; accepted as a hint
    fields: dict[str, Any] = {}
    if declarations:
        fields["tools"] = [{"functionDeclarations": declarations}]
    for name in dict.fromkeys(built_in):
        fields.setdefault("tools", []).append({name: {}})
    declared = {d["name"] for d in declarations}
    if (choice := body.get("tool_choice")) is not None:
        config = _choice(choice, "tool_choice", declared)
    elif (legacy := body.get("function_call")) is not None:
        config = _choice(legacy, "function_call", declared)
    else:
        return fields
    if declarations:
        fields["toolConfig"] = {"functionCallingConfig": config}
    return fields
