"""Gemini File resources and kept files -> OpenAI `file` objects; list queries and pages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from openai.types import FileObject

from adapter.translate.errors import InvalidRequest
from adapter.translate.file_ids import display_name
from adapter.translate.files import (
    MAX_LIMIT,
    ListParams,
    file_object,
    kept_object,
    list_params,
    page,
    purpose,
    results_object,
    timestamp,
    upload_mime,
)

from ..fake_gemini import fixture_json
from .helpers import OTHER_OWNER, OWNER


def mine(gemini: dict[str, Any], purpose_: str = "user_data", filename: str = "a.pdf",
         owner: str = OWNER) -> dict[str, Any]:
    return {**gemini, "displayName": display_name(owner, purpose_, filename)}


def unix(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def test_timestamps_with_nanoseconds_and_offsets() -> None:
    assert timestamp("2026-07-30T02:24:45.088445427Z") == unix("2026-07-30T02:24:45")
    assert timestamp("2026-07-28T02:24:45.254017Z") == unix("2026-07-28T02:24:45")
    assert timestamp("2026-07-28T02:24:45Z") == unix("2026-07-28T02:24:45")
    assert timestamp("2026-07-28T04:24:45.5+02:00") == unix("2026-07-28T02:24:45")
    for bad in (None, 5, "", "yesterday", "2026-13-28T02:24:45Z", "2026-07-28T02:24:45.1Q"):
        assert timestamp(bad) is None


def test_recorded_file_as_file_object() -> None:
    gemini = mine(fixture_json("files-get.json"), "user_data", "notes.v1.pdf")
    obj = file_object(gemini, OWNER)
    assert obj is not None
    FileObject.model_validate(obj, strict=True)
    assert obj == {
        "id": "file-o3s42u5uu1z2", "object": "file", "bytes": 14560,
        "created_at": unix("2026-07-28T02:24:45"), "filename": "notes.v1.pdf",
        "purpose": "user_data", "status": "processed",
        "expires_at": unix("2026-07-30T02:24:45"), "status_details": None,
    }


def test_upload_answer_as_file_object() -> None:
    gemini = mine(fixture_json("files-upload-finalize-response.json")["file"], "assistants",
                  "s.pdf")
    obj = file_object(gemini, OWNER)
    assert obj is not None and obj["bytes"] == 18810 and obj["id"] == "file-k4t1ywl66fz2"
    FileObject.model_validate(obj, strict=True)


def test_files_not_made_by_the_adapter_or_of_another_owner_are_invisible() -> None:
    listed = fixture_json("files-list.json")["files"]  # one without displayName, one "test3.pdf"
    assert [file_object(f, OWNER) for f in listed] == [None, None]
    assert file_object(mine(listed[0], owner=OTHER_OWNER), OWNER) is None


@pytest.mark.parametrize(("state", "status"), [("ACTIVE", "processed"),
                                               ("PROCESSING", "uploaded"),
                                               ("FAILED", "error"),
                                               ("STATE_UNSPECIFIED", "uploaded"),
                                               (None, "uploaded")])
def test_file_states(state: str | None, status: str) -> None:
    gemini = mine(fixture_json("files-get.json"))
    gemini["state"] = state
    gemini["error"] = {"code": 3, "message": "Unsupported file."}
    obj = file_object(gemini, OWNER)
    assert obj is not None and obj["status"] == status
    assert obj["status_details"] == ("Unsupported file." if state == "FAILED" else None)


def test_malformed_sizes_and_times_do_not_crash() -> None:
    gemini = mine(fixture_json("files-get.json"))
    gemini.update(sizeBytes="12x", createTime="soon", expirationTime=None)
    obj = file_object(gemini, OWNER)
    assert obj is not None
    assert (obj["bytes"], obj["created_at"], obj["expires_at"]) == (0, 0, None)


def test_results_and_kept_objects_validate() -> None:
    results = results_object({"name": "files/batch-abc", "sizeBytes": "77",
                              "createTime": "2026-07-02T14:41:31.5Z"}, "batch_abc")
    FileObject.model_validate(results, strict=True)
    assert results["id"] == "file-batch-abc" and results["purpose"] == "batch_output"
    kept = kept_object({"id": "file-kept_" + "0" * 32, "bytes": 12, "created_at": 100.5,
                        "expires_at": 200.0, "purpose": "batch", "filename": "in.jsonl",
                        "kind": "file"})
    FileObject.model_validate(kept, strict=True)
    assert (kept["bytes"], kept["created_at"], kept["expires_at"]) == (12, 100, 200)


def test_upload_purposes() -> None:
    for name in ("assistants", "batch", "fine-tune", "vision", "user_data", "evals"):
        assert purpose(name) == name
    for bad in ("batch_output", "", None, 3, "Batch"):
        with pytest.raises(InvalidRequest) as caught:
            purpose(bad)
        assert caught.value.param == "purpose"


def test_list_params_defaults_and_values() -> None:
    assert list_params({}) == ListParams(None, MAX_LIMIT, None, "desc")
    assert list_params({"purpose": "batch_output", "limit": "1", "after": "file-x",
                        "order": "asc"}) == ListParams("batch_output", 1, "file-x", "asc")
    assert list_params({"limit": "10000"}).limit == 10_000


@pytest.mark.parametrize(("query", "param"), [
    ({"limit": "0"}, "limit"), ({"limit": "10001"}, "limit"), ({"limit": "-1"}, "limit"),
    ({"limit": "ten"}, "limit"), ({"limit": "1.5"}, "limit"), ({"limit": "٣"}, "limit"),
    ({"limit": ""}, "limit"), ({"order": "up"}, "order"), ({"order": ""}, "order"),
    ({"purpose": "nope"}, "purpose"), ({"after": ""}, "after"),
])
def test_bad_list_params_name_their_parameter(query: dict[str, str], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        list_params(query)
    assert caught.value.param == param and caught.value.status == 400


def objects() -> list[dict[str, Any]]:
    return [{"id": f"file-{n}", "created_at": created, "purpose": kind}
            for n, created, kind in ((1, 10, "batch"), (2, 30, "user_data"), (3, 20, "batch"),
                                     (4, 30, "batch"))]


def ids(listing: dict[str, Any]) -> list[str]:
    return [o["id"] for o in listing["data"]]


def test_pages_newest_first_by_default() -> None:
    listing = page(objects(), list_params({}))
    assert ids(listing) == ["file-4", "file-2", "file-3", "file-1"]
    assert (listing["object"], listing["first_id"], listing["last_id"],
            listing["has_more"]) == ("list", "file-4", "file-1", False)


def test_pages_follow_after_limit_order_and_purpose() -> None:
    first = page(objects(), list_params({"limit": "2", "order": "asc"}))
    assert ids(first) == ["file-1", "file-3"] and first["has_more"]
    second = page(objects(), list_params({"limit": "2", "order": "asc", "after": "file-3"}))
    assert ids(second) == ["file-2", "file-4"] and not second["has_more"]
    batch = page(objects(), list_params({"purpose": "batch"}))
    assert ids(batch) == ["file-4", "file-3", "file-1"]


def test_empty_page_and_unknown_after() -> None:
    assert page([], list_params({})) == {"object": "list", "data": [], "first_id": None,
                                         "last_id": None, "has_more": False}
    with pytest.raises(InvalidRequest) as caught:
        page(objects(), list_params({"after": "file-9"}))
    assert caught.value.param == "after"


@pytest.mark.parametrize(("filename", "content_type", "mime"), [
    ("a.pdf", "application/octet-stream", "application/pdf"),
    ("A.PNG", None, "image/png"),
    ("talk.mp3", "", "audio/mpeg"),
    ("in.jsonl", None, "application/jsonl"),
    ("notes", None, "application/octet-stream"),
    ("archive.xyz", "application/octet-stream", "application/octet-stream"),
    (None, None, "application/octet-stream"),
    ("a.pdf", "text/plain; charset=utf-8", "text/plain"),
    ("a.pdf", "Image/JPEG", "image/jpeg"),
    ("notes.txt", "\x01\xff; x", "text/plain"),  # no header value: guessed
    ("a.pdf", "pdf please", "application/pdf"),
])
def test_upload_mime(filename: str | None, content_type: str | None, mime: str) -> None:
    assert upload_mime(filename, content_type) == mime
