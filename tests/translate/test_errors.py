"""Gemini error bodies -> AdapterError, OpenAI error bodies, and secret masking."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from adapter.translate.errors import (
    AdapterError,
    InvalidRequest,
    UpstreamDisconnected,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnreachable,
    error_body,
    error_type_for,
    from_gemini_error,
    reason_of,
    redact,
    retry_delay_of,
)
from adapter.translate.request import chat_request

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "gemini"
ERROR_FILES = sorted(FIXTURES.glob("error-*.json"))
RETRY_FILE = "error-429-resource-exhausted-retry-info-trimmed.json"


def load(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


def body_bytes(error: AdapterError) -> bytes:
    return orjson.dumps(error.body())


def test_error_fixtures_are_collected() -> None:
    assert len(ERROR_FILES) >= 9


# Each recorded Gemini error, in OpenAI's words: (type, code).
OPENAI_WORDS = {
    "error-400-api-key-invalid.json": ("invalid_request_error", "invalid_api_key"),
    "error-400-batch-embed-too-many-requests.json": ("invalid_request_error", None),
    "error-400-input-token-count-exceeded.json":
        ("invalid_request_error", "context_length_exceeded"),
    "error-400-invalid-argument.json": ("invalid_request_error", None),
    "error-400-thinking-level-unsupported.json": ("invalid_request_error", None),
    "error-403-permission-denied-service-disabled.json": ("invalid_request_error", None),
    "error-404-model-not-found-embed.json": ("invalid_request_error", "model_not_found"),
    "error-404-model-not-found.json": ("invalid_request_error", "model_not_found"),
    "error-429-input-tokens-per-minute.json": ("tokens", "rate_limit_exceeded"),
    "error-429-rate-limit-exceeded-errorinfo.json": ("requests", "rate_limit_exceeded"),
    RETRY_FILE: ("requests", "rate_limit_exceeded"),
}
RETRY_DELAYS = {RETRY_FILE: 34.4, "error-429-input-tokens-per-minute.json": 26.0}


def test_every_recorded_error_has_its_openai_words() -> None:
    assert {path.name for path in ERROR_FILES} == set(OPENAI_WORDS)


@pytest.mark.parametrize("path", ERROR_FILES, ids=lambda p: p.name)
def test_gemini_error_in_openai_words(path: Path) -> None:
    payload = load(path)
    gemini = payload["error"]
    error = from_gemini_error(gemini["code"], payload)
    kind, code = OPENAI_WORDS[path.name]
    assert error.status == gemini["code"]
    assert error.message == gemini["message"]
    assert error.code == code
    reason = reason_of(gemini)
    assert error.body() == {"error": {
        "message": gemini["message"], "type": kind, "param": None, "code": code,
        "gemini_status": gemini["status"], **({"gemini_reason": reason} if reason else {})}}
    assert error.retry_after == RETRY_DELAYS.get(path.name)


@pytest.mark.parametrize(("gemini_status", "status", "code", "kind"), [
    ("INVALID_ARGUMENT", 400, None, "invalid_request_error"),
    ("FAILED_PRECONDITION", 400, None, "invalid_request_error"),
    ("OUT_OF_RANGE", 400, None, "invalid_request_error"),
    ("UNAUTHENTICATED", 401, "invalid_api_key", "invalid_request_error"),
    ("PERMISSION_DENIED", 403, None, "invalid_request_error"),
    ("NOT_FOUND", 404, "model_not_found", "invalid_request_error"),
    ("ABORTED", 409, None, "invalid_request_error"),
    ("RESOURCE_EXHAUSTED", 429, "rate_limit_exceeded", "requests"),
    ("CANCELLED", 499, None, "invalid_request_error"),
    ("INTERNAL", 500, "server_error", "server_error"),
    ("UNKNOWN", 500, "server_error", "server_error"),
    ("UNAVAILABLE", 503, "server_error", "server_error"),
    ("DEADLINE_EXCEEDED", 504, "server_error", "server_error"),
])
def test_every_gemini_status_in_openai_words(gemini_status: str, status: int, code: str | None,
                                             kind: str) -> None:
    payload = {"error": {"code": status, "message": "m", "status": gemini_status}}
    body = from_gemini_error(status, payload).body()["error"]
    assert (body["type"], body["code"], body["gemini_status"]) == (kind, code, gemini_status)


def test_stream_404_recording_body() -> None:
    name = "stream-error-404-model-not-found.recording.json"
    recording = load(FIXTURES / "jsgenai-recordings" / name)
    response = recording["interactions"][0]["response"]
    [payload] = response["bodySegments"]
    error = from_gemini_error(response["statusCode"], payload)
    assert error.status == 404
    assert error.code == "model_not_found"
    assert error.message.startswith("models/custom-gemini-2.0-flash is not found")
    assert b"DebugInfo" not in body_bytes(error)
    assert b"ORIGINAL ERROR" not in body_bytes(error)


@pytest.mark.parametrize("secrets", [(), ("key1234",), ("", "key1234", "other")])
def test_api_key_in_details_never_reaches_the_body(secrets: tuple[str, ...]) -> None:
    payload = load(FIXTURES / "error-400-api-key-invalid.json")
    assert b"key1234" in orjson.dumps(payload)
    error = from_gemini_error(400, payload, secrets)
    assert b"key1234" not in body_bytes(error)
    assert "key1234" not in error.message
    assert error.message == "API key not valid. Please pass a valid API key."
    assert error.code == "invalid_api_key"


def test_secret_in_the_message_is_masked() -> None:
    payload = {"error": {"code": 400, "status": "INVALID_ARGUMENT",
                         "message": "Bad key AIzaSECRET and again AIzaSECRET; token tok-9."}}
    error = from_gemini_error(400, payload, ("AIzaSECRET", "", "tok-9"))
    assert error.message == "Bad key *** and again ***; token ***."
    assert b"AIzaSECRET" not in body_bytes(error)


def test_secret_in_a_text_payload_is_masked() -> None:
    error = from_gemini_error(502, "proxy says: key AIzaSECRET rejected", ("AIzaSECRET",))
    assert error.message == "proxy says: key *** rejected"
    assert error.status == 502
    assert error.code == "server_error"
    assert set(error.body()["error"]) == {"message", "type", "param", "code"}


def test_secret_cut_by_the_length_limit_is_still_masked() -> None:
    secret = "AIzaSyA-0123456789abcdefghijklmnopqrstu"
    payload = "x" * 1980 + secret + " is not valid"
    error = from_gemini_error(400, payload, (secret,))
    assert len(error.message) <= 2000
    assert secret[:10] not in error.message


@pytest.mark.parametrize(("payload", "message"), [
    ("<html>Bad Gateway</html>", "<html>Bad Gateway</html>"),
    ("", "Upstream returned HTTP 503"),
    ("   \n", "Upstream returned HTTP 503"),
    (None, "Upstream returned HTTP 503"),
    (123, "Upstream returned HTTP 503"),
    ([], "Upstream returned HTTP 503"),
    ({"message": "not in an error object"}, "Upstream returned HTTP 503"),
    ({"error": "a string"}, "Upstream returned HTTP 503"),
])
def test_payloads_that_are_not_gemini_errors(payload: Any, message: str) -> None:
    error = from_gemini_error(503, payload)
    assert error.message == message
    assert error.status == 503
    assert error.code == "server_error"
    assert error.retry_after is None
    assert error.body()["error"]["type"] == "server_error"


def test_long_text_payload_is_cut_to_2000_characters() -> None:
    assert from_gemini_error(500, "y" * 5000).message == "y" * 2000


def test_array_wrapped_error_keeps_its_message() -> None:
    # streamGenerateContent without alt=sse (and Gemini's OpenAI-compatible surface) wrap the
    # error object in a JSON array: [{"error": {...}}].
    gemini = load(FIXTURES / "error-404-model-not-found.json")
    error = from_gemini_error(404, [gemini])
    assert error.message == gemini["error"]["message"]
    assert error.code == "model_not_found"


def test_error_object_without_message_or_status() -> None:
    error = from_gemini_error(500, {"error": {"code": 500}})
    assert error.message == "Upstream returned HTTP 500"
    assert error.code == "server_error"


@pytest.mark.parametrize(("details", "seconds"), [
    ([{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "34.4s"}], 34.4),
    ([{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}], 7.0),
    ([{"@type": "x.QuotaFailure"}, "junk",
      {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.5s"}], 0.5),
    ([{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "34"}], None),
    ([{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "soon s"}], None),
    ([{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": 34}], None),
    ([{"@type": "type.googleapis.com/google.rpc.RetryInfo"}], None),
    ([{"@type": "type.googleapis.com/google.rpc.Help", "retryDelay": "3s"}], None),
    ([], None),
    (None, None),
])
def test_retry_delay(details: Any, seconds: float | None) -> None:
    assert retry_delay_of({"details": details}) == seconds


def test_retry_after_of_the_recorded_429() -> None:
    payload = load(FIXTURES / RETRY_FILE)
    assert from_gemini_error(429, payload).retry_after == pytest.approx(34.4)


def test_redact() -> None:
    assert redact("a secret b secret", ("secret",)) == "a *** b ***"
    assert redact("nothing here", ("secret", "")) == "nothing here"
    assert redact("abc", ()) == "abc"


@pytest.mark.parametrize(("status", "kind"), [
    (400, "invalid_request_error"), (401, "invalid_request_error"),
    (403, "invalid_request_error"), (404, "invalid_request_error"),
    (408, "invalid_request_error"), (409, "invalid_request_error"),
    (413, "invalid_request_error"), (422, "invalid_request_error"), (429, "requests"),
    (499, "invalid_request_error"), (500, "server_error"), (502, "server_error"),
    (503, "server_error"), (504, "server_error"),
    (418, "invalid_request_error"), (599, "server_error"),
])
def test_error_type_for(status: int, kind: str) -> None:
    assert error_type_for(status) == kind


def test_error_body_shape() -> None:
    assert error_body("m") == {"error": {
        "message": "m", "type": "invalid_request_error", "param": None, "code": None}}
    assert error_body("m", 429, "p", "c", "custom") == {"error": {
        "message": "m", "type": "custom", "param": "p", "code": "c"}}


def test_adapter_error_and_invalid_request() -> None:
    error = AdapterError("down", 503, code="x", retry_after=2.0)
    assert str(error) == "down"
    assert (error.status, error.code, error.retry_after, error.param) == (503, "x", 2.0, None)
    invalid = InvalidRequest("bad", "temperature")
    assert isinstance(invalid, AdapterError)
    assert invalid.status == 400
    assert invalid.body() == {"error": {
        "message": "bad", "type": "invalid_request_error", "param": "temperature",
        "code": "invalid_request"}}
    assert InvalidRequest("bad", code="model_not_found").code == "model_not_found"


def test_an_error_never_echoes_a_huge_value() -> None:
    with pytest.raises(InvalidRequest) as caught:
        chat_request({"model": "gemini-2.5-flash", "messages": [
            {"role": "user", "content": [{"type": "x" * 100_000}]}]})
    body = caught.value.body()["error"]
    assert len(body["message"]) < 5000 and len(body["param"] or "") < 5000


@pytest.mark.parametrize(("status", "retryable"), [
    (400, False), (401, False), (403, False), (404, False), (429, True), (500, True),
    (502, False), (503, True), (504, False)])
def test_gemini_errors_say_whether_asking_again_may_succeed(status: int, retryable: bool) -> None:
    error = from_gemini_error(status, {"error": {"code": status, "message": "m"}})
    assert isinstance(error, UpstreamError)
    assert error.retryable is retryable
    assert error.rate_limited is (status == 429)


@pytest.mark.parametrize(("name", "refused"), [
    ("error-400-api-key-invalid.json", True),  # 400 with reason API_KEY_INVALID
    ("error-403-permission-denied-service-disabled.json", True),
    ("error-400-invalid-argument.json", False),
    (RETRY_FILE, False),
])
def test_gemini_errors_say_whether_the_key_itself_was_refused(name: str, refused: bool) -> None:
    payload = load(FIXTURES / name)
    assert from_gemini_error(payload["error"]["code"], payload).key_refused is refused


def test_an_unusual_reason_is_not_copied() -> None:
    payload = {"error": {"code": 400, "message": "m", "details": [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "key AIzaSECRET bad"}]}}
    error = from_gemini_error(400, payload)
    assert error.reason is None
    assert not error.key_refused


def test_retry_info_wins_over_the_retry_after_header() -> None:
    assert from_gemini_error(429, load(FIXTURES / RETRY_FILE), (), 5.0).retry_after == \
        pytest.approx(34.4)
    assert from_gemini_error(429, {"error": {"code": 429, "message": "m"}}, (), 5.0) \
        .retry_after == 5.0
    assert from_gemini_error(503, "<html>busy</html>", (), 7.0).retry_after == 7.0


@pytest.mark.parametrize(("error", "status", "code", "retryable"), [
    (UpstreamUnreachable("m"), 502, "upstream_unreachable", True),
    (UpstreamTimeout("m"), 504, "upstream_timeout", False),
    (UpstreamDisconnected("m"), 502, "upstream_disconnected", False),
])
def test_transport_failures_keep_their_status_and_code(
        error: AdapterError, status: int, code: str, retryable: bool) -> None:
    assert (error.status, error.code, error.retryable) == (status, code, retryable)
    assert error.body() == {"error": {
        "message": "m", "type": error_type_for(status), "param": None, "code": code}}


def test_errors_the_adapter_makes_itself_are_not_retried() -> None:
    assert not AdapterError("busy", 503, code="too_many_streams").retryable
    assert not InvalidRequest("bad").retryable
