"""StreamTranslator driven by every recorded Gemini stream, and by synthetic events."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from adapter.translate import tool_ids
from adapter.translate.errors import AdapterError
from adapter.translate.stream import StreamTranslator

from .helpers import (
    CREATED,
    GENERATED_CALL_ID,
    MODEL,
    STREAMS,
    call_part,
    candidate,
    choices,
    event,
    events_of,
    expected_finish,
    expected_usage,
    has_partial_args,
    is_blocked,
    joined,
    name_of,
    parts,
    recorded_calls,
    recorded_signatures,
    recorded_text,
    run,
    stream,
)


def tool_call_deltas(chunks: list[dict[str, Any]], index: int = 0) -> list[dict[str, Any]]:
    return [call for c in choices(chunks, index) for call in c["delta"].get("tool_calls", ())]


TOOL_STREAMS = [p for p in STREAMS
                if recorded_calls(events_of(p)) and not has_partial_args(events_of(p))]


def test_every_kind_of_recording_is_collected() -> None:
    names = {name_of(p) for p in STREAMS}
    assert "stream-sse-text.txt" in names
    assert "stream-json-array-thinking.txt" in names
    assert "vercel-chunks/derived-sse/google-text.sse.txt" in names
    assert "jsgenai-recordings/stream-max-tokens.recording.json" in names
    assert "jsgenai-recordings/stream-error-404-model-not-found.recording.json" not in names
    assert len(TOOL_STREAMS) >= 8


# --- invariants over every recording ------------------------------------------------------------

@pytest.mark.parametrize("path", STREAMS, ids=name_of)
def test_stream_translates_and_finishes_cleanly(path: Path) -> None:
    translator, chunks = run(events_of(path))
    assert chunks
    assert translator.finish() is None


@pytest.mark.parametrize("path", STREAMS, ids=name_of)
def test_one_id_and_envelope_for_all_chunks(path: Path) -> None:
    events = events_of(path)
    _, chunks = run(events)
    assert len({chunk["id"] for chunk in chunks}) == 1
    response_id = events[0].get("responseId")
    if response_id:
        assert chunks[0]["id"] == f"chatcmpl-{response_id}"
    else:
        assert re.fullmatch(r"chatcmpl-[0-9a-f]{32}", chunks[0]["id"])
    for chunk in chunks:
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["created"] == CREATED
        assert chunk["model"] == MODEL


@pytest.mark.parametrize("path", STREAMS, ids=name_of)
def test_only_the_first_delta_of_a_choice_has_the_role(path: Path) -> None:
    _, chunks = run(events_of(path))
    [first, *rest] = choices(chunks)
    assert first["delta"]["role"] == "assistant"
    assert all("role" not in choice["delta"] for choice in rest)


@pytest.mark.parametrize("path", STREAMS, ids=name_of)
def test_content_is_the_recorded_answer_text(path: Path) -> None:
    events = events_of(path)
    _, chunks = run(events)
    assert joined(chunks, "content") == recorded_text(events, thought=False)


@pytest.mark.parametrize("path", STREAMS, ids=name_of)
def test_thought_text_goes_to_reasoning_content_only(path: Path) -> None:
    events = events_of(path)
    _, chunks = run(events)
    thoughts = recorded_text(events, thought=True)
    assert joined(chunks, "reasoning_content") == thoughts
    content = joined(chunks, "content")
    for part in parts(events):
        if part.get("thought") and part["text"]:
            assert part["text"] not in content
    if not thoughts:
        assert all("reasoning_content" not in c["delta"] for c in choices(chunks))


@pytest.mark.parametrize("path", STREAMS, ids=name_of)
def test_finish_reason_arrives_once_on_the_last_chunk(path: Path) -> None:
    events = events_of(path)
    _, chunks = run(events)
    reasons = [choice["finish_reason"] for choice in choices(chunks)]
    assert reasons[-1] == expected_finish(events)
    assert reasons[:-1] == [None] * (len(reasons) - 1)


@pytest.mark.parametrize("path", STREAMS, ids=name_of)
def test_no_empty_chunks(path: Path) -> None:
    _, chunks = run(events_of(path))
    for chunk in chunks:
        assert chunk["choices"]
        for choice in chunk["choices"]:
            delta = choice["delta"]  # the role alone does not make a chunk worth sending
            assert (delta.get("content") or delta.get("reasoning_content")
                    or delta.get("tool_calls") or choice["finish_reason"] or "logprobs" in choice)


@pytest.mark.parametrize("path", STREAMS, ids=name_of)
def test_include_usage_adds_a_final_usage_chunk(path: Path) -> None:
    events = events_of(path)
    translator, chunks = run(events, include_usage=True)
    final = translator.finish()
    assert final is not None
    assert final["choices"] == []
    assert final["id"] == chunks[0]["id"]
    assert final["object"] == "chat.completion.chunk"
    metas = [e["usageMetadata"] for e in events if "usageMetadata" in e]
    assert final["usage"] == expected_usage(metas[-1] if metas else {})
    assert all("usage" not in chunk for chunk in chunks)


@pytest.mark.parametrize("path", STREAMS, ids=name_of)
def test_stream_that_never_finished_raises_502(path: Path) -> None:
    events = events_of(path)
    unfinished = []
    for gemini_event in events:
        if is_blocked([gemini_event]) or any(
                c.get("finishReason") for c in gemini_event.get("candidates", ())):
            break
        unfinished.append(gemini_event)
    translator, _ = run(unfinished, include_usage=True)
    with pytest.raises(AdapterError) as caught:
        translator.finish()
    assert caught.value.status == 502
    assert caught.value.code == "upstream_incomplete"


@pytest.mark.parametrize("path", TOOL_STREAMS, ids=name_of)
def test_tool_call_deltas_match_the_recorded_calls(path: Path) -> None:
    events = events_of(path)
    _, chunks = run(events)
    deltas = tool_call_deltas(chunks)
    calls = recorded_calls(events)
    signatures = recorded_signatures(events)
    assert [d["index"] for d in deltas] == list(range(len(calls)))
    for delta, call, signature in zip(deltas, calls, signatures, strict=True):
        assert delta["type"] == "function"
        assert delta["function"]["name"] == call["name"]
        assert isinstance(delta["function"]["arguments"], str)
        assert orjson.loads(delta["function"]["arguments"]) == call.get("args", {})
        assert GENERATED_CALL_ID.fullmatch(delta["id"])
        assert tool_ids.decode(delta["id"]) == (call.get("id"), signature)
    assert len({d["id"] for d in deltas}) == len(deltas)


# --- specific recordings --------------------------------------------------------------------------

def test_prompt_blocked_gives_one_content_filter_chunk() -> None:
    events = stream("stream-sse-prompt-blocked-safety.txt")
    translator, chunks = run(events + events)  # a repeated block event adds nothing
    assert [chunk["choices"] for chunk in chunks] == [[{
        "index": 0, "delta": {"role": "assistant", "content": ""},
        "finish_reason": "content_filter"}]]
    assert translator.finish() is None


def test_text_stream_chunks_in_detail() -> None:
    _, chunks = run(stream("stream-sse-text.txt"))
    assert [chunk["choices"] for chunk in chunks] == [
        [{"index": 0, "delta": {"role": "assistant", "content": "The"}, "finish_reason": None}],
        [{"index": 0, "delta": {"content": " capital of France"}, "finish_reason": None}],
        [{"index": 0, "delta": {"content": " is Paris.\n"}, "finish_reason": "stop"}],
    ]


def test_parallel_calls_in_one_event_get_indexes_0_and_1() -> None:
    _, chunks = run(stream("stream-sse-tool-calls-parallel.txt"))
    [chunk] = chunks
    [choice] = chunk["choices"]
    assert choice["finish_reason"] == "tool_calls"
    calls = choice["delta"]["tool_calls"]
    assert [(c["index"], c["function"]["name"]) for c in calls] == [(0, "add"), (1, "multiply")]
    assert orjson.loads(calls[0]["function"]["arguments"]) == {"a": 2, "b": 3}


def test_parallel_calls_in_separate_events_keep_counting_and_use_gemini_ids() -> None:
    _, chunks = run(stream("stream-sse-tool-calls-parallel-separate-events.txt"))
    calls = tool_call_deltas(chunks)
    assert [(c["index"], tool_ids.decode(c["id"])[0]) for c in calls] == [
        (0, "8hd01vsf"), (1, "k0srpqrc")]
    assert choices(chunks)[-1]["finish_reason"] == "tool_calls"


def test_text_then_tool_call_ends_with_tool_calls() -> None:
    _, chunks = run(stream("vercel-chunks/derived-sse/issue-10781.1.sse.txt"))
    assert joined(chunks, "content") == "Let me check."
    [call] = tool_call_deltas(chunks)
    assert tool_ids.decode(call["id"])[0] == "g1bmv6il"
    assert call["function"] == {"name": "get_weather", "arguments": '{"city":"San Francisco"}'}
    assert choices(chunks)[-1]["finish_reason"] == "tool_calls"


def test_empty_args_become_an_empty_object() -> None:
    _, chunks = run(stream("stream-sse-tool-call-no-args-gemini-3.txt"))
    [call] = tool_call_deltas(chunks)
    assert call["function"] == {"name": "get_country", "arguments": "{}"}


def test_recitation_ends_with_content_filter() -> None:
    _, chunks = run(stream("stream-sse-recitation.txt"))
    assert joined(chunks, "content") == "".join(f"text{i}" for i in range(1, 9))
    assert choices(chunks)[-1] == {"index": 0, "delta": {}, "finish_reason": "content_filter"}


def test_max_tokens_recording_ends_with_length() -> None:
    _, chunks = run(stream("jsgenai-recordings/stream-max-tokens.recording.json"))
    assert choices(chunks)[-1]["finish_reason"] == "length"


def test_final_event_without_parts_still_finishes() -> None:
    _, chunks = run(stream("stream-sse-final-event-without-parts.txt"))
    assert choices(chunks)[-1] == {"index": 0, "delta": {}, "finish_reason": "stop"}


# --- synthetic events -----------------------------------------------------------------------------


def two_candidates(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each event with a second candidate (index 1) whose text is upper-cased."""
    out = []
    for original in events:
        doubled = copy.deepcopy(original)
        second = copy.deepcopy(doubled["candidates"][0])
        second["index"] = 1
        for part in second["content"]["parts"]:
            part["text"] = part["text"].upper()
        doubled["candidates"].append(second)
        out.append(doubled)
    return out


