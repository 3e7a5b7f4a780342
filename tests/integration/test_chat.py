"""Chat completions through the real OpenAI SDK, against the adapter and the fake Gemini."""

from __future__ import annotations

import httpx
import openai
import orjson
import pytest

from ..fake_gemini import FakeGemini, Reply, fixture_json
from .helpers import SERVER_KEY

MODEL = "gemini-2.5-flash"
HELLO = [{"role": "user", "content": "What is the capital of France?"}]
PARIS = "The capital of France is Paris.\n"


def test_non_streaming_answer_is_one_chat_completion(client, fake: FakeGemini) -> None:
    completion = client.chat.completions.create(model=MODEL, messages=HELLO)
    assert completion.object == "chat.completion"
    assert completion.id == "chatcmpl-w1peaMz6INOvnvgPgYfPiQY"
    assert completion.model == MODEL
    [choice] = completion.choices
    assert choice.index == 0
    assert choice.message.role == "assistant"
    assert choice.message.content == "The capital of France is Paris.\n"
    assert choice.finish_reason == "stop"
    assert completion.usage.prompt_tokens == 13
    assert completion.usage.completion_tokens == 8
    assert completion.usage.total_tokens == 21


def test_streaming_answer_arrives_as_chunks(client, fake: FakeGemini) -> None:
    stream = client.chat.completions.create(model=MODEL, messages=HELLO, stream=True)
    chunks = list(stream)
    assert len(chunks) == 3  # one chunk per upstream event
    assert {c.id for c in chunks} == {"chatcmpl-w1peaMz6INOvnvgPgYfPiQY"}
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.choices[0].delta.role is None for c in chunks[1:])
    assert "".join(c.choices[0].delta.content for c in chunks) == PARIS
    assert [c.choices[0].finish_reason for c in chunks] == [None, None, "stop"]
    assert all(c.usage is None for c in chunks)


def test_include_usage_adds_a_final_usage_chunk(client, fake: FakeGemini) -> None:
    fake.queue(Reply.sse("stream-sse-text-usage-thoughts-tokens.txt"))
    chunks = list(client.chat.completions.create(
        model=MODEL, messages=HELLO, stream=True, stream_options={"include_usage": True}))
    *content, last = chunks
    assert last.choices == []
    assert all(c.usage is None for c in content)
    recorded = [orjson.loads(e[6:]) for e in Reply.sse(
        "stream-sse-text-usage-thoughts-tokens.txt").chunks]
    meta = recorded[-1]["usageMetadata"]
    assert last.usage.prompt_tokens == meta["promptTokenCount"]
    assert last.usage.completion_tokens == meta["candidatesTokenCount"] + meta["thoughtsTokenCount"]
    assert last.usage.total_tokens == meta["totalTokenCount"]
    assert last.usage.completion_tokens_details.reasoning_tokens == meta["thoughtsTokenCount"]


def test_raw_stream_is_sse_ending_with_done(adapter_url: str, fake: FakeGemini) -> None:
    body = {"model": MODEL, "messages": HELLO, "stream": True}
    with httpx.stream("POST", f"{adapter_url}/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = response.read()
    events = raw.split(b"\n\n")
    assert events[-1] == b""
    assert events[-2] == b"data: [DONE]"
    assert all(e.startswith(b"data: {") for e in events[:-2])


def test_upstream_request_carries_key_in_header_and_translation(client, fake: FakeGemini) -> None:
    client.chat.completions.create(
        model=f"models/{MODEL}",
        messages=[{"role": "system", "content": "Be brief."}, *HELLO],
        temperature=0.2, max_tokens=50, stop="END", top_p=0.9, seed=7,
    )
    [seen] = fake.seen
    assert seen.path == f"/v1beta/models/{MODEL}:streamGenerateContent"
    assert seen.query == "alt=sse"
    assert seen.headers["x-goog-api-key"] == SERVER_KEY
    assert "client-key" not in str(seen.headers)
    assert seen.body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert seen.body["contents"] == [{"role": "user", "parts": [{"text": HELLO[0]["content"]}]}]
    assert seen.body["generationConfig"] == {
        "temperature": 0.2, "maxOutputTokens": 50, "stopSequences": ["END"], "topP": 0.9,
        "seed": 7,
    }


def test_client_bearer_key_goes_upstream_without_server_key(start_adapter, fake) -> None:
    url = start_adapter()
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="users-own-gemini-key", max_retries=0)
    client.chat.completions.create(model=MODEL, messages=HELLO)
    assert fake.seen[-1].headers["x-goog-api-key"] == "users-own-gemini-key"
    assert "key" not in fake.seen[-1].query


