"""JSON Schema (as Pydantic, Zod, LangChain and MCP servers write it) -> Gemini `Schema`.

Gemini's `parameters` and `responseSchema` take a subset of OpenAPI 3.0. This keeps the meaning
of a schema while using only that subset: references are inlined (a cycle becomes a free-form
object), `null` alternatives become `nullable`, `const` a one-value enum, enums strings, and
keywords Gemini rejects are dropped. Property names are data, never keywords: a property called
`format` or `strict` stays.

Inlining references can make a small schema expand exponentially (definitions that each refer
to the next twice), so conversion spends a `SchemaBudget` shared by all the schemas of a request
as it goes, and stops with a 400 the moment it runs out or nests too deep.
"""

from __future__ import annotations

from typing import Any

import orjson

from .errors import InvalidRequest

MAX_DEPTH = 64  # schemas nested in one another, and `$ref`s followed inside one another
MAX_SIZE = 50_000  # JSON values (keys, properties, list entries) in all of a request's schemas
MAX_TEXT = 4 * 1024 * 1024  # characters of descriptions, names, patterns, enum values, refs

_COPIED = ("description", "minItems", "maxItems", "minLength", "maxLength", "pattern",
           "minProperties", "maxProperties", "minimum", "maximum")
_FORMATS = {"string": {"enum", "date-time"}, "number": {"float", "double"},
            "integer": {"int32", "int64"}}
_TYPES = {"string", "number", "integer", "boolean", "array", "object"}


class SchemaBudget:
    """What the schemas of one request may expand to together, counted as they are converted
    (each `$ref` expansion counts again), so an exploding schema stops at the limit."""

    __slots__ = ("size", "text")

    def __init__(self, size: int = MAX_SIZE, text: int = MAX_TEXT) -> None:
        self.size = size  # JSON values still allowed
        self.text = text  # characters still allowed

    def spend(self, param: str, size: int, text: int = 0) -> None:
        self.size -= size
        self.text -= text
        if self.size < 0 or self.text < 0:
            raise InvalidRequest(
                f"'{param}' is too large: with their $refs inlined, the schemas of one request "
                f"may hold at most {MAX_SIZE} JSON values and {MAX_TEXT} characters of text.",
                param, "schema_too_large")


