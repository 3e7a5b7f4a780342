"""Recorded thinking streams through StreamTranslator: thoughts become `reasoning_content`,
never `content`, and thinking tokens are reported as reasoning tokens."""

from __future__ import annotations

from typing import Any

import pytest

from adapter.translate.response import CompletionBuilder

from .helpers import run, stream

# name -> (thoughtsTokenCount, candidatesTokenCount, promptTokenCount, has thought parts)
RECORDINGS = {
    "stream-sse-thinking-thoughts-long.txt": (787, 469, 34, True),
    "stream-sse-thinking-thoughts-tool-call.txt": (62, 14, 54, True),
    "stream-json-array-thinking.txt": (291, 2, 11, True),
    "vercel-chunks/derived-sse/google-reasoning-gemini3.sse.txt": (302, 23, 9, False),
    "vercel-chunks/derived-sse/gemma-4-output-usage.sse.txt": (76, 1, 6, True),
}
NAMES = list(RECORDINGS)


def event_parts(event: dict[str, Any]) -> list[dict[str, Any]]:
    [cand] = event.get("candidates") or [{}]
    return (cand.get("content") or {}).get("parts") or []


def event_text(event: dict[str, Any], thought: bool) -> str:
    return "".join(p.get("text") or "" for p in event_parts(event)
                   if bool(p.get("thought")) == thought)


def all_text(events: list[dict[str, Any]], thought: bool) -> str:
    return "".join(event_text(e, thought) for e in events)


def deltas(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for chunk in chunks:
        [choice] = chunk["choices"]
        assert choice["index"] == 0
        out.append(choice["delta"])
    return out


def joined(chunks: list[dict[str, Any]], key: str) -> str:
    return "".join(d.get(key) or "" for d in deltas(chunks))


@pytest.mark.parametrize("name", NAMES)
def test_recording_thoughts_are_as_expected(name: str) -> None:
    events = stream(name)
    thoughts = all_text(events, thought=True)
    assert bool(thoughts) is RECORDINGS[name][3]
    assert events[-1]["candidates"][0]["finishReason"] == "STOP"


@pytest.mark.parametrize("name", NAMES)
def test_each_events_thoughts_are_its_chunks_reasoning_content(name: str) -> None:
    events = stream(name)
    _, chunks = run(events)
    assert len(chunks) == len(events)  # every recorded event says something
    for recorded, delta in zip(events, deltas(chunks), strict=True):
        thoughts = event_text(recorded, thought=True)
        if thoughts:
            assert delta["reasoning_content"] == thoughts
        else:
            assert "reasoning_content" not in delta
        answer = event_text(recorded, thought=False)
        assert (delta.get("content") or "") == answer


@pytest.mark.parametrize("name", NAMES)
def test_reasoning_content_is_all_the_thoughts_and_content_all_the_answer(name: str) -> None:
    events = stream(name)
    _, chunks = run(events)
    assert joined(chunks, "reasoning_content") == all_text(events, thought=True)
    assert joined(chunks, "content") == all_text(events, thought=False)


@pytest.mark.parametrize("name", NAMES)
def test_thought_text_never_reaches_content(name: str) -> None:
    events = stream(name)
    _, chunks = run(events)
    content = joined(chunks, "content")
    for part in (p for e in events for p in event_parts(e)):
        if part.get("thought") and part.get("text"):
            assert part["text"] not in content
    for delta in deltas(chunks):
        if "reasoning_content" in delta:
            assert delta.get("content", "") == ""


@pytest.mark.parametrize("name", [n for n in NAMES if RECORDINGS[n][3]])
def test_thoughts_come_first_and_the_first_delta_has_role_and_empty_content(name: str) -> None:
    _, chunks = run(stream(name))
    all_deltas = deltas(chunks)
    first = all_deltas[0]
    assert first["role"] == "assistant"
    assert first["content"] == ""
    assert first["reasoning_content"]
    kinds = ["reasoning" if "reasoning_content" in d else "answer" for d in all_deltas
             if d.get("reasoning_content") or d.get("content") or d.get("tool_calls")]
    assert kinds == sorted(kinds, key=lambda kind: kind != "reasoning")
    assert kinds[-1] == "answer"


def test_thinking_before_a_tool_call() -> None:
    _, chunks = run(stream("stream-sse-thinking-thoughts-tool-call.txt"))
    first, last = deltas(chunks)
    assert first["reasoning_content"].startswith("**Determining the Weather Inquiry**")
    assert "tool_calls" not in first
    [call] = last["tool_calls"]
    assert "reasoning_content" not in last
    assert call["type"] == "function"
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize("name", NAMES)
def test_usage_counts_thinking_as_reasoning_tokens(name: str) -> None:
    thoughts, candidates, prompt, _ = RECORDINGS[name]
    translator, _ = run(stream(name), include_usage=True)
    final = translator.finish()
    assert final is not None
    usage = final["usage"]
    assert usage["completion_tokens_details"] == {"reasoning_tokens": thoughts}
    assert usage["completion_tokens"] == candidates + thoughts
    assert usage["prompt_tokens"] == prompt
    assert usage["total_tokens"] == prompt + candidates + thoughts


@pytest.mark.parametrize("name", NAMES)
def test_built_message_keeps_thoughts_apart(name: str) -> None:
    events = stream(name)
    translator, chunks = run(events)
    builder = CompletionBuilder(translator)
    for chunk in chunks:
        builder.add(chunk)
    completion = builder.build()
    [choice] = completion["choices"]
    message = choice["message"]
    thoughts = all_text(events, thought=True)
    if thoughts:
        assert message["reasoning_content"] == thoughts
    else:
        assert "reasoning_content" not in message
    answer = all_text(events, thought=False)
    assert message["content"] == (answer if answer or "tool_calls" not in message else None)
    assert completion["usage"]["completion_tokens_details"]["reasoning_tokens"] == \
        RECORDINGS[name][0]
