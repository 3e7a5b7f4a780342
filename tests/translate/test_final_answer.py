"""Structured output beside function tools on Gemini 2.x: the schema goes as a finish function,
and its call comes back as the message's JSON content (translate/final_answer.py)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from adapter.translate.capabilities import capabilities
from adapter.translate.final_answer import DESCRIPTION, FinishFunction
from adapter.translate.request import ChatRequest, chat_request
from adapter.translate.response import CompletionBuilder
from adapter.translate.responses_request import responses_call
from adapter.translate.stream import StreamTranslator

from .helpers import (
    CREATED,
    FIXTURES,
    FORECAST,
    FORMAT,
    HELLO,
    TEMPERATURE,
    assert_gemini_schema,
    call_part,
    candidate,
    event,
)

RECORDED = orjson.loads((FIXTURES / "generate-content-finish-function-call.json").read_bytes())
TOOL_TURN = orjson.loads((FIXTURES / "generate-content-finish-function-tool-call.json")
                         .read_bytes())


def request(model: str = "gemini-2.5-flash", **fields: Any) -> ChatRequest:
    return chat_request({"model": model, "messages": HELLO, "tools": [TEMPERATURE],
                         "response_format": FORMAT, **fields})


def declared(chat: ChatRequest) -> dict[str, dict[str, Any]]:
    return {d["name"]: d for d in chat.gemini["tools"][0]["functionDeclarations"]}


def translate(chat: ChatRequest, *events: dict[str, Any]) -> tuple[list[dict[str, Any]],
                                                                   dict[str, Any]]:
    """The chunks a stream of `events` becomes, and the completion they fold into."""
    translator = StreamTranslator(chat.model, CREATED, finish_function=chat.finish)
    chunks = [c for e in events if (c := translator.translate(e)) is not None]
    builder = CompletionBuilder(translator)
    for chunk in chunks:
        builder.add(chunk)
    assert translator.finish() is None
    return chunks, dict(builder.build())


# --- the request --------------------------------------------------------------------------------

def test_gemini_2_gets_a_finish_function_instead_of_a_json_answer() -> None:
    """Gemini 2.x answers 400 to responseMimeType beside functionDeclarations."""
    chat = request()
    assert "generationConfig" not in chat.gemini
    functions = declared(chat)
    assert list(functions) == ["temperature", "final_answer"]
    finish = functions["final_answer"]
    assert finish["description"] == DESCRIPTION
    assert finish["parameters"] == {
        "type": "object", "properties": FORECAST["properties"],
        "required": ["temperature", "date", "city"],
        "propertyOrdering": ["temperature", "date", "city"]}
    assert_gemini_schema(finish["parameters"])
    # The model must call a function each turn: the client's while it needs them, then this.
    assert chat.gemini["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
    assert chat.finish is not None and chat.finish.name == "final_answer"


@pytest.mark.parametrize("model", ["gemini-2.5-flash", "gemini-2.0-flash", "gemini-2.5-pro",
                                   "gemini-flash-latest", "gemma-3-27b-it"])
def test_models_without_json_beside_functions(model: str) -> None:
    assert not capabilities(model).schema_beside_functions
    assert request(model).finish is not None


@pytest.mark.parametrize("model", ["gemini-3-flash-preview", "gemini-3.1-pro-preview"])
def test_gemini_3_keeps_the_native_form(model: str) -> None:
    chat = request(model)
    assert capabilities(model).schema_beside_functions
    assert chat.finish is None
    assert list(declared(chat)) == ["temperature"]
    assert chat.gemini["generationConfig"]["responseMimeType"] == "application/json"
    assert chat.gemini["generationConfig"]["responseSchema"]["propertyOrdering"] == [
        "temperature", "date", "city"]
    assert "toolConfig" not in chat.gemini


def test_other_generation_settings_stay() -> None:
    chat = request(temperature=0.2, max_tokens=99)
    assert chat.gemini["generationConfig"] == {"temperature": 0.2, "maxOutputTokens": 99}


def test_tool_choice_none_allows_only_the_finish_function() -> None:
    chat = request(tool_choice="none")
    assert chat.gemini["toolConfig"] == {"functionCallingConfig": {
        "mode": "ANY", "allowedFunctionNames": ["final_answer"]}}


@pytest.mark.parametrize("choice", ["required",
                                    {"type": "function", "function": {"name": "temperature"}}])
def test_a_turn_that_must_call_the_clients_tools_has_no_finish_function(choice: Any) -> None:
    chat = request(tool_choice=choice)
    assert chat.finish is None
    assert list(declared(chat)) == ["temperature"]
    assert "generationConfig" not in chat.gemini  # no JSON answer this turn: it is a call
    assert chat.gemini["toolConfig"]["functionCallingConfig"]["mode"] == "ANY"


def test_the_name_does_not_clash_with_the_clients_functions() -> None:
    tools = [TEMPERATURE, *({"type": "function", "function": {"name": name}}
                            for name in ("final_answer", "final_answer_1"))]
    chat = request(tools=tools)
    assert list(declared(chat)) == ["temperature", "final_answer", "final_answer_1",
                                    "final_answer_2"]
    assert chat.finish is not None and chat.finish.name == "final_answer_2"


def test_json_object_beside_tools_drops_the_mime_type() -> None:
    chat = request(response_format={"type": "json_object"})
    assert chat.finish is None
    assert "generationConfig" not in chat.gemini
    assert list(declared(chat)) == ["temperature"]


def test_without_functions_the_native_form_stays() -> None:
    chat = chat_request({"model": "gemini-2.5-flash", "messages": HELLO,
                         "response_format": FORMAT, "web_search_options": {}})
    assert chat.finish is None
    assert chat.gemini["generationConfig"]["responseSchema"]["type"] == "object"


def test_a_schema_that_is_not_an_object_is_one_argument() -> None:
    schema = {"type": "array", "items": {"type": "string"}}
    chat = request(response_format={"type": "json_schema",
                                    "json_schema": {"name": "cities", "schema": schema}})
    parameters = declared(chat)["final_answer"]["parameters"]
    assert parameters == {"type": "object", "properties": {"answer": {
        "type": "array", "items": {"type": "string"}}}, "required": ["answer"],
        "propertyOrdering": ["answer"]}
    call = call_part("final_answer", args={"answer": ["London", "Paris"]})
    _, completion = translate(chat, event(candidate(call, finishReason="STOP")))
    assert completion["choices"][0]["message"]["content"] == '["London","Paris"]'


def test_responses_text_format_beside_function_tools() -> None:
    """Responses' `text.format` arrives as the chat `response_format` and takes the same way."""
    call = responses_call({
        "model": "gemini-2.5-flash", "input": "Temperature in London?",
        "tools": [{"type": "function", "name": "temperature", "parameters": TEMPERATURE[
            "function"]["parameters"]}],
        "text": {"format": {"type": "json_schema", "name": "Forecast", "schema": FORECAST,
                            "strict": True}}}, [])
    chat = chat_request(call.chat)
    assert list(declared(chat)) == ["temperature", "final_answer"]
    assert "generationConfig" not in chat.gemini


