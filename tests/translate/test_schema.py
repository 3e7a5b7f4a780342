"""JSON Schema (Pydantic, Zod, MCP servers, hand-written) -> Gemini `Schema`.

Every converted schema goes through `assert_gemini_schema`, which accepts only the OpenAPI 3.0
subset that Gemini's function `parameters` take.
"""

from __future__ import annotations

import copy
import sys
from datetime import date, datetime
from decimal import Decimal
from enum import Enum, IntEnum
from typing import Annotated, Any, Literal, Optional, Union
from uuid import UUID

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import AnyUrl, BaseModel, Field, create_model

from adapter.translate import schema as schema_module
from adapter.translate.errors import InvalidRequest
from adapter.translate.request import chat_request
from adapter.translate.responses_request import responses_call
from adapter.translate.schema import (
    MAX_DEPTH,
    MAX_SIZE,
    SchemaBudget,
    function_parameters,
    to_gemini_schema,
)
from adapter.translate.tools import function_declarations

from .helpers import ALLOWED_KEYS, FORBIDDEN, assert_gemini_schema


def convert(schema: Any) -> dict[str, Any]:
    """to_gemini_schema, checked: valid for Gemini, JSON-serializable, input left untouched."""
    before = copy.deepcopy(schema)
    result = to_gemini_schema(schema)
    assert_gemini_schema(result)
    orjson.dumps(result)
    assert schema == before, "the input schema was modified"
    return result


def parameters(schema: Any) -> dict[str, Any] | None:
    """function_parameters, checked like `convert`; when not None it is an object schema."""
    before = copy.deepcopy(schema)
    result = function_parameters(schema)
    assert schema == before, "the input schema was modified"
    if result is not None:
        assert_gemini_schema(result)
        assert result["type"] == "object"
        assert result["properties"]
    return result


# --- the checker itself ---------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [
    {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False},
    {"type": "string", "title": "X"},
    {"type": "null"},
    {"type": ["string", "null"]},
    {"type": "integer", "enum": [1, 2]},
    {"type": "string", "enum": [1]},
    {"type": "string", "enum": []},
    {"type": "object", "properties": {}},
    {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["b"]},
    {"type": "array"},
    {"type": "string", "format": "email"},
    {"type": "number", "format": "int32"},
    {"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}},
    {"type": "object", "properties": {"a": {"type": "array", "items": {"const": "x"}}}},
    {"anyOf": []},
    {"anyOf": [{"oneOf": [{"type": "string"}]}]},
    {"description": "no type"},
    {"type": "string", "nullable": "yes"},
    {"type": "string", "minLength": -1},
])
def test_checker_rejects_what_gemini_rejects(bad: dict[str, Any]) -> None:
    with pytest.raises(AssertionError):
        assert_gemini_schema(bad)


def test_checker_accepts_keyword_names_as_property_names() -> None:
    assert_gemini_schema({"type": "object", "properties": {
        name: {"type": "string"} for name in sorted(FORBIDDEN | ALLOWED_KEYS)}})


# --- real-world schemas: all valid ----------------------------------------------------------------

class Color(str, Enum):  # noqa: UP042 - what user code writes
    RED = "red"
    GREEN = "green"
    BLUE = "blue"


class Level(IntEnum):
    LOW = 1
    HIGH = 3


class Address(BaseModel):
    """A postal address."""

    street: str
    city: str = Field(description="City name")


class Cat(BaseModel):
    kind: Literal["cat"]
    meows: bool


class Dog(BaseModel):
    kind: Literal["dog"]
    barks: bool


class Person(BaseModel):
    """Someone to contact."""

    name: str = Field(description="Full name")
    age: Optional[int] = None  # noqa: UP045 - what user code writes
    color: Color = Color.RED
    level: Level
    mode: Literal["fast", "slow"]
    tags: list[str]
    counts: dict[str, int]
    home: Address
    work: Address | None = None
    pet: Union[Cat, Dog]  # noqa: UP007
    pet2: Annotated[Cat | Dog, Field(discriminator="kind")]
    retries: int = Field(3, ge=0, le=10, description="How often to retry")
    code: str = Field(min_length=2, max_length=8, pattern=r"^[A-Z]+$")
    format: str
    strict: bool
    type: str
    properties: list[int]
    description: str = Field(description="A property called description")


class Node(BaseModel):
    value: int
    children: list[Node] = []


class Employee(BaseModel):
    name: str
    manager: Employee | None = None
    reports: list[Employee] = []


class Forest(BaseModel):
    trees: list[Node]
    biggest: Node | None = None


class Kinds(BaseModel):
    when: datetime
    day: date
    ident: UUID
    amount: Decimal
    raw: bytes
    ratio: float
    pair: tuple[int, str]
    unique: set[str]
    lookup: dict[str, Address]
    maybe_list: list[Address] | None = None
    homepage: AnyUrl


class Homepage(BaseModel):
    homepage: AnyUrl | None = Field(None, description="Homepage")


