"""A JSON answer beside function calling, on models that cannot have both natively.

Gemini 2.x refuses `responseMimeType: application/json` beside `functionDeclarations` (400
"Function calling with a response mime type: 'application/json' is unsupported"), which is what
a `response_format` json_schema (or Responses' `text.format`) with function tools becomes. On
those models (`Capabilities.schema_beside_functions` false) the answer's schema is offered as one
more function, the finish function, and the model must call a function on every turn (mode ANY):
the client's while it needs them, then the finish function, whose arguments are the answer. The
stream translator turns that call back into the message's JSON `content` (finish_reason `stop`),
so the client never sees it; the client's history then holds the answer as ordinary assistant
text, which needs nothing special.

- `tool_choice` auto (or absent): mode ANY over the client's functions and the finish function.
- `tool_choice` none: mode ANY with only the finish function allowed.
- `tool_choice` required or a named function: the turn must call the client's functions, so no
  finish function is offered and the JSON settings are dropped for that turn.
- `json_object` (no schema): the model is only asked for JSON (OpenAI requires the messages to
  ask for it too), so `responseMimeType` is dropped and the model answers in text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from .capabilities import capabilities
from .structured_output import JSON
from .tools import FUNCTIONS
from .wire import Part

NAME = "final_answer"  # the finish function's name, unless the client declares one so named
ANSWER = "answer"  # the one parameter that holds an answer whose schema is not an object
DESCRIPTION = ("Give your final answer by calling this function, with the answer as its "
               "arguments. Call any other function you need first; end with this one.")


@dataclass(frozen=True, slots=True)
class FinishFunction:
    """The finish function of one request: its name, and the answer's schema (for key order)."""

    name: str
    schema: dict[str, Any]  # the Gemini schema of the answer
    wrapped: bool  # the answer is the `ANSWER` argument (its schema is not an object)

    def answer(self, part: Part) -> str | None:
        """The JSON answer a part carries, when it is a call of this function."""
        call = part.get("functionCall")
        if call is None or call.get("name") != self.name:
            return None
        args: Any = call.get("args") or {}
        value = args.get(ANSWER) if self.wrapped else args
        return orjson.dumps(_in_order(value, self.schema)).decode()


def finish_with_function(gemini: dict[str, Any], model: str) -> FinishFunction | None:
    """Rewrite a Gemini request (in place) whose JSON answer `model` cannot take beside its
    function declarations: the finish function, when one is offered, else None."""
    config = gemini.get("generationConfig")
    declarations = next((tool[FUNCTIONS] for tool in gemini.get("tools", ()) if FUNCTIONS in tool),
                        None)
    if (capabilities(model).schema_beside_functions or not declarations or not config
            or config.get("responseMimeType") != JSON):
        return None
    del config["responseMimeType"]
    schema = config.pop("responseSchema", None)
    if not config:
        del gemini["generationConfig"]
    calling = gemini.get("toolConfig", {}).get("functionCallingConfig", {})
    mode = calling.get("mode", "AUTO")
    if schema is None or mode not in ("AUTO", "NONE"):
        return None
    names = {declaration["name"] for declaration in declarations}
    name = next(n for n in (NAME, *(f"{NAME}_{i}" for i in range(1, len(names) + 1)))
                if n not in names)
    wrapped = not (schema.get("type") == "object" and schema.get("properties"))
    parameters = {"type": "object", "properties": {ANSWER: schema}, "required": [ANSWER],
                  "propertyOrdering": [ANSWER]} if wrapped else schema
    declarations.append({"name": name, "description": DESCRIPTION, "parameters": parameters})
    calling = {"mode": "ANY"} if mode == "AUTO" else {"mode": "ANY", "allowedFunctionNames": [name]}
    gemini["toolConfig"] = {"functionCallingConfig": calling}
    return FinishFunction(name, schema, wrapped)


def _in_order(value: Any, schema: dict[str, Any]) -> Any:
    """`value` with the keys of each object in the order its schema gives them (Gemini's
    arguments are a map, so their order is Gemini's); keys the schema does not name follow."""
    if isinstance(branches := schema.get("anyOf"), list):
        schema = next((b for b in branches if _fits(value, b)), {})
    if isinstance(value, dict) and isinstance(properties := schema.get("properties"), dict):
        ordered = {k: _in_order(value[k], properties[k]) for k in properties if k in value}
        ordered.update((k, v) for k, v in value.items() if k not in ordered)
        return ordered
    if isinstance(value, list) and isinstance(items := schema.get("items"), dict):
        return [_in_order(item, items) for item in value]
    return value


def _fits(value: Any, schema: dict[str, Any]) -> bool:
    """Whether an anyOf branch can describe `value` (enough to choose its key order)."""
    if isinstance(value, dict):
        properties = schema.get("properties")
        return isinstance(properties, dict) and value.keys() <= properties.keys()
    return isinstance(value, list) and "items" in schema
