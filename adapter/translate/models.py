"""Gemini model resources -> OpenAI model objects."""

from __future__ import annotations

from typing import Any


def model_object(model: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI `model` for a Gemini Model resource (its id without the `models/` prefix)."""
    return {
        "id": str(model.get("name", "")).removeprefix("models/"),
        "object": "model",
        "created": 0,
        "owned_by": "google",
    }


def model_list(models: list[dict[str, Any]]) -> dict[str, Any]:
    return {"object": "list", "data": [model_object(m) for m in models]}
