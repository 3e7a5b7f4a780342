"""POST /v1/batches bodies, and the OpenAI `batch` object from the adapter's record and Gemini's
batch Operation."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from openai.types import Batch, BatchUsage

from adapter.translate.batches import (
    BatchParams,
    batch_object,
    batch_usage,
    create_params,
    request_counts,
    results_file,
    unanswered,
)
from adapter.translate.errors import InvalidRequest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "gemini"
PENDING = orjson.loads((FIXTURES / "batch-create-inline-response.json").read_bytes())
RUNNING = orjson.loads((FIXTURES / "batch-get-running.json").read_bytes())
SUCCEEDED = orjson.loads((FIXTURES / "batch-get-succeeded-responses-file.json").read_bytes())
CREATED = 1_783_000_000


def unix(text: str) -> int:
    return int(datetime.fromisoformat(text[:19]).replace(tzinfo=UTC).timestamp())


def body(**fields: Any) -> dict[str, Any]:
    return {"input_file_id": "file-kept_" + "0" * 32, "endpoint": "/v1/chat/completions",
            "completion_window": "24h", **fields}


def record(**fields: Any) -> dict[str, Any]:
    return {"id": "batch_abc", "endpoint": "/v1/chat/completions",
            "input_file_id": "file-kept_" + "0" * 32, "completion_window": "24h",
            "metadata": {"job": "nightly"}, "created_at": CREATED, "model": "gemini-2.5-flash",
            **fields}


def valid(obj: dict[str, Any]) -> dict[str, Any]:
    Batch.model_validate(obj, strict=True)
    return obj


def test_create_params() -> None:
    assert create_params(body()) == BatchParams("file-kept_" + "0" * 32,
                                                "/v1/chat/completions", "24h", None)
    given = create_params(body(endpoint="/v1/embeddings", metadata={"k" * 64: "v" * 512},
                               output_expires_after={"anchor": "created_at",
                                                     "seconds": 3600}))
    assert given.endpoint == "/v1/embeddings" and given.metadata == {"k" * 64: "v" * 512}
    assert given.output_expires_after == 3600
    assert create_params(body(endpoint="/v1/responses")).endpoint == "/v1/responses"


@pytest.mark.parametrize(("fields", "param"), [
    ({"input_file_id": None}, "input_file_id"), ({"input_file_id": ""}, "input_file_id"),
    ({"input_file_id": 5}, "input_file_id"),
    ({"endpoint": None}, "endpoint"), ({"endpoint": "/v1/chat"}, "endpoint"),
    ({"endpoint": ["/v1/responses"]}, "endpoint"),
    ({"completion_window": "48h"}, "completion_window"),
    ({"completion_window": None}, "completion_window"),
    ({"metadata": "x"}, "metadata"),
    ({"metadata": {str(i): "v" for i in range(17)}}, "metadata"),
    ({"metadata": {"k" * 65: "v"}}, "metadata"),
    ({"metadata": {"k": "v" * 513}}, "metadata.k"),
    ({"metadata": {"k": 1}}, "metadata.k"),
    ({"output_expires_after": 3600}, "output_expires_after"),
    ({"output_expires_after": {"anchor": "now", "seconds": 3600}}, "output_expires_after.anchor"),
    ({"output_expires_after": {"anchor": "created_at", "seconds": 60}},
     "output_expires_after.seconds"),
    ({"output_expires_after": {"anchor": "created_at", "seconds": 2_592_001}},
     "output_expires_after.seconds"),
])
def test_bad_create_params_name_their_parameter(fields: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        create_params(body(**fields))
    assert caught.value.param == param and caught.value.status == 400


@pytest.mark.parametrize("endpoint", ["/v1/completions", "/v1/moderations", "/v1/videos",
                                      "/v1/images/generations", "/v1/images/edits"])
def test_endpoints_gemini_cannot_serve_are_refused_clearly(endpoint: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        create_params(body(endpoint=endpoint))
    assert (caught.value.param, caught.value.code) == ("endpoint", "unsupported_endpoint")
    assert endpoint in caught.value.message


def test_a_body_that_is_not_an_object() -> None:
    with pytest.raises(InvalidRequest):
        create_params([])


def test_recorded_pending_and_running_batches_are_in_progress() -> None:
    for operation in (PENDING, RUNNING):
        obj = valid(batch_object(record(), operation))
        assert obj["status"] == "in_progress"
        assert obj["in_progress_at"] == unix(operation["metadata"]["createTime"])
        assert obj["request_counts"] == {"total": 2, "completed": 0, "failed": 0}
        assert obj["output_file_id"] is None and obj["error_file_id"] is None
        assert obj["errors"] is None and obj["completed_at"] is None
        assert obj["expires_at"] == CREATED + 24 * 3600 and obj["created_at"] == CREATED
        assert (obj["id"], obj["object"], obj["metadata"]) == ("batch_abc", "batch",
                                                               {"job": "nightly"})


def test_recorded_succeeded_batch_is_completed_with_its_output_file() -> None:
    obj = valid(batch_object(record(), SUCCEEDED))
    assert obj["status"] == "completed"
    assert obj["completed_at"] == unix(SUCCEEDED["metadata"]["endTime"])
    assert obj["output_file_id"] == "file-batch-o6k1fq34vm2ou69wy5w72wqw56qjigbln6yy"
    assert obj["request_counts"] == {"total": 4, "completed": 4, "failed": 0}
    assert obj["failed_at"] is None and obj["cancelled_at"] is None


def test_output_file_from_the_operation_response_alone() -> None:
    operation = copy.deepcopy(SUCCEEDED)
    del operation["metadata"]["output"]
    assert batch_object(record(), operation)["output_file_id"] == \
        "file-batch-o6k1fq34vm2ou69wy5w72wqw56qjigbln6yy"


def test_the_id_comes_from_the_operation_when_the_record_has_none() -> None:
    obj = batch_object({k: v for k, v in record().items() if k != "id"}, SUCCEEDED)
    assert obj["id"] == "batch_o6k1fq34vm2ou69wy5w72wqw56qjigbln6yy"


def ended(state: str, **extra: Any) -> dict[str, Any]:
    """The recorded succeeded Operation in another final state (none was recorded)."""
    operation = copy.deepcopy(SUCCEEDED)
    operation["metadata"]["state"] = state
    del operation["metadata"]["output"], operation["response"]
    operation.update(extra)
    return operation


@pytest.mark.parametrize(("state", "status", "at"), [
    ("BATCH_STATE_CANCELLED", "cancelled", "cancelled_at"),
    ("BATCH_STATE_EXPIRED", "expired", "expired_at"),
    ("BATCH_STATE_FAILED", "failed", "failed_at"),
])
def test_final_states(state: str, status: str, at: str) -> None:
    obj = valid(batch_object(record(), ended(state)))
    assert obj["status"] == status and obj[at] == unix(SUCCEEDED["metadata"]["endTime"])
    assert obj["completed_at"] is None and obj["output_file_id"] is None


def test_batch_that_failed_as_a_whole_lists_gemini_error() -> None:
    operation = ended("BATCH_STATE_FAILED",
                      error={"code": 3, "message": "The input file is not valid JSONL."})
    obj = valid(batch_object(record(), operation))
    assert obj["errors"] == {"object": "list", "data": [
        {"code": "batch_failed", "message": "The input file is not valid JSONL.",
         "param": None, "line": None}]}
    quota = ended("BATCH_STATE_FAILED", error={"code": 8, "message": "Quota exceeded."})
    assert batch_object(record(), quota)["errors"]["data"][0]["code"] == "rate_limit_exceeded"


def test_refused_lines_count_as_failed_and_bring_the_error_file() -> None:
    obj = valid(batch_object(record(refused=3, error_file_id="file-kept_" + "1" * 32), RUNNING))
    assert obj["request_counts"] == {"total": 5, "completed": 0, "failed": 3}
    assert obj["error_file_id"] == "file-kept_" + "1" * 32
    without = batch_object(record(error_file_id="file-kept_" + "1" * 32), SUCCEEDED)
    assert without["error_file_id"] is None  # no refused line, no failed result


def test_failed_results_bring_the_error_file() -> None:
    operation = copy.deepcopy(SUCCEEDED)
    operation["metadata"]["batchStats"] = {"requestCount": "4", "successfulRequestCount": "3",
                                           "failedRequestCount": "1"}
    obj = valid(batch_object(record(error_file_id="file-kept_" + "1" * 32), operation))
    assert obj["request_counts"] == {"total": 4, "completed": 3, "failed": 1}
    assert obj["error_file_id"] == "file-kept_" + "1" * 32


def test_the_record_counts_win() -> None:
    # an embeddings batch: Gemini counts each input; the caller's tally counts lines
    operation = copy.deepcopy(SUCCEEDED)
    operation["metadata"]["batchStats"] = {"requestCount": "40", "successfulRequestCount": "40"}
    counts = request_counts(record(lines=4, refused=1, counts={"completed": 4, "failed": 1}),
                            operation["metadata"])
    assert counts == {"total": 5, "completed": 4, "failed": 1}
    assert request_counts(record(lines=4), operation["metadata"])["total"] == 4


def test_malformed_stats_do_not_crash() -> None:
    assert request_counts(record(), {"batchStats": {"requestCount": "x", "failedRequestCount":
                                                    "-1"}}) == \
        {"total": 0, "completed": 0, "failed": 0}
    assert request_counts(record(), {"batchStats": "odd"})["total"] == 0


def test_cancelling_until_gemini_says_cancelled() -> None:
    obj = valid(batch_object(record(cancelling_at=CREATED + 60), RUNNING))
    assert obj["status"] == "cancelling" and obj["cancelling_at"] == CREATED + 60
    done = valid(batch_object(record(cancelling_at=CREATED + 60),
                              ended("BATCH_STATE_CANCELLED")))
    assert done["status"] == "cancelled" and done["cancelling_at"] == CREATED + 60


def test_unknown_state_is_in_progress_and_no_operation_is_failed() -> None:
    odd = copy.deepcopy(RUNNING)
    odd["metadata"]["state"] = "BATCH_STATE_SOMETHING_NEW"
    assert batch_object(record(), odd)["status"] == "in_progress"
    never = valid(batch_object(record(refused=2, lines=0, errors=[
        {"code": "invalid_json_line", "message": "Line 1 is not valid JSON.", "param": None,
         "line": 1}]), None))
    assert never["status"] == "failed" and never["failed_at"] == CREATED
    assert never["errors"]["data"][0]["line"] == 1
    assert never["request_counts"] == {"total": 2, "completed": 0, "failed": 2}


def test_batch_usage_is_openais_shape_and_its_total_is_in_plus_out() -> None:
    usage = batch_usage(100, 40, 30, 12)
    assert BatchUsage.model_validate(usage, strict=True).total_tokens == 130
    assert usage["input_tokens_details"] == {"cached_tokens": 40}
    assert usage["output_tokens_details"] == {"reasoning_tokens": 12}


def test_a_batchs_usage_is_its_records() -> None:
    record = {"id": "batch_x", "endpoint": "/v1/chat/completions", "input_file_id": "f",
              "created_at": 1, "usage": batch_usage(1, 0, 2, 0)}
    assert batch_object(record, None)["usage"]["total_tokens"] == 3
    assert batch_object({**record, "usage": None}, None)["usage"] is None


def test_the_results_file_is_found_in_either_place_gemini_gives_it() -> None:
    name = "files/batch-abc"
    assert results_file({"response": {"responsesFile": name}}) == name
    assert results_file({"metadata": {"output": {"responsesFile": name}}}) == name
    assert results_file({"metadata": {"state": "BATCH_STATE_RUNNING"}}) is None
    assert results_file(None) is None


def test_requests_a_cancelled_or_expired_batch_never_ran_say_why() -> None:
    assert unanswered({"metadata": {"state": "BATCH_STATE_CANCELLED"}})[0] == "batch_cancelled"
    assert unanswered({"metadata": {"state": "BATCH_STATE_EXPIRED"}})[0] == "batch_expired"
    assert unanswered(SUCCEEDED) is None and unanswered(None) is None
