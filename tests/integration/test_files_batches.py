"""/v1/files and /v1/batches through the real openai SDK, over the fake Gemini's Files API and
Batch Mode (tests/fake_gemini_files.py: the recorded wire formats)."""

from __future__ import annotations

import io
import time
from typing import Any

import httpx
import openai
import orjson
import pytest
from openai.types import Batch, CreateEmbeddingResponse, FileObject
from openai.types.chat import ChatCompletion
from openai.types.responses import Response

from adapter.routes import batches, placeholders

from ..fake_gemini import FakeGemini, Reply
from ..fake_gemini_files import FAIL
from .helpers import PDF, chat_line, jsonl, upload_batch_input

MODEL = "gemini-2.5-flash"


def other_client(client: openai.OpenAI) -> openai.OpenAI:
    return client.with_options(api_key="another-tenant")


def run_to_end(client: openai.OpenAI, batch: Batch) -> Batch:
    for _ in range(10):
        batch = client.batches.retrieve(batch.id)
        if batch.status in ("completed", "failed", "cancelled", "expired"):
            return batch
    raise AssertionError(batch)


def counted(client: openai.OpenAI, batch: Batch) -> Batch:
    """The batch once the adapter has counted its results (usage), which it does in the
    background after Gemini finished."""
    for _ in range(100):
        batch = client.batches.retrieve(batch.id)
        if batch.usage is not None:
            return batch
        time.sleep(0.05)
    raise AssertionError(batch)


def lines_of(client: openai.OpenAI, file_id: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in client.files.content(file_id).read().splitlines()]


# --- files ----------------------------------------------------------------------------------


def test_upload_list_retrieve_use_and_delete_a_file(client: openai.OpenAI,
                                                   fake: FakeGemini) -> None:
    uploaded = client.files.create(file=("report.pdf", io.BytesIO(PDF), "application/pdf"),
                                   purpose="user_data")
    assert isinstance(uploaded, FileObject)
    assert (uploaded.filename, uploaded.purpose, uploaded.bytes, uploaded.status) == (
        "report.pdf", "user_data", len(PDF), "processed")
    assert uploaded.id.startswith("file-")
    assert uploaded.expires_at is not None and uploaded.expires_at - uploaded.created_at == \
        pytest.approx(48 * 3600, abs=5)
    start = next(seen for seen in fake.seen if seen.headers.get("x-goog-upload-command")
                 == "start")
    assert start.headers["x-goog-api-key"] != "client-key"  # the server's key, never a URL
    assert "key=" not in start.query

    assert [f.id for f in client.files.list().data] == [uploaded.id]
    assert client.files.retrieve(uploaded.id) == uploaded

    client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": [
        {"type": "text", "text": "Summarise."},
        {"type": "file", "file": {"file_id": uploaded.id}}]}])
    sent = fake.seen[-1].body["contents"][0]["parts"]
    assert sent[1]["fileData"]["mimeType"] == "application/pdf"
    assert sent[1]["fileData"]["fileUri"].endswith(uploaded.id.removeprefix("file-"))

    client.responses.create(model=MODEL, store=False, input=[{"role": "user", "content": [
        {"type": "input_text", "text": "Summarise."},
        {"type": "input_file", "file_id": uploaded.id}]}])
    assert fake.seen[-1].body["contents"][0]["parts"][1]["fileData"] == sent[1]["fileData"]

    deleted = client.files.delete(uploaded.id)
    assert deleted.deleted and deleted.id == uploaded.id
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(uploaded.id)


def test_another_tenant_sees_nothing_of_a_file(client: openai.OpenAI, fake: FakeGemini) -> None:
    uploaded = client.files.create(file=("a.txt", io.BytesIO(b"secret"), "text/plain"),
                                   purpose="user_data")
    other = other_client(client)
    assert other.files.list().data == []
    for call in (lambda: other.files.retrieve(uploaded.id),
                 lambda: other.files.delete(uploaded.id)):
        with pytest.raises(openai.NotFoundError):
            call()
    with pytest.raises(openai.BadRequestError) as refused:
        other.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": [
            {"type": "file", "file": {"file_id": uploaded.id}}]}])
    assert refused.value.body["param"] == "messages[0].content[0].file.file_id"  # type: ignore[index]
    assert client.files.retrieve(uploaded.id).id == uploaded.id


