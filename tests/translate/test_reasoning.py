"""OpenAI `reasoning_effort` -> Gemini `thinkingConfig` (budgets for 2.5, levels for 3)."""

from __future__ import annotations

from typing import Any

import pytest

from adapter.translate.capabilities import capabilities
from adapter.translate.errors import InvalidRequest
from adapter.translate.reasoning import EFFORTS, thinking_config
from adapter.translate.request import chat_request

HELLO = [{"role": "user", "content": "Hello"}]
BUDGETS = {"minimal": 512, "low": 1024, "medium": 8192, "high": 24576}
FLASH_25 = ["gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.5-flash-preview-09-2025",
            "gemini-flash-latest"]
PRO_25 = ["gemini-2.5-pro", "gemini-2.5-pro-preview-06-05"]
GEMINI_3 = ["gemini-3-pro-preview", "gemini-3-flash-preview", "gemini-3.1-pro-preview",
            "gemini-exp-3-test"]


def body(**fields: Any) -> dict[str, Any]:
    return {"model": "gemini-2.5-flash", "messages": HELLO, **fields}


def test_efforts_are_openais() -> None:
    assert EFFORTS == ("none", "minimal", "low", "medium", "high")


@pytest.mark.parametrize("model", [*FLASH_25, *PRO_25])
@pytest.mark.parametrize(("effort", "budget"), list(BUDGETS.items()))
def test_gemini_25_budget_per_effort_with_thoughts(model: str, effort: str, budget: int) -> None:
    assert thinking_config(effort, model) == {"thinkingBudget": budget, "includeThoughts": True}


def test_budgets_grow_with_effort() -> None:
    budgets = [thinking_config(e, "gemini-2.5-flash")["thinkingBudget"] for e in EFFORTS]
    assert budgets == sorted(budgets)
    assert len(set(budgets)) == len(budgets)


@pytest.mark.parametrize("model", FLASH_25)
def test_gemini_25_none_switches_thinking_off(model: str) -> None:
    assert thinking_config("none", model) == {"thinkingBudget": 0}


@pytest.mark.parametrize("model", PRO_25)
def test_gemini_25_pro_none_is_the_smallest_budget(model: str) -> None:
    # 2.5 Pro cannot switch thinking off: its least budget is 128, and no thoughts are asked for.
    assert thinking_config("none", model) == {"thinkingBudget": 128}


@pytest.mark.parametrize("model", GEMINI_3)
@pytest.mark.parametrize("effort", ["minimal", "low", "medium", "high"])
def test_gemini_3_level_per_effort_with_thoughts(model: str, effort: str) -> None:
    assert thinking_config(effort, model) == {"thinkingLevel": effort, "includeThoughts": True}


@pytest.mark.parametrize("model", GEMINI_3)
def test_gemini_3_none_is_minimal_without_thoughts(model: str) -> None:
    config = thinking_config("none", model)
    assert config["thinkingLevel"] == "minimal"
    assert not config.get("includeThoughts")
    assert "thinkingBudget" not in config


@pytest.mark.parametrize(("model", "level"), [
    *((m, True) for m in GEMINI_3),
    *((m, False) for m in [*FLASH_25, *PRO_25, "gemini-2.0-flash", "gemma-3-27b-it"]),
])
def test_uses_thinking_level(model: str, level: bool) -> None:
    assert (capabilities(model).thinking == "level") is level
    config = thinking_config("low", model)
    assert ("thinkingLevel" in config) is level
    assert ("thinkingBudget" in config) is not level


@pytest.mark.parametrize("effort", [
    "xhigh", "HIGH", "Medium", "", "max", "off", None, 1, 0.5, True, ["high"], {"effort": "high"},
])
@pytest.mark.parametrize("model", ["gemini-2.5-flash", "gemini-3-pro-preview"])
def test_invalid_effort_names_reasoning_effort(effort: Any, model: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        thinking_config(effort, model)
    assert caught.value.param == "reasoning_effort"
    assert caught.value.status == 400
    assert "reasoning_effort" in caught.value.message


def test_invalid_effort_names_the_param_given() -> None:
    with pytest.raises(InvalidRequest) as caught:
        thinking_config("extreme", "gemini-2.5-flash", "extra_body.reasoning")
    assert caught.value.param == "extra_body.reasoning"


# --- through chat_request -------------------------------------------------------------------------

@pytest.mark.parametrize(("model", "effort", "expected"), [
    ("gemini-2.5-flash", "low", {"thinkingBudget": 1024, "includeThoughts": True}),
    ("gemini-2.5-flash", "high", {"thinkingBudget": 24576, "includeThoughts": True}),
    ("gemini-2.5-flash", "none", {"thinkingBudget": 0}),
    ("gemini-2.5-pro", "none", {"thinkingBudget": 128}),
    ("models/gemini-2.5-pro", "medium", {"thinkingBudget": 8192, "includeThoughts": True}),
    ("gemini-3-pro-preview", "high", {"thinkingLevel": "high", "includeThoughts": True}),
    ("models/gemini-3-flash-preview", "low", {"thinkingLevel": "low", "includeThoughts": True}),
])
def test_chat_request_puts_thinking_config_in_generation_config(
    model: str, effort: str, expected: dict[str, Any]
) -> None:
    config = chat_request(body(model=model, reasoning_effort=effort)).gemini["generationConfig"]
    assert config == {"thinkingConfig": expected}


def test_chat_request_gemini_3_none() -> None:
    request = chat_request(body(model="gemini-3-flash-preview", reasoning_effort="none"))
    thinking = request.gemini["generationConfig"]["thinkingConfig"]
    assert thinking["thinkingLevel"] == "minimal"
    assert not thinking.get("includeThoughts")


def test_chat_request_thinking_config_sits_beside_sampling_fields() -> None:
    request = chat_request(body(reasoning_effort="medium", temperature=0.3, max_tokens=100))
    assert request.gemini["generationConfig"] == {
        "temperature": 0.3, "maxOutputTokens": 100,
        "thinkingConfig": {"thinkingBudget": 8192, "includeThoughts": True}}


def test_chat_request_without_or_with_null_effort_has_no_thinking_config() -> None:
    assert "generationConfig" not in chat_request(body()).gemini
    assert "generationConfig" not in chat_request(body(reasoning_effort=None)).gemini


@pytest.mark.parametrize("effort", ["extreme", "", 3, ["low"]])
def test_chat_request_invalid_effort_is_a_400_naming_it(effort: Any) -> None:
    with pytest.raises(InvalidRequest) as caught:
        chat_request(body(reasoning_effort=effort))
    assert caught.value.status == 400
    assert caught.value.param == "reasoning_effort"