FILESYSTEM_READ_FILE = {  # @modelcontextprotocol/server-filesystem, read_file inputSchema
    "type": "object",
    "properties": {
        "path": {"type": "string"},
        "tail": {"type": "number",
                 "description": "If provided, returns only the last N lines of the file"},
        "head": {"type": "number",
                 "description": "If provided, returns only the first N lines of the file"},
    },
    "required": ["path"],
    "additionalProperties": False,
    "$schema": "http://json-schema.org/draft-07/schema#",
}
FILESYSTEM_EDIT_FILE = {
    "type": "object",
    "properties": {
        "path": {"type": "string"},
        "edits": {"type": "array", "items": {
            "type": "object",
            "properties": {
                "oldText": {"type": "string",
                            "description": "Text to search for - must match exactly"},
                "newText": {"type": "string", "description": "Text to replace with"},
            },
            "required": ["oldText", "newText"],
            "additionalProperties": False,
        }},
        "dryRun": {"type": "boolean", "default": False,
                   "description": "Preview changes using git-style diff format"},
    },
    "required": ["path", "edits"],
    "additionalProperties": False,
    "$schema": "http://json-schema.org/draft-07/schema#",
}
FILESYSTEM_LIST_ALLOWED = {"type": "object", "properties": {}, "required": []}
MCP_FETCH = {  # mcp-server-fetch (Python, Pydantic)
    "description": "Parameters for fetching a URL.",
    "properties": {
        "url": {"description": "URL to fetch", "format": "uri", "minLength": 1, "title": "Url",
                "type": "string"},
        "max_length": {"default": 5000, "description": "Maximum number of characters to return.",
                       "exclusiveMaximum": 1000000, "exclusiveMinimum": 0,
                       "title": "Max Length", "type": "integer"},
        "start_index": {"default": 0, "description": "Start at this character index.",
                        "minimum": 0, "title": "Start Index", "type": "integer"},
        "raw": {"default": False, "description": "Get the raw HTML.", "title": "Raw",
                "type": "boolean"},
    },
    "required": ["url"],
    "title": "Fetch",
    "type": "object",
}
ZOD = {  # zod-to-json-schema (draft-07), as the Vercel AI SDK and MCP TypeScript servers send
    "type": "object",
    "properties": {
        "email": {"type": "string", "format": "email"},
        "role": {"type": "string", "enum": ["admin", "user"]},
        "age": {"type": ["integer", "null"], "exclusiveMinimum": 0},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    },
    "required": ["email", "age"],
    "additionalProperties": False,
    "$schema": "http://json-schema.org/draft-07/schema#",
}
ZOD_V4 = {  # zod 4 z.toJSONSchema (2020-12)
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "query": {"type": "string", "minLength": 1},
        "limit": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 50},
                            {"type": "null"}]},
        "sort": {"default": "asc", "type": "string", "enum": ["asc", "desc"]},
    },
    "required": ["query", "limit", "sort"],
    "additionalProperties": False,
}
OPENAI_STRICT = {  # OpenAI structured-outputs style function parameters
    "type": "object",
    "properties": {
        "location": {"type": "string", "description": "City and country"},
        "unit": {"type": ["string", "null"], "enum": ["celsius", "fahrenheit", None]},
    },
    "required": ["location", "unit"],
    "additionalProperties": False,
}
DRAFT07_DEFINITIONS = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$id": "https://example.com/order.schema.json",
    "definitions": {
        "item": {"type": "object", "title": "Item",
                 "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}},
                 "required": ["sku"]},
        "a/b": {"type": "string", "description": "slash in the name"},
        "c~d": {"type": "boolean", "description": "tilde in the name"},
    },
    "type": "object",
    "properties": {
        "items": {"type": "array", "items": {"$ref": "#/definitions/item"}},
        "slashed": {"$ref": "#/definitions/a~1b"},
        "tilded": {"$ref": "#/definitions/c~0d"},
    },
    "examples": [{"items": []}],
}
EVERYTHING = {
    "type": "object",
    "properties": {
        "any": {},
        "true": True,
        "array_no_items": {"type": "array"},
        "array_empty_items": {"type": "array", "items": {}},
        "tuple": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}]},
        "const": {"const": "fixed"},
        "multi": {"type": ["string", "integer", "null"]},
        "only_null": {"type": ["null"]},
        "missing_ref": {"$ref": "#/$defs/Missing"},
        "remote_ref": {"$ref": "https://example.com/schemas/thing.json"},
        "if_then": {"type": "string", "if": {"minLength": 2}, "then": {"pattern": "^a"},
                    "not": {"const": "b"}},
        "dependent": {"type": "object", "properties": {"x": {"type": "number"}},
                      "patternProperties": {"^y": {"type": "string"}},
                      "propertyNames": {"maxLength": 3}, "unevaluatedProperties": False,
                      "dependentRequired": {"x": ["y"]}},
        "numbers": {"type": "number", "exclusiveMinimum": 0, "multipleOf": 0.5,
                    "examples": [1.5], "deprecated": True, "readOnly": True,
                    "$comment": "internal"},
    },
    "strict": True,
}

REAL_WORLD = {
    "pydantic-person": Person.model_json_schema(),
    "pydantic-node": Node.model_json_schema(),
    "pydantic-employee": Employee.model_json_schema(),
    "pydantic-forest": Forest.model_json_schema(),
    "pydantic-kinds": Kinds.model_json_schema(),
    "pydantic-homepage": Homepage.model_json_schema(),
    "pydantic-serialization": Person.model_json_schema(mode="serialization"),
    "mcp-filesystem-read-file": FILESYSTEM_READ_FILE,
    "mcp-filesystem-edit-file": FILESYSTEM_EDIT_FILE,
    "mcp-filesystem-list-allowed": FILESYSTEM_LIST_ALLOWED,
    "mcp-fetch": MCP_FETCH,
    "zod": ZOD,
    "zod-v4": ZOD_V4,
    "openai-strict": OPENAI_STRICT,
    "draft07-definitions": DRAFT07_DEFINITIONS,
    "everything": EVERYTHING,
}


@pytest.mark.parametrize("schema", REAL_WORLD.values(), ids=REAL_WORLD.keys())
def test_real_world_schemas_become_valid_gemini_schemas(schema: dict[str, Any]) -> None:
    result = convert(schema)
    parameters(schema)
    if "properties" in schema or "$ref" in schema:
        assert result["type"] == "object"


