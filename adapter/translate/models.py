"""Gemini model resources -> OpenAI model objects."""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

# Gemini's Model resource has no creation time, so `created` is, in this order:
# 1. the date Google stamps in the model's `version` or id: `gemini-2.5-pro-preview-tts-2025-05-19`
#    (that day), `3-pro-preview-11-2025` or `gemini-3.5-flash-lite-07-2026` (the month's first);
# 2. else the public release of the model (its id, or the longest id it extends with `-...`) in
#    the table below, for models whose ids carry no date;
# 3. else 2023-12-13, the day the Gemini API opened to developers: no model it serves is older.
# All at 00:00 UTC. The value is stable (the same model always gets the same value) and never 0,
# so clients that sort by `created` order the models sensibly.
_FULL_DATE = re.compile(r"(?<!\d)(20\d\d)-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(?!\d)")
_MONTH_YEAR = re.compile(r"(?<!\d)(0[1-9]|1[0-2])-(20\d\d)(?!\d)")
RELEASED: Mapping[str, tuple[int, int, int]] = MappingProxyType({
    "gemini-2.0-flash": (2025, 2, 5),
    "gemini-2.0-flash-lite": (2025, 2, 25),
    "gemini-2.5-pro": (2025, 6, 17),
    "gemini-2.5-flash": (2025, 6, 17),
    "gemini-2.5-flash-lite": (2025, 7, 22),
    "gemini-2.5-flash-image-preview": (2025, 8, 26),
    "gemini-2.5-flash-image": (2025, 10, 2),
    "gemini-embedding-001": (2025, 7, 14),
    "gemma-3": (2025, 3, 12),
})
GEMINI_API_OPENED = (2023, 12, 13)


def created(model: dict[str, Any]) -> int:
    """`created` (Unix seconds) for a Gemini Model resource, by the rules above."""
    model_id = str(model.get("name", "")).removeprefix("models/")
    for text in (str(model.get("version") or ""), model_id):
        if match := _FULL_DATE.search(text):
            return _timestamp(int(match[1]), int(match[2]), int(match[3]))
        if match := _MONTH_YEAR.search(text):
            return _timestamp(int(match[2]), int(match[1]), 1)
    known = [name for name in RELEASED if model_id == name or model_id.startswith(f"{name}-")]
    return _timestamp(*(RELEASED[max(known, key=len)] if known else GEMINI_API_OPENED))


def _timestamp(year: int, month: int, day: int) -> int:
    return calendar.timegm((year, month, day, 0, 0, 0))


def model_object(model: dict[str, Any], model_id: str | None = None) -> dict[str, Any]:
    """An OpenAI `model` for a Gemini Model resource: its id without the `models/` prefix, or
    `model_id` (an alias) in its place."""
    return {
        "id": model_id or str(model.get("name", "")).removeprefix("models/"),
        "object": "model",
        "created": created(model),
        "owned_by": "google",
    }


def model_list(models: list[dict[str, Any]],
               aliases: Mapping[str, str] = MappingProxyType({})) -> dict[str, Any]:
    """The OpenAI list of the upstream's models, followed by the configured aliases (each
    dated as the model it stands for)."""
    by_name = {str(m.get("name", "")).removeprefix("models/"): m for m in models}
    data = [model_object(m) for m in models]
    data += [model_object(by_name.get(target.removeprefix("models/"), {"name": target}), alias)
             for alias, target in aliases.items()]
    return {"object": "list", "data": data}