# --- the answer ---------------------------------------------------------------------------------

def test_the_recorded_finish_call_is_json_content_in_the_clients_key_order() -> None:
    chunks, completion = translate(request(), RECORDED)
    [choice] = completion["choices"]
    assert choice["finish_reason"] == "stop"
    message = choice["message"]
    assert "tool_calls" not in message
    assert message["content"] == '{"temperature":"30°C","date":"2022-01-01","city":"London"}'
    assert [c["choices"][0]["delta"] for c in chunks] == [
        {"role": "assistant", "content": message["content"]}]
    assert chunks[0]["choices"][0]["finish_reason"] == "stop"
    assert completion["usage"]["completion_tokens"] == 21


def test_the_clients_tools_come_first_as_tool_calls() -> None:
    _, completion = translate(request(), TOOL_TURN)
    [choice] = completion["choices"]
    assert choice["finish_reason"] == "tool_calls"
    [tool_call] = choice["message"]["tool_calls"]
    assert tool_call["function"] == {"name": "temperature",
                                     "arguments": '{"city":"London","date":"2022-01-01"}'}


def test_a_finish_call_beside_a_tool_call_keeps_both() -> None:
    """A model that answers before it has the tool's result: the client runs the tool (and
    asks again); the early answer is the message's content."""
    parts = [call_part("temperature", args={"city": "Paris", "date": "2022-01-01"}),
             call_part("final_answer", args={"city": "Paris"})]
    _, completion = translate(request(), event(candidate(*parts, finishReason="STOP")))
    [choice] = completion["choices"]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == '{"city":"Paris"}'
    assert [c["function"]["name"] for c in choice["message"]["tool_calls"]] == ["temperature"]


def test_nested_keys_follow_the_schema_and_unknown_keys_follow_them() -> None:
    schema = {"type": "object", "properties": {
        "z": {"type": "array", "items": {"type": "object", "properties": {
            "b": {"type": "integer"}, "a": {"type": "integer"}}}},
        "y": {"anyOf": [{"type": "object", "properties": {"d": {"type": "string"},
                                                          "c": {"type": "string"}}},
                        {"type": "string"}]}}}
    finish = FinishFunction("final_answer", schema, wrapped=False)
    args = {"extra": 1, "y": {"c": "C", "d": "D"}, "z": [{"a": 1, "b": 2}]}
    answer = finish.answer(call_part("final_answer", args=args))
    assert answer == '{"z":[{"b":2,"a":1}],"y":{"d":"D","c":"C"},"extra":1}'
    assert finish.answer(call_part("other", args=args)) is None
    assert finish.answer({"text": "{}"}) is None


def test_without_a_finish_function_a_call_so_named_is_the_clients() -> None:
    _, completion = translate(chat_request({"model": "gemini-2.5-flash", "messages": HELLO,
                                            "tools": [TEMPERATURE]}), RECORDED)
    [choice] = completion["choices"]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["tool_calls"][0]["function"]["name"] == "final_answer"


def test_history_with_the_json_answer_translates() -> None:
    """The next turn sends the answer back as the assistant's text: plain history."""
    answer = '{"temperature":"30°C","date":"2022-01-01","city":"London"}'
    chat = request(messages=[*HELLO, {"role": "assistant", "content": answer},
                             {"role": "user", "content": "And in Paris?"}])
    assert chat.gemini["contents"][1] == {"role": "model", "parts": [{"text": answer}]}
    assert chat.finish is not None