@pytest.mark.parametrize("schema", REAL_WORLD.values(), ids=REAL_WORLD.keys())
def test_property_names_and_order_are_kept(schema: dict[str, Any]) -> None:
    result = convert(schema)
    source = schema
    if "$ref" in schema:  # a Pydantic model that refers to itself is a $ref at the root
        source = schema["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
    if source.get("properties"):
        assert list(result["properties"]) == list(source["properties"])
    else:
        assert "properties" not in result


# --- Pydantic -------------------------------------------------------------------------------------

PERSON = Person.model_json_schema()


def person() -> dict[str, Any]:
    return convert(PERSON)


def test_pydantic_model_top_level() -> None:
    result = person()
    assert result["type"] == "object"
    assert result["description"] == "Someone to contact."
    assert result["required"] == PERSON["required"]
    assert "name" in result["required"]
    assert "age" not in result["required"]


def test_pydantic_field_description_and_constraints() -> None:
    props = person()["properties"]
    assert props["name"] == {"type": "string", "description": "Full name"}
    assert props["retries"] == {"type": "integer", "description": "How often to retry",
                                "minimum": 0, "maximum": 10}
    assert props["code"] == {"type": "string", "minLength": 2, "maxLength": 8,
                             "pattern": "^[A-Z]+$"}


def test_pydantic_optional_field_is_nullable() -> None:
    assert person()["properties"]["age"] == {"type": "integer", "nullable": True}


def test_pydantic_str_enum_and_int_enum_become_string_enums() -> None:
    props = person()["properties"]
    assert props["color"] == {"type": "string", "enum": ["red", "green", "blue"]}
    assert props["level"] == {"type": "string", "enum": ["1", "3"]}


def test_pydantic_literal() -> None:
    assert person()["properties"]["mode"] == {"type": "string", "enum": ["fast", "slow"]}


def test_pydantic_list_and_dict() -> None:
    props = person()["properties"]
    assert props["tags"] == {"type": "array", "items": {"type": "string"}}
    assert props["counts"] == {"type": "object"}  # additionalProperties: a free-form object
    assert props["properties"] == {"type": "array", "items": {"type": "integer"}}


ADDRESS = {
    "type": "object",
    "description": "A postal address.",
    "properties": {"street": {"type": "string"},
                   "city": {"type": "string", "description": "City name"}},
    "required": ["street", "city"],
}


def test_pydantic_nested_model_is_inlined_from_defs() -> None:
    assert person()["properties"]["home"] == ADDRESS


def test_pydantic_optional_nested_model_is_nullable_and_still_expanded() -> None:
    # The same $def used twice (home and work) is not mistaken for a cycle.
    assert person()["properties"]["work"] == {**ADDRESS, "nullable": True}


CAT = {"type": "object",
       "properties": {"kind": {"type": "string", "enum": ["cat"]}, "meows": {"type": "boolean"}},
       "required": ["kind", "meows"]}
DOG = {"type": "object",
       "properties": {"kind": {"type": "string", "enum": ["dog"]}, "barks": {"type": "boolean"}},
       "required": ["kind", "barks"]}


def test_pydantic_union_of_two_models_is_any_of() -> None:
    assert person()["properties"]["pet"] == {"anyOf": [CAT, DOG]}


def test_pydantic_discriminated_union_one_of_becomes_any_of() -> None:
    schema = PERSON["properties"]["pet2"]
    assert "oneOf" in schema
    assert "discriminator" in schema
    assert person()["properties"]["pet2"] == {"anyOf": [CAT, DOG]}


@pytest.mark.parametrize("name", ["format", "strict", "type", "properties", "description"])
def test_pydantic_properties_named_like_keywords_stay_properties(name: str) -> None:
    result = person()
    assert name in result["properties"]
    assert name in result["required"]
    expected = {"format": {"type": "string"}, "strict": {"type": "boolean"},
                "type": {"type": "string"},
                "properties": {"type": "array", "items": {"type": "integer"}},
                "description": {"type": "string", "description": "A property called description"}}
    assert result["properties"][name] == expected[name]


def test_pydantic_default_values_are_dropped() -> None:
    result = person()
    assert result["properties"]["color"] == {"type": "string", "enum": ["red", "green", "blue"]}
    assert "default" in PERSON["properties"]["retries"]
    assert "default" not in result["properties"]["retries"]


def test_pydantic_recursive_model_terminates_and_stays_valid() -> None:
    result = convert(Node.model_json_schema())
    assert result["type"] == "object"
    assert result["required"] == ["value"]
    assert result["properties"]["value"] == {"type": "integer"}
    children = result["properties"]["children"]
    assert children["type"] == "array"
    assert children["items"]["type"] == "object"  # the cycle: a free-form object
    assert "properties" not in children["items"]
    assert children["items"]["description"]


def test_pydantic_self_referencing_optional_and_list() -> None:
    result = convert(Employee.model_json_schema())
    props = result["properties"]
    assert props["name"] == {"type": "string"}
    assert props["manager"]["type"] == "object"
    assert props["manager"]["nullable"] is True
    assert props["reports"]["type"] == "array"
    assert props["reports"]["items"]["type"] == "object"


def test_pydantic_recursive_model_inside_another_is_expanded_once() -> None:
    result = convert(Forest.model_json_schema())
    trees = result["properties"]["trees"]
    node = trees["items"]
    assert node["properties"]["value"] == {"type": "integer"}
    assert node["properties"]["children"]["items"]["type"] == "object"
    assert "properties" not in node["properties"]["children"]["items"]
    biggest = result["properties"]["biggest"]
    assert biggest["nullable"] is True
    assert biggest["properties"]["value"] == {"type": "integer"}


def test_pydantic_other_types() -> None:
    props = convert(Kinds.model_json_schema())["properties"]
    assert props["when"] == {"type": "string", "format": "date-time"}
    assert props["day"] == {"type": "string", "description": "(format: date)"}
    assert props["ident"] == {"type": "string", "description": "(format: uuid)"}
    assert props["ratio"] == {"type": "number"}
    assert props["raw"]["type"] == "string"
    assert props["raw"]["description"] == "(format: binary)"
    assert props["amount"] == {"anyOf": [{"type": "number"}, {"type": "string"}]}
    assert props["pair"]["type"] == "array"
    assert props["pair"]["minItems"] == props["pair"]["maxItems"] == 2
    assert props["unique"] == {"type": "array", "items": {"type": "string"}}
    assert props["lookup"] == {"type": "object"}
    assert props["maybe_list"] == {"type": "array", "items": ADDRESS, "nullable": True}
    assert props["homepage"] == {"type": "string", "minLength": 1,
                                 "description": "(format: uri)"}


def test_optional_field_with_description_keeps_the_format_hint() -> None:
    # Pydantic `AnyUrl | None = Field(None, description="Homepage")`: anyOf [uri string, null].
    # The field's description must not wipe out the hint about the dropped `uri` format.
    homepage = convert(Homepage.model_json_schema())["properties"]["homepage"]
    assert homepage["type"] == "string"
    assert homepage["nullable"] is True
    assert homepage["minLength"] == 1
    assert "Homepage" in homepage["description"]
    assert "(format: uri)" in homepage["description"]


# --- type arrays, const, enum, nullable -----------------------------------------------------------

@pytest.mark.parametrize(("schema", "expected"), [
    ({"type": ["string", "null"]}, {"type": "string", "nullable": True}),
    ({"type": ["null", "integer"], "minimum": 1}, {"type": "integer", "minimum": 1,
                                                  "nullable": True}),
    ({"type": ["string"]}, {"type": "string"}),
    ({"type": ["string", "integer"]}, {"anyOf": [{"type": "string"}, {"type": "integer"}]}),
    ({"type": ["string", "integer", "null"]},
     {"anyOf": [{"type": "string"}, {"type": "integer"}], "nullable": True}),
    ({"type": ["array", "null"], "items": {"type": "number"}},
     {"type": "array", "items": {"type": "number"}, "nullable": True}),
    ({"type": ["object", "null"], "properties": {"a": {"type": "boolean"}}, "required": ["a"]},
     {"type": "object", "properties": {"a": {"type": "boolean"}}, "required": ["a"],
      "nullable": True}),
    ({"type": "string", "nullable": True}, {"type": "string", "nullable": True}),
    ({"anyOf": [{"type": "string"}, {"type": "null"}]}, {"type": "string", "nullable": True}),
    ({"oneOf": [{"type": "null"}, {"type": "boolean"}]}, {"type": "boolean", "nullable": True}),
    ({"anyOf": [{"type": "string"}]}, {"type": "string"}),
    ({"anyOf": [{"type": "string"}, {"type": "integer"}], "description": "id"},
     {"anyOf": [{"type": "string"}, {"type": "integer"}], "description": "id"}),
])
def test_type_arrays_and_null_alternatives(schema: dict[str, Any],
                                           expected: dict[str, Any]) -> None:
    assert convert(schema) == expected


def test_multi_type_array_keeps_the_description_on_every_branch() -> None:
    result = convert({"type": ["string", "number"], "description": "an amount"})
    assert [b["type"] for b in result["anyOf"]] == ["string", "number"]
    assert all(b["description"] == "an amount" for b in result["anyOf"])


@pytest.mark.parametrize(("schema", "expected"), [
    ({"const": "fixed"}, {"type": "string", "enum": ["fixed"]}),
    ({"const": "cat", "type": "string"}, {"type": "string", "enum": ["cat"]}),
    ({"const": 3, "type": "integer"}, {"type": "string", "enum": ["3"]}),
    ({"const": True}, {"type": "string", "enum": ["true"]}),
    ({"const": "x", "description": "only x"}, {"type": "string", "enum": ["x"],
                                               "description": "only x"}),
])
def test_const_becomes_a_one_value_enum(schema: dict[str, Any], expected: dict[str, Any]) -> None:
    assert convert(schema) == expected


@pytest.mark.parametrize(("schema", "expected"), [
    ({"type": "string", "enum": ["b", "a", "c"]}, {"type": "string", "enum": ["b", "a", "c"]}),
    ({"type": "integer", "enum": [3, 1, 2]}, {"type": "string", "enum": ["3", "1", "2"]}),
    ({"type": "number", "enum": [1.5, 2]}, {"type": "string", "enum": ["1.5", "2"]}),
    ({"type": "boolean", "enum": [True, False]}, {"type": "string", "enum": ["true", "false"]}),
    ({"enum": ["a", 1, False]}, {"type": "string", "enum": ["a", "1", "false"]}),
    ({"enum": ["a", None, "b"]}, {"type": "string", "enum": ["a", "b"], "nullable": True}),
    ({"type": ["string", "null"], "enum": ["celsius", "fahrenheit", None]},
     {"type": "string", "enum": ["celsius", "fahrenheit"], "nullable": True}),
    ({"type": "string", "enum": ["x"], "format": "enum"},
     {"type": "string", "enum": ["x"], "format": "enum"}),
])
def test_enums_become_strings_in_order(schema: dict[str, Any], expected: dict[str, Any]) -> None:
    assert convert(schema) == expected


# --- references -----------------------------------------------------------------------------------

def test_ref_sibling_description_wins_over_the_target() -> None:
    schema = {
        "$defs": {"Address": {"type": "object", "description": "An address.",
                              "properties": {"city": {"type": "string"}}}},
        "type": "object",
        "properties": {
            "home": {"$ref": "#/$defs/Address", "description": "Where they live"},
            "plain": {"$ref": "#/$defs/Address"},
            "maybe": {"$ref": "#/$defs/Address", "nullable": True},
        },
    }
    props = convert(schema)["properties"]
    assert props["home"] == {"type": "object", "description": "Where they live",
                             "properties": {"city": {"type": "string"}}}
    assert props["plain"]["description"] == "An address."
    assert props["maybe"]["nullable"] is True
    assert props["maybe"]["properties"] == {"city": {"type": "string"}}


def test_draft07_definitions_and_json_pointer_escapes() -> None:
    result = convert(DRAFT07_DEFINITIONS)
    props = result["properties"]
    assert props["items"] == {"type": "array", "items": {
        "type": "object",
        "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}},
        "required": ["sku"]}}
    assert props["slashed"] == {"type": "string", "description": "slash in the name"}
    assert props["tilded"] == {"type": "boolean", "description": "tilde in the name"}


def test_ref_to_a_nested_path() -> None:
    schema = {"type": "object",
              "properties": {"a": {"type": "object",
                                   "properties": {"inner": {"type": "integer", "minimum": 0}}},
                             "b": {"$ref": "#/properties/a/properties/inner"}}}
    assert convert(schema)["properties"]["b"] == {"type": "integer", "minimum": 0}


@pytest.mark.parametrize("ref", [
    "#/$defs/Missing", "#/definitions/Missing", "https://example.com/schemas/Missing",
    "other.json#/Missing", "#/$defs/Missing/deeper", "#/properties/x/Missing",
])
def test_unresolvable_reference_becomes_a_free_form_object(ref: str) -> None:
    schema = {"type": "object", "properties": {"x": {"$ref": ref}, "y": {"type": "string"}},
              "$defs": {}}
    result = convert(schema)
    assert result["properties"]["x"]["type"] == "object"
    assert "properties" not in result["properties"]["x"]
    assert ref.rsplit("/", 1)[-1] in result["properties"]["x"]["description"]
    assert result["properties"]["y"] == {"type": "string"}


def test_unresolvable_reference_keeps_a_sibling_description() -> None:
    result = convert({"$ref": "#/$defs/Nope", "description": "Something"})
    assert result == {"type": "object", "description": "Something"}


def test_root_self_reference_terminates() -> None:
    schema = {"type": "object", "description": "A tree.",
              "properties": {"label": {"type": "string"}, "child": {"$ref": "#"}}}
    result = convert(schema)
    child = result["properties"]["child"]
    assert child["properties"]["label"] == {"type": "string"}
    assert "properties" not in child["properties"]["child"]
    assert child["properties"]["child"]["type"] == "object"


def test_mutual_recursion_terminates() -> None:
    schema = {
        "$defs": {
            "A": {"type": "object", "properties": {"b": {"$ref": "#/$defs/B"}}},
            "B": {"type": "object", "description": "The B side.",
                  "properties": {"a": {"$ref": "#/$defs/A"}, "n": {"type": "number"}}},
        },
        "$ref": "#/$defs/A",
    }
    result = convert(schema)
    b = result["properties"]["b"]
    assert b["description"] == "The B side."
    assert b["properties"]["n"] == {"type": "number"}
    assert b["properties"]["a"]["type"] == "object"
    assert "properties" not in b["properties"]["a"]


def test_reference_chain() -> None:
    schema = {"$defs": {"A": {"$ref": "#/$defs/B"}, "B": {"$ref": "#/$defs/C"},
                        "C": {"type": "string", "format": "date-time"}},
              "type": "object", "properties": {"when": {"$ref": "#/$defs/A"}}}
    assert convert(schema)["properties"]["when"] == {"type": "string", "format": "date-time"}


def test_self_referencing_definition_alone_terminates() -> None:
    result = convert({"$defs": {"L": {"$ref": "#/$defs/L"}}, "$ref": "#/$defs/L"})
    assert result["type"] == "object"


# --- allOf ----------------------------------------------------------------------------------------

def test_all_of_merges_properties_and_required() -> None:
    schema = {"allOf": [
        {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
        {"type": "object", "properties": {"b": {"type": "integer"}}, "required": ["b"]},
    ]}
    assert convert(schema) == {"type": "object",
                               "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
                               "required": ["a", "b"]}


def test_all_of_with_refs_and_own_properties() -> None:
    schema = {
        "$defs": {"Base": {"type": "object", "properties": {"id": {"type": "string"}},
                           "required": ["id"]}},
        "allOf": [{"$ref": "#/$defs/Base"}],
        "properties": {"extra": {"type": "boolean"}},
        "required": ["extra", "id"],
        "description": "Base plus extra",
    }
    result = convert(schema)
    assert result["type"] == "object"
    assert result["description"] == "Base plus extra"
    assert result["properties"] == {"id": {"type": "string"}, "extra": {"type": "boolean"}}
    assert set(result["required"]) == {"id", "extra"}


def test_all_of_required_may_name_a_property_of_another_part() -> None:
    # A common composition: a later part makes a property of an earlier part required.
    schema = {"allOf": [
        {"type": "object", "properties": {"a": {"type": "string"}}},
        {"type": "object", "properties": {"b": {"type": "integer"}}, "required": ["a", "b"]},
    ]}
    result = convert(schema)
    assert result["properties"] == {"a": {"type": "string"}, "b": {"type": "integer"}}
    assert set(result["required"]) == {"a", "b"}


def test_all_of_with_a_description_only_wrapper() -> None:
    # Pydantic before 2.9 wrote a described model-typed field this way.
    schema = {"$defs": {"Address": PERSON["$defs"]["Address"]},
              "type": "object",
              "properties": {"home": {"allOf": [{"$ref": "#/$defs/Address"}],
                                      "description": "Home address"}}}
    assert convert(schema)["properties"]["home"] == {**ADDRESS, "description": "Home address"}


def test_all_of_combining_constraints() -> None:
    assert convert({"allOf": [{"type": "string"}, {"minLength": 2}, {"maxLength": 5}]}) == {
        "type": "string", "minLength": 2, "maxLength": 5}


def test_all_of_annotations_do_not_add_a_type_next_to_any_of() -> None:
    # {"allOf": [<a union>], "default": ...}: the `default` sibling says nothing about the type.
    union = {"anyOf": [{"type": "object", "properties": {"a": {"type": "string"}}},
                       {"type": "object", "properties": {"b": {"type": "string"}}}]}
    result = convert({"allOf": [union], "default": {"a": "x"}, "title": "Either"})
    assert result.get("type") in (None, "object")
    assert result["anyOf"] == [{"type": "object", "properties": {"a": {"type": "string"}}},
                               {"type": "object", "properties": {"b": {"type": "string"}}}]


# --- anyOf / oneOf with siblings ------------------------------------------------------------------

def test_any_of_of_required_sets_keeps_the_object_properties() -> None:
    # "Give an id or a name": the alternatives only constrain the object's own properties.
    schema = {"type": "object",
              "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
              "anyOf": [{"required": ["id"]}, {"required": ["name"]}]}
    result = convert(schema)
    props = result["properties"] if "properties" in result else {
        k: v for branch in result["anyOf"] for k, v in branch.get("properties", {}).items()}
    assert props == {"id": {"type": "string"}, "name": {"type": "string"}}
    assert parameters(schema) is not None


def test_nested_any_of_inside_array_items() -> None:
    schema = {"type": "array", "items": {"anyOf": [
        {"type": "string", "format": "email"},
        {"type": "object", "properties": {"address": {"type": "string"}}},
    ]}}
    assert convert(schema) == {"type": "array", "items": {"anyOf": [
        {"type": "string", "description": "(format: email)"},
        {"type": "object", "properties": {"address": {"type": "string"}}},
    ]}}


def test_any_of_of_only_null_is_a_nullable_string() -> None:
    assert convert({"anyOf": [{"type": "null"}]}) == {"type": "string", "nullable": True}


# --- arrays, free-form and boolean schemas --------------------------------------------------------

@pytest.mark.parametrize("schema", [
    {"type": "array"},
    {"type": "array", "items": {}},
    {"type": "array", "items": True},
    {"type": "array", "items": [{"type": "string"}, {"type": "integer"}]},
    {"type": "array", "prefixItems": [{"type": "integer"}]},
])
def test_arrays_always_get_items(schema: dict[str, Any]) -> None:
    result = convert(schema)
    assert result["type"] == "array"
    assert result["items"] == {"type": "string"}


def test_array_items_and_length_limits_are_kept() -> None:
    schema = {"type": "array", "items": {"type": "integer", "format": "int64"},
              "minItems": 1, "maxItems": 3, "uniqueItems": True, "contains": {"const": 1}}
    assert convert(schema) == {"type": "array", "items": {"type": "integer", "format": "int64"},
                               "minItems": 1, "maxItems": 3}


def test_items_without_type_is_an_array() -> None:
    assert convert({"items": {"type": "boolean"}}) == {"type": "array",
                                                       "items": {"type": "boolean"}}


def test_properties_without_type_is_an_object() -> None:
    assert convert({"properties": {"a": {"type": "string"}}, "required": ["a"]}) == {
        "type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}


@pytest.mark.parametrize("schema", [{}, True, {"description": "anything"}, {"title": "Any"},
                                    {"$schema": "http://json-schema.org/draft-07/schema#"}])
def test_free_form_schemas_are_valid(schema: Any) -> None:
    result = convert(schema)
    assert result["type"] == "string"
    if isinstance(schema, dict) and "description" in schema:
        assert result["description"] == "anything"


@pytest.mark.parametrize("schema", [None, False, 3, "string", ["a"]])
def test_non_object_schemas_do_not_raise(schema: Any) -> None:
    assert convert(schema) == {"type": "string"}


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["b", "a", "c"]},
    {"type": "object", "properties": {"a": {"type": "string"}}, "required": "a"},
    {"type": "object", "properties": {"a": {"type": "string"}}, "required": []},
])
def test_required_only_names_existing_properties(schema: dict[str, Any]) -> None:
    result = convert(schema)
    assert result.get("required", ["a"]) == ["a"]
    if schema["required"] in ([], "a"):
        assert "required" not in result


