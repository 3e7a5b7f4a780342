"""OpenAI `response_format` -> Gemini structured output (`responseMimeType`, `responseSchema`),
in the client's key order; beside function tools on Gemini 2.x, the finish function."""

from __future__ import annotations

import copy
from enum import StrEnum
from typing import Any, Literal

import orjson
import pytest
from pydantic import BaseModel, Field

from adapter.translate.errors import InvalidRequest
from adapter.translate.request import chat_request
from adapter.translate.structured_output import response_format

from .helpers import assert_gemini_schema

HELLO = [{"role": "user", "content": "Hello"}]
JSON = {"responseMimeType": "application/json"}
PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}
PERSON_GEMINI = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "propertyOrdering": ["name", "age"],  # Gemini would write the keys alphabetically
}


class Color(StrEnum):
    RED = "red"
    GREEN = "green"


class Address(BaseModel):
    street: str
    city: str = Field(description="City name")


class Person(BaseModel):
    """A person."""

    name: str
    age: int | None = None
    color: Color
    tags: list[str] = []
    kind: Literal["human", "robot"]
    home: Address
    previous: list[Address] = []


def schema_format(schema: Any = None, **spec: Any) -> dict[str, Any]:
    json_schema: dict[str, Any] = {"name": "answer", **spec}
    if schema is not None:
        json_schema["schema"] = schema
    return {"type": "json_schema", "json_schema": json_schema}


def body(**fields: Any) -> dict[str, Any]:
    return {"model": "gemini-2.5-flash", "messages": HELLO, **fields}


def rejects(value: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        response_format(value)
    assert caught.value.status == 400
    return caught.value


def test_text_adds_nothing() -> None:
    assert response_format({"type": "text"}) == {}


def test_json_object_asks_for_json() -> None:
    assert response_format({"type": "json_object"}) == JSON


def test_json_schema_is_translated() -> None:
    config = response_format(schema_format(PERSON))
    assert config == {**JSON, "responseSchema": PERSON_GEMINI}
    assert_gemini_schema(config["responseSchema"])


def test_pydantic_model_schema() -> None:
    schema = Person.model_json_schema()
    assert "$defs" in schema  # references that must be inlined
    before = copy.deepcopy(schema)
    config = response_format(schema_format(schema, strict=True))
    assert schema == before
    assert config["responseMimeType"] == "application/json"
    gemini = config["responseSchema"]
    assert_gemini_schema(gemini)
    orjson.dumps(gemini)
    assert gemini["type"] == "object"
    properties = gemini["properties"]
    assert list(properties) == ["name", "age", "color", "tags", "kind", "home", "previous"]
    assert set(gemini["required"]) == {"name", "color", "kind", "home"}
    assert properties["name"]["type"] == "string"
    assert properties["age"]["type"] == "integer"
    assert properties["age"]["nullable"] is True
    assert properties["color"]["enum"] == ["red", "green"]
    assert properties["kind"]["enum"] == ["human", "robot"]
    assert properties["tags"] == {"type": "array", "items": {"type": "string"}}
    home = properties["home"]
    assert home["type"] == "object"
    assert set(home["properties"]) == {"street", "city"}
    assert home["properties"]["city"]["description"] == "City name"
    assert properties["previous"]["items"]["properties"] == home["properties"]


@pytest.mark.parametrize("strict", [True, False, None])
def test_strict_booleans_and_null_are_accepted(strict: bool | None) -> None:
    spec = {} if strict is None else {"strict": strict}
    assert response_format(schema_format(PERSON, **spec)) == {**JSON,
                                                               "responseSchema": PERSON_GEMINI}


@pytest.mark.parametrize("strict", ["true", 1, 0, [], {}])
def test_strict_must_be_a_boolean(strict: Any) -> None:
    error = rejects(schema_format(PERSON, strict=strict))
    assert error.param == "response_format.json_schema.strict"


@pytest.mark.parametrize("schema", [None, {}])
def test_missing_or_empty_schema_only_asks_for_json(schema: Any) -> None:
    assert response_format(schema_format(schema)) == JSON


def test_json_schema_name_and_description_are_not_sent() -> None:
    config = response_format(schema_format(PERSON, description="A person", strict=True))
    assert set(config) == {"responseMimeType", "responseSchema"}
    assert "description" not in config["responseSchema"]


@pytest.mark.parametrize("schema", [
    {"type": "array", "items": {"type": "string"}},
    {"type": "string", "enum": ["yes", "no"]},
    {"anyOf": [{"type": "string"}, {"type": "integer"}]},
    {"$defs": {"N": {"type": "object", "properties": {"next": {"$ref": "#/$defs/N"}}}},
     "$ref": "#/$defs/N"},
    {"type": "object", "properties": {"when": {"type": "string", "format": "date-time"},
                                      "count": {"const": 3}}},
])
def test_schemas_of_other_shapes_are_valid_gemini(schema: dict[str, Any]) -> None:
    config = response_format(schema_format(schema))
    assert config["responseMimeType"] == "application/json"
    assert_gemini_schema(config["responseSchema"])


@pytest.mark.parametrize(("value", "param"), [
    ("json_object", "response_format"),
    (None, "response_format"),
    (["json_object"], "response_format"),
    ({}, "response_format.type"),
    ({"type": "json"}, "response_format.type"),
    ({"type": "JSON_OBJECT"}, "response_format.type"),
    ({"type": "xml"}, "response_format.type"),
    ({"type": None}, "response_format.type"),
    ({"type": ["text"]}, "response_format.type"),
    ({"type": "json_schema"}, "response_format.json_schema"),
    ({"type": "json_schema", "json_schema": None}, "response_format.json_schema"),
    ({"type": "json_schema", "json_schema": "Person"}, "response_format.json_schema"),
    ({"type": "json_schema", "json_schema": {"name": "x", "schema": "{}"}},
     "response_format.json_schema.schema"),
    ({"type": "json_schema", "json_schema": {"name": "x", "schema": [PERSON]}},
     "response_format.json_schema.schema"),
])
def test_invalid_response_format_names_the_field(value: Any, param: str) -> None:
    assert rejects(value).param == param


def test_invalid_type_message_lists_the_types() -> None:
    message = rejects({"type": "json"}).message
    assert all(kind in message for kind in ("text", "json_object", "json_schema"))


# --- through chat_request -------------------------------------------------------------------------

def test_chat_request_json_schema() -> None:
    request = chat_request(body(response_format=schema_format(PERSON, strict=True),
                                temperature=0))
    assert request.gemini["generationConfig"] == {
        "temperature": 0, "responseMimeType": "application/json", "responseSchema": PERSON_GEMINI}


def test_chat_request_pydantic_schema() -> None:
    request = chat_request(body(response_format=schema_format(Person.model_json_schema())))
    assert_gemini_schema(request.gemini["generationConfig"]["responseSchema"])


def test_chat_request_json_object() -> None:
    assert chat_request(body(response_format={"type": "json_object"})).gemini[
        "generationConfig"] == JSON


@pytest.mark.parametrize("value", [None, {"type": "text"}])
def test_chat_request_text_or_null_has_no_generation_config(value: Any) -> None:
    assert "generationConfig" not in chat_request(body(response_format=value)).gemini


def test_chat_request_with_reasoning_and_response_format() -> None:
    request = chat_request(body(response_format={"type": "json_object"}, reasoning_effort="low"))
    assert request.gemini["generationConfig"] == {
        "thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": True}, **JSON}


