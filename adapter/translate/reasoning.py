"""OpenAI `reasoning_effort` -> Gemini `thinkingConfig`."""

from __future__ import annotations

from typing import Any

from .errors import InvalidRequest

EFFORTS = ("none", "minimal", "low", "medium", "high")
# Thinking budgets (tokens) for Gemini 2.5 models, which take a budget rather than a level.
_BUDGETS = {"minimal": 512, "low": 1024, "medium": 8192, "high": 24576}
_PRO_MINIMUM_BUDGET = 128  # 2.5 Pro cannot switch thinking off


def uses_thinking_level(model: str) -> bool:
    """Gemini 3 models take `thinkingLevel`; earlier thinking models `thinkingBudget`."""
    return model.startswith(("gemini-3", "gemini-exp-3"))


def thinking_config(effort: Any, model: str, param: str = "reasoning_effort") -> dict[str, Any]:
    """`thinkingConfig` for an effort; thought summaries are asked for unless thinking is off."""
    if effort not in EFFORTS:
        raise InvalidRequest(f"'{param}' must be one of {', '.join(EFFORTS)}, not {effort!r}.",
                             param)
    if uses_thinking_level(model):
        # Gemini 3 cannot switch thinking off; "minimal" is its least.
        level = "minimal" if effort == "none" else effort
        return {"thinkingLevel": level, "includeThoughts": effort != "none"}
    if effort == "none":
        return {"thinkingBudget": _PRO_MINIMUM_BUDGET if "pro" in model else 0}
    return {"thinkingBudget": _BUDGETS[effort], "includeThoughts": True}