def test_empty_properties_are_dropped() -> None:
    assert convert({"type": "object", "properties": {}, "required": []}) == {"type": "object"}


def test_nested_objects_keep_their_structure() -> None:
    schema = {"type": "object", "properties": {
        "outer": {"type": "object", "description": "level 1", "properties": {
            "inner": {"type": "array", "items": {"type": "object", "properties": {
                "leaf": {"type": "number", "format": "double", "minimum": -1.5,
                         "maximum": 1e9}}, "required": ["leaf"]}}},
            "required": ["inner"]}}, "required": ["outer"]}
    assert convert(schema) == {"type": "object", "properties": {
        "outer": {"type": "object", "description": "level 1", "properties": {
            "inner": {"type": "array", "items": {"type": "object", "properties": {
                "leaf": {"type": "number", "format": "double", "minimum": -1.5,
                         "maximum": 1e9}}, "required": ["leaf"]}}},
            "required": ["inner"]}}, "required": ["outer"]}


def test_unsupported_keywords_are_dropped_everywhere() -> None:
    result = convert(EVERYTHING)
    props = result["properties"]
    assert props["if_then"] == {"type": "string"}
    assert props["dependent"] == {"type": "object", "properties": {"x": {"type": "number"}}}
    assert props["numbers"] == {"type": "number"}
    assert props["const"] == {"type": "string", "enum": ["fixed"]}
    assert props["multi"] == {"anyOf": [{"type": "string"}, {"type": "integer"}],
                              "nullable": True}
    assert props["only_null"]["nullable"] is True
    assert props["missing_ref"]["type"] == "object"