def test_multiple_candidates_become_separate_choices() -> None:
    events = two_candidates(stream("stream-sse-text.txt"))
    translator, chunks = run(events)
    assert [[c["index"] for c in chunk["choices"]] for chunk in chunks] == [[0, 1]] * 3
    for index in (0, 1):
        assert choices(chunks, index)[0]["delta"]["role"] == "assistant"
        assert all("role" not in c["delta"] for c in choices(chunks, index)[1:])
        assert joined(chunks, "content", index) == recorded_text(events, False, index)
        assert [c["finish_reason"] for c in choices(chunks, index)] == [None, None, "stop"]
    assert joined(chunks, "content", 1) == "THE CAPITAL OF FRANCE IS PARIS.\n"
    assert translator.finish() is None


def test_unfinished_second_candidate_makes_the_stream_incomplete() -> None:
    events = two_candidates(stream("stream-sse-text.txt"))
    del events[-1]["candidates"][1]["finishReason"]
    translator, _ = run(events)
    with pytest.raises(AdapterError) as caught:
        translator.finish()
    assert caught.value.status == 502


def test_candidate_without_index_is_choice_zero() -> None:
    _, chunks = run([{"candidates": [{"content": {"parts": [{"text": "hi"}]}}]}])
    assert chunks[0]["choices"][0]["index"] == 0


