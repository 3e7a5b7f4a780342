"""capabilities(model): what a model can do, decided once from its resolved id, and every
translator that depends on the model following that one decision."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import pytest

from adapter.translate.capabilities import Capabilities, capabilities
from adapter.translate.image_output import response_modalities
from adapter.translate.reasoning import thinking_config
from adapter.translate.request import chat_request
from adapter.translate.responses_request import responses_call
from adapter.translate.signatures import PLACEHOLDER, add_placeholders
from adapter.translate.tools import GEMINI_TOOLS

ALL_TOOLS = frozenset(GEMINI_TOOLS)
NONE: frozenset[str] = frozenset()


def caps(family: str, generation: int | None, thinking: Literal["level", "budget"],
         thinking_off: bool, signatures: bool, image: bool, tools: frozenset[str]
         ) -> Capabilities:
    # A JSON answer goes beside functions on the models that take Gemini's tools beside them.
    return Capabilities(family, generation, thinking, thinking_off, signatures, image, tools,
                        schema_beside_functions=bool(tools))


@pytest.mark.parametrize(("model", "expected"), [
    ("gemini-2.5-flash", caps("gemini", 2, "budget", True, False, False, NONE)),
    ("gemini-2.5-flash-lite", caps("gemini", 2, "budget", True, False, False, NONE)),
    ("gemini-2.5-pro", caps("gemini", 2, "budget", False, False, False, NONE)),
    ("gemini-2.0-flash", caps("gemini", 2, "budget", True, False, False, NONE)),
    ("gemini-1.5-pro", caps("gemini", 1, "budget", False, False, False, NONE)),
    ("gemini-2.5-flash-image", caps("gemini", 2, "budget", True, False, True, NONE)),
    ("gemini-3-pro-preview", caps("gemini", 3, "level", False, True, False, ALL_TOOLS)),
    ("gemini-3-flash-preview", caps("gemini", 3, "level", False, True, False, ALL_TOOLS)),
    ("gemini-3.1-pro-preview", caps("gemini", 3, "level", False, True, False, ALL_TOOLS)),
    ("gemini-3-pro-image-preview", caps("gemini", 3, "level", False, False, True, ALL_TOOLS)),
    ("gemini-2.5-flash-preview-tts", dataclasses.replace(
        caps("gemini", 2, "budget", True, False, False, NONE), audio_output=True)),
    ("gemini-exp-3-test", caps("gemini", 3, "level", False, True, False, ALL_TOOLS)),
    # Later generations behave like the newest this adapter knows.
    ("gemini-4-flash", caps("gemini", 4, "level", False, True, False, ALL_TOOLS)),
    ("gemini-10-pro", caps("gemini", 10, "level", False, True, False, ALL_TOOLS)),
    # Moving aliases: what both generations accept.
    ("gemini-flash-latest", caps("gemini", None, "budget", True, True, False, NONE)),
    ("gemini-pro-latest", caps("gemini", None, "budget", False, True, False, NONE)),
    ("gemini-flash-image-latest", caps("gemini", None, "budget", True, False, True, NONE)),
    # Anything else: the rules that ask the least of a model.
    ("gemini-exp-1206", caps("gemini", None, "budget", True, False, False, NONE)),
    ("gemma-3-27b-it", caps("gemma", None, "budget", True, False, False, NONE)),
    ("my-gemini-3-proxy", caps("my", None, "budget", True, False, False, NONE)),
    ("gpt-5", caps("gpt", None, "budget", True, False, False, NONE)),
    ("gemini-", caps("gemini", None, "budget", True, False, False, NONE)),
])
def test_capabilities_of_a_model(model: str, expected: Capabilities) -> None:
    assert capabilities(model) == expected


def test_capabilities_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        capabilities("gemini-2.5-flash").thinking = "level"  # type: ignore[misc]


# --- every translator follows the one decision ----------------------------------------------------

MODELS = ["gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.5-flash-image", "gemini-3-pro-preview",
          "gemini-3-pro-image-preview", "gemini-4-flash", "gemini-flash-latest",
          "gemini-pro-latest", "gemini-exp-1206", "gemma-3-27b-it", "gemini-2.5-flash-preview-tts"]
FOREIGN_CALL: list[dict[str, Any]] = [{"role": "user", "parts": [{"text": "Weather?"}]},
                {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}}]}]


@pytest.mark.parametrize("model", MODELS)
def test_thinking_config_follows_capabilities(model: str) -> None:
    can = capabilities(model)
    key = "thinkingLevel" if can.thinking == "level" else "thinkingBudget"
    assert set(thinking_config("low", model)) == {key, "includeThoughts"}
    off = thinking_config("none", model)
    assert (off == {"thinkingBudget": 0}) is can.thinking_off


@pytest.mark.parametrize("model", MODELS)
def test_placeholder_signatures_follow_capabilities(model: str) -> None:
    [_, call] = add_placeholders([{**c, "parts": [dict(p) for p in c["parts"]]}
                                  for c in FOREIGN_CALL], model)
    signed = call["parts"][0].get("thoughtSignature") == PLACEHOLDER
    assert signed is capabilities(model).checks_signatures


@pytest.mark.parametrize("model", MODELS)
def test_image_output_follows_capabilities(model: str) -> None:
    modalities = response_modalities({}, model)
    assert (modalities == ["TEXT", "IMAGE"]) is capabilities(model).image_output
    assert (modalities == ["AUDIO"]) is capabilities(model).audio_output


@pytest.mark.parametrize("model", MODELS)
def test_responses_web_search_beside_functions_follows_capabilities(model: str) -> None:
    tools: list[dict[str, Any]] = [{"type": "web_search"},
                                   {"type": "function", "name": "f", "parameters": {}}]
    chat = responses_call({"model": model, "input": "hi", "tools": tools}, []).chat
    sent = [name for tool in chat_request(chat).gemini["tools"] for name in tool]
    beside = capabilities(model).tools_beside_functions
    assert ("googleSearch" in sent) is ("googleSearch" in beside)


def test_gemini_4_takes_a_thinking_level_and_checks_signatures() -> None:
    """The case the modules used to disagree on: one rule for a generation after 3."""
    request = chat_request({"model": "gemini-4-flash", "reasoning_effort": "high", "messages": [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function",
                                              "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}]})
    thinking = request.gemini["generationConfig"]["thinkingConfig"]
    assert thinking == {"thinkingLevel": "high", "includeThoughts": True}
    call = request.gemini["contents"][1]["parts"][0]
    assert call["thoughtSignature"] == PLACEHOLDER