def test_json_array_stream_from_upstream(client, fake: FakeGemini) -> None:
    fake.queue(Reply.json_array("stream-json-array-thinking.txt"))
    chunks = list(client.chat.completions.create(model=MODEL, messages=HELLO, stream=True))
    recorded = fixture_json("stream-json-array-thinking.txt")
    answer = "".join(p["text"] for e in recorded for p in e["candidates"][0]["content"]
                     .get("parts", []) if "text" in p and not p.get("thought"))
    assert answer
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == answer
    assert chunks[-1].choices[0].finish_reason == "stop"


@pytest.mark.parametrize(("fixture", "reason"), [
    ("stream-sse-recitation.txt", "content_filter"),
    ("stream-sse-prompt-blocked-safety.txt", "content_filter"),
    ("stream-sse-final-event-without-parts.txt", "stop"),
])
def test_finish_reasons_from_recordings(client, fake: FakeGemini, fixture, reason) -> None:
    fake.queue(Reply.sse(fixture), Reply.sse(fixture))
    chunks = list(client.chat.completions.create(model=MODEL, messages=HELLO, stream=True))
    assert chunks[-1].choices[0].finish_reason == reason
    completion = client.chat.completions.create(model=MODEL, messages=HELLO)
    assert completion.choices[0].finish_reason == reason


def test_max_tokens_maps_to_length(client, fake: FakeGemini) -> None:
    fake.queue(Reply.events(fixture_json("generate-content-max-tokens.json")))
    completion = client.chat.completions.create(model=MODEL, messages=HELLO, max_tokens=5)
    assert completion.choices[0].finish_reason == "length"
    assert completion.choices[0].message.content


def test_several_candidates_become_several_choices(client, fake: FakeGemini) -> None:
    events = [orjson.loads(e[6:]) for e in Reply.sse("stream-sse-text.txt").chunks]
    for event in events:
        second = orjson.loads(orjson.dumps(event["candidates"][0]))
        second["index"] = 1
        second["content"]["parts"][0]["text"] = second["content"]["parts"][0]["text"].upper()
        event["candidates"].append(second)
    fake.queue(Reply.events(*events))
    completion = client.chat.completions.create(model=MODEL, messages=HELLO, n=2)
    assert fake.seen[-1].body["generationConfig"]["candidateCount"] == 2
    assert [c.index for c in completion.choices] == [0, 1]
    assert completion.choices[0].message.content == "The capital of France is Paris.\n"
    assert completion.choices[1].message.content == "THE CAPITAL OF FRANCE IS PARIS.\n"


def test_unknown_event_fields_and_empty_events_are_harmless(client, fake: FakeGemini) -> None:
    events = [orjson.loads(e[6:]) for e in Reply.sse("stream-sse-text.txt").chunks]
    events[0]["turnToken"] = "abc"
    events[1]["serviceTier"] = "standard"
    filler = {"candidates": [{"content": {"role": "model"}, "index": 0}], "turnToken": "x"}
    fake.queue(Reply.events(events[0], filler, {"usageMetadata": {}}, events[1], events[2]))
    chunks = list(client.chat.completions.create(model=MODEL, messages=HELLO, stream=True))
    assert len(chunks) == 3
    assert "".join(c.choices[0].delta.content for c in chunks) == PARIS


def test_logprobs_are_requested_and_returned(client, fake: FakeGemini) -> None:
    event = orjson.loads(Reply.sse("stream-sse-text.txt").chunks[2][6:])
    event["candidates"][0]["logprobsResult"] = {
        "topCandidates": [{"candidates": [{"token": " is", "logProbability": -0.1},
                                          {"token": " was", "logProbability": -2.5}]}],
        "chosenCandidates": [{"token": " is", "logProbability": -0.1}],
    }
    fake.queue(Reply.events(event))
    completion = client.chat.completions.create(
        model=MODEL, messages=HELLO, logprobs=True, top_logprobs=2)
    assert fake.seen[-1].body["generationConfig"]["responseLogprobs"] is True
    assert fake.seen[-1].body["generationConfig"]["logprobs"] == 2
    [token] = completion.choices[0].logprobs.content
    assert token.token == " is"
    assert token.logprob == -0.1
    assert [t.token for t in token.top_logprobs] == [" is", " was"]