@pytest.mark.parametrize("name", sorted(FORBIDDEN | ALLOWED_KEYS | {"if", "not", "$comment"}))
def test_keyword_names_stay_property_names(name: str) -> None:
    schema = {"type": "object",
              "properties": {name: {"type": "integer", "description": f"the {name}"},
                             "other": {"type": "string"}},
              "required": [name]}
    assert convert(schema) == {
        "type": "object",
        "properties": {name: {"type": "integer", "description": f"the {name}"},
                       "other": {"type": "string"}},
        "required": [name]}


def test_property_named_ref_is_not_followed() -> None:
    schema = {"type": "object", "properties": {"$ref": {"type": "string"},
                                               "$defs": {"type": "boolean"}}}
    assert convert(schema)["properties"] == {"$ref": {"type": "string"},
                                             "$defs": {"type": "boolean"}}


# --- formats --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("schema", "expected"), [
    ({"type": "string", "format": "date-time"}, {"type": "string", "format": "date-time"}),
    ({"type": "string", "format": "enum", "enum": ["a"]},
     {"type": "string", "format": "enum", "enum": ["a"]}),
    ({"type": "number", "format": "float"}, {"type": "number", "format": "float"}),
    ({"type": "number", "format": "double"}, {"type": "number", "format": "double"}),
    ({"type": "integer", "format": "int32"}, {"type": "integer", "format": "int32"}),
    ({"type": "integer", "format": "int64"}, {"type": "integer", "format": "int64"}),
    ({"type": "string", "format": "email"}, {"type": "string", "description": "(format: email)"}),
    ({"type": "string", "format": "uri", "description": "A link"},
     {"type": "string", "description": "A link (format: uri)"}),
    ({"type": "string", "format": "uuid"}, {"type": "string", "description": "(format: uuid)"}),
    ({"type": "string", "format": "date"}, {"type": "string", "description": "(format: date)"}),
    ({"type": ["string", "null"], "format": "email", "description": "Mail"},
     {"type": "string", "description": "Mail (format: email)", "nullable": True}),
    ({"type": "number", "format": "int32"}, {"type": "number"}),
    ({"type": "integer", "format": "double"}, {"type": "integer"}),
    ({"type": "boolean", "format": "yes-no"}, {"type": "boolean"}),
    ({"type": "object", "format": "x", "properties": {"a": {"type": "string"}}},
     {"type": "object", "properties": {"a": {"type": "string"}}}),
    ({"type": "string", "format": 5}, {"type": "string"}),
])
def test_formats(schema: dict[str, Any], expected: dict[str, Any]) -> None:
    assert convert(schema) == expected


