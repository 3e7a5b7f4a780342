"""What the benchmark sends and what the fake Gemini answers, shared by every process.

The answer is built from a real recorded Gemini stream
(`fixtures/gemini/stream-sse-text-usage-thoughts-tokens.txt`): its first event is the template
for all 20 events, each carrying the next slice of a counting text, with cumulative
`usageMetadata`, and the last one `finishReason: STOP`. Events are written the way Gemini
writes them: `data: {json}\r\n\r\n`, `": "` after keys, no space after commas.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

FIXTURE = (Path(__file__).resolve().parents[2] / "fixtures" / "gemini"
           / "stream-sse-text-usage-thoughts-tokens.txt")
MODEL = "gemini-2.5-flash"
EVENTS = 20
CHARS_PER_EVENT = 48  # about what the recording carries per event
PROMPT = "Count upwards from 1, one number per line, and nothing else."
SYSTEM = "You are a terse assistant."


def recorded_events(path: Path = FIXTURE) -> list[dict[str, Any]]:
    """The JSON payloads of a recorded `alt=sse` stream."""
    raw = path.read_bytes().replace(b"\r\n", b"\n")
    return [json.loads(event[6:]) for event in raw.split(b"\n\n") if event.startswith(b"data: ")]


def answer_text() -> str:
    """The whole answer the fake streams: "1\\n2\\n3..." cut to EVENTS * CHARS_PER_EVENT."""
    text = "\n".join(str(n) for n in range(1, 1000))
    return text[:EVENTS * CHARS_PER_EVENT]


def answer_pieces() -> list[str]:
    """The text of each event, in order."""
    text = answer_text()
    return [text[i:i + CHARS_PER_EVENT] for i in range(0, len(text), CHARS_PER_EVENT)]


def gemini_events() -> list[dict[str, Any]]:
    """The EVENTS Gemini `GenerateContentResponse` objects of the fake's answer."""
    template = recorded_events()[0]
    usage = template["usageMetadata"]
    prompt, thoughts = usage["promptTokenCount"], usage.get("thoughtsTokenCount", 0)
    events = []
    for number, text in enumerate(answer_pieces(), start=1):
        event = copy.deepcopy(template)
        candidate = event["candidates"][0]
        candidate["content"]["parts"] = [{"text": text}]
        if number == EVENTS:  # where the recording puts it: after content, before index
            index = candidate.pop("index", 0)
            candidate.update(finishReason="STOP", index=index)
        tokens = number * 16
        event["usageMetadata"].update(candidatesTokenCount=tokens,
                                      totalTokenCount=prompt + thoughts + tokens)
        events.append(event)
    return events


def sse_body() -> list[bytes]:
    """Each event of the fake's answer as Gemini puts it on the wire."""
    return [b"data: " + json.dumps(event, separators=(",", ": ")).encode() + b"\r\n\r\n"
            for event in gemini_events()]


def openai_request(stream: bool) -> dict[str, Any]:
    """The OpenAI chat completion request the load generator sends to the adapter."""
    body: dict[str, Any] = {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": PROMPT},
        ],
        "temperature": 0.2,
        "max_tokens": 1024,
        "stream": stream,
    }
    if stream:
        body["stream_options"] = {"include_usage": True}
    return body


def responses_request() -> dict[str, Any]:
    """The OpenAI Responses request the load generator sends to the adapter: streamed, not
    stored, and translated to exactly the Gemini request of `openai_request`."""
    return {
        "model": MODEL,
        "instructions": SYSTEM,
        "input": PROMPT,
        "temperature": 0.2,
        "max_output_tokens": 1024,
        "stream": True,
        "store": False,
    }


def gemini_request() -> dict[str, Any]:
    """The Gemini request the load generator sends to the fake directly (the baseline)."""
    return {
        "contents": [{"role": "user", "parts": [{"text": PROMPT}]}],
        "systemInstruction": {"parts": [{"text": SYSTEM}]},
        "generationConfig": {"temperature": 0.2, "maxOutputTokens": 1024},
    }
