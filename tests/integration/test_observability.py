"""The access log (one line per request, text or JSON) and the Prometheus metrics at /metrics."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from ..fake_gemini import FakeGemini, Reply
from ..processes import adapter_process
from .helpers import SERVER_KEY

MODEL = "gemini-2.5-flash"
HELLO = [{"role": "user", "content": "What is the capital of France?"}]
CHAT = "/v1/chat/completions"
CLIENT_KEY = "client-secret-token-456"
FIELDS = {"request_id", "method", "path", "model", "stream", "status", "upstream_status",
          "ttft_ms", "duration_ms", "tokens_in", "tokens_out", "retries", "complete"}
TEXT_FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def post(url: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    headers.setdefault("authorization", f"Bearer {CLIENT_KEY}")
    return httpx.post(f"{url}{CHAT}", json=body, headers=headers, timeout=20)


def parse_text(line: str) -> dict[str, Any]:
    """A text access line as a dict: `-` is None, quoted values and numbers decoded."""
    fields: dict[str, Any] = {}
    for name, raw in TEXT_FIELD.findall(line):
        value: Any = raw
        if raw == "-":
            value = None
        elif raw.startswith('"') or raw in ("true", "false") or re.fullmatch(r"[\d.]+", raw):
            value = orjson.loads(raw)
        fields[name] = value
    return fields


def access_line(caplog: pytest.LogCaptureFixture, request_id: str) -> dict[str, Any]:
    """The access line of a request, parsed; it is written just after the response ends."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for record in list(caplog.records):
            message = record.getMessage()
            if record.name == "adapter.access" and request_id in message:
                fields = orjson.loads(message) if message.startswith("{") \
                    else parse_text(message)
                fields["_raw"] = message
                return fields
        time.sleep(0.01)
    raise AssertionError(f"no access line for {request_id}")


@pytest.fixture
def access(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="adapter.access")
    return caplog


@pytest.fixture(scope="module")
def json_url(start_adapter: Callable[..., str]) -> str:
    return start_adapter(GEMINI_API_KEY=SERVER_KEY, ADAPTER_RETRIES="0",
                         ADAPTER_LOG_FORMAT="json")


