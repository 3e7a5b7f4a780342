"""Gemini model resources -> OpenAI model objects."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import orjson
import pytest

from adapter.translate.models import created, model_list, model_object

LISTING = Path(__file__).resolve().parents[2] / "fixtures" / "gemini" / "models-list.json"


@pytest.mark.parametrize(("name", "model_id"), [
    ("models/gemini-2.5-flash", "gemini-2.5-flash"),
    ("gemini-2.5-flash", "gemini-2.5-flash"),
    ("models/models/x", "models/x"),
    ("tunedModels/mine", "tunedModels/mine"),
])
def test_model_object_strips_the_models_prefix(name: str, model_id: str) -> None:
    assert model_object({"name": name, "displayName": "ignored", "version": "001"}) == {
        "id": model_id, "object": "model", "created": created({"name": name}),
        "owned_by": "google"}


def day(text: str) -> int:
    return int(datetime.fromisoformat(f"{text}T00:00:00+00:00").timestamp())


@pytest.mark.parametrize(("name", "version", "when"), [
    # Google's own stamp in `version` or in the id
    ("models/gemini-2.5-flash-preview-tts", "gemini-2.5-flash-exp-tts-2025-05-19", "2025-05-19"),
    ("models/gemini-3-pro-preview", "3-pro-preview-11-2025", "2025-11-01"),
    ("models/gemini-3.5-flash-lite", "3.5-flash-lite-07-2026", "2026-07-01"),
    ("models/gemini-2.5-computer-use-preview-10-2025", "Gemini 2.5 Computer Use Preview 10-2025",
     "2025-10-01"),
    ("models/deep-research-preview-04-2026", "deepthink-exp-05-20", "2026-04-01"),
    # no date in either: the release the adapter knows, longest id first
    ("models/gemini-2.5-flash", "001", "2025-06-17"),
    ("models/gemini-2.5-flash-lite", "001", "2025-07-22"),
    ("models/gemini-2.0-flash-lite-001", "2.0", "2025-02-25"),
    ("models/gemini-2.0-flash-001", "2.0", "2025-02-05"),
    ("models/gemini-2.5-flash-image", "2.0", "2025-10-02"),
    ("models/gemma-3-27b-it", "001", "2025-03-12"),
    # nothing known: the day the Gemini API opened, which no model it serves predates
    ("models/gemini-pro-latest", "Gemini Pro Latest", "2023-12-13"),
    ("models/gemini-2.50-flash", "001", "2023-12-13"),  # not an extension of gemini-2.5-flash
    ("", None, "2023-12-13"),
])
def test_created(name: str, version: str | None, when: str) -> None:
    assert created({"name": name, "version": version}) == day(when)


def test_every_recorded_model_has_a_created_time_after_the_gemini_api_opened() -> None:
    models = orjson.loads(LISTING.read_bytes())["models"]
    times = [model_object(m)["created"] for m in models]
    assert min(times) >= day("2023-12-13") and max(times) < day("2027-01-01")
    assert len(set(times)) > 10  # sorting by `created` says something
    assert [model_object(m)["created"] for m in models] == times  # stable


def test_an_alias_is_dated_as_its_model() -> None:
    models = [{"name": "models/gemini-3-pro-preview", "version": "3-pro-preview-11-2025"}]
    listing = model_list(models, {"gpt-4o": "gemini-3-pro-preview",
                                  "gpt-4": "models/gemini-2.5-pro", "other": "unknown-model"})
    assert [(m["id"], m["created"]) for m in listing["data"]] == [
        ("gemini-3-pro-preview", day("2025-11-01")), ("gpt-4o", day("2025-11-01")),
        ("gpt-4", day("2025-06-17")), ("other", day("2023-12-13"))]


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
