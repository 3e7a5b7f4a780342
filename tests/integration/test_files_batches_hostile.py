"""/v1/files and /v1/batches as a careless or malicious tenant of a shared gateway uses them:
malformed and truncated forms, stalled uploads, the adapter's own files. Each answer is an
OpenAI-shaped 4xx/503 naming the parameter, nothing half-sent is kept, nothing hangs."""

from __future__ import annotations

import io
import socket
import uuid
from typing import Any

import httpx
import openai
import orjson

from ..fake_gemini import FakeGemini

MODEL = "gemini-2.5-flash"
FORM = {"content-type": "multipart/form-data; boundary=b"}


def field(name: str, value: bytes, filename: str | None = None, extra: bytes = b"") -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return (f"--b\r\nContent-Disposition: {disposition}\r\n".encode() + extra + b"\r\n" + value
            + b"\r\n")


def post_form(url: str, body: bytes, key: str = "client-key") -> httpx.Response:
    return httpx.post(f"{url}/v1/files", content=body, timeout=20,
                      headers={**FORM, "authorization": f"Bearer {key}"})


def fresh_tenant(client: openai.OpenAI) -> tuple[openai.OpenAI, str]:
    """A tenant of its own (the shared adapter keeps the other tests' files)."""
    key = f"tenant-{uuid.uuid4().hex}"
    return client.with_options(api_key=key), key


def error_of(answer: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = answer.json()["error"]
    return error


def test_a_non_ascii_content_type_of_the_file_is_not_sent_on(adapter_url: str,
                                                             fake: FakeGemini) -> None:
    body = field("purpose", b"user_data") + field(
        "file", b"text", "notes.txt", b"Content-Type: \x01\xff; x\r\n") + b"--b--\r\n"
    answer = post_form(adapter_url, body)
    assert answer.status_code == 200, answer.text  # was a 500 (UnicodeEncodeError)
    start = next(seen for seen in fake.seen if seen.headers.get("x-goog-upload-command")
                 == "start")
    assert start.headers["x-goog-upload-header-content-type"] == "text/plain"


def test_a_form_cut_before_its_closing_boundary_keeps_nothing(adapter_url: str,
                                                              client: openai.OpenAI,
                                                              fake: FakeGemini) -> None:
    client, key = fresh_tenant(client)
    for purpose in (b"batch", b"user_data"):
        body = field("purpose", purpose) + b'--b\r\nContent-Disposition: form-data; ' \
            b'name="file"; filename="in.jsonl"\r\n\r\n{"custom_id": "a", "meth'
        answer = post_form(adapter_url, body, key)
        assert answer.status_code == 400, answer.text  # was a 200 keeping the cut file
        assert (error_of(answer)["param"], error_of(answer)["code"]) == (
            "file", "incomplete_upload")
    assert client.files.list().data == []
    assert [seen.headers["x-goog-upload-command"] for seen in fake.seen
            if "x-goog-upload-command" in seen.headers][-1] == "cancel"


def test_two_file_parts_are_a_400(adapter_url: str, client: openai.OpenAI) -> None:
    client, key = fresh_tenant(client)
    body = field("purpose", b"batch") + field("file", b"{}\n", "a.jsonl") + \
        field("file", b"{}\n", "b.jsonl") + b"--b--\r\n"
    answer = post_form(adapter_url, body, key)
    assert answer.status_code == 400, answer.text  # was a 200 keeping a.jsonl, b dropped
    assert error_of(answer)["param"] == "file"
    assert client.files.list().data == []


def test_a_batchs_gemini_input_is_not_one_of_the_callers_files(client: openai.OpenAI,
                                                               fake: FakeGemini) -> None:
    line = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}}
    uploaded = client.files.create(file=("in.jsonl", io.BytesIO(orjson.dumps(line) + b"\n")),
                                   purpose="batch")
    client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                          completion_window="24h")
    create = next(seen for seen in fake.seen if seen.path.endswith(":batchGenerateContent"))
    internal = "file-" + create.body["batch"]["inputConfig"]["fileName"].removeprefix("files/")
    # was listed as the caller's purpose "batch" file, and could be retrieved and deleted
    listed = [file.id for file in client.files.list().data]
    assert uploaded.id in listed and internal not in listed
    for call in (client.files.retrieve, client.files.delete):
        try:
            call(internal)
        except openai.NotFoundError:
            continue
        raise AssertionError(f"{call.__name__} found {internal}")


def _stalled_upload(url: str) -> socket.socket:
    """An upload that declares a body, sends its start, then nothing more."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=20)
    start = field("purpose", b"batch")
    sock.sendall(b"POST /v1/files HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer stalling\r\n"
                 b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n"
                 b"\r\n" + start)
    return sock


def test_a_stalled_upload_does_not_hold_its_slot_forever(start_adapter: Any,
                                                         fake: FakeGemini) -> None:
    url = start_adapter(GEMINI_API_KEY="k", ADAPTER_MAX_UPLOADS="1",
                        ADAPTER_WRITE_TIMEOUT="1", ADAPTER_QUEUE_TIMEOUT="0.2")
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="client-key", max_retries=0,
                           timeout=20)
    with _stalled_upload(url) as stalled:
        # was: waits for the slot as long as the stalled client likes
        try:
            client.files.create(file=("a.jsonl", io.BytesIO(b"{}\n")), purpose="batch")
        except openai.APIStatusError as refused:
            assert (refused.status_code, refused.code) == (503, "too_many_uploads")
        else:
            raise AssertionError("an upload took the only slot, held by a stalled one")
        # was: the stalled upload never ends
        answer = stalled.recv(65536)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b'"upload_stalled"' in answer
    kept = client.files.create(file=("a.jsonl", io.BytesIO(b"{}\n")), purpose="batch")
    assert kept.bytes == 3