class _Converter:
    """Converts one root schema; remembers which references are being expanded (cycles) and how
    deep it is, and spends the budget before each piece of work."""

    def __init__(self, root: dict[str, Any], param: str, budget: SchemaBudget) -> None:
        self.root = root
        self.param = param
        self.budget = budget
        self.expanding: list[str] = []
        self.depth = 0

    def spend(self, size: int, text: int = 0) -> None:
        self.budget.spend(self.param, size, text)

    def too_deep(self, what: str) -> InvalidRequest:
        return InvalidRequest(f"'{self.param}' nests {what} more than {MAX_DEPTH} levels deep.",
                              self.param, "schema_too_deep")

    def resolve(self, ref: str) -> Any:
        """The schema a local `$ref` (`#/$defs/X`, `#/definitions/X`, ...) points at."""
        if not ref.startswith("#"):
            return None
        tokens = ref[1:].split("/")
        self.spend(len(tokens))
        node: Any = self.root
        for token in filter(None, tokens):
            token = token.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or token not in node:
                return None
            node = node[token]
        return node

    def convert(self, schema: Any) -> dict[str, Any]:
        """The Gemini schema for the root or a schema inside it (a property, the items, an
        alternative, an allOf part), one level deeper. What a `$ref` points at is converted
        at the level of the reference (`_reference` bounds how many are followed)."""
        self.deeper()
        out = self._schema(schema)
        self.depth -= 1
        return out

    def deeper(self) -> None:
        """One level down: each level of the input is at most one of the output (two levels of
        JSON), so MAX_DEPTH bounds the stack used and the depth of the JSON sent."""
        if self.depth >= MAX_DEPTH:
            raise self.too_deep("schemas")
        self.depth += 1

    def _schema(self, schema: Any) -> dict[str, Any]:
        if not isinstance(schema, dict):
            self.spend(1)
            return {"type": "string"}  # `true`, `{}`-like: anything, asked for as text
        self.spend(1 + len(schema), sum(len(schema[k]) for k in ("description", "pattern", "$ref")
                                        if isinstance(schema.get(k), str)))
        options = schema.get("anyOf", schema.get("oneOf"))
        if isinstance(options, list):
            self.spend(len(options))
        if isinstance(options, list) and _shapes(schema) and not any(map(_shapes, options)):
            # Alternatives that only constrain ("give an id or a name") next to a real shape:
            # Gemini cannot express them; the shape is what matters.
            schema = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
            options = None
        if isinstance(ref := schema.get("$ref"), str):
            out = self._reference(ref)
        elif isinstance(options, list):
            out, nullable = self._alternatives(options)
            return _annotate(out, schema, nullable)
        elif isinstance(schema.get("allOf"), list):
            out = self._all_of(schema)
        else:
            return self._plain(schema)
        return _annotate(out, schema, schema.get("nullable") is True)

    def _reference(self, ref: str) -> dict[str, Any]:
        target = self.resolve(ref)
        if not isinstance(target, dict) or ref in self.expanding:
            # A cycle (or a reference we cannot follow) becomes a free-form object.
            name = ref.rsplit("/", 1)[-1]
            described = target.get("description") if isinstance(target, dict) else None
            described = described if isinstance(described, str) and described \
                else f"A {name} object."
            self.spend(1, len(described))
            return {"type": "object", "description": described}
        if len(self.expanding) >= MAX_DEPTH:
            raise self.too_deep("$refs")
        self.expanding.append(ref)
        try:
            return self._schema(target)
        finally:
            self.expanding.pop()

    def _alternatives(self, options: list[Any]) -> tuple[dict[str, Any], bool]:
        """(schema, nullable) for anyOf/oneOf: `null` branches become `nullable`."""
        branches = []
        for option in options:  # a loop, not a comprehension: one stack frame less per level
            if not (isinstance(option, dict) and option.get("type") == "null"):
                branches.append(self.convert(option))
        nullable = len(branches) < len(options)
        if len(branches) == 1:
            return branches[0], nullable
        return ({"anyOf": branches} if branches else {"type": "string"}), nullable

    def _all_of(self, schema: dict[str, Any]) -> dict[str, Any]:
        """allOf merged into one schema: properties and required united (a part may require a
        property another part defines)."""
        own = {k: v for k, v in schema.items() if k != "allOf"}
        parts = [*schema["allOf"], own] if _shapes(own) or "required" in own else schema["allOf"]
        self.spend(len(parts))
        merged: dict[str, Any] = {}
        required: list[str] = []
        for part in parts:
            ref = part.get("$ref") if isinstance(part, dict) else None
            raw = self.resolve(ref) if isinstance(ref, str) else part
            if isinstance(raw, dict) and isinstance(raw.get("required"), list):
                self.spend(len(raw["required"]))
                required.extend(name for name in raw["required"] if isinstance(name, str))
            for key, value in self.convert(part).items():
                if key == "properties":
                    merged.setdefault("properties", {}).update(value)
                elif key != "required":
                    merged.setdefault(key, value)
        kept = [name for name in dict.fromkeys(required) if name in merged.get("properties", {})]
        if kept:
            merged["required"] = kept
        return merged

    def _plain(self, schema: dict[str, Any]) -> dict[str, Any]:
        kind = schema.get("type")
        nullable = schema.get("nullable") is True
        if isinstance(kind, list):
            self.spend(len(kind))
            kinds = [k for k in kind if k != "null"]
            nullable = nullable or len(kinds) < len(kind)
            if len(kinds) > 1:
                rest = {k: v for k, v in schema.items() if k != "type"}
                self.spend(len(kinds) * len(rest))  # each branch copies the rest
                self.deeper()  # the branches are a level of anyOf
                branches = []
                for each in kinds:
                    branches.append(self._plain({**rest, "type": each}))
                self.depth -= 1
                return _annotate({"anyOf": branches}, {}, nullable)
            kind = kinds[0] if kinds else None
        out: dict[str, Any] = {}
        values = [schema["const"]] if "const" in schema else schema.get("enum")
        if isinstance(values, list):
            self.spend(len(values))
            nullable = nullable or None in values
            out["type"] = "string"
            if strings := [self._text(v) for v in values if v is not None]:
                out["enum"] = strings
        elif isinstance(kind, str) and kind in _TYPES:
            out["type"] = kind
        elif "properties" in schema:
            out["type"] = "object"
        elif "items" in schema:
            out["type"] = "array"
        else:
            out["type"] = "string"
        for key in _COPIED:
            if _fits(key, schema.get(key)):
                out[key] = schema[key]
        self._format(schema.get("format"), out)
        if out["type"] == "object":
            self._object(schema, out)
        elif out["type"] == "array":
            out["items"] = self.convert(schema.get("items", {"type": "string"}))
        return _annotate(out, {}, nullable)

    def _text(self, value: Any) -> str:
        """An enum value as Gemini's string enums hold it (objects and arrays as JSON)."""
        if isinstance(value, str):
            text = value
        elif isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, dict | list):
            try:
                text = orjson.dumps(value).decode()
            except orjson.JSONEncodeError:  # nested deeper than JSON can be written
                raise InvalidRequest(f"'{self.param}' has an enum value nested too deeply.",
                                     self.param, "schema_too_deep") from None
        else:
            text = str(value)
        self.spend(0, len(text))
        return text

    @staticmethod
    def _format(fmt: Any, out: dict[str, Any]) -> None:
        """Keep a format Gemini knows; tell the model about any other string format."""
        if not isinstance(fmt, str) or out["type"] not in _FORMATS:
            return
        if fmt in _FORMATS[out["type"]]:
            out["format"] = fmt
        elif out["type"] == "string":
            hint = f"(format: {fmt})"
            out["description"] = f"{out['description']} {hint}" if out.get("description") \
                else hint

    def _object(self, schema: dict[str, Any], out: dict[str, Any]) -> None:
        properties = schema.get("properties")
        if not isinstance(properties, dict) or not properties:
            return  # Gemini rejects empty `properties`; without it the object is free-form
        self.spend(len(properties), sum(map(len, properties)))
        converted: dict[str, Any] = {}
        for name, value in properties.items():  # a loop: one stack frame less per level
            converted[name] = self.convert(value)
        out["properties"] = converted
        required = schema.get("required")
        if isinstance(required, list):
            self.spend(len(required))
            kept = [name for name in required if isinstance(name, str) and name in converted]
            if kept:
                out["required"] = kept