@pytest.mark.parametrize("quiet", [
    {},
    {"candidates": []},
    {"usageMetadata": {"promptTokenCount": 3}},
    {"promptFeedback": {"safetyRatings": []}},
    {"candidates": [{"content": {"role": "model"}, "index": 0}], "someFutureField": {"x": 1}},
    {"candidates": [{"content": {}, "index": 0, "groundingMetadata": {}}]},
    {"candidates": [{"index": 0, "citationMetadata": {"citationSources": []}}]},
    {"candidates": [candidate({"text": ""}, {"text": "", "thoughtSignature": "c2ln"})]},
    {"candidates": [candidate({"unknownPart": True})]},
    {"candidates": [candidate({"inlineData": {"mimeType": "image/png", "data": "AA=="},
                               "thought": True})]},
], ids=["empty", "no-candidates", "usage-only", "feedback-without-block", "no-parts",
        "empty-content", "no-content", "empty-texts", "unknown-parts", "thought-image"])
def test_events_with_nothing_to_say_produce_no_chunk(quiet: dict[str, Any]) -> None:
    translator = StreamTranslator(MODEL, CREATED)
    assert translator.translate(quiet) is None
    chunk = translator.translate(event(candidate({"text": "x"})))
    assert chunk is not None
    assert chunk["choices"][0]["delta"] == {"role": "assistant", "content": "x"}


