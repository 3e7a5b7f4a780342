"""OpenAI `response_format` -> Gemini structured output (`responseMimeType`, `responseSchema`)."""

from __future__ import annotations

from typing import Any

from . import validate
from .errors import InvalidRequest
from .schema import SchemaBudget, to_gemini_schema


def response_format(value: Any, param: str = "response_format",
                    budget: SchemaBudget | None = None) -> dict[str, Any]:
    """The generationConfig fields for a `response_format`; its schema spends `budget` (the
    request's, or a fresh one)."""
    value = validate.mapping(value, param)
    kind = value.get("type")
    if kind == "text":
        return {}
    if kind == "json_object":
        return {"responseMimeType": "application/json"}
    if kind == "json_schema":
        spec = validate.mapping(value.get("json_schema"), f"{param}.json_schema")
        if (strict := spec.get("strict")) is not None:
            validate.boolean(strict, f"{param}.json_schema.strict")
        schema = validate.mapping(spec.get("schema", {}), f"{param}.json_schema.schema")
        config: dict[str, Any] = {"responseMimeType": "application/json"}
        if schema:
            config["responseSchema"] = to_gemini_schema(schema, f"{param}.json_schema.schema",
                                                        budget)
        return config
    raise InvalidRequest(f"'{param}.type' must be 'text', 'json_object' or 'json_schema', not "
                         f"{kind!r}.", f"{param}.type")
