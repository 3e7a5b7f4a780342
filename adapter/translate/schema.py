"""JSON Schema (as Pydantic, Zod, LangChain and MCP servers write it) -> Gemini `Schema`.

Gemini's `parameters` and `responseSchema` take a subset of OpenAPI 3.0. This keeps the meaning
of a schema while using only that subset: references are inlined (a cycle becomes a free-form
object), `null` alternatives become `nullable`, `const` a one-value enum, enums strings, and
keywords Gemini rejects are dropped. Property names are data, never keywords: a property called
`format` or `strict` stays.
"""

from __future__ import annotations

from typing import Any

_COPIED = ("description", "minItems", "maxItems", "minLength", "maxLength", "pattern",
           "minProperties", "maxProperties", "minimum", "maximum")
_FORMATS = {"string": {"enum", "date-time"}, "number": {"float", "double"},
            "integer": {"int32", "int64"}}
_TYPES = {"string", "number", "integer", "boolean", "array", "object"}


class _Converter:
    """Converts one root schema; remembers which references are being expanded (cycles)."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.expanding: list[str] = []

    def resolve(self, ref: str) -> Any:
        """The schema a local `$ref` (`#/$defs/X`, `#/definitions/X`, ...) points at."""
        if not ref.startswith("#"):
            return None
        node: Any = self.root
        for token in filter(None, ref[1:].split("/")):
            token = token.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or token not in node:
                return None
            node = node[token]
        return node

    def convert(self, schema: Any) -> dict[str, Any]:
        if not isinstance(schema, dict):
            return {"type": "string"}  # `true`, `{}`-like: anything, asked for as text
        options = schema.get("anyOf", schema.get("oneOf"))
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
            return {"type": "object", "description": described or f"A {name} object."}
        self.expanding.append(ref)
        try:
            return self.convert(target)
        finally:
            self.expanding.pop()

    def _alternatives(self, options: list[Any]) -> tuple[dict[str, Any], bool]:
        """(schema, nullable) for anyOf/oneOf: `null` branches become `nullable`."""
        branches = [self.convert(o) for o in options
                    if not (isinstance(o, dict) and o.get("type") == "null")]
        nullable = len(branches) < len(options)
        if len(branches) == 1:
            return branches[0], nullable
        return ({"anyOf": branches} if branches else {"type": "string"}), nullable

    def _all_of(self, schema: dict[str, Any]) -> dict[str, Any]:
        """allOf merged into one schema: properties and required united (a part may require a
        property another part defines)."""
        own = {k: v for k, v in schema.items() if k != "allOf"}
        parts = [*schema["allOf"], own] if _shapes(own) or "required" in own else schema["allOf"]
        merged: dict[str, Any] = {}
        required: list[str] = []
        for part in parts:
            raw = self.resolve(part["$ref"]) if isinstance(part, dict) and "$ref" in part else part
            if isinstance(raw, dict) and isinstance(raw.get("required"), list):
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
            kinds = [k for k in kind if k != "null"]
            nullable = nullable or len(kinds) < len(kind)
            if len(kinds) > 1:
                rest = {k: v for k, v in schema.items() if k != "type"}
                out = {"anyOf": [self._plain({**rest, "type": k}) for k in kinds]}
                return _annotate(out, {}, nullable)
            kind = kinds[0] if kinds else None
        out: dict[str, Any] = {}
        values = [schema["const"]] if "const" in schema else schema.get("enum")
        if isinstance(values, list):
            nullable = nullable or None in values
            out["type"] = "string"
            if strings := [_text(v) for v in values if v is not None]:
                out["enum"] = strings
        elif kind in _TYPES:
            out["type"] = kind
        elif "properties" in schema:
            out["type"] = "object"
        elif "items" in schema:
            out["type"] = "array"
        else:
            out["type"] = "string"
        for key in _COPIED:
            if schema.get(key) is not None:
                out[key] = schema[key]
        self._format(schema.get("format"), out)
        if out["type"] == "object":
            self._object(schema, out)
        elif out["type"] == "array":
            out["items"] = self.convert(schema.get("items", {"type": "string"}))
        return _annotate(out, {}, nullable)

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
        out["properties"] = {name: self.convert(value) for name, value in properties.items()}
        required = schema.get("required")
        if isinstance(required, list):
            kept = [name for name in required if name in out["properties"]]
            if kept:
                out["required"] = kept


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


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_gemini_schema(schema: Any) -> dict[str, Any]:
    """The Gemini Schema with the meaning of a JSON Schema."""
    root = schema if isinstance(schema, dict) else {}
    return _Converter(root).convert(schema)


def function_parameters(schema: Any) -> dict[str, Any] | None:
    """A function's `parameters`, or None when it takes none (Gemini rejects empty objects)."""
    if not isinstance(schema, dict):
        return None
    converted = to_gemini_schema(schema if "type" in schema else {**schema, "type": "object"})
    if converted.get("type") == "object" and not converted.get("properties"):
        return None
    return converted