# --- Zod, MCP, OpenAI strict ----------------------------------------------------------------------

def test_zod_output() -> None:
    assert convert(ZOD) == {
        "type": "object",
        "properties": {
            "email": {"type": "string", "description": "(format: email)"},
            "role": {"type": "string", "enum": ["admin", "user"]},
            "age": {"type": "integer", "nullable": True},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        },
        "required": ["email", "age"],
    }


def test_zod_v4_output() -> None:
    assert convert(ZOD_V4) == {
        "type": "object",
        "properties": {
            "query": {"type": "string", "minLength": 1},
            "limit": {"type": "integer", "minimum": 1, "maximum": 50, "nullable": True},
            "sort": {"type": "string", "enum": ["asc", "desc"]},
        },
        "required": ["query", "limit", "sort"],
    }


def test_openai_strict_parameters() -> None:
    assert parameters(OPENAI_STRICT) == {
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "City and country"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "nullable": True},
        },
        "required": ["location", "unit"],
    }


def test_mcp_filesystem_read_file() -> None:
    assert parameters(FILESYSTEM_READ_FILE) == {
        "type": "object",
        "properties": {
            "path": {"type": "string"},
            "tail": {"type": "number",
                     "description": "If provided, returns only the last N lines of the file"},
            "head": {"type": "number",
                     "description": "If provided, returns only the first N lines of the file"},
        },
        "required": ["path"],
    }


def test_mcp_filesystem_edit_file() -> None:
    result = parameters(FILESYSTEM_EDIT_FILE)
    assert result is not None
    assert result["required"] == ["path", "edits"]
    assert result["properties"]["edits"] == {"type": "array", "items": {
        "type": "object",
        "properties": {
            "oldText": {"type": "string", "description": "Text to search for - must match exactly"},
            "newText": {"type": "string", "description": "Text to replace with"},
        },
        "required": ["oldText", "newText"],
    }}
    assert result["properties"]["dryRun"] == {
        "type": "boolean", "description": "Preview changes using git-style diff format"}


def test_mcp_fetch_tool() -> None:
    result = parameters(MCP_FETCH)
    assert result is not None
    assert result["description"] == "Parameters for fetching a URL."
    assert result["required"] == ["url"]
    assert result["properties"]["url"] == {
        "type": "string", "minLength": 1, "description": "URL to fetch (format: uri)"}
    assert result["properties"]["max_length"] == {
        "type": "integer", "description": "Maximum number of characters to return."}
    assert result["properties"]["start_index"]["minimum"] == 0


def test_pydantic_model_as_function_parameters() -> None:
    result = parameters(PERSON)
    assert result is not None
    assert list(result["properties"]) == list(PERSON["properties"])
    assert parameters(Node.model_json_schema()) is not None


# --- function_parameters: when a function takes none ----------------------------------------------

@pytest.mark.parametrize("schema", [
    FILESYSTEM_LIST_ALLOWED,
    {"type": "object"},
    {"type": "object", "properties": {}},
    {"type": "object", "properties": {}, "additionalProperties": False,
     "$schema": "http://json-schema.org/draft-07/schema#"},
    {"type": "object", "properties": {}, "required": [], "description": "No arguments."},
    {"type": "object", "additionalProperties": {"type": "string"}},
    {"properties": {}},
], ids=["mcp-list-allowed", "no-properties-key", "empty-properties", "zod-empty",
        "described", "additional-only", "untyped-empty"])
def test_function_parameters_none_for_objects_without_properties(schema: dict[str, Any]) -> None:
    assert parameters(schema) is None


@pytest.mark.parametrize("schema", [{}, {"$schema": "http://json-schema.org/draft-07/schema#"}],
                         ids=["empty", "schema-only"])
def test_function_parameters_none_for_empty_schemas(schema: dict[str, Any]) -> None:
    # OpenAI clients send `parameters: {}` for a function without arguments.
    assert parameters(schema) is None


@pytest.mark.parametrize("schema", [None, True, False, "object", [], 0])
def test_function_parameters_none_for_non_objects(schema: Any) -> None:
    assert function_parameters(schema) is None


def test_function_parameters_keeps_the_converted_schema() -> None:
    schema = {"type": "object", "description": "Weather lookup",
              "properties": {"city": {"type": "string", "title": "City"},
                             "days": {"type": "integer", "default": 1}},
              "required": ["city"], "additionalProperties": False}
    assert parameters(schema) == {"type": "object", "description": "Weather lookup",
                                  "properties": {"city": {"type": "string"},
                                                 "days": {"type": "integer"}},
                                  "required": ["city"]}
    assert parameters(schema) == to_gemini_schema(schema)


def test_function_parameters_from_a_root_ref() -> None:
    schema = {"$defs": {"Args": {"type": "object", "properties": {"q": {"type": "string"}},
                                 "required": ["q"]}},
              "$ref": "#/$defs/Args"}
    assert parameters(schema) == {"type": "object", "properties": {"q": {"type": "string"}},
                                  "required": ["q"]}


def test_conversion_results_are_independent() -> None:
    schema = {"$defs": {"A": {"type": "object", "properties": {"x": {"type": "string"}}}},
              "type": "object",
              "properties": {"one": {"$ref": "#/$defs/A"}, "two": {"$ref": "#/$defs/A"}}}
    first = convert(schema)
    first["properties"]["one"]["properties"]["x"]["description"] = "changed"
    assert "description" not in first["properties"]["two"]["properties"]["x"]
    assert convert(schema) != first


# --- bounds: schemas that expand or nest without limit --------------------------------------------

