"""OpenAI `response_format` -> Gemini structured output (`responseMimeType`, `responseSchema`).

Gemini writes the keys of a `responseSchema` answer in alphabetical order unless the schema says
otherwise, so every object of the schema carries `propertyOrdering`: its property names in the
order the client wrote them (Gemini's documented way, accepted by every generation).
"""

from __future__ import annotations

from typing import Any

from . import validate
from .errors import InvalidRequest
from .schema import SchemaBudget, to_gemini_schema

JSON = "application/json"


def response_format(value: Any, param: str = "response_format",
                    budget: SchemaBudget | None = None) -> dict[str, Any]:
    """The generationConfig fields for a `response_format`; its schema spends `budget` (the
    request's, or a fresh one)."""
    value = validate.mapping(value, param)
    kind = value.get("type")
    if kind == "text":
        return {}
    if kind == "json_object":
        return {"responseMimeType": JSON}
    if kind == "json_schema":
        spec = validate.mapping(value.get("json_schema"), f"{param}.json_schema")
        if (strict := spec.get("strict")) is not None:
            validate.boolean(strict, f"{param}.json_schema.strict")
        schema = validate.mapping(spec.get("schema", {}), f"{param}.json_schema.schema")
        config: dict[str, Any] = {"responseMimeType": JSON}
        if schema:
            config["responseSchema"] = ordered_schema(
                to_gemini_schema(schema, f"{param}.json_schema.schema", budget))
        return config
    raise InvalidRequest(f"'{param}.type' must be 'text', 'json_object' or 'json_schema', not "
                         f"{kind!r}.", f"{param}.type")


def ordered_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` (a converted Gemini schema, changed in place) with `propertyOrdering` on every
    object that has properties: their names in the order given."""
    pending = [schema]
    while pending:  # a loop, not recursion: schemas may nest as deep as schema.py allows
        node = pending.pop()
        if isinstance(properties := node.get("properties"), dict):
            node["propertyOrdering"] = list(properties)
            pending += properties.values()
        if isinstance(items := node.get("items"), dict):
            pending.append(items)
        if isinstance(branches := node.get("anyOf"), list):
            pending += branches
    return schema