def test_an_uploaded_file_cannot_be_read_back(client: openai.OpenAI) -> None:
    uploaded = client.files.create(file=("a.txt", io.BytesIO(b"text"), "text/plain"),
                                   purpose="user_data")
    with pytest.raises(openai.BadRequestError) as refused:
        client.files.content(uploaded.id)
    assert refused.value.code == "not_downloadable"


def test_a_large_upload_goes_to_gemini_in_pieces(client: openai.OpenAI, fake: FakeGemini) -> None:
    size = 8 * 1024 * 1024 * 2 + 12345
    uploaded = client.files.create(file=("big.bin", io.BytesIO(bytes(size)), "video/mp4"),
                                   purpose="user_data")
    assert uploaded.bytes == size
    pieces = [seen for seen in fake.seen if "upload_id=" in seen.query]
    assert [seen.headers["x-goog-upload-command"] for seen in pieces] == [
        "upload", "upload", "upload, finalize"]
    assert [int(seen.headers["x-goog-upload-offset"]) for seen in pieces] == [
        0, 8 * 1024 * 1024, 16 * 1024 * 1024]


def test_purpose_after_the_file_is_read_too(adapter_url: str, fake: FakeGemini) -> None:
    """OpenAI's Node SDK sends `file` before `purpose`."""
    body = (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"in.jsonl\"\r\n"
            b"Content-Type: application/jsonl\r\n\r\n" + jsonl(chat_line("a", "hi")) +
            b"\r\n--b\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch"
            b"\r\n--b--\r\n")
    answer = httpx.post(f"{adapter_url}/v1/files", content=body,
                        headers={"authorization": "Bearer client-key",
                                 "content-type": "multipart/form-data; boundary=b"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["purpose"] == "batch"
    assert answer.json()["bytes"] == len(jsonl(chat_line("a", "hi")))


@pytest.mark.parametrize(("fields", "param"), [
    ({"purpose": "nonsense"}, "purpose"), ({}, "purpose")])
def test_a_bad_purpose_is_a_400_naming_it(adapter_url: str, fields: dict[str, str],
                                         param: str) -> None:
    answer = httpx.post(f"{adapter_url}/v1/files", data=fields,
                        files={"file": ("a.txt", b"x", "text/plain")},
                        headers={"authorization": "Bearer client-key"})
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == param


def test_a_file_over_the_limit_is_a_413_and_nothing_is_kept(
        start_adapter: Any, fake: FakeGemini) -> None:
    url = start_adapter(GEMINI_API_KEY="k", ADAPTER_BATCH_FILE_MAX_BYTES="1000")
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="client-key", max_retries=0)
    with pytest.raises(openai.APIStatusError) as refused:
        upload_batch_input(client, bytes(5000))
    assert refused.value.status_code == 413
    assert refused.value.body["param"] == "file"  # type: ignore[index]
    assert client.files.list().data == []


# --- batches --------------------------------------------------------------------------------


def test_a_chat_batch_with_a_bad_line_runs_to_its_output_and_error_files(
        client: openai.OpenAI, fake: FakeGemini) -> None:
    content = jsonl(chat_line("first", "Say hi"),
                    chat_line("bad", "x", temperature=9),
                    chat_line("second", "Say bye", max_tokens=50),
                    chat_line("upstream-fails", FAIL),
                    {"custom_id": "first", "method": "POST", "url": "/v1/chat/completions",
                     "body": {"model": MODEL, "messages": [{"role": "user", "content": "dup"}]}})
    batch_input = upload_batch_input(client, content)
    assert batch_input.purpose == "batch" and batch_input.bytes == len(content)
    assert client.files.content(batch_input.id).read() == content  # kept by the adapter

    batch = client.batches.create(input_file_id=batch_input.id,
                                  endpoint="/v1/chat/completions", completion_window="24h",
                                  metadata={"run": "eval-1"})
    assert isinstance(batch, Batch)
    assert batch.status == "in_progress" and batch.metadata == {"run": "eval-1"}
    assert batch.id.startswith("batch_")
    created = next(seen for seen in fake.seen if seen.path.endswith(":batchGenerateContent"))
    assert created.path == f"/v1beta/models/{MODEL}:batchGenerateContent"
    assert created.body["batch"]["inputConfig"]["fileName"].startswith("files/")

    done = run_to_end(client, batch)
    assert done.status == "completed"
    assert done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed,
            done.request_counts.failed) == (5, 2, 3)
    assert done.output_file_id and done.error_file_id

    output = lines_of(client, done.output_file_id)
    assert sorted(line["custom_id"] for line in output) == ["first", "second"]
    for line in output:
        assert line["response"]["status_code"] == 200 and line["error"] is None
        completion = ChatCompletion.model_validate(line["response"]["body"])
        assert completion.choices[0].message.content
        assert completion.model == MODEL

    errors = {line["custom_id"]: line for line in lines_of(client, done.error_file_id)}
    assert set(errors) == {"bad", "upstream-fails", "first"}
    assert errors["bad"]["response"]["status_code"] == 400
    assert errors["bad"]["response"]["body"]["error"]["param"] == "temperature"
    assert errors["upstream-fails"]["response"]["status_code"] == 400
    assert errors["first"]["response"]["body"]["error"]["code"] == "duplicate_custom_id"
    assert client.files.retrieve(done.output_file_id).purpose == "batch_output"

    # Usage: every result's tokens, as the live answers report them.
    usage = counted(client, done).usage
    assert usage is not None
    bodies = [ChatCompletion.model_validate(line["response"]["body"]) for line in output]
    assert usage.input_tokens == sum(b.usage.prompt_tokens for b in bodies if b.usage) > 0
    assert usage.output_tokens == sum(b.usage.completion_tokens for b in bodies if b.usage) > 0
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert usage.output_tokens_details.reasoning_tokens == sum(
        b.usage.completion_tokens_details.reasoning_tokens or 0 for b in bodies
        if b.usage and b.usage.completion_tokens_details)
    assert client.batches.retrieve(done.id).request_counts == done.request_counts
    listed = {f.id: f for f in client.files.list(purpose="batch_output")}
    assert {done.output_file_id, done.error_file_id} <= set(listed)
    assert listed[done.output_file_id] == client.files.retrieve(done.output_file_id)


