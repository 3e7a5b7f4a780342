"""OpenAI sampling fields -> Gemini `generationConfig`, and their validation."""

from __future__ import annotations

from typing import Any

import pytest

from adapter.translate.errors import InvalidRequest
from adapter.translate.params import generation_config


def rejects(body: dict[str, Any]) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        generation_config(body)
    error = caught.value
    assert error.status == 400
    assert error.code == "invalid_request"
    assert error.body()["error"]["type"] == "invalid_request_error"
    assert error.body()["error"]["param"] == error.param
    return error


@pytest.mark.parametrize(("body", "config"), [
    ({"temperature": 0.7}, {"temperature": 0.7}),
    ({"temperature": 0}, {"temperature": 0}),
    ({"temperature": 2}, {"temperature": 2}),
    ({"top_p": 0.9}, {"topP": 0.9}),
    ({"top_p": 0}, {"topP": 0}),
    ({"top_p": 1}, {"topP": 1}),
    ({"top_k": 40}, {"topK": 40}),
    ({"top_k": 1}, {"topK": 1}),
    ({"top_k": 64.0}, {"topK": 64}),
    ({"max_tokens": 100}, {"maxOutputTokens": 100}),
    ({"max_completion_tokens": 1}, {"maxOutputTokens": 1}),
    ({"max_tokens": 100.0}, {"maxOutputTokens": 100}),
    ({"stop": "END"}, {"stopSequences": ["END"]}),
    ({"stop": ["a", "b", "\n"]}, {"stopSequences": ["a", "b", "\n"]}),
    ({"stop": ["a", ""]}, {"stopSequences": ["a"]}),
    ({"stop": []}, {}),
    ({"stop": [""]}, {}),
    ({"n": 1}, {}),
    ({"n": 3}, {"candidateCount": 3}),
    ({"n": 8}, {"candidateCount": 8}),
    ({"presence_penalty": -2}, {"presencePenalty": -2}),
    ({"presence_penalty": 1.5}, {"presencePenalty": 1.5}),
    ({"frequency_penalty": 2}, {"frequencyPenalty": 2}),
    ({"frequency_penalty": -0.5}, {"frequencyPenalty": -0.5}),
    ({"seed": 42}, {"seed": 42}),
    ({"seed": -7}, {"seed": -7}),
    ({"seed": 0}, {"seed": 0}),
    ({"logprobs": True}, {"responseLogprobs": True}),
    ({"logprobs": False}, {}),
    ({"logprobs": True, "top_logprobs": 5}, {"responseLogprobs": True, "logprobs": 5}),
    ({"logprobs": True, "top_logprobs": 20}, {"responseLogprobs": True, "logprobs": 20}),
    ({"logprobs": True, "top_logprobs": 0}, {"responseLogprobs": True}),
    ({"user": "user-123"}, {}),
    ({"metadata": {"k": "v"}}, {}),
    ({"store": False}, {}),
    ({"store": True, "user": "", "metadata": {}}, {}),
    ({}, {}),
])
def test_mapping(body: dict[str, Any], config: dict[str, Any]) -> None:
    assert generation_config(body) == config


def test_integral_float_becomes_an_int() -> None:
    config = generation_config({"max_tokens": 64.0, "n": 2.0, "seed": 3.0})
    assert [type(v) for v in config.values()] == [int, int, int]


def test_everything_together() -> None:
    assert generation_config({
        "model": "m", "messages": [], "stream": True,
        "temperature": 0.2, "top_p": 0.5, "max_completion_tokens": 10, "stop": ["x"], "n": 2,
        "presence_penalty": 0.1, "frequency_penalty": 0.2, "seed": 9, "logprobs": True,
        "top_logprobs": 3, "user": "u", "metadata": {}, "store": False,
    }) == {
        "temperature": 0.2, "topP": 0.5, "maxOutputTokens": 10, "stopSequences": ["x"],
        "candidateCount": 2, "presencePenalty": 0.1, "frequencyPenalty": 0.2, "seed": 9,
        "responseLogprobs": True, "logprobs": 3,
    }


