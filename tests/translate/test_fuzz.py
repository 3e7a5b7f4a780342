"""Property-based fuzzing of the request translators: whatever JSON a client sends, in whatever
field, translating it gives a Gemini request that can be sent, or an InvalidRequest (400) that
names the parameter; never another exception.

Each body is first written as JSON text and parsed the way the routes parse it (`_parse`:
orjson, then the nesting limit), so the translators see exactly what a client can make them
see: an integer beyond 64 bits arrives as a float, and nothing deeper than the limit. The bodies
are realistic requests (fuzz_strategies) with one place replaced by any JSON value, a field
added or a place removed, and bodies that are anything at all. The examples are the same on
every run (tests/conftest.py), and each crash found is kept below as a plain test with its
minimal example.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapter.routes.common import _parse
from adapter.translate import validate
from adapter.translate.embeddings import MAX_BATCH, embeddings_request
from adapter.translate.errors import InvalidRequest
from adapter.translate.images import MAX_N, generation_request
from adapter.translate.request import MAX_MODEL_ID, chat_request
from adapter.translate.responses_request import responses_call

from . import fuzz_strategies as fuzz

_MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]*")


def wire(body: Any) -> Any:
    """`body` as a route receives it: JSON text, parsed and checked by the routes' own step."""
    return _parse(json.dumps(body, ensure_ascii=False).encode())


def plausible_model(model: Any) -> None:
    assert isinstance(model, str) and len(model) <= MAX_MODEL_ID and _MODEL_ID.fullmatch(model)


def sendable(gemini: Any) -> None:
    """A Gemini generateContent body that can be written: orjson refuses integers beyond 64
    bits, nesting over its limit and keys that are not strings."""
    assert isinstance(gemini, dict)
    orjson.dumps(gemini)
    assert isinstance(gemini["contents"], list)


def refused_properly(error: InvalidRequest, whole_body: bool) -> None:
    """A 400 naming the parameter; only an error about the body as a whole names none."""
    assert error.status == 400
    if whole_body:
        assert error.param is None or (isinstance(error.param, str) and error.param)
    else:
        assert isinstance(error.param, str) and error.param, error.param


def translated(translate: Callable[[Any], Any], body: Any) -> Any:
    """What `translate` makes of `body` as the route receives it, None when it was refused
    properly; the body itself is left as it was."""
    parsed = False
    try:
        received = wire(body)
        parsed, before = True, orjson.dumps(received)
        result = translate(received)
    except InvalidRequest as error:
        # The parse refuses a body as a whole (1e400 is beyond a double); so does a translator
        # given a body that is not an object.
        refused_properly(error, whole_body=not parsed or not isinstance(body, dict))
        return None
    assert orjson.dumps(received) == before
    return result


def check_chat(body: Any) -> None:
    if (chat := translated(chat_request, body)) is not None:
        plausible_model(chat.model)
        sendable(chat.gemini)
        assert chat.gemini["contents"]
        assert isinstance(chat.stream, bool) and isinstance(chat.include_usage, bool)


def _responses(body: Any) -> Any:
    """The route's sequence: previous_response_id read as a string (no stored history here),
    then responses_call, then chat_request."""
    if isinstance(body, dict) and body.get("previous_response_id") is not None:
        validate.string(body["previous_response_id"], "previous_response_id")
    return chat_request(responses_call(body, []).chat)


def check_responses(body: Any) -> None:
    if (chat := translated(_responses, body)) is not None:
        plausible_model(chat.model)
        sendable(chat.gemini)


def check_embeddings(body: Any) -> None:
    if (embed := translated(embeddings_request, body)) is not None:
        plausible_model(embed.model)
        assert embed.encoding_format in ("float", "base64")
        for batch in embed.batches:
            orjson.dumps(batch)
            assert 1 <= len(batch["requests"]) <= MAX_BATCH
            for request in batch["requests"]:
                assert isinstance(request["content"]["parts"], list)


def check_images(body: Any) -> None:
    if (plan := translated(generation_request, body)) is not None:
        plausible_model(plan.model)
        sendable(plan.body)
        assert 1 <= plan.n <= MAX_N


SEEDS = [*((check_chat, body) for body in fuzz.CHAT_BODIES),
         *((check_responses, body) for body in fuzz.RESPONSES_BODIES),
         *((check_embeddings, body) for body in fuzz.EMBEDDINGS_BODIES),
         *((check_images, body) for body in fuzz.IMAGES_BODIES)]


@pytest.mark.parametrize(("check", "body"), SEEDS)
def test_every_field_removed_or_of_every_other_type(check: Callable[[Any], None],
                                                    body: dict[str, Any]) -> None:
    """The sweep: each place of each seed body, removed and replaced by a value of each JSON
    type (fuzz.OTHER_TYPES), one at a time."""
    for change, variant in fuzz.variants(body):
        try:
            check(variant)
        except Exception as error:
            error.add_note(f"with {change}")
            raise


# Examples per test: about 1 ms each (the Responses ones translate twice); with the sweep above
# the module takes about 10 s on one core.
@settings(max_examples=2000)
@given(st.one_of(fuzz.mutations(fuzz.CHAT_BODIES), fuzz.arbitrary_bodies()))
def test_chat_translation_never_crashes(body: Any) -> None:
    check_chat(body)


