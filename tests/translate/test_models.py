"""Gemini model resources -> OpenAI model objects."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from adapter.translate.models import model_list, model_object

LISTING = Path(__file__).resolve().parents[2] / "fixtures" / "gemini" / "models-list.json"


@pytest.mark.parametrize(("name", "model_id"), [
    ("models/gemini-2.5-flash", "gemini-2.5-flash"),
    ("gemini-2.5-flash", "gemini-2.5-flash"),
    ("models/models/x", "models/x"),
    ("tunedModels/mine", "tunedModels/mine"),
])
def test_model_object_strips_the_models_prefix(name: str, model_id: str) -> None:
    assert model_object({"name": name, "displayName": "ignored", "version": "001"}) == {
        "id": model_id, "object": "model", "created": 0, "owned_by": "google"}


def test_model_object_without_a_name() -> None:
    assert model_object({})["id"] == ""


def test_model_list_of_the_recorded_listing() -> None:
    models = orjson.loads(LISTING.read_bytes())["models"]
    listing = model_list(models)
    assert listing["object"] == "list"
    assert set(listing) == {"object", "data"}
    assert [m["id"] for m in listing["data"]] == [
        m["name"].removeprefix("models/") for m in models]
    assert len(listing["data"]) == len(models) > 1
    assert "gemini-2.5-flash" in {m["id"] for m in listing["data"]}
    assert all(not m["id"].startswith("models/") for m in listing["data"])
    assert all(m["object"] == "model" and m["owned_by"] == "google" for m in listing["data"])


def test_empty_model_list() -> None:
    assert model_list([]) == {"object": "list", "data": []}
