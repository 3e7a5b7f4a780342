"""CompletionBuilder over the translated chunks of recorded streams and generateContent answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from adapter.translate import tool_ids
from adapter.translate.response import CompletionBuilder
from adapter.translate.stream import StreamTranslator

from .helpers import (
    CREATED,
    FIXTURES,
    GENERATE,
    GENERATED_CALL_ID,
    MODEL,
    STREAMS,
    build,
    candidate,
    event,
    expected_finish,
    expected_usage,
    has_partial_args,
    name_of,
    only_message,
    recorded_calls,
    recorded_signatures,
    recorded_text,
    recording,
)

RECORDINGS = STREAMS + GENERATE


def test_generate_content_fixtures_are_collected() -> None:
    assert len(GENERATE) >= 15


@pytest.mark.parametrize("path", RECORDINGS, ids=name_of)
def test_completion_envelope(path: Path) -> None:
    events = recording(path)
    completion = build(events)
    assert completion["object"] == "chat.completion"
    assert completion["created"] == CREATED
    assert completion["model"] == MODEL
    if response_id := events[0].get("responseId"):
        assert completion["id"] == f"chatcmpl-{response_id}"
    message = only_message(completion)
    assert message["role"] == "assistant"
    assert message["refusal"] is None
    assert completion["choices"][0]["logprobs"] is None


@pytest.mark.parametrize("path", RECORDINGS, ids=name_of)
def test_message_content_is_the_answer_text_or_none_for_only_tool_calls(path: Path) -> None:
    events = recording(path)
    message = only_message(build(events))
    text = recorded_text(events, thought=False)
    if text or not recorded_calls(events):
        assert message["content"] == text
    else:
        assert message["content"] is None


@pytest.mark.parametrize("path", RECORDINGS, ids=name_of)
def test_reasoning_content_holds_the_thoughts(path: Path) -> None:
    events = recording(path)
    message = only_message(build(events))
    if thoughts := recorded_text(events, thought=True):
        assert message["reasoning_content"] == thoughts
    else:
        assert "reasoning_content" not in message


@pytest.mark.parametrize("path", [p for p in RECORDINGS if not has_partial_args(recording(p))],
                         ids=name_of)
def test_tool_calls_list(path: Path) -> None:
    events = recording(path)
    message = only_message(build(events))
    calls = recorded_calls(events)
    if not calls:
        assert "tool_calls" not in message
        return
    assert [(c["type"], c["function"]["name"], orjson.loads(c["function"]["arguments"]))
            for c in message["tool_calls"]] == [
        ("function", call["name"], call.get("args", {})) for call in calls]
    for built, call, signature in zip(message["tool_calls"], calls, recorded_signatures(events),
                                      strict=True):
        assert set(built) == {"id", "type", "function"}
        assert GENERATED_CALL_ID.fullmatch(built["id"])
        assert tool_ids.decode(built["id"]) == (call.get("id"), signature)


@pytest.mark.parametrize("path", RECORDINGS, ids=name_of)
def test_finish_reason(path: Path) -> None:
    events = recording(path)
    assert build(events)["choices"][0]["finish_reason"] == expected_finish(events)


@pytest.mark.parametrize("path", RECORDINGS, ids=name_of)
@pytest.mark.parametrize("include_usage", [False, True])
def test_usage_is_from_the_last_usage_metadata(path: Path, include_usage: bool) -> None:
    events = recording(path)
    metas = [e["usageMetadata"] for e in events if "usageMetadata" in e]
    completion = build(events, include_usage)
    assert completion["usage"] == expected_usage(metas[-1] if metas else {})
    assert len(completion["choices"]) == 1


def test_text_answer_in_full() -> None:
    assert build(recording(FIXTURES / "generate-content-text.json")) == {
        "id": "chatcmpl-VgCzac2AGLOHz7IP2pOkkAI",
        "object": "chat.completion",
        "created": CREATED,
        "model": MODEL,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": "Olá!", "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }],
        "usage": {
            "prompt_tokens": 11,
            "completion_tokens": 26,
            "total_tokens": 37,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 24},
        },
    }


def test_three_parallel_calls_without_ids() -> None:
    completion = build(recording(FIXTURES / "generate-content-tool-calls-parallel-3.json"))
    message = only_message(completion)
    assert message["content"] is None
    assert [c["function"]["name"] for c in message["tool_calls"]] == [
        "print", "beep", "controlLight"]
    assert message["tool_calls"][1]["function"]["arguments"] == "{}"
    assert len({c["id"] for c in message["tool_calls"]}) == 3
    assert completion["choices"][0]["finish_reason"] == "tool_calls"


def test_text_and_tool_call_together() -> None:
    message = only_message(build(recording(
        FIXTURES / "vercel-chunks/derived-sse/issue-10781.1.sse.txt")))
    assert message["content"] == "Let me check."
    [call] = message["tool_calls"]
    assert tool_ids.decode(call["id"])[0] == "g1bmv6il"
    assert call["type"] == "function"
    assert call["function"] == {"name": "get_weather", "arguments": '{"city":"San Francisco"}'}


@pytest.mark.parametrize(("name", "reason"), [
    ("generate-content-prompt-blocked-vertex-model-armor.json", "content_filter"),
    ("generate-content-finish-reason-safety.json", "content_filter"),
    ("generate-content-max-tokens-no-parts.json", "length"),
])
def test_answers_without_text_have_empty_content(name: str, reason: str) -> None:
    completion = build(recording(FIXTURES / name))
    assert only_message(completion)["content"] == ""
    assert completion["choices"][0]["finish_reason"] == reason


def test_cached_and_tool_use_tokens_reach_usage() -> None:
    cached = build(recording(FIXTURES / "generate-content-cached-content-tokens.json"))["usage"]
    assert cached["prompt_tokens_details"] == {"cached_tokens": 3512}
    assert cached["completion_tokens"] == 2 + 42
    grounded = build(recording(FIXTURES / "generate-content-grounding-google-search.json"))
    assert grounded["usage"]["prompt_tokens"] == 17 + 119


def _logprobs_result(*tokens: tuple[str, float]) -> dict[str, Any]:
    chosen = [{"token": token, "logProbability": value} for token, value in tokens]
    return {"chosenCandidates": chosen, "topCandidates": [{"candidates": [c]} for c in chosen]}


def test_logprobs_of_all_events_are_folded_in_order() -> None:
    completion = build([
        event(candidate({"text": "Hel"}, logprobsResult=_logprobs_result(("Hel", -0.1)))),
        event(candidate({"text": "lo"}, logprobsResult=_logprobs_result(("lo", -0.2)))),
        event(candidate({"text": "!"}, finishReason="STOP",
                        logprobsResult=_logprobs_result(("!", -0.3), ("", -0.4)))),
    ])
    logprobs = completion["choices"][0]["logprobs"]
    assert logprobs["refusal"] is None
    assert [(e["token"], e["logprob"]) for e in logprobs["content"]] == [
        ("Hel", -0.1), ("lo", -0.2), ("!", -0.3), ("", -0.4)]
    assert [len(e["top_logprobs"]) for e in logprobs["content"]] == [1, 1, 1, 1]
    assert only_message(completion)["content"] == "Hello!"


def test_multiple_candidates_are_sorted_choices() -> None:
    completion = build([
        event(candidate({"text": "second"}, index=1), candidate({"text": "first"})),
        event(candidate(finishReason="STOP"), candidate(finishReason="MAX_TOKENS", index=1)),
    ])
    assert [(c["index"], c["message"]["content"], c["finish_reason"])
            for c in completion["choices"]] == [(0, "first", "stop"), (1, "second", "length")]


def test_builder_without_chunks_has_no_choices_and_zero_usage() -> None:
    completion = CompletionBuilder(StreamTranslator(MODEL, CREATED)).build()
    assert completion["choices"] == []
    assert completion["usage"]["total_tokens"] == 0
