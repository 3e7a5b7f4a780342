"""What a model can do is decided on the model the request resolves to: an ADAPTER_MODEL_MAP
alias or a `models/` id behaves as the Gemini model it names (`translate/capabilities.py`)."""

from __future__ import annotations

from collections.abc import Callable

import openai
import pytest

from ..fake_gemini import FakeGemini
from .helpers import SERVER_KEY

ALIASES = "gpt-5=gemini-3-pro-preview,gpt-4o=gemini-2.5-flash"
WEATHER = {"type": "function", "name": "weather", "description": "Get the weather",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                          "required": ["city"]}}
SEARCH = {"type": "web_search"}


@pytest.fixture(scope="module")
def aliased_url(start_adapter: Callable[..., str]) -> str:
    return start_adapter(GEMINI_API_KEY=SERVER_KEY, ADAPTER_RETRIES="0",
                         ADAPTER_MODEL_MAP=ALIASES)


@pytest.fixture
def aliased(aliased_url: str, fake: FakeGemini) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{aliased_url}/v1", api_key="client-key", max_retries=0,
                         timeout=20)


def tool_names(fake: FakeGemini) -> list[str]:
    """The Gemini tools of the last request the fake received, by name."""
    return [name for tool in fake.seen[-1].body.get("tools", ()) for name in tool]


@pytest.mark.parametrize("model", ["gpt-5", "models/gemini-3-pro-preview"])
def test_web_search_beside_functions_reaches_gemini_3(aliased: openai.OpenAI, fake: FakeGemini,
                                                       model: str) -> None:
    aliased.responses.create(model=model, input="Weather where the news is?",
                             tools=[SEARCH, WEATHER])  # type: ignore[list-item]
    assert fake.seen[-1].path == "/v1beta/models/gemini-3-pro-preview:streamGenerateContent"
    assert tool_names(fake) == ["functionDeclarations", "googleSearch"]


def test_web_search_beside_functions_is_left_out_for_gemini_2(aliased: openai.OpenAI,
                                                               fake: FakeGemini) -> None:
    aliased.responses.create(model="gpt-4o", input="Weather where the news is?",
                             tools=[SEARCH, WEATHER])  # type: ignore[list-item]
    assert fake.seen[-1].path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    assert tool_names(fake) == ["functionDeclarations"]


@pytest.mark.parametrize(("model", "thinking"), [
    ("gpt-5", {"thinkingLevel": "low", "includeThoughts": True}),
    ("gpt-4o", {"thinkingBudget": 1024, "includeThoughts": True}),
])
def test_reasoning_effort_follows_the_aliased_model(aliased: openai.OpenAI, fake: FakeGemini,
                                                    model: str, thinking: dict[str, object]
                                                    ) -> None:
    aliased.chat.completions.create(model=model, reasoning_effort="low",
                                    messages=[{"role": "user", "content": "Hi"}])
    assert fake.seen[-1].body["generationConfig"]["thinkingConfig"] == thinking