def test_role_is_sent_once_even_after_quiet_events() -> None:
    translator, chunks = run([
        event(candidate()),
        event(candidate({"text": "a"})),
        event(candidate({"text": ""})),
        event(candidate({"text": "b"}, finishReason="STOP")),
    ])
    assert [c["delta"] for c in choices(chunks)] == [
        {"role": "assistant", "content": "a"}, {"content": "b"}]
    assert translator.finish() is None


def test_thought_and_answer_in_one_event_split_by_key() -> None:
    _, [chunk] = run([event(candidate(
        {"text": "think ", "thought": True}, {"text": "more", "thought": True},
        {"text": "answer"}, {"text": " here"}))])
    assert chunk["choices"][0]["delta"] == {
        "role": "assistant", "reasoning_content": "think more", "content": "answer here"}


def test_first_delta_with_only_reasoning_has_empty_content() -> None:
    _, [chunk] = run([event(candidate({"text": "hmm", "thought": True}))])
    assert chunk["choices"][0]["delta"] == {
        "role": "assistant", "reasoning_content": "hmm", "content": ""}


def test_tool_call_arguments_keep_non_ascii() -> None:
    args = {"city": "Zürich", "note": "東京 ✓", "nested": {"list": [1, "é"]}}
    _, [chunk] = run([event(candidate(call_part("weather", args=args), finishReason="STOP"))])
    [call] = chunk["choices"][0]["delta"]["tool_calls"]
    assert "Zürich" in call["function"]["arguments"]
    assert "東京 ✓" in call["function"]["arguments"]
    assert "\\u" not in call["function"]["arguments"]
    assert orjson.loads(call["function"]["arguments"]) == args
    assert chunk["choices"][0]["finish_reason"] == "tool_calls"


def test_tool_call_without_args_or_id() -> None:
    _, [chunk] = run([event(candidate(call_part("ping"), call_part("pong", id="given")))])
    first, second = chunk["choices"][0]["delta"]["tool_calls"]
    assert first["function"] == {"name": "ping", "arguments": "{}"}
    assert GENERATED_CALL_ID.fullmatch(first["id"])
    assert second["id"] == "call_given__g"
    assert (first["index"], second["index"]) == (0, 1)