def test_responses_and_embeddings_batches(client: openai.OpenAI, fake: FakeGemini) -> None:
    responses = jsonl(*[{"custom_id": f"r{i}", "method": "POST", "url": "/v1/responses",
                         "body": {"model": MODEL, "input": f"question {i}"}} for i in range(3)])
    batch = client.batches.create(input_file_id=upload_batch_input(client, responses).id,
                                  endpoint="/v1/responses", completion_window="24h")
    done = run_to_end(client, batch)
    assert done.output_file_id is not None
    for line in lines_of(client, done.output_file_id):
        answer = Response.model_validate(line["response"]["body"])
        assert answer.status == "completed" and answer.output_text

    embeddings = jsonl({"custom_id": "e0", "method": "POST", "url": "/v1/embeddings",
                        "body": {"model": "gemini-embedding-001", "input": ["a", "b"],
                                 "dimensions": 8}},
                       {"custom_id": "e1", "method": "POST", "url": "/v1/embeddings",
                        "body": {"model": "gemini-embedding-001", "input": "c",
                                 "dimensions": 8}})
    batch = client.batches.create(input_file_id=upload_batch_input(client, embeddings).id,
                                  endpoint="/v1/embeddings", completion_window="24h")
    assert any(seen.path.endswith(":asyncBatchEmbedContent") for seen in fake.seen)
    done = run_to_end(client, batch)
    assert done.output_file_id is not None
    found = {line["custom_id"]: CreateEmbeddingResponse.model_validate(line["response"]["body"])
             for line in lines_of(client, done.output_file_id)}
    assert [len(found["e0"].data), len(found["e1"].data)] == [2, 1]
    assert len(found["e0"].data[1].embedding) == 8
    # Gemini counts each of the three inputs; OpenAI's counts are of the two lines.
    final = counted(client, done)
    assert final.request_counts is not None
    assert (final.request_counts.total, final.request_counts.completed) == (2, 2)
    assert final.usage is not None and final.usage.input_tokens == sum(
        answer.usage.prompt_tokens for answer in found.values())