@pytest.mark.parametrize(("value", "param"), [
    ({"type": "yaml"}, "response_format.type"),
    ("json", "response_format"),
    (schema_format(PERSON, strict="yes"), "response_format.json_schema.strict"),
])
def test_chat_request_invalid_response_format(value: Any, param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        chat_request(body(response_format=value))
    assert caught.value.status == 400
    assert caught.value.param == param


# --- key order: propertyOrdering at every object level ------------------------------------------

def test_property_order_is_the_clients_at_every_level() -> None:
    """Gemini writes a responseSchema answer's keys alphabetically unless `propertyOrdering`
    says otherwise; every object of the schema gets its properties in the client's order."""
    gemini = response_format(schema_format(Person.model_json_schema()))["responseSchema"]
    order = ["name", "age", "color", "tags", "kind", "home", "previous"]
    assert gemini["propertyOrdering"] == order != sorted(order)
    assert gemini["properties"]["home"]["propertyOrdering"] == ["street", "city"]
    assert gemini["properties"]["previous"]["items"]["propertyOrdering"] == ["street", "city"]
    assert_gemini_schema(gemini)


def test_property_order_inside_alternatives_and_names_that_are_keywords() -> None:
    schema = {"type": "object", "properties": {
        "zeta": {"anyOf": [{"type": "object", "properties": {"y": {"type": "string"},
                                                             "x": {"type": "string"}}},
                           {"type": "null"}]},
        "properties": {"type": "object", "properties": {"b": {"type": "integer"},
                                                        "a": {"type": "integer"}}},
        "alpha": {"type": "array", "items": {"anyOf": [
            {"type": "object", "properties": {"d": {"type": "string"}, "c": {"type": "string"}}},
            {"type": "string"}]}},
    }}
    gemini = response_format(schema_format(schema))["responseSchema"]
    properties = gemini["properties"]
    assert gemini["propertyOrdering"] == ["zeta", "properties", "alpha"]
    assert properties["zeta"]["propertyOrdering"] == ["y", "x"]
    assert properties["properties"]["propertyOrdering"] == ["b", "a"]
    assert properties["alpha"]["items"]["anyOf"][0]["propertyOrdering"] == ["d", "c"]
    assert "propertyOrdering" not in properties["alpha"]["items"]["anyOf"][1]
    assert_gemini_schema(gemini)


def test_free_form_objects_have_no_ordering() -> None:
    gemini = response_format(schema_format({"type": "object", "properties": {
        "extra": {"type": "object"}}}))["responseSchema"]
    assert gemini == {"type": "object", "properties": {"extra": {"type": "object"}},
                      "propertyOrdering": ["extra"]}


def test_function_parameters_have_no_ordering() -> None:
    """Arguments are a map: the order of a function's parameters does not reach the client."""
    tool = {"type": "function", "function": {"name": "f", "parameters": PERSON}}
    request = chat_request(body(tools=[tool]))
    [declaration] = request.gemini["tools"][0]["functionDeclarations"]
    assert "propertyOrdering" not in declaration["parameters"]