def test_tool_call_indexes_are_counted_per_choice() -> None:
    _, [chunk] = run([event(candidate(call_part("a"), call_part("b")),
                            candidate(call_part("c"), index=1))])
    by_choice = {c["index"]: [t["index"] for t in c["delta"]["tool_calls"]]
                 for c in chunk["choices"]}
    assert by_choice == {0: [0, 1], 1: [0]}


@pytest.mark.parametrize(("reason", "expected"), [
    ("STOP", "tool_calls"), ("MAX_TOKENS", "length"), ("SAFETY", "content_filter"),
    ("OTHER", "tool_calls"),
])
def test_finish_reason_after_an_earlier_tool_call(reason: str, expected: str) -> None:
    _, chunks = run([event(candidate(call_part("f", args={}))),
                     event(candidate(finishReason=reason))])
    assert choices(chunks)[-1]["finish_reason"] == expected


@pytest.mark.parametrize(("reason", "expected"), [
    ("STOP", "stop"), ("MAX_TOKENS", "length"), ("SAFETY", "content_filter"),
    ("RECITATION", "content_filter"), ("PROHIBITED_CONTENT", "content_filter"),
    ("OTHER", "stop"),
])
def test_finish_reason_without_tool_calls(reason: str, expected: str) -> None:
    _, chunks = run([event(candidate({"text": "x"}, finishReason=reason))])
    assert choices(chunks)[-1]["finish_reason"] == expected


def test_logprobs_result_is_translated_on_the_choice() -> None:
    result = {"chosenCandidates": [{"token": "Hi", "logProbability": -0.5}],
              "topCandidates": [{"candidates": [{"token": "Hi", "logProbability": -0.5},
                                                {"token": "Hey", "logProbability": -1.5}]}]}
    _, chunks = run([event(candidate({"text": "Hi"}, logprobsResult=result)),
                     event(candidate(finishReason="STOP", logprobsResult={}))])
    first, last = choices(chunks)
    [entry] = first["logprobs"]["content"]
    assert entry["token"] == "Hi"
    assert entry["logprob"] == -0.5
    assert [alt["token"] for alt in entry["top_logprobs"]] == ["Hi", "Hey"]
    assert last["logprobs"] == {"content": [], "refusal": None}


def test_choice_without_logprobs_has_no_logprobs_key() -> None:
    _, [chunk] = run([event(candidate({"text": "x"}))])
    assert "logprobs" not in chunk["choices"][0]


def test_usage_metadata_is_the_latest_seen() -> None:
    translator, _ = run([
        event(candidate({"text": "a"}), usageMetadata={"promptTokenCount": 1}),
        {"usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": 2,
                           "totalTokenCount": 9}},
        event(candidate(finishReason="STOP")),
    ], include_usage=True)
    assert translator.finish()["usage"]["total_tokens"] == 9


def test_random_id_when_no_response_id_is_shared_by_all_chunks() -> None:
    events = [{"candidates": [candidate({"text": t})]} for t in "abc"]
    _, chunks = run(events)
    ids = {chunk["id"] for chunk in chunks}
    assert len(ids) == 1
    assert re.fullmatch(r"chatcmpl-[0-9a-f]{32}", ids.pop())
    _, again = run(events)
    assert again[0]["id"] != chunks[0]["id"]


def test_no_events_at_all_is_incomplete() -> None:
    with pytest.raises(AdapterError) as caught:
        StreamTranslator(MODEL, CREATED, include_usage=True).finish()
    assert caught.value.status == 502
    assert caught.value.body()["error"]["type"] == "server_error"


def test_parts_with_no_openai_form_are_named_for_the_log() -> None:
    translator = StreamTranslator(MODEL, CREATED)
    translator.translate({"candidates": [candidate(
        {"text": "hi", "thoughtSignature": "c2ln"},
        {"fileData": {"fileUri": "gs://x"}, "thoughtSignature": "c2ln"},
        {"futurePart": {}, "thought": True})]})
    assert translator.skipped == {"fileData", "futurePart"}