def test_cancel_list_and_another_tenant(client: openai.OpenAI, fake: FakeGemini) -> None:
    client = client.with_options(api_key="tenant-listing")  # its batches only, listed
    fake.files.batch_polls = 100
    first = client.batches.create(
        input_file_id=upload_batch_input(client, jsonl(chat_line("a", "hi"))).id,
        endpoint="/v1/chat/completions", completion_window="24h")
    second = client.batches.create(
        input_file_id=upload_batch_input(client, jsonl(chat_line("b", "hi"))).id,
        endpoint="/v1/chat/completions", completion_window="24h")
    cancelled = client.batches.cancel(first.id)
    assert cancelled.status in ("cancelling", "cancelled")
    assert cancelled.cancelling_at is not None
    assert client.batches.retrieve(first.id).status == "cancelled"
    listed = client.batches.list(limit=1)
    assert [b.id for b in listed.data] == [second.id] and listed.has_more
    assert [b.id for b in client.batches.list()] == [second.id, first.id]

    other = other_client(client)
    assert other.batches.list().data == []
    with pytest.raises(openai.NotFoundError):
        other.batches.retrieve(first.id)
    with pytest.raises(openai.NotFoundError):
        other.batches.cancel(first.id)


def test_a_batch_whose_every_line_is_refused_fails(client: openai.OpenAI,
                                                   fake: FakeGemini) -> None:
    batch = client.batches.create(
        input_file_id=upload_batch_input(client, b"not json\n" + jsonl(
            chat_line("x", "hi", temperature="hot"))).id,
        endpoint="/v1/chat/completions", completion_window="24h")
    assert batch.status == "failed"
    assert batch.errors is not None and len(batch.errors.data or []) == 2
    assert not any(seen.path.endswith(":batchGenerateContent") for seen in fake.seen)
    assert batch.error_file_id is not None
    assert len(lines_of(client, batch.error_file_id)) == 2


@pytest.mark.parametrize(("body", "param"), [
    ({"endpoint": "/v1/chat/completions", "completion_window": "24h"}, "input_file_id"),
    ({"input_file_id": "file-kept_" + "0" * 32, "endpoint": "/v1/chat/completions",
      "completion_window": "24h"}, "input_file_id"),
    ({"input_file_id": "x", "endpoint": "/v1/completions", "completion_window": "24h"},
     "endpoint"),
    ({"input_file_id": "x", "endpoint": "/v1/chat/completions", "completion_window": "1h"},
     "completion_window"),
])
def test_bad_batch_requests_are_400s_naming_the_parameter(
        adapter_url: str, body: dict[str, Any], param: str) -> None:
    answer = httpx.post(f"{adapter_url}/v1/batches", json=body,
                        headers={"authorization": "Bearer client-key"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["param"] == param


def test_a_transcription_reads_an_uploaded_file_by_id(client: openai.OpenAI, adapter_url: str,
                                                      fake: FakeGemini) -> None:
    audio = client.files.create(file=("talk.mp3", io.BytesIO(b"ID3" + bytes(500)), "audio/mpeg"),
                                purpose="user_data")
    fake.queue(Reply.body({"candidates": [{"content": {"parts": [{"text": "Hello."}],
                                                       "role": "model"},
                                           "finishReason": "STOP", "index": 0}]}))
    form = b"".join(b"--b\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" % pair
                    for pair in ((b"model", b"whisper-1"), (b"file_id", audio.id.encode())))
    answer = httpx.post(f"{adapter_url}/v1/audio/transcriptions", content=form + b"--b--\r\n",
                        headers={"authorization": "Bearer client-key",
                                 "content-type": "multipart/form-data; boundary=b"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["text"] == "Hello."
    part = fake.seen[-1].body["contents"][0]["parts"][0]
    assert part["fileData"]["mimeType"] == "audio/mpeg"
    assert part["fileData"]["fileUri"].endswith(audio.id.removeprefix("file-"))


def test_a_file_gemini_is_still_processing_is_waited_for(
        client: openai.OpenAI, fake: FakeGemini, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(placeholders, "READY_POLL_SECONDS", 0.01)
    fake.files.processing_gets = 2  # a video just uploaded
    video = client.files.create(file=("clip.mp4", io.BytesIO(bytes(1000)), "video/mp4"),
                                purpose="user_data")
    client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": [
        {"type": "file", "file": {"file_id": video.id}}]}])
    gets = [seen for seen in fake.seen if seen.method == "GET" and "/files/" in seen.path]
    assert len(gets) == 3
    assert fake.seen[-1].body["contents"][0]["parts"][0]["fileData"]["mimeType"] == "video/mp4"

    monkeypatch.setattr(placeholders, "READY_POLLS", 3)
    fake.files.processing_gets = 100
    slow = client.files.create(file=("long.mp4", io.BytesIO(bytes(1000)), "video/mp4"),
                               purpose="user_data")
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": [
            {"type": "file", "file": {"file_id": slow.id}}]}])
    assert refused.value.code == "file_not_ready"


