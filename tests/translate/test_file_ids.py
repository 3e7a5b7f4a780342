"""OpenAI file and batch ids <-> Gemini names, and the display name that carries the owner."""

from __future__ import annotations

import pytest

from adapter.translate.file_ids import (
    MAX_DISPLAY_NAME,
    batch_id,
    display_name,
    file_id,
    gemini_batch_name,
    gemini_file_name,
    is_kept,
    kept_file_id,
    owned,
    parse_display_name,
    results_batch_id,
    results_file_id,
)

from ..fake_gemini import fixture_json
from .helpers import OTHER_OWNER, OWNER


def test_recorded_file_names_round_trip() -> None:
    for gemini in fixture_json("files-list.json")["files"]:
        openai_id = file_id(gemini["name"])
        assert openai_id == "file-" + gemini["name"].removeprefix("files/")
        assert gemini_file_name(openai_id) == gemini["name"]


def test_results_file_of_a_recorded_batch() -> None:
    operation = fixture_json("batch-get-succeeded-responses-file.json")
    results = operation["response"]["responsesFile"]  # files/batch-<batch id>
    openai_batch = batch_id(operation["name"])
    assert file_id(results) == results_file_id(openai_batch)
    assert gemini_file_name(file_id(results)) == results
    assert results_batch_id(file_id(results)) == openai_batch


@pytest.mark.parametrize("bad", [
    "file-kept_" + "a" * 32,  # a kept file lives in the store, not at Gemini
    "file-ABC", "file-a_b", "file-", "file-" + "a" * 41, "files/abc", "abc", "file-a/b",
    "file-batch-" + "a" * 65, "file-batch-A",
])
def test_ids_that_name_no_gemini_file(bad: str) -> None:
    assert gemini_file_name(bad) is None


def test_results_batch_id_only_for_results_files() -> None:
    assert results_batch_id("file-abc123") is None
    assert results_batch_id("file-batch-") is None
    assert results_batch_id("file-batch-UP") is None


def test_kept_ids() -> None:
    first, second = kept_file_id(), kept_file_id()
    assert first != second and is_kept(first) and is_kept(second)
    assert first.startswith("file-kept_") and len(first) == len("file-kept_") + 32
    assert gemini_file_name(first) is None
    for bad in ("file-kept_", "file-kept_xyz", "file-kept_" + "A" * 32, "file-abc",
                "file-kept_" + "a" * 33):
        assert not is_kept(bad)


def test_batch_names_round_trip() -> None:
    for name in ("batch-create-inline-response.json", "batch-get-running.json",
                 "batch-get-succeeded-responses-file.json"):
        gemini = fixture_json(name)["name"]
        assert batch_id(gemini).startswith("batch_")
        assert gemini_batch_name(batch_id(gemini)) == gemini


@pytest.mark.parametrize("bad", ["batch_", "batch_ABC", "batch_a_b", "batches/abc", "abc",
                                 "batch_" + "a" * 65, "file-abc"])
def test_bad_batch_ids(bad: str) -> None:
    assert gemini_batch_name(bad) is None


def test_display_name_round_trip_with_dots_in_the_filename() -> None:
    text = display_name(OWNER, "user_data", "report.v2.final.pdf")
    assert text == f"oa1.{OWNER[:32]}.user_data.report.v2.final.pdf"
    assert parse_display_name(text) == (OWNER[:32], "user_data", "report.v2.final.pdf")
    assert owned(text, OWNER) == ("user_data", "report.v2.final.pdf")


def test_display_name_cut_to_gemini_limit() -> None:
    text = display_name(OWNER, "fine-tune", "x" * 2000)
    assert len(text) == MAX_DISPLAY_NAME
    parsed = parse_display_name(text)
    assert parsed is not None and parsed[1] == "fine-tune" and set(parsed[2]) == {"x"}


def test_empty_filename_still_parses() -> None:
    assert parse_display_name(display_name(OWNER, "vision", "")) == (OWNER[:32], "vision", "")


@pytest.mark.parametrize("text", [
    "test3.pdf", "Sample audio", "", "oa1", f"oa1.{OWNER[:32]}.batch",  # no filename part
    f"oa2.{OWNER[:32]}.batch.a.txt", f"oa1.{OWNER[:31]}.batch.a.txt",
    f"oa1.{OWNER[:32].upper()}.batch.a.txt", f"oa1.{OWNER[:32]}..a.txt",
])
def test_foreign_display_names_are_invisible(text: str) -> None:
    assert parse_display_name(text) is None
    assert owned(text, OWNER) is None


def test_another_owner_does_not_own_the_file() -> None:
    text = display_name(OWNER, "assistants", "a.txt")
    assert owned(text, OTHER_OWNER) is None
    assert owned(None, OWNER) is None
