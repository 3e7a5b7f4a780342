"""A conversation held with an OpenAI model continues on Gemini, through the real OpenAI SDK.

The history is made of recorded gpt-4o-mini answers (`fixtures/openai/`): its tool calls have
OpenAI's `call_...` ids and no thought signature, which Gemini 3 would refuse with a 400; the
adapter gives the first call of each turn the placeholder Gemini documents for this case.
"""

from __future__ import annotations

import pytest

from adapter.translate.signatures import PLACEHOLDER

from ..fake_gemini import FakeGemini, Reply
from ..translate.helpers import openai_history
from .helpers import ADD_AND_MULTIPLY, WEATHER

ANSWER = "The weather in Florence,Italy is 40 C."


def signed_parts(body: dict) -> list[tuple[int, int, str, str]]:
    """(content index, part index, function name or "", signature) of every signed part."""
    return [(i, j, part.get("functionCall", {}).get("name", ""), part["thoughtSignature"])
            for i, content in enumerate(body["contents"])
            for j, part in enumerate(content["parts"]) if "thoughtSignature" in part]


@pytest.mark.parametrize("stream", [False, True])
def test_openai_history_continues_on_gemini_3(client, fake: FakeGemini, stream: bool) -> None:
    history = openai_history()
    fake.queue(Reply.sse("stream-sse-text-after-tool-result.txt"))
    if stream:
        chunks = list(client.chat.completions.create(
            model="gemini-3-flash-preview", messages=history, tools=ADD_AND_MULTIPLY + WEATHER,
            stream=True))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        completion = client.chat.completions.create(
            model="gemini-3-flash-preview", messages=history, tools=ADD_AND_MULTIPLY + WEATHER)
        assert completion.choices[0].finish_reason == "stop"
        text = completion.choices[0].message.content
    assert text == ANSWER

    body = fake.seen[-1].body
    assert fake.seen[-1].path.endswith("/models/gemini-3-flash-preview:streamGenerateContent")
    # Exactly the first call of each turn with calls: `add` (not the parallel `multiply`) and
    # `weather`; no other part, call or text, carries a signature.
    assert signed_parts(body) == [(1, 0, "add", PLACEHOLDER), (5, 0, "weather", PLACEHOLDER)]
    calls = [part["functionCall"] for content in body["contents"] for part in content["parts"]
             if "functionCall" in part]
    assert [c["name"] for c in calls] == ["add", "multiply", "weather"]
    assert all("id" not in c for c in calls)  # OpenAI's ids are not Gemini's
    responses = [part["functionResponse"]["name"] for content in body["contents"]
                 for part in content["parts"] if "functionResponse" in part]
    assert responses == ["add", "multiply", "weather"]


def test_the_same_history_on_gemini_2_5_has_no_placeholder(client, fake: FakeGemini) -> None:
    fake.queue(Reply.sse("stream-sse-text-after-tool-result.txt"))
    completion = client.chat.completions.create(
        model="gemini-2.5-flash", messages=openai_history(), tools=ADD_AND_MULTIPLY + WEATHER)
    assert completion.choices[0].message.content == ANSWER
    assert signed_parts(fake.seen[-1].body) == []
    assert PLACEHOLDER not in str(fake.seen[-1].body)
