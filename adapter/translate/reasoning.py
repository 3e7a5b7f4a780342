"""OpenAI `reasoning_effort` -> Gemini `thinkingConfig`."""

from __future__ import annotations

from typing import Any

from .capabilities import capabilities
from .errors import InvalidRequest

EFFORTS = ("none", "minimal", "low", "medium", "high")
# Thinking budgets (tokens) for Gemini 2.5 models, which take a budget rather than a level.
_BUDGETS = {"minimal": 512, "low": 1024, "medium": 8192, "high": 24576}
_LEAST_BUDGET = 128  # for a model that cannot switch thinking off (2.5 Pro)


def thinking_config(effort: Any, model: str, param: str = "reasoning_effort") -> dict[str, Any]:
    """`thinkingConfig` for an effort on a (resolved) model; thought summaries are asked for
    unless thinking is off."""
    if effort not in EFFORTS:
        raise InvalidRequest(f"'{param}' must be one of {', '.join(EFFORTS)}, not {effort!r}.",
                             param)
    caps = capabilities(model)
    if caps.thinking == "level":
        # Gemini 3 cannot switch thinking off; "minimal" is its least.
        level = "minimal" if effort == "none" else effort
        return {"thinkingLevel": level, "includeThoughts": effort != "none"}
    if effort == "none":
        return {"thinkingBudget": 0 if caps.thinking_off else _LEAST_BUDGET}
    return {"thinkingBudget": _BUDGETS[effort], "includeThoughts": True}
