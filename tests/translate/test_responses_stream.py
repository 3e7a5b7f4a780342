"""ResponsesEmitter over the chat chunks of recorded Gemini streams: the Responses event sequence
and final response, checked against the installed OpenAI SDK's models and its own accumulator."""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest
from openai.types.responses import Response, ResponseUsage

from adapter.translate import tool_ids
from adapter.translate.errors import AdapterError, from_gemini_error
from adapter.translate.responses_request import responses_call
from adapter.translate.responses_stream import ResponsesEmitter, responses_usage
from adapter.translate.stream import StreamTranslator

from .helpers import (
    CREATED,
    FIXTURES,
    MODEL,
    Run,
    accumulate,
    call_part,
    candidate,
    emit,
    event,
    expected_citations,
    expected_usage,
    name_of,
    plain,
    recorded_calls,
    recorded_signatures,
    recorded_text,
    recording,
    validate_event,
)

TEXT = FIXTURES / "stream-sse-text.txt"
THINKING = FIXTURES / "stream-sse-thinking-thoughts-long.txt"
PARALLEL = FIXTURES / "stream-sse-tool-calls-parallel.txt"
ONE_CALL = FIXTURES / "stream-sse-tool-call.txt"
TEXT_THEN_CALL = FIXTURES / "vercel-chunks/derived-sse/issue-10781.1.sse.txt"
GROUNDED = FIXTURES / "stream-sse-grounding-google-search.txt"
MAX_TOKENS = FIXTURES / "generate-content-max-tokens.json"
BLOCKED = FIXTURES / "stream-sse-prompt-blocked-safety.txt"

# recording -> (terminal event, incomplete reason, output item types)
EXPECTED: dict[Path, tuple[str, str | None, list[str]]] = {
    TEXT: ("response.completed", None, ["message"]),
    THINKING: ("response.completed", None, ["reasoning", "message"]),
    PARALLEL: ("response.completed", None, ["function_call", "function_call"]),
    ONE_CALL: ("response.completed", None, ["function_call"]),
    TEXT_THEN_CALL: ("response.completed", None, ["message", "function_call"]),
    GROUNDED: ("response.completed", None, ["message"]),
    MAX_TOKENS: ("response.incomplete", "max_output_tokens", ["message"]),
    BLOCKED: ("response.incomplete", "content_filter", []),
}
RECORDINGS = list(EXPECTED)
USAGE_RECORDINGS = [*RECORDINGS, FIXTURES / "generate-content-cached-content-tokens.json",
                    FIXTURES / "generate-content-implicit-cache-tokens.json",
                    FIXTURES / "stream-sse-text-usage-thoughts-tokens.txt"]
LIFECYCLE = ("response.created", "response.in_progress", "response.completed",
             "response.incomplete", "response.failed")


def run_of(path: Path, custom_tools: set[str] | None = None) -> Run:
    return emit(recording(path), custom_tools)


def item_events(run: Run) -> list[dict[str, Any]]:
    """The events about output items (the lifecycle events are validated per recording)."""
    return [e for e in run.events if e["type"] not in LIFECYCLE]