def test_a_finished_batch_cannot_be_cancelled(client: openai.OpenAI, fake: FakeGemini) -> None:
    done = run_to_end(client, client.batches.create(
        input_file_id=upload_batch_input(client, jsonl(chat_line("a", "hi"))).id,
        endpoint="/v1/chat/completions", completion_window="24h"))
    with pytest.raises(openai.BadRequestError) as refused:
        client.batches.cancel(done.id)
    assert refused.value.code == "batch_not_cancellable"
    assert not any(seen.path.endswith(":cancel") for seen in fake.seen)
    assert client.batches.retrieve(done.id).status == "completed"


@pytest.mark.parametrize("limit", ["0", "101", "-1", "x", "\u00b2", "1e3"])
def test_a_bad_batch_list_limit_is_a_400(adapter_url: str, limit: str) -> None:
    answer = httpx.get(f"{adapter_url}/v1/batches", params={"limit": limit},
                       headers={"authorization": "Bearer client-key"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["param"] == "limit"


def test_a_file_the_lines_of_a_batch_share_is_looked_up_once(client: openai.OpenAI,
                                                             fake: FakeGemini) -> None:
    pdf = client.files.create(file=("shared.pdf", io.BytesIO(PDF), "application/pdf"),
                              purpose="user_data")
    lines = [chat_line(f"q{i}", "x") for i in range(3)]
    for line in lines:
        line["body"]["messages"][0]["content"] = [
            {"type": "text", "text": "Summarise."},
            {"type": "file", "file": {"file_id": pdf.id}}]
    batch = client.batches.create(input_file_id=upload_batch_input(client, jsonl(*lines)).id,
                                  endpoint="/v1/chat/completions", completion_window="24h")
    assert batch.request_counts is not None and batch.request_counts.failed == 0
    name = f"/v1beta/files/{pdf.id.removeprefix('file-')}"
    assert [seen.method for seen in fake.seen if seen.path == name] == ["GET"]
    sent = [orjson.loads(line) for line in fake.files.files[
        fake.files.uploaded[-1]["name"].removeprefix("files/")].content.splitlines()]
    assert len(sent) == 3
    assert {line["request"]["contents"][0]["parts"][1]["fileData"]["fileUri"]
            for line in sent} == {fake.files.uploaded[0]["uri"]}


def test_finished_batches_are_counted_a_few_at_a_time(
        client: openai.OpenAI, fake: FakeGemini, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batches, "MAX_TALLIES", 0)  # every counting slot taken
    done = run_to_end(client, client.batches.create(
        input_file_id=upload_batch_input(client, jsonl(chat_line("a", "hi"))).id,
        endpoint="/v1/chat/completions", completion_window="24h"))
    for _ in range(5):
        assert client.batches.retrieve(done.id).usage is None
    downloads = [seen for seen in fake.seen if seen.path.startswith("/download/")]
    assert downloads == []  # not counted while no slot is free
    monkeypatch.setattr(batches, "MAX_TALLIES", 2)
    assert counted(client, done).usage is not None  # a later read counts it