@settings(max_examples=2000)
@given(st.one_of(fuzz.mutations(fuzz.RESPONSES_BODIES), fuzz.arbitrary_bodies()))
def test_responses_translation_never_crashes(body: Any) -> None:
    check_responses(body)


@settings(max_examples=500)
@given(st.one_of(fuzz.mutations(fuzz.EMBEDDINGS_BODIES), fuzz.arbitrary_bodies()))
def test_embeddings_translation_never_crashes(body: Any) -> None:
    check_embeddings(body)


@settings(max_examples=500)
@given(st.one_of(fuzz.mutations(fuzz.IMAGES_BODIES), fuzz.arbitrary_bodies()))
def test_images_translation_never_crashes(body: Any) -> None:
    check_images(body)


@pytest.mark.parametrize(("translate", "body"), [
    *((chat_request, body) for body in fuzz.CHAT_BODIES),
    *((_responses, body) for body in fuzz.RESPONSES_BODIES),
    *((embeddings_request, body) for body in fuzz.EMBEDDINGS_BODIES),
    *((generation_request, body) for body in fuzz.IMAGES_BODIES)])
def test_the_seed_bodies_are_valid_requests(translate: Callable[[Any], Any], body: Any) -> None:
    """The fuzz starts from requests that translate, so that a change reaches the code behind
    the field it changes."""
    translate(wire(body))


@pytest.mark.parametrize("body", [None, 1, 1.5, True])
def test_a_body_that_is_a_json_scalar_is_refused_as_not_an_object(body: Any) -> None:
    """`null`, `1`, `true` are JSON: the routes' parse (validate.nesting) must not iterate
    them, and the translator then says the body must be an object."""
    with pytest.raises(InvalidRequest) as raised:
        chat_request(wire(body))
    assert raised.value.param is None


# Crashes the fuzz found, each with its minimal example.

def _chat(*messages: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "Hi"},
                                                      *messages], **fields}


def _refused(translate: Callable[[Any], Any], body: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as raised:
        translate(body)
    return raised.value


@pytest.mark.parametrize("kind", [[], {}])
def test_a_tool_type_that_is_not_a_string_is_refused(kind: Any) -> None:
    error = _refused(chat_request, _chat(tools=[{"type": kind, "function": {"name": "f"}}]))
    assert error.param == "tools[0].type"


@pytest.mark.parametrize("modality", [[], {}])
def test_a_modality_that_is_not_a_string_is_refused(modality: Any) -> None:
    error = _refused(chat_request, _chat(modalities=["text", modality]))
    assert error.param == "modalities[1]"


@pytest.mark.parametrize("run", [
    {"code": "print(1)", "language": True},
    {"outcome": "OUTCOME_OK", "output": 5},
    {"code": "print(1)", "id": {}},
    {"outcome": ["OUTCOME_OK"]},
    {"code": "print(1)", "thought_signature": 1},
])
def test_each_field_of_a_code_execution_run_sent_back_is_text(run: dict[str, Any]) -> None:
    [key] = [key for key in run if key not in ("code", "outcome")] or ["outcome"]
    error = _refused(chat_request, _chat(
        {"role": "assistant", "content": "Ran it.", "code_execution": [run]}))
    assert error.param == f"messages[1].code_execution[0].{key}"


@pytest.mark.parametrize("description", [True, {"a": 1}, ["x"]])
def test_a_custom_tool_description_that_is_not_text_is_refused(description: Any) -> None:
    body = {"model": "gemini-2.5-flash", "input": "Hi",
            "tools": [{"type": "custom", "name": "apply_patch", "description": description}]}
    assert _refused(_responses, body).param == "tools[0].description"


@pytest.mark.parametrize(("message", "param"), [
    ({"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {
        "name": "f", "arguments": fuzz.DEEP_JSON_TEXT}}]},
     "messages[1].tool_calls[0].function.arguments"),
    ({"role": "assistant", "function_call": {"name": "f", "arguments": fuzz.DEEP_JSON_TEXT}},
     "messages[1].function_call.arguments"),
])
def test_arguments_nested_deeper_than_a_request_may_be_are_refused(
        message: dict[str, Any], param: str) -> None:
    """Arguments are JSON in a string, which the request's nesting limit did not see: deeper
    than orjson writes, they made a Gemini body that cannot be sent."""
    error = _refused(chat_request, _chat(message))
    assert (error.param, error.code) == (param, "too_deeply_nested")


def test_a_tool_result_nested_too_deep_goes_as_text() -> None:
    gemini = chat_request(_chat(
        {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                              "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": fuzz.DEEP_JSON_TEXT})).gemini
    sendable(gemini)
    [part] = gemini["contents"][-1]["parts"]
    assert part["functionResponse"]["response"] == {"content": fuzz.DEEP_JSON_TEXT}


@pytest.mark.parametrize("value", [1, [], "low"])
def test_a_thinking_config_inside_generation_config_must_be_an_object(value: Any) -> None:
    error = _refused(chat_request, _chat(generationConfig={"thinking_config": value},
                                         thinking_config={"include_thoughts": True}))
    assert error.param == "generationConfig.thinkingConfig"


def test_a_null_thinking_config_inside_generation_config_is_none() -> None:
    gemini = chat_request(_chat(generationConfig={"thinkingConfig": None},
                                thinking_config={"include_thoughts": True})).gemini
    assert gemini["generationConfig"]["thinkingConfig"] == {"includeThoughts": True}