def bomb(levels: int = 20) -> dict[str, Any]:
    """About 2 KB of JSON whose definitions each refer to the next twice: inlined, 2**levels."""
    defs = {f"D{i}": {"type": "object", "properties": {"x": {"$ref": f"#/$defs/D{i + 1}"},
                                                      "y": {"$ref": f"#/$defs/D{i + 1}"}}}
            for i in range(levels)}
    defs[f"D{levels}"] = {"type": "string"}
    return {"type": "object", "properties": {"a": {"$ref": "#/$defs/D0"}}, "$defs": defs}


def chat(**fields: Any) -> dict[str, Any]:
    return {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}],
            **fields}


def responses(**fields: Any) -> dict[str, Any]:
    return {"model": "gemini-2.5-flash", "input": "hi", **fields}


def function_tool(name: str, parameters: Any) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "parameters": parameters}}


def json_format(schema: Any) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "out", "schema": schema}}


def translate(api: str, body: dict[str, Any]) -> None:
    if api == "chat":
        chat_request(body)
    else:
        responses_call(body, [])


SMALL = {"type": "object", "properties": {"q": {"type": "string"}}}
BOMB_CASES = {
    "chat tool": ("chat", chat(tools=[function_tool(f"f{i}", SMALL) for i in range(3)]
                               + [function_tool("bomb", bomb())]),
                  "tools[3].function.parameters"),
    "chat legacy function": ("chat", chat(functions=[{"name": "bomb", "parameters": bomb()}]),
                             "functions[0].parameters"),
    "chat response_format": ("chat", chat(response_format=json_format(bomb())),
                             "response_format.json_schema.schema"),
    "responses tool": ("responses", responses(tools=[
        {"type": "web_search"}, {"type": "custom", "name": "c"},
        {"type": "function", "name": "bomb", "parameters": bomb()}]), "tools[2].parameters"),
    "responses namespace tool": ("responses", responses(tools=[{"type": "namespace", "name": "n",
        "tools": [{"type": "function", "name": "bomb", "parameters": bomb()}]}]),
        "tools[0].tools[0].parameters"),
    "responses text.format": ("responses", responses(text={"format": {
        "type": "json_schema", "name": "out", "schema": bomb()}}), "text.format.schema"),
}


@pytest.mark.parametrize(("api", "body", "param"), BOMB_CASES.values(), ids=BOMB_CASES.keys())
def test_an_exponentially_expanding_schema_is_a_400_naming_it(api: str, body: dict[str, Any],
                                                              param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        translate(api, body)
    error = caught.value
    assert (error.status, error.param, error.code) == (400, param, "schema_too_large")
    assert f"'{param}' is too large" in error.message


def test_the_expansion_stops_at_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """The conversion gives up as soon as the budget is spent: it visits a bounded number of
    schemas, not the 2**21 of the whole expansion."""
    assert len(orjson.dumps(bomb(20))) < 2100
    visited = 0
    convert_one = schema_module._Converter.convert

    def counting(self: Any, schema: Any) -> dict[str, Any]:
        nonlocal visited
        visited += 1
        return convert_one(self, schema)

    monkeypatch.setattr(schema_module._Converter, "convert", counting)
    with pytest.raises(InvalidRequest):
        function_parameters(bomb(20), "p")
    assert 0 < visited <= MAX_SIZE // 2


def clique(size: int) -> dict[str, Any]:
    """Definitions that each refer to all the others: no cycle is followed, but the paths that
    avoid one are factorially many."""
    defs = {f"D{i}": {"type": "object", "properties": {
        f"p{j}": {"$ref": f"#/$defs/D{j}"} for j in range(size) if j != i}} for i in range(size)}
    return {"$ref": "#/$defs/D0", "$defs": defs}


def fan_out(count: int, target: dict[str, Any]) -> dict[str, Any]:
    """`count` properties that all refer to one definition."""
    return {"type": "object", "$defs": {"T": target},
            "properties": {f"p{i}": {"$ref": "#/$defs/T"} for i in range(count)}}


EXPANDING = {
    "mutual references": clique(9),
    "a large enum used many times": fan_out(200, {"enum": [f"value {i}" for i in range(1000)]}),
    "a long description used many times": fan_out(50, {"type": "string",
                                                       "description": "d" * 100_000}),
    "one enormous enum": {"type": "object", "properties": {"e": {"enum": list(range(60_000))}}},
}


@pytest.mark.parametrize("schema", EXPANDING.values(), ids=EXPANDING.keys())
def test_other_expanding_schemas_are_a_400(schema: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest) as caught:
        function_parameters(schema, "tools[0].function.parameters")
    assert caught.value.code == "schema_too_large"
    assert caught.value.param == "tools[0].function.parameters"


def wide(count: int) -> dict[str, Any]:
    return {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(count)}}


def cost(schema: dict[str, Any]) -> int:
    budget = SchemaBudget()
    function_parameters(schema, "p", budget)
    return MAX_SIZE - budget.size


def test_the_budget_is_shared_by_all_the_tools_of_a_request() -> None:
    each = cost(wide(2000))
    first_over = MAX_SIZE // each  # the tool during which the shared budget runs out
    tools = [function_tool(f"f{i}", wide(2000)) for i in range(first_over + 2)]
    with pytest.raises(InvalidRequest) as caught:
        chat_request(chat(tools=tools))
    assert caught.value.param == f"tools[{first_over}].function.parameters"
    chat_request(chat(tools=tools[:first_over]))