def _fits(key: str, value: Any) -> bool:
    """Whether a copied keyword's value is of the type Gemini takes (text for `description` and
    `pattern`, a number for `minimum`/`maximum`, a count for the rest); others are dropped."""
    if key in ("description", "pattern"):
        return isinstance(value, str)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return key in ("minimum", "maximum") or (isinstance(value, int) and value >= 0)


_SHAPE_KEYS = ("type", "properties", "items", "$ref", "enum", "const", "anyOf", "oneOf", "allOf")


def _shapes(schema: Any) -> bool:
    """Whether a schema says what shape a value has (not only constraints or annotations)."""
    return isinstance(schema, dict) and any(key in schema for key in _SHAPE_KEYS)


def _annotate(out: dict[str, Any], schema: dict[str, Any], nullable: bool) -> dict[str, Any]:
    """Lay a wrapper's own description and nullability over a converted schema; a format hint
    the inner schema carried is kept."""
    if isinstance(schema.get("description"), str) and schema["description"]:
        inner = out.get("description", "")
        hint = inner[inner.rfind("(format: "):] if inner.endswith(")") and "(format: " in inner \
            else ""
        out["description"] = schema["description"] if not hint or hint in schema["description"] \
            else f"{schema['description']} {hint}"
    if nullable:
        out["nullable"] = True
    return out


def to_gemini_schema(schema: Any, param: str = "schema",
                     budget: SchemaBudget | None = None) -> dict[str, Any]:
    """The Gemini Schema with the meaning of a JSON Schema. `param` names the schema in errors;
    `budget` is shared by all the schemas of a request (a fresh one when not given).
    Raises InvalidRequest (`schema_too_large`, `schema_too_deep`) when it would expand past the
    budget or nest past MAX_DEPTH."""
    root = schema if isinstance(schema, dict) else {}
    return _Converter(root, param, SchemaBudget() if budget is None else budget).convert(schema)


def function_parameters(schema: Any, param: str = "parameters",
                        budget: SchemaBudget | None = None) -> dict[str, Any] | None:
    """A function's `parameters`, or None when it takes none (Gemini rejects empty objects)."""
    if not isinstance(schema, dict):
        return None
    converted = to_gemini_schema(schema if "type" in schema else {**schema, "type": "object"},
                                 param, budget)
    if converted.get("type") == "object" and not converted.get("properties"):
        return None
    return converted