@pytest.mark.parametrize("field", [
    "temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "n",
    "presence_penalty", "frequency_penalty", "seed", "logprobs", "top_logprobs", "user",
    "metadata", "store",
])
def test_null_fields_are_ignored(field: str) -> None:
    assert generation_config({field: None}) == {}


def test_max_completion_tokens_wins_over_max_tokens() -> None:
    assert generation_config({"max_tokens": 5, "max_completion_tokens": 50}) == {
        "maxOutputTokens": 50}
    assert generation_config({"max_tokens": 5, "max_completion_tokens": None}) == {
        "maxOutputTokens": 5}


def test_empty_stop_string_adds_no_stop_sequence() -> None:
    # An empty stop list entry is dropped; the same empty stop given as a string must be too.
    assert generation_config({"stop": ""}) == generation_config({"stop": [""]}) == {}


@pytest.mark.parametrize(("field", "value"), [
    ("temperature", "0.5"), ("temperature", True), ("temperature", [1]), ("temperature", {}),
    ("temperature", -0.1), ("temperature", 2.01),
    ("top_p", "1"), ("top_p", False), ("top_p", 1.5), ("top_p", -0.01),
    ("top_k", 0), ("top_k", -1), ("top_k", 2.5), ("top_k", "40"), ("top_k", True),
    ("max_tokens", "100"), ("max_tokens", True), ("max_tokens", 10.5), ("max_tokens", 0),
    ("max_tokens", -1),
    ("max_completion_tokens", 0), ("max_completion_tokens", 2.5),
    ("max_completion_tokens", "8"), ("max_completion_tokens", False),
    ("stop", 5), ("stop", True), ("stop", {"a": 1}),
    ("n", 0), ("n", 9), ("n", 1.5), ("n", True), ("n", "2"),
    ("presence_penalty", 2.5), ("presence_penalty", -3), ("presence_penalty", "0"),
    ("presence_penalty", True),
    ("frequency_penalty", -2.5), ("frequency_penalty", 3), ("frequency_penalty", "1"),
    ("seed", 1.5), ("seed", "1"), ("seed", True),
    ("logprobs", 1), ("logprobs", "true"), ("logprobs", 0),
    ("user", 5), ("user", ["u"]),
    ("metadata", "m"), ("metadata", ["k"]),
    ("store", "yes"), ("store", 1),
])
def test_wrong_value_names_the_field(field: str, value: Any) -> None:
    error = rejects({field: value})
    assert error.param == field
    assert f"'{field}'" in error.message


@pytest.mark.parametrize("value", [21, -1, 1.5, "3", True])
def test_wrong_top_logprobs(value: Any) -> None:
    assert rejects({"logprobs": True, "top_logprobs": value}).param == "top_logprobs"


@pytest.mark.parametrize("logprobs", [None, False])
def test_top_logprobs_requires_logprobs(logprobs: bool | None) -> None:
    error = rejects({"logprobs": logprobs, "top_logprobs": 2})
    assert error.param == "top_logprobs"
    assert "logprobs" in error.message


@pytest.mark.parametrize(("stop", "param"), [
    ([1], "stop[0]"), (["a", None], "stop[1]"), (["a", "b", ["c"]], "stop[2]"),
])
def test_wrong_stop_entry_names_its_index(stop: list[Any], param: str) -> None:
    assert rejects({"stop": stop}).param == param


def test_error_message_describes_the_value() -> None:
    assert "not str" in rejects({"temperature": "hot"}).message
    assert "not bool" in rejects({"seed": False}).message
    assert "between 0 and 2" in rejects({"temperature": 3}).message
    assert "at least 1" in rejects({"max_tokens": 0}).message
    assert "at most 8" in rejects({"n": 9}).message