def test_the_budget_is_shared_by_response_format_and_tools() -> None:
    half = wide(MAX_SIZE // 5)
    assert MAX_SIZE // 2 < cost(half) < MAX_SIZE
    chat_request(chat(response_format=json_format(half)))
    chat_request(chat(tools=[function_tool("f", half)]))
    with pytest.raises(InvalidRequest) as caught:
        chat_request(chat(response_format=json_format(half), tools=[function_tool("f", half)]))
    assert caught.value.param == "tools[0].function.parameters"
    with pytest.raises(InvalidRequest) as caught:
        responses_call(responses(text={"format": {"type": "json_schema", "schema": half}},
                                 tools=[{"type": "function", "name": "f", "parameters": half}]),
                       [])
    assert caught.value.param == "text.format.schema"


NESTINGS = {  # as JSON text (too deep for json.dumps, as a request body arrives): the text
    # around each step, and how many levels of the converted schema a step makes
    "items": ('{"type":"array","items":', "}", 1),
    "properties": ('{"type":"object","properties":{"p":', "}}", 1),
    "anyOf": ('{"anyOf":[{"type":"integer"},', "]}", 1),
    "oneOf": ('{"oneOf":[{"type":"integer"},', "]}", 1),
    "allOf": ('{"allOf":[', "]}", 1),
    "type list": ('{"type":["string","array"],"items":', "}", 2),  # anyOf, then items
}


def nested(steps: int, how: str) -> Any:
    """A schema `steps` deep below its root (parsed from JSON text, as orjson parses a body)."""
    start, end, _ = NESTINGS[how]
    return orjson.loads(start * steps + '{"type":"string"}' + end * steps)


@pytest.mark.parametrize("how", NESTINGS)
def test_a_deeply_nested_schema_is_a_400_not_a_recursion_error(how: str) -> None:
    steps = 1000 if how == "items" else 400  # within orjson's 1024 levels of JSON
    with pytest.raises(InvalidRequest) as caught:
        function_parameters(nested(steps, how), "tools[0].function.parameters")
    error = caught.value
    assert (error.status, error.param, error.code) == (400, "tools[0].function.parameters",
                                                       "schema_too_deep")


@pytest.mark.parametrize("how", NESTINGS)
def test_nesting_up_to_the_limit_converts(how: str) -> None:
    per_step = NESTINGS[how][2]
    convert(nested((MAX_DEPTH - 1) // per_step, how))  # the root is the first level
    with pytest.raises(InvalidRequest):
        to_gemini_schema(nested(MAX_DEPTH // per_step, how))


def chain(length: int) -> dict[str, Any]:
    """A reference to a reference to ... a string: no cycle, `length` references."""
    defs: dict[str, Any] = {f"D{i}": {"$ref": f"#/$defs/D{i + 1}"} for i in range(length - 1)}
    defs[f"D{length - 1}"] = {"type": "string", "description": "the end"}
    return {"type": "object", "properties": {"v": {"$ref": "#/$defs/D0"}}, "$defs": defs}


def test_references_to_references_are_followed_up_to_the_limit() -> None:
    assert convert(chain(MAX_DEPTH))["properties"]["v"] == {"type": "string",
                                                            "description": "the end"}
    for length in (MAX_DEPTH + 1, 5000):
        with pytest.raises(InvalidRequest) as caught:
            to_gemini_schema(chain(length), "text.format.schema")
        assert (caught.value.param, caught.value.code) == ("text.format.schema",
                                                           "schema_too_deep")


def stack_depth() -> int:
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


def test_the_deepest_schema_allowed_fits_the_stack_and_the_encoder() -> None:
    """Every level a $ref and a property (the most stack per level): converts in 400 frames of
    stack (Python allows 1000), and its JSON stays far inside orjson's 254 levels even with a
    request body around it."""
    defs = {f"D{i}": {"type": "object", "properties": {"p": {"$ref": f"#/$defs/D{i + 1}"}}}
            for i in range(MAX_DEPTH)}
    defs[f"D{MAX_DEPTH}"] = {"type": "string"}
    body = chat(tools=[function_tool("deep", {"$ref": "#/$defs/D0", "$defs": defs})])
    with pytest.raises(InvalidRequest) as caught:
        chat_request(body)  # 65 levels
    assert caught.value.code == "schema_too_deep"
    defs[f"D{MAX_DEPTH - 1}"] = {"type": "string"}
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(stack_depth() + 400)
    try:
        wrapped: Any = chat_request(body).gemini
    finally:
        sys.setrecursionlimit(limit)
    for _ in range(100):  # a request body may hold it 100 levels deeper still
        wrapped = [wrapped]
    orjson.dumps(wrapped)


def test_an_enum_value_nested_deeper_than_json_can_be_written_is_a_400() -> None:
    value = "[" * 1000 + "]" * 1000
    schema = orjson.loads('{"type":"object","properties":{"e":{"enum":[' + value + ']}}}')
    with pytest.raises(InvalidRequest) as caught:
        function_parameters(schema, "tools[0].function.parameters")
    assert caught.value.code == "schema_too_deep"


@pytest.mark.parametrize(("schema", "expected"), [
    ({"type": {"a": 1}}, {"type": "string"}),
    ({"type": [{"a": 1}]}, {"type": "string"}),
    ({"type": "object", "properties": {"a": {}}, "required": [{"a": 1}, "a"]},
     {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}),
    ({"allOf": [{"$ref": 5}, {"type": "integer"}]}, {"type": "string"}),
    ({"enum": [{"b": [1, None]}, [2]]}, {"type": "string", "enum": ['{"b":[1,null]}', "[2]"]}),
    ({"type": "integer", "minimum": [1, [2]], "maximum": {"x": 1}, "minItems": -1,
      "maxLength": 1.5, "description": ["no"], "pattern": 7}, {"type": "integer"}),
    ({"$ref": "#", "description": 5}, {"type": "object", "description": "A # object."}),
])
def test_values_of_the_wrong_type_are_dropped_not_a_500(schema: dict[str, Any],
                                                         expected: dict[str, Any]) -> None:
    assert convert(schema) == expected


def test_a_self_reference_with_a_nested_description_stays_flat() -> None:
    schema = {"$defs": {"A": {"type": "object", "description": {"x": [[1]]},
                              "properties": {"a": {"$ref": "#/$defs/A"}}}},
              "$ref": "#/$defs/A"}
    assert convert(schema) == {"type": "object", "properties": {"a": {
        "type": "object", "description": "A A object."}}}


class _Address(BaseModel):
    street: str
    city: str
    zip: str | None = None


class _Contact(BaseModel):
    email: str | None = None
    address: _Address | None = None


class _Tree(BaseModel):
    name: str
    children: list[_Tree] = []


WIDE_MODEL = create_model("Wide", **{  # type: ignore[call-overload]
    f"f{i}": [(_Contact | None, None), (list[_Address], []), (_Tree | None, None), (int, 0),
              (str, "")][i % 5] for i in range(300)}).model_json_schema()


def test_real_schemas_spend_a_small_part_of_the_budget() -> None:
    """128 tools of the real-world schemas and a 300-field Pydantic model with shared and
    recursive models, in one request (heavier than real requests): converted exactly as each
    alone, within half of the budget."""
    schemas = [list(REAL_WORLD.values())[i % len(REAL_WORLD)] for i in range(128)]
    budget = SchemaBudget()
    declarations = function_declarations(
        {"tools": [function_tool(f"f{i}", s) for i, s in enumerate([*schemas, WIDE_MODEL])]},
        [], budget)
    assert [d.get("parameters") for d in declarations] == \
        [function_parameters(s) for s in [*schemas, WIDE_MODEL]]
    assert MAX_SIZE - budget.size < MAX_SIZE // 2
    assert len(declarations[-1]["parameters"]["properties"]) == 300


_KEYWORDS = st.sampled_from(["type", "properties", "items", "$ref", "enum", "const", "anyOf",
                             "oneOf", "allOf", "required", "description", "nullable", "format",
                             "$defs", "minimum", "minItems", "pattern", "a"])
_LEAVES = st.none() | st.booleans() | st.integers(-10, 10) | st.floats(allow_nan=False) | \
    st.sampled_from(["string", "object", "array", "null", "#/$defs/a", "#", "#/properties/a",
                     "date-time"]) | st.text(max_size=3)
_SCHEMAS = st.recursive(_LEAVES, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(_KEYWORDS, inner, max_size=4), max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(_SCHEMAS)
def test_any_json_value_converts_or_is_a_400(schema: Any) -> None:
    for converted in (to_gemini_schema, function_parameters):
        try:
            result = converted(schema, "p")
        except InvalidRequest as error:
            assert error.param == "p"
            continue
        assert result is None or isinstance(result, dict)
        orjson.dumps(result)
