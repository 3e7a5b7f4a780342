"""Gemini model resources -> OpenAI model objects."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any


def model_object(model: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI `model` for a Gemini Model resource (its id without the `models/` prefix)."""
    return {
        "id": str(model.get("name", "")).removeprefix("models/"),
        "object": "model",
        "created": 0,
        "owned_by": "google",
    }


def model_list(models: list[dict[str, Any]],
               aliases: Mapping[str, str] = MappingProxyType({})) -> dict[str, Any]:
    """The OpenAI list of the upstream's models, followed by the configured aliases."""
    data = [model_object(m) for m in models]
    data += [model_object({"name": alias}) for alias in aliases]
    return {"object": "list", "data": data}