def items(response: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [item for item in response["output"] if item["type"] == kind]


def output_text(response: dict[str, Any]) -> str:
    return "".join(part["text"] for item in items(response, "message")
                   for part in item["content"] if part["type"] == "output_text")


# --- the event sequence -------------------------------------------------------------------------

@pytest.mark.parametrize("path", RECORDINGS, ids=name_of)
def test_sequence_numbers_count_from_zero(path: Path) -> None:
    run = run_of(path)
    assert [e["sequence_number"] for e in run.events] == list(range(len(run.events)))
    assert run.emitter.sequence == len(run.events)


@pytest.mark.parametrize("path", RECORDINGS, ids=name_of)
def test_lifecycle_events_open_and_close_the_stream(path: Path) -> None:
    run = run_of(path)
    terminal, reason, _ = EXPECTED[path]
    kinds = [e["type"] for e in run.events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == terminal
    assert [k for k in kinds if k in LIFECYCLE] == ["response.created", "response.in_progress",
                                                    terminal]
    for opening in run.events[:2]:
        assert opening["response"]["status"] == "in_progress"
        assert opening["response"]["output"] == []
        assert opening["response"]["usage"] is None
    assert len({e["response"]["id"] for e in run.events if e["type"] in LIFECYCLE}) == 1
    final = run.events[-1]["response"]
    assert final == run.response
    assert final["status"] == ("completed" if reason is None else "incomplete")
    assert final["incomplete_details"] == (None if reason is None else {"reason": reason})
    assert final["error"] is None


@pytest.mark.parametrize("path", RECORDINGS, ids=name_of)
def test_every_event_validates_against_the_sdk(path: Path) -> None:
    for event_ in run_of(path).events:
        validate_event(event_)


@pytest.mark.parametrize("path", RECORDINGS, ids=name_of)
def test_events_are_not_changed_after_they_are_sent(path: Path) -> None:
    run = run_of(path)
    assert [orjson.dumps(e) for e in run.returned] == run.wire


@pytest.mark.parametrize("path", RECORDINGS, ids=name_of)
def test_output_items_match_the_recording(path: Path) -> None:
    run = run_of(path)
    assert [item["type"] for item in run.response["output"]] == EXPECTED[path][2]
    ids = [item["id"] for item in run.response["output"]]
    assert len(set(ids)) == len(ids)
    prefixes = {"message": "msg_", "reasoning": "rs_", "function_call": "fc_"}
    for item in run.response["output"]:
        assert item["id"].startswith(prefixes[item["type"]])
        if item["type"] in ("message", "function_call"):
            # the message an answer cut short ends in is as incomplete as the response
            assert item["status"] == run.response["status"]
    assert run.response["id"].startswith("resp_")
    assert run.response["object"] == "response"
    assert run.response["model"] == MODEL
    assert isinstance(run.response["created_at"], int)


# --- the SDK's accumulator ----------------------------------------------------------------------

@pytest.mark.parametrize("path", RECORDINGS, ids=name_of)
def test_sdk_accumulator_ends_with_our_response(path: Path) -> None:
    run = run_of(path)
    state, fired = accumulate(run.events)
    terminal = fired[-1]
    assert terminal.type == EXPECTED[path][0]
    assert plain(terminal.response) == run.response
    if terminal.type == "response.completed":
        assert state._completed_response is not None
        assert plain(state._completed_response) == run.response
    assert terminal.response.output_text == output_text(run.response)


@pytest.mark.parametrize("path", RECORDINGS, ids=name_of)
def test_done_items_alone_rebuild_the_output(path: Path) -> None:
    """With the terminal response's `output` left out, the SDK recovers it from the
    output_item.done events: they describe the same output."""
    run = run_of(path)
    events = orjson.loads(orjson.dumps(run.events))
    del events[-1]["response"]["output"]
    _, fired = accumulate(events)
    assert plain(fired[-1].response)["output"] == run.response["output"]


@pytest.mark.parametrize("path", RECORDINGS, ids=name_of)
def test_sdk_running_snapshot_agrees_with_the_done_items(path: Path) -> None:
    """The SDK builds each message and function call from output_item.added, content_part.added
    and the deltas; what it builds must be what output_item.done then says."""
    run = run_of(path)
    state, _ = accumulate(run.events)
    snapshot = state._ResponseStreamState__current_snapshot  # type: ignore[attr-defined]
    assert len(snapshot.output) == len(run.response["output"])
    for built, done in zip(snapshot.output, run.response["output"], strict=True):
        built = built.to_dict()
        assert built["id"] == done["id"]
        if done["type"] == "message":
            assert [(p["type"], p["text"]) for p in built["content"]] == \
                [(p["type"], p["text"]) for p in done["content"]]
        elif done["type"] == "function_call":
            assert built["arguments"] == done["arguments"]


@pytest.mark.parametrize("path", RECORDINGS, ids=name_of)
def test_items_are_announced_empty(path: Path) -> None:
    """output_item.added carries the item before any content: a message's parts arrive with
    content_part.added and a reasoning item's with reasoning_summary_part.added, so the added
    item has none (as the OpenAI API sends it: `"content": []`, `"summary": []`)."""
    run = run_of(path)
    for added in run.of("response.output_item.added"):
        item = added["item"]
        assert item.get("status", "in_progress") == "in_progress"
        if item["type"] == "message":
            assert item["content"] == []
        elif item["type"] == "reasoning":
            assert item["summary"] == []
        elif item["type"] == "function_call":
            assert item["arguments"] == ""


# --- items, their events and their text ---------------------------------------------------------

@pytest.mark.parametrize("path", RECORDINGS, ids=name_of)
def test_added_and_done_pair_up_per_output_index(path: Path) -> None:
    run = run_of(path)
    output = run.response["output"]
    added = run.of("response.output_item.added")
    done = run.of("response.output_item.done")
    assert [e["output_index"] for e in added] == list(range(len(output)))
    assert [e["output_index"] for e in done] == list(range(len(output)))
    position = {id(e): i for i, e in enumerate(run.events)}
    for index, (start, end) in enumerate(zip(added, done, strict=True)):
        assert start["item"]["id"] == end["item"]["id"] == output[index]["id"]
        assert start["item"]["type"] == end["item"]["type"] == output[index]["type"]
        assert end["item"] == output[index]
        # the item's own events lie between its added and done, and name it
        inner = run.events[position[id(start)] + 1:position[id(end)]]
        assert all(e["output_index"] == index and e.get("item_id") == start["item"]["id"]
                   for e in inner)
        if index + 1 < len(added):
            assert position[id(end)] < position[id(added[index + 1])]
    item_events = [e for e in run.events if "output_index" in e]
    assert all(e["output_index"] < len(output) for e in item_events)


@pytest.mark.parametrize("path", RECORDINGS, ids=name_of)
def test_deltas_add_up_to_the_done_events_and_the_final_items(path: Path) -> None:
    run = run_of(path)
    by_item: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for e in run.events:
        if "item_id" in e:
            by_item[e["item_id"]][e["type"]].append(e)
    for item in run.response["output"]:
        got = by_item[item["id"]]
        if item["type"] == "message":
            [part] = item["content"]
            text = "".join(d["delta"] for d in got["response.output_text.delta"])
            assert text == part["text"]
            assert [e["text"] for e in got["response.output_text.done"]] == [text]
            assert [e["part"] for e in got["response.content_part.done"]] == [part]
            assert [e["part"]["text"] for e in got["response.content_part.added"]] == [""]
            assert all(e["content_index"] == 0 for kind in got.values() for e in kind
                       if "content_index" in e)
        elif item["type"] == "reasoning":
            [summary] = item["summary"]
            text = "".join(d["delta"] for d in got["response.reasoning_summary_text.delta"])
            assert text == summary["text"]
            assert [e["text"] for e in got["response.reasoning_summary_text.done"]] == [text]
            assert [e["part"] for e in got["response.reasoning_summary_part.done"]] == [summary]
            assert [e["part"]["text"] for e in got["response.reasoning_summary_part.added"]] \
                == [""]
        elif item["type"] == "function_call":
            deltas = "".join(d["delta"] for d in got["response.function_call_arguments.delta"])
            [done] = got["response.function_call_arguments.done"]
            assert deltas == done["arguments"] == item["arguments"]
            assert done["name"] == item["name"]


@pytest.mark.parametrize("path", RECORDINGS, ids=name_of)
def test_output_text_is_the_answer_without_thoughts(path: Path) -> None:
    run = run_of(path)
    answer = recorded_text(run.gemini, thought=False)
    assert output_text(run.response) == answer
    for item in items(run.response, "message"):
        assert item["role"] == "assistant"
        assert [p["type"] for p in item["content"]] == ["output_text"]


@pytest.mark.parametrize("path", RECORDINGS, ids=name_of)
def test_reasoning_summary_is_the_thought_text(path: Path) -> None:
    run = run_of(path)
    thoughts = recorded_text(run.gemini, thought=True)
    reasoning = items(run.response, "reasoning")
    summary = "".join(s["text"] for item in reasoning for s in item["summary"])
    assert summary == thoughts
    if not thoughts:
        assert reasoning == []
        assert not any("reasoning" in e["type"] for e in run.events)
    answer = output_text(run.response)
    for part in recorded_text(run.gemini, thought=True).split("\n\n"):
        if part.strip():
            assert part not in answer


def test_thinking_recording_has_thoughts_then_answer() -> None:
    run = run_of(THINKING)
    [reasoning, message] = run.response["output"]
    assert reasoning["summary"][0]["text"].startswith("**Clarifying User Goals**")
    assert message["content"][0]["text"].startswith("This is a great question!")
    assert "Clarifying User Goals" not in output_text(run.response)


@pytest.mark.parametrize("path", [PARALLEL, ONE_CALL, TEXT_THEN_CALL], ids=name_of)
def test_function_call_items_carry_the_recorded_calls(path: Path) -> None:
    run = run_of(path)
    calls = items(run.response, "function_call")
    recorded = recorded_calls(run.gemini)
    signatures = recorded_signatures(run.gemini)
    assert len(calls) == len(recorded) > 0
    for item, call, signature in zip(calls, recorded, signatures, strict=True):
        assert item["type"] == "function_call"
        assert item["status"] == "completed"
        assert item["name"] == call["name"]
        assert orjson.loads(item["arguments"]) == call.get("args", {})
        assert tool_ids.decode(item["call_id"]) == (call.get("id"), signature)
    assert len({item["call_id"] for item in calls}) == len(calls)


def test_parallel_calls_in_detail() -> None:
    run = run_of(PARALLEL)
    calls = items(run.response, "function_call")
    assert [(c["name"], orjson.loads(c["arguments"])) for c in calls] == [
        ("add", {"a": 2, "b": 3}), ("multiply", {"a": 2, "b": 3})]
    assert output_text(run.response) == ""


def test_text_then_call_keeps_both_in_order() -> None:
    run = run_of(TEXT_THEN_CALL)
    [message, call] = run.response["output"]
    assert message["content"][0]["text"] == "Let me check."
    assert call["name"] == "get_weather"
    assert orjson.loads(call["arguments"]) == {"city": "San Francisco"}
    assert tool_ids.decode(call["call_id"])[0] == "g1bmv6il"
    # the message closes before the call opens
    kinds = [e["type"] for e in run.events]
    assert kinds.index("response.output_text.done") < kinds.index(
        "response.function_call_arguments.delta")


def test_call_without_arguments_has_an_empty_object() -> None:
    run = emit([event(candidate(call_part("now"), finishReason="STOP"))])
    [item] = run.response["output"]
    assert item["arguments"] == "{}"
    [done] = run.of("response.function_call_arguments.done")
    assert done["arguments"] == "{}"
    state, _ = accumulate(run.events)
    assert state._completed_response is not None


# --- annotations --------------------------------------------------------------------------------

def test_url_citations_are_annotations_on_the_output_text() -> None:
    run = run_of(GROUNDED)
    [message] = run.response["output"]
    part = message["content"][0]
    text = part["text"]
    annotations = part["annotations"]
    [metadata] = [c["groundingMetadata"] for e in run.gemini for c in e.get("candidates", ())
                  if c.get("groundingMetadata")]
    assert [(text[a["start_index"]:a["end_index"]], a["url"], a["title"])
            for a in annotations] == expected_citations(metadata)
    for annotation in annotations:
        assert set(annotation) == {"type", "url", "title", "start_index", "end_index"}
        assert annotation["type"] == "url_citation"
        assert 0 <= annotation["start_index"] < annotation["end_index"] <= len(text)
    added = run.of("response.output_text.annotation.added")
    assert [e["annotation"] for e in added] == annotations
    assert [e["annotation_index"] for e in added] == list(range(len(annotations)))
    assert all(e["item_id"] == message["id"] and e["output_index"] == 0
               and e["content_index"] == 0 for e in added)
    kinds = [e["type"] for e in run.events]
    assert kinds.index("response.output_text.annotation.added") < kinds.index(
        "response.output_text.done")
    _, fired = accumulate(run.events)
    sdk_part = fired[-1].response.output[0].content[0]
    assert [a.url for a in sdk_part.annotations] == [a["url"] for a in annotations]


def grounding(text: str, url: str) -> dict[str, Any]:
    """groundingMetadata citing `url` for the whole of `text`."""
    return {"groundingChunks": [{"web": {"uri": url, "title": "Source"}}],
            "groundingSupports": [{"segment": {"startIndex": 0, "endIndex": len(text.encode())},
                                   "groundingChunkIndices": [0]}]}


def test_annotations_index_into_their_own_message_text() -> None:
    """Grounding offsets count over the whole candidate text; when a thought splits the answer
    into two messages, the second message's annotations must still index into its own text."""
    first, second = "Intro text. ", "Grounded claim."
    metadata = {"groundingChunks": [{"web": {"uri": "https://s.test", "title": "S"}}],
                "groundingSupports": [{"segment": {"startIndex": len(first),
                                                   "endIndex": len(first + second),
                                                   "text": second},
                                       "groundingChunkIndices": [0]}]}
    run = emit([
        event(candidate({"text": "plan", "thought": True})),
        event(candidate({"text": first})),
        event(candidate({"text": "more plan", "thought": True})),
        event(candidate({"text": second}, finishReason="STOP", groundingMetadata=metadata)),
    ])
    assert [i["type"] for i in run.response["output"]] == ["reasoning", "message", "reasoning",
                                                           "message"]
    last = run.response["output"][3]["content"][0]
    assert last["text"] == second
    [annotation] = last["annotations"]
    assert last["text"][annotation["start_index"]:annotation["end_index"]] == second


def test_annotations_without_an_open_message_are_not_sent() -> None:
    metadata = grounding("x", "https://s.test")
    run = emit([event(candidate(call_part("f", args={}), finishReason="STOP",
                                groundingMetadata=metadata))])
    assert run.of("response.output_text.annotation.added") == []
    assert [i["type"] for i in run.response["output"]] == ["function_call"]


# --- usage --------------------------------------------------------------------------------------

def last_usage_metadata(gemini: list[dict[str, Any]]) -> dict[str, Any]:
    metas = [e["usageMetadata"] for e in gemini if "usageMetadata" in e]
    return metas[-1] if metas else {}


@pytest.mark.parametrize("path", USAGE_RECORDINGS, ids=name_of)
def test_usage_maps_the_recorded_token_counts(path: Path) -> None:
    run = run_of(path)
    meta = last_usage_metadata(run.gemini)
    chat = expected_usage(meta)
    usage = run.response["usage"]
    assert usage["input_tokens"] == chat["prompt_tokens"] == \
        meta.get("promptTokenCount", 0) + meta.get("toolUsePromptTokenCount", 0)
    assert usage["input_tokens_details"]["cached_tokens"] == meta.get("cachedContentTokenCount",
                                                                      0)
    assert usage["output_tokens"] == \
        meta.get("candidatesTokenCount", 0) + meta.get("thoughtsTokenCount", 0)
    assert usage["output_tokens_details"] == {"reasoning_tokens":
                                              meta.get("thoughtsTokenCount", 0)}
    assert usage["total_tokens"] == chat["total_tokens"]
    for opening in run.events[:2]:
        assert opening["response"]["usage"] is None
    assert run.events[-1]["response"]["usage"] == usage


def test_usage_of_the_cached_recording_in_numbers() -> None:
    usage = run_of(FIXTURES / "generate-content-cached-content-tokens.json").response["usage"]
    assert usage["input_tokens"] == 3520
    assert usage["input_tokens_details"]["cached_tokens"] == 3512
    assert usage["output_tokens"] == 44  # 2 answer + 42 thinking
    assert usage["output_tokens_details"]["reasoning_tokens"] == 42
    assert usage["total_tokens"] == 3564


def test_usage_of_the_grounded_recording_counts_tool_use_prompt_as_input() -> None:
    usage = run_of(GROUNDED).response["usage"]
    assert usage["input_tokens"] == 17 + 102
    assert usage["output_tokens"] == 241 + 412
    assert usage["total_tokens"] == 772


@pytest.mark.parametrize("path", USAGE_RECORDINGS, ids=name_of)
def test_usage_validates_against_the_sdk_usage_model(path: Path) -> None:
    usage = run_of(path).response["usage"]
    model = ResponseUsage.model_validate(usage)
    assert model.output_tokens_details.reasoning_tokens == \
        usage["output_tokens_details"]["reasoning_tokens"]
    assert model.input_tokens_details.cached_tokens == \
        usage["input_tokens_details"]["cached_tokens"]


def test_responses_usage_from_chat_usage() -> None:
    usage = responses_usage({
        "prompt_tokens": 10, "completion_tokens": 7, "total_tokens": 17,
        "prompt_tokens_details": {"cached_tokens": 4},
        "completion_tokens_details": {"reasoning_tokens": 5}})
    assert usage["input_tokens"] == 10
    assert usage["input_tokens_details"]["cached_tokens"] == 4
    assert usage["output_tokens"] == 7
    assert usage["output_tokens_details"] == {"reasoning_tokens": 5}
    assert usage["total_tokens"] == 17


@pytest.mark.parametrize("chat_usage", [None, {}, {"prompt_tokens": 3, "completion_tokens": 2,
                                                   "total_tokens": 5},
                                        {"prompt_tokens": 3, "prompt_tokens_details": None,
                                         "completion_tokens_details": None}])
def test_responses_usage_always_has_every_count(chat_usage: dict[str, Any] | None) -> None:
    usage = responses_usage(chat_usage)
    assert set(usage) == {"input_tokens", "input_tokens_details", "output_tokens",
                          "output_tokens_details", "total_tokens"}
    assert usage["output_tokens_details"]["reasoning_tokens"] == 0
    assert usage["input_tokens_details"]["cached_tokens"] == 0
    assert usage["input_tokens"] == (chat_usage or {}).get("prompt_tokens", 0)
    assert usage["total_tokens"] == (chat_usage or {}).get("total_tokens", 0)


# --- incomplete answers -------------------------------------------------------------------------

def test_max_tokens_is_incomplete_with_the_partial_answer() -> None:
    run = run_of(MAX_TOKENS)
    assert run.response["status"] == "incomplete"
    assert run.response["incomplete_details"] == {"reason": "max_output_tokens"}
    assert output_text(run.response) == "The capital of France is"
    assert run.of("response.completed") == []


@pytest.mark.parametrize("path", RECORDINGS, ids=name_of)
def test_completed_at_only_when_completed(path: Path) -> None:
    run = run_of(path)
    for opening in run.events[:2]:
        assert opening["response"]["completed_at"] is None
    final = run.response
    if final["status"] == "completed":
        assert isinstance(final["completed_at"], int)
        assert final["created_at"] <= final["completed_at"] <= time.time()
        assert Response.model_validate(final).completed_at == final["completed_at"]
    else:
        assert final["completed_at"] is None


@pytest.mark.parametrize("finish", ["MAX_TOKENS", "SAFETY"])
def test_the_message_cut_short_is_incomplete(finish: str) -> None:
    """The message the answer stopped in says `incomplete` (its done events too); a call
    closed before it stays completed."""
    run = emit([event(candidate(call_part("lookup", args={"q": "x"}))),
                event(candidate({"text": "Half an ans"}, finishReason=finish))])
    call, message = run.response["output"]
    assert run.response["status"] == "incomplete"
    assert (call["status"], message["status"]) == ("completed", "incomplete")
    assert run.of("response.output_item.done")[-1]["item"]["status"] == "incomplete"
    _, fired = accumulate(run.events)
    assert fired[-1].response.output[1].status == "incomplete"


def test_tools_in_the_response_are_normalised_in_every_lifecycle_event() -> None:
    """The response repeats the request's tools as OpenAI does: a function with `description`,
    `parameters` and `strict` present (null when not sent), in created, in_progress and
    completed alike."""
    tools = [{"type": "function", "name": "now"},
             {"type": "custom", "name": "run_python", "description": "Runs code."}]
    echo = responses_call({"model": MODEL, "input": "hi", "tools": tools}, []).echo
    run = emit([event(candidate({"text": "Hi"}, finishReason="STOP"))], echo=echo)
    lifecycle = [e for e in run.events if e["type"] in LIFECYCLE]
    assert len(lifecycle) == 3
    for event_ in lifecycle:
        assert event_["response"]["tools"] == [
            {"type": "function", "name": "now", "description": None, "parameters": None,
             "strict": None},
            {"type": "custom", "name": "run_python", "description": "Runs code.",
             "format": {"type": "text"}}]
        validate_event(event_)


def test_prompt_blocked_is_incomplete_with_no_output() -> None:
    run = run_of(BLOCKED)
    assert [e["type"] for e in run.events] == ["response.created", "response.in_progress",
                                               "response.incomplete"]
    assert run.response["output"] == []
    assert run.response["incomplete_details"] == {"reason": "content_filter"}
    assert run.response["usage"]["output_tokens"] == 0


def test_safety_stop_after_text_is_incomplete_content_filter() -> None:
    run = emit([event(candidate({"text": "Some"})),
                event(candidate({"text": " words"}, finishReason="SAFETY"))])
    assert run.response["status"] == "incomplete"
    assert run.response["incomplete_details"] == {"reason": "content_filter"}
    assert output_text(run.response) == "Some words"
    _, fired = accumulate(run.events)
    assert fired[-1].type == "response.incomplete"


# --- custom tools -------------------------------------------------------------------------------

def test_custom_tool_call_item_carries_the_input() -> None:
    code = 'print("hello")\nfor i in range(3):\n    print(i)'
    run = emit([event(candidate(call_part("run_python", args={"input": code}, id="c1"),
                                finishReason="STOP"))], custom_tools={"run_python"})
    [item] = run.response["output"]
    assert item["type"] == "custom_tool_call"
    assert item["id"].startswith("ctc_")
    assert item["name"] == "run_python"
    assert item["input"] == code
    assert tool_ids.decode(item["call_id"]) == ("c1", None)
    assert "arguments" not in item
    assert "status" not in item  # the spec's custom_tool_call declares none
    [delta] = run.of("response.custom_tool_call_input.delta")
    [done] = run.of("response.custom_tool_call_input.done")
    assert delta["delta"] == done["input"] == code
    assert delta["item_id"] == done["item_id"] == item["id"]
    assert delta["output_index"] == done["output_index"] == 0
    [added] = run.of("response.output_item.added")
    assert added["item"]["input"] == ""
    assert "status" not in added["item"]
    assert run.of("response.function_call_arguments.delta") == []
    for event_ in item_events(run):
        validate_event(event_)


def test_custom_tool_call_is_accepted_by_the_sdk_accumulator() -> None:
    run = emit([event(candidate(call_part("run_python", args={"input": "1+1"}),
                                finishReason="STOP"))], custom_tools={"run_python"})
    _, fired = accumulate(run.events)
    assert plain(fired[-1].response) == run.response
    assert fired[-1].response.output[0].type == "custom_tool_call"
    assert fired[-1].response.output[0].input == "1+1"


def test_custom_and_function_calls_in_one_turn() -> None:
    run = emit([event(candidate({"text": "Running."},
                                call_part("lookup", args={"q": "x"}),
                                call_part("run_python", args={"input": "x = 1"}),
                                finishReason="STOP"))], custom_tools={"run_python"})
    assert [i["type"] for i in run.response["output"]] == ["message", "function_call",
                                                           "custom_tool_call"]
    assert run.response["output"][2]["input"] == "x = 1"
    assert run.response["status"] == "completed"
    _, fired = accumulate(run.events)
    assert plain(fired[-1].response) == run.response


def test_custom_tool_call_without_input_has_empty_input() -> None:
    run = emit([event(candidate(call_part("run_python"), finishReason="STOP"))],
               custom_tools={"run_python"})
    [item] = run.response["output"]
    assert item["type"] == "custom_tool_call"
    assert item["input"] == ""


def test_a_recorded_call_to_a_custom_tool() -> None:
    run = run_of(ONE_CALL, custom_tools={"weather"})
    [item] = run.response["output"]
    assert item["type"] == "custom_tool_call" and item["name"] == "weather"
    assert item["input"] == ""  # the recorded call has no `input` argument


def test_calls_to_other_tools_stay_function_calls() -> None:
    run = run_of(ONE_CALL, custom_tools={"something_else"})
    assert [i["type"] for i in run.response["output"]] == ["function_call"]


# --- more than one item of a kind, and other choices ---------------------------------------------

def test_interleaved_thoughts_and_text_make_separate_items() -> None:
    run = emit([
        event(candidate({"text": "think 1", "thought": True})),
        event(candidate({"text": "answer 1"})),
        event(candidate({"text": "think 2", "thought": True})),
        event(candidate({"text": "answer 2"}, finishReason="STOP")),
    ])
    output = run.response["output"]
    assert [i["type"] for i in output] == ["reasoning", "message", "reasoning", "message"]
    assert output_text(run.response) == "answer 1answer 2"
    assert [i["summary"][0]["text"] for i in items(run.response, "reasoning")] == \
        ["think 1", "think 2"]
    for event_ in item_events(run):
        validate_event(event_)
    _, fired = accumulate(run.events)
    assert plain(fired[-1].response) == run.response


def test_consecutive_text_chunks_stay_in_one_message() -> None:
    run = emit([event(candidate({"text": "a"})), event(candidate({"text": "b"})),
                event(candidate({"text": "c"}, finishReason="STOP"))])
    [message] = run.response["output"]
    assert message["content"][0]["text"] == "abc"
    assert [e["delta"] for e in run.of("response.output_text.delta")] == ["a", "b", "c"]


def test_only_the_first_choice_is_answered() -> None:
    run = emit([event(candidate({"text": "first"}, index=0),
                      candidate({"text": "second"}, index=1)),
                event(candidate({"text": "!"}, index=0, finishReason="STOP"),
                      candidate({"text": "?"}, index=1, finishReason="STOP"))])
    assert output_text(run.response) == "first!"
    assert len(run.response["output"]) == 1


# --- what the response repeats from the request --------------------------------------------------

def test_response_repeats_the_request_fields() -> None:
    tools = [{"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": True},
             {"type": "custom", "name": "c",
              "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}},
             {"type": "web_search"}]
    text = {"format": {"type": "json_schema", "name": "x", "schema": {"type": "object"},
                       "strict": True}}
    call = responses_call({
        "model": MODEL, "input": "hi", "instructions": "Be brief.", "tools": tools,
        "tool_choice": {"type": "function", "name": "f"}, "text": text,
        "reasoning": {"effort": "low", "summary": "auto"}, "max_output_tokens": 99,
        "temperature": 0.5, "top_p": 0.9, "metadata": {"a": "b"}, "user": "u",
        "store": False, "parallel_tool_calls": False, "truncation": "auto",
        "previous_response_id": "resp_0"}, [])
    emitter = ResponsesEmitter(MODEL, call.echo, call.custom_tools)
    created = emitter.start()[0]
    response = created["response"]
    assert response["instructions"] == "Be brief."
    assert response["tools"] == [{**tools[0], "description": None}, {**tools[1],
                                                                      "description": None},
                                 tools[2]]  # normalised: every declared field present
    assert response["tool_choice"] == {"type": "function", "name": "f"}
    assert response["text"] == text
    assert response["reasoning"] == {"effort": "low", "summary": "auto"}
    assert response["max_output_tokens"] == 99
    assert response["temperature"] == 0.5 and response["top_p"] == 0.9
    assert response["metadata"] == {"a": "b"} and response["user"] == "u"
    assert response["store"] is False
    assert response["parallel_tool_calls"] is False
    assert response["truncation"] == "auto"
    assert response["previous_response_id"] == "resp_0"
    model = Response.model_validate(response)
    assert model.tool_choice.type == "function"
    assert [t.type for t in model.tools] == ["function", "custom", "web_search"]
    validate_event(created)


def test_response_defaults_without_request_fields() -> None:
    emitter = ResponsesEmitter(MODEL, {}, set())
    response = emitter.start()[0]["response"]
    assert response["parallel_tool_calls"] is True
    assert response["store"] is True
    assert response["tool_choice"] == "auto"
    assert response["tools"] == []
    assert response["truncation"] == "disabled"
    assert response["text"] == {"format": {"type": "text"}}
    assert response["reasoning"] == {"effort": None, "summary": None}
    assert response["metadata"] == {}
    assert response["instructions"] is None
    Response.model_validate(response)


# --- failures -----------------------------------------------------------------------------------

def started_then_failed(error: AdapterError) -> Run:
    """Some text streamed, then the upstream fails."""
    translator = StreamTranslator(MODEL, CREATED, include_usage=True)
    emitter = ResponsesEmitter(MODEL, {}, set())
    run = Run([], emitter.start(), [], emitter)
    for gemini_event in recording(TEXT)[:2]:  # no finishReason yet
        chunk = translator.translate(gemini_event)
        assert chunk is not None
        run.events += emitter.feed(chunk)
    with pytest.raises(AdapterError) as caught:
        translator.finish()
    assert caught.value.code == "upstream_incomplete"
    run.events = [orjson.loads(orjson.dumps(e)) for e in [*run.events, *emitter.fail(error)]]
    return run


INCOMPLETE = AdapterError("The upstream stream ended before the answer was complete.", 502,
                          code="upstream_incomplete")


def test_fail_gives_response_failed_then_an_error_event() -> None:
    run = started_then_failed(INCOMPLETE)
    kinds = [e["type"] for e in run.events]
    assert kinds[-2:] == ["response.failed", "error"]
    assert "response.output_text.delta" in kinds
    assert [e["sequence_number"] for e in run.events] == list(range(len(run.events)))
    failed, error = run.events[-2:]
    assert failed["response"] == run.response
    assert failed["response"]["status"] == "failed"
    assert failed["response"]["error"]["message"] == INCOMPLETE.message
    assert failed["response"]["error"]["code"]
    assert failed["response"]["id"] == run.events[0]["response"]["id"]
    assert error["message"] == INCOMPLETE.message
    assert error["code"] == "upstream_incomplete"
    assert error["param"] is None
    # the answer so far stays in the failed response
    assert output_text(failed["response"]) == "The capital of France"


def test_failed_stream_is_accepted_by_the_sdk_accumulator() -> None:
    run = started_then_failed(INCOMPLETE)
    _, fired = accumulate(run.events)
    assert [e.type for e in fired[-2:]] == ["response.failed", "error"]
    assert fired[-2].response.status == "failed"
    assert fired[-2].response.error.message == INCOMPLETE.message


def test_fail_without_a_code_says_server_error() -> None:
    run = started_then_failed(AdapterError("boom", 500))
    failed, error = run.events[-2:]
    assert failed["response"]["error"] == {"code": "server_error", "message": "boom"}
    assert error["code"] is None and error["message"] == "boom"
    validate_event(failed)
    validate_event(error)


@pytest.mark.parametrize("error", [
    INCOMPLETE,
    from_gemini_error(429, {"error": {"code": 429, "message": "Quota exceeded.",
                                      "status": "RESOURCE_EXHAUSTED"}}),
    from_gemini_error(503, {"error": {"code": 503, "message": "The model is overloaded.",
                                      "status": "UNAVAILABLE"}}),
    AdapterError("Gemini could not complete the turn (MALFORMED_FUNCTION_CALL): x", 502,
                 code="malformed_function_call"),
], ids=lambda e: e.code)
def test_failure_events_validate_against_the_sdk(error: AdapterError) -> None:
    """response.error.code is an enum in the Responses API (server_error, rate_limit_exceeded,
    ...); the adapter's own codes belong on the `error` event, which takes any string."""
    run = started_then_failed(error)
    failed, error_event = run.events[-2:]
    validate_event(failed)
    validate_event(error_event)
    assert error_event["code"] == error.code