def metrics(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of /metrics: (name, labels) -> value."""
    response = httpx.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples}


def sample(values: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str,
           **labels: str) -> float | None:
    return values.get((name, frozenset(labels.items())))


# The access line


def test_access_line_of_a_chat_request_in_text(adapter_url: str, fake: FakeGemini,
                                               access: pytest.LogCaptureFixture) -> None:
    response = post(adapter_url, {"model": MODEL, "messages": HELLO},
                    **{"x-request-id": "client-chosen-id-1"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "client-chosen-id-1"
    line = access_line(access, "client-chosen-id-1")
    assert line.keys() >= FIELDS
    usage = response.json()["usage"]
    assert line["request_id"] == "client-chosen-id-1"
    assert (line["method"], line["path"], line["model"], line["stream"]) == \
        ("POST", CHAT, MODEL, False)
    assert (line["status"], line["upstream_status"], line["retries"]) == (200, 200, 0)
    assert (line["tokens_in"], line["tokens_out"]) == \
        (usage["prompt_tokens"], usage["completion_tokens"])
    assert line["ttft_ms"] is None  # not a stream
    assert line["duration_ms"] > 0
    assert line["complete"] is True
    assert "capital" not in line["_raw"] and "Paris" not in line["_raw"]  # no prompt, no answer
    assert CLIENT_KEY not in line["_raw"] and SERVER_KEY not in line["_raw"]


def test_access_line_of_a_stream_in_json(json_url: str, fake: FakeGemini,
                                         access: pytest.LogCaptureFixture) -> None:
    fake.queue(Reply.sse("stream-sse-text.txt", delay=0.05))
    with httpx.stream("POST", f"{json_url}{CHAT}", timeout=20, json={
            "model": MODEL, "messages": HELLO, "stream": True,
            "stream_options": {"include_usage": True}}) as response:
        assert response.status_code == 200
        request_id = response.headers["x-request-id"]  # made by the adapter
        events = [line for line in response.iter_lines() if line.startswith("data: {")]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    usage = orjson.loads(events[-1][6:])["usage"]
    line = access_line(access, request_id)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
    assert line.keys() >= FIELDS
    assert (line["method"], line["path"], line["model"], line["stream"]) == \
        ("POST", CHAT, MODEL, True)
    assert (line["status"], line["upstream_status"], line["retries"]) == (200, 200, 0)
    assert (line["tokens_in"], line["tokens_out"]) == \
        (usage["prompt_tokens"], usage["completion_tokens"])
    # The first chunk waits for the first event; the line is written after the last one.
    assert 0 < line["ttft_ms"] < line["duration_ms"]
    assert line["duration_ms"] >= 50 * (len(events) - 1)
    assert line["complete"] is True


def test_request_id_is_reused_for_streams_and_a_bad_one_replaced(
        json_url: str, fake: FakeGemini, access: pytest.LogCaptureFixture) -> None:
    body = {"model": MODEL, "messages": HELLO, "stream": True}
    response = post(json_url, body, **{"x-request-id": "trace-42/b"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "trace-42/b"
    assert access_line(access, "trace-42/b")["stream"] is True
    response = post(json_url, body, **{"x-request-id": 'a "quoted" id'})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_upstream_error_with_a_key_in_its_message_leaves_no_key_in_the_line(
        log_format: str, adapter_url: str, json_url: str, fake: FakeGemini,
        access: pytest.LogCaptureFixture) -> None:
    fake.queue(Reply.body({"error": {
        "code": 400, "status": "INVALID_ARGUMENT",
        "message": f"Key {SERVER_KEY} (or {CLIENT_KEY}) cannot do that"}}, 400))
    url = adapter_url if log_format == "text" else json_url
    response = post(url, {"model": MODEL, "messages": HELLO},
                    **{"x-request-id": f"error-{log_format}"})
    assert response.status_code == 400
    line = access_line(access, f"error-{log_format}")
    assert (line["status"], line["upstream_status"]) == (400, 400)
    assert (line["tokens_in"], line["tokens_out"]) == (None, None)
    assert SERVER_KEY not in line["_raw"] and CLIENT_KEY not in line["_raw"]
    assert "cannot do that" not in line["_raw"]


def test_a_rejected_request_is_logged_with_its_model(adapter_url: str, fake: FakeGemini,
                                                     access: pytest.LogCaptureFixture) -> None:
    response = post(adapter_url, {"model": "odd model\nname", "messages": []},
                    **{"x-request-id": "rejected-1"})
    assert response.status_code == 400
    line = access_line(access, "rejected-1")
    assert "\n" not in line["_raw"]  # a client's text cannot start a log line of its own
    assert (line["model"], line["status"], line["upstream_status"]) == \
        ("odd model\nname", 400, None)
    assert fake.seen == []


def test_log_bodies_flag_logs_bodies_with_keys_masked(start_adapter: Callable[..., str],
                                                      fake: FakeGemini,
                                                      access: pytest.LogCaptureFixture) -> None:
    url = start_adapter(ADAPTER_RETRIES="0", ADAPTER_LOG_FORMAT="json", ADAPTER_LOG_BODIES="1")
    fake.queue(Reply.body({"error": {"code": 400, "status": "INVALID_ARGUMENT",
                                     "message": f"Key {CLIENT_KEY} cannot do that"}}, 400))
    prompt = [{"role": "user", "content": f"Remember my key {CLIENT_KEY}, then say hi"}]
    response = post(url, {"model": MODEL, "messages": prompt}, **{"x-request-id": "bodies-1"})
    assert response.status_code == 400
    assert fake.seen[0].headers["x-goog-api-key"] == CLIENT_KEY  # no server key: the client's
    line = access_line(access, "bodies-1")
    assert "Remember my key ***, then say hi" in line["request_body"]
    assert "cannot do that" in line["response_body"]
    assert CLIENT_KEY not in line["_raw"]


# /metrics


def test_metrics_count_requests_tokens_and_upstream_errors(start_adapter: Callable[..., str],
                                                           fake: FakeGemini) -> None:
    url = start_adapter(GEMINI_API_KEY=SERVER_KEY, ADAPTER_RETRIES="0")
    prompt_tokens = completion_tokens = 0
    for _ in range(2):
        usage = post(url, {"model": MODEL, "messages": HELLO}).json()["usage"]
        prompt_tokens += usage["prompt_tokens"]
        completion_tokens += usage["completion_tokens"]
    stream = post(url, {"model": MODEL, "messages": HELLO, "stream": True,
                        "stream_options": {"include_usage": True}})
    usage = orjson.loads([line for line in stream.text.splitlines()
                          if line.startswith("data: {")][-1][6:])["usage"]
    prompt_tokens += usage["prompt_tokens"]
    completion_tokens += usage["completion_tokens"]
    fake.queue(Reply.body({"error": {"code": 503, "message": "overloaded",
                                     "status": "UNAVAILABLE"}}, 503))
    assert post(url, {"model": MODEL, "messages": HELLO}).status_code == 503
    assert post(url, {"model": "made-up model", "messages": HELLO}).status_code == 400
    assert httpx.get(f"{url}/v1/responses/resp_nothing", timeout=10,
                     headers={"authorization": "Bearer k"}).status_code == 404

    values = metrics(url)
    requests = "adapter_requests_total"
    assert sample(values, requests, endpoint=CHAT, model=MODEL, status="200") == 3
    assert sample(values, requests, endpoint=CHAT, model=MODEL, status="503") == 1
    assert sample(values, requests, endpoint=CHAT, model="other", status="400") == 1
    assert sample(values, requests, endpoint="/v1/responses/{response_id}", model="",
                  status="404") == 1  # the route's template, not the id
    assert sample(values, "adapter_request_duration_seconds_count", endpoint=CHAT,
                  model=MODEL) == 4
    assert sample(values, "adapter_time_to_first_token_seconds_count", endpoint=CHAT,
                  model=MODEL) == 1
    assert sample(values, "adapter_input_tokens_total", model=MODEL) == prompt_tokens > 0
    assert sample(values, "adapter_output_tokens_total", model=MODEL) == completion_tokens > 0
    assert sample(values, "adapter_upstream_errors_total", status="503") == 1
    assert sample(values, "adapter_upstream_retries_total") == 0
    assert sample(values, "adapter_streams_in_flight") == 0


def test_in_flight_streams_gauge(start_adapter: Callable[..., str], fake: FakeGemini) -> None:
    url = start_adapter(GEMINI_API_KEY=SERVER_KEY)
    fake.queue(Reply.sse("stream-sse-text.txt", delay=0.3))
    with httpx.stream("POST", f"{url}{CHAT}", timeout=20, json={
            "model": MODEL, "messages": HELLO, "stream": True}) as response:
        lines = response.iter_lines()
        assert next(lines).startswith("data: {")
        assert sample(metrics(url), "adapter_streams_in_flight") == 1
        for _ in lines:
            pass
    deadline = time.monotonic() + 5
    while sample(metrics(url), "adapter_streams_in_flight") != 0:
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_metrics_and_health_need_no_client_key(start_adapter: Callable[..., str],
                                               fake: FakeGemini) -> None:
    url = start_adapter(GEMINI_API_KEY=SERVER_KEY, ADAPTER_API_KEYS="team-key")
    assert httpx.get(f"{url}/v1/models", timeout=10).status_code == 401
    assert httpx.get(f"{url}/health", timeout=10).status_code == 200
    values = metrics(url)
    assert sample(values, "adapter_requests_total", endpoint="/v1/models", model="",
                  status="401") == 1
    assert sample(values, "adapter_requests_total", endpoint="/health", model="",
                  status="200") == 1


# Several workers


def _chat_counts(values: dict[tuple[str, frozenset[tuple[str, str]]], float]) -> float:
    return sum(value for (name, labels), value in values.items()
               if name == "adapter_requests_total" and ("endpoint", CHAT) in labels)


def test_metrics_of_several_workers_are_summed(tmp_path: Path) -> None:
    with adapter_process("--replay", "--workers", "2",
                         env={"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}) as url:
        served_by: dict[str, float] = {}
        sent = 0
        while len(served_by) < 2 or sent < 6:  # until both workers have answered chats
            assert sent < 200, "one worker answered every request"
            assert post(url, {"model": MODEL, "messages": HELLO}).status_code == 200  # new
            sent += 1  # connection each time, so either worker may take it
            for path in tmp_path.glob("counter_*.db"):
                counts = _chat_counts({
                    (s.name, frozenset(s.labels.items())): s.value
                    for family in MultiProcessCollector.merge([str(path)])
                    for s in family.samples})
                if counts:
                    served_by[path.name] = counts
        values = metrics(url)
        assert _chat_counts(values) == sent == sum(served_by.values())
        assert sample(values, "adapter_requests_total", endpoint=CHAT, model=MODEL,
                      status="200") == sent
        assert sample(values, "adapter_streams_in_flight") == 0  # livesum of both


def test_several_workers_get_a_metrics_directory_of_their_own() -> None:
    with adapter_process("--replay", "--workers", "2") as url:
        for _ in range(8):
            assert post(url, {"model": MODEL, "messages": HELLO, "stream": True}).status_code \
                == 200
        values = metrics(url)
        assert sample(values, "adapter_requests_total", endpoint=CHAT, model=MODEL,
                      status="200") == 8
        assert sample(values, "adapter_time_to_first_token_seconds_count", endpoint=CHAT,
                      model=MODEL) == 8


# python -m adapter configures the access log


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_python_m_adapter_writes_the_access_line(log_format: str, tmp_path: Path) -> None:
    output = tmp_path / "out.log"
    env = {"ADAPTER_LOG_FORMAT": log_format}
    with adapter_process("--replay", env=env, output=output) as url:
        assert post(url, {"model": MODEL, "messages": HELLO},
                    **{"x-request-id": "cli-line-1"}).status_code == 200
        deadline = time.monotonic() + 5
        while "cli-line-1" not in output.read_text():
            assert time.monotonic() < deadline, output.read_text()
            time.sleep(0.02)
    [line] = [line for line in output.read_text().splitlines() if "cli-line-1" in line]
    if log_format == "json":
        fields = orjson.loads(line)
        assert (fields["request_id"], fields["status"], fields["model"]) == \
            ("cli-line-1", 200, MODEL)
    else:
        assert re.match(r"time=\S+Z request_id=cli-line-1 method=POST ", line)
        assert parse_text(line)["status"] == 200
    assert '"POST /v1/chat/completions HTTP/1.1" 200' not in output.read_text()  # no uvicorn's
