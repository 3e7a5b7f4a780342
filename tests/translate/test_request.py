"""A whole `/v1/chat/completions` body -> ChatRequest."""

from __future__ import annotations

from typing import Any

import pytest

from adapter.translate.errors import InvalidRequest
from adapter.translate.request import ChatRequest, chat_request, model_id

HELLO = [{"role": "user", "content": "Hello"}]


def body(**fields: Any) -> dict[str, Any]:
    return {"model": "gemini-2.5-flash", "messages": HELLO, **fields}


def rejects(value: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        chat_request(value)
    assert caught.value.status == 400
    return caught.value


def test_minimal_request() -> None:
    assert chat_request(body()) == ChatRequest(
        model="gemini-2.5-flash", stream=False, include_usage=False,
        gemini={"contents": [{"role": "user", "parts": [{"text": "Hello"}]}]})


def test_full_request() -> None:
    request = chat_request(body(
        model="models/gemini-2.5-pro",
        messages=[{"role": "system", "content": "Be brief."}, *HELLO],
        stream=True, stream_options={"include_usage": True}, temperature=0.1, max_tokens=5,
    ))
    assert request.model == "gemini-2.5-pro"
    assert request.stream is True
    assert request.include_usage is True
    assert request.gemini == {
        "contents": [{"role": "user", "parts": [{"text": "Hello"}]}],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "generationConfig": {"temperature": 0.1, "maxOutputTokens": 5},
    }


@pytest.mark.parametrize(("value", "expected"), [
    ("gemini-2.5-flash", "gemini-2.5-flash"),
    ("models/gemini-2.5-flash", "gemini-2.5-flash"),
    ("gemini-2.0-flash-exp-image-generation", "gemini-2.0-flash-exp-image-generation"),
    ("gemma-3_27b.it", "gemma-3_27b.it"),
    ("Gemini3", "Gemini3"),
])
def test_model_id(value: str, expected: str) -> None:
    assert model_id(value) == expected
    assert chat_request(body(model=value)).model == expected


@pytest.mark.parametrize("value", [
    "models/", "gemini 2.5", "../gemini", "a/b", "models/models/x", "-flash", ".hidden",
    "gemini?alt=json", "gemini:generateContent", "gemini#x", "gémini", "gemini\n",
])
def test_invalid_model_id(value: str) -> None:
    error = rejects(body(model=value))
    assert error.param == "model"
    assert error.code == "model_not_found"


@pytest.mark.parametrize("value", [None, "", 5, ["gemini"], {"id": "gemini"}])
def test_missing_or_non_string_model(value: Any) -> None:
    error = rejects(body(model=value))
    assert error.param == "model"
    assert error.code == "invalid_request"


def test_model_is_required() -> None:
    assert rejects({"messages": HELLO}).param == "model"


def test_model_id_names_the_given_param() -> None:
    with pytest.raises(InvalidRequest) as caught:
        model_id("bad id", "input.model")
    assert caught.value.param == "input.model"


def test_messages_are_required() -> None:
    error = rejects({"model": "gemini-2.5-flash"})
    assert error.param == "messages"


def test_message_errors_propagate() -> None:
    assert rejects(body(messages=[{"role": "robot", "content": "x"}])).param == "messages[0].role"
    assert rejects(body(messages=[])).param == "messages"


@pytest.mark.parametrize("value", [[], "{}", None, 3, [{"model": "x"}]])
def test_body_must_be_an_object(value: Any) -> None:
    error = rejects(value)
    assert error.param is None
    assert "JSON object" in error.message


@pytest.mark.parametrize(("stream", "expected"), [(True, True), (False, False), (None, False)])
def test_stream_flag(stream: bool | None, expected: bool) -> None:
    assert chat_request(body(stream=stream)).stream is expected


@pytest.mark.parametrize("value", ["true", 1, 0, {}, []])
def test_stream_must_be_a_boolean(value: Any) -> None:
    assert rejects(body(stream=value)).param == "stream"


@pytest.mark.parametrize(("options", "expected"), [
    ({"include_usage": True}, True),
    ({"include_usage": False}, False),
    ({"include_usage": None}, False),
    ({}, False),
    (None, False),
])
def test_include_usage(options: dict[str, Any] | None, expected: bool) -> None:
    request = chat_request(body(stream=True, stream_options=options))
    assert request.include_usage is expected


@pytest.mark.parametrize("options", ["include_usage", True, ["include_usage"]])
def test_stream_options_must_be_an_object(options: Any) -> None:
    assert rejects(body(stream=True, stream_options=options)).param == "stream_options"


@pytest.mark.parametrize("flag", ["true", 1, {}])
def test_include_usage_must_be_a_boolean(flag: Any) -> None:
    error = rejects(body(stream=True, stream_options={"include_usage": flag}))
    assert error.param == "stream_options.include_usage"


def test_no_generation_config_when_nothing_is_set() -> None:
    request = chat_request(body(temperature=None, n=1, stop=[], user="u"))
    assert "generationConfig" not in request.gemini
    assert "systemInstruction" not in request.gemini


def test_parameter_errors_propagate() -> None:
    assert rejects(body(temperature="warm")).param == "temperature"
