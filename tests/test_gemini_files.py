"""GeminiFiles (adapter/gemini_files.py) against the fake Gemini's Files API and Batch Mode
(tests/fake_gemini_files.py), both over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import re
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlencode

import httpx
import orjson
import pytest

from adapter.gemini_files import PIECE_BYTES, GeminiFiles
from adapter.retry import RetryPolicy
from adapter.translate.errors import AdapterError, UpstreamError
from adapter.upstream import GeminiClient

from .fake_gemini import FIXTURES, FakeGemini, Reply, fixture_json
from .fake_gemini_files import FAIL
from .servers import serve

KEY = "tenant-key-a"
OTHER = "tenant-key-b"
PIECE = 1024  # the fake's granularity is set to this for these tests


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeGemini, str]]:
    fake = FakeGemini()
    with serve(fake) as url:
        yield fake, url


@pytest.fixture
def fake(served: tuple[FakeGemini, str]) -> FakeGemini:
    served[0].reset()
    served[0].files.granularity = PIECE
    return served[0]


@pytest.fixture
async def files(served: tuple[FakeGemini, str]) -> AsyncIterator[GeminiFiles]:
    async with httpx.AsyncClient() as http:
        yield GeminiFiles(GeminiClient(http, served[1], first_byte_timeout=5.0, secrets=(),
                                       pool=None, retry=RetryPolicy(0, 10.0), max_streams=4,
                                       queue_timeout=1.0))


async def chunks_of(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


async def upload(files: GeminiFiles, data: bytes, name: str = "notes.txt", key: str = KEY,
                 max_bytes: int = 10**6) -> dict[str, object]:
    return await files.upload(chunks_of(data, 700), "text/plain", name, key,
                              max_bytes=max_bytes, piece_bytes=PIECE)


def pieces(fake: FakeGemini) -> list[tuple[str, str, int]]:
    """(command, offset, size) of each upload request after the start."""
    return [(s.headers["x-goog-upload-command"], s.headers.get("x-goog-upload-offset", ""),
             len(s.body or b"")) for s in fake.seen
            if s.path == "/upload/v1beta/files" and "upload_id=" in s.query]


async def test_an_upload_goes_in_pieces_of_the_piece_size_the_last_one_finalizing(
        fake: FakeGemini, files: GeminiFiles) -> None:
    data = bytes(range(256)) * 11 + b"tail"  # 2820 bytes
    file = await upload(files, data)
    start = fake.seen[0]
    assert start.headers["x-goog-upload-command"] == "start"
    assert start.headers["x-goog-upload-protocol"] == "resumable"
    assert start.headers["x-goog-upload-header-content-type"] == "text/plain"
    assert "x-goog-upload-header-content-length" not in start.headers  # not known up front
    assert start.body == {"file": {"display_name": "notes.txt"}}
    assert pieces(fake) == [("upload", "0", 1024), ("upload", "1024", 1024),
                            ("upload, finalize", "2048", 772)]
    assert b"".join(s.body for s in fake.seen[1:]) == data
    for seen in fake.seen:
        assert seen.headers["x-goog-api-key"] == KEY
        assert KEY not in seen.path + seen.query
    assert re.fullmatch(r"files/[a-z0-9]{12}", str(file["name"]))
    recorded = fixture_json("files-upload-finalize-response.json")["file"]
    assert list(file) == list(recorded)  # the recorded fields, in the recorded order
    digest = hashlib.sha256(data).hexdigest().encode()
    assert file | {"name": "", "createTime": "", "updateTime": "", "expirationTime": ""} == {
        "name": "", "displayName": "notes.txt", "mimeType": "text/plain", "sizeBytes": "2820",
        "createTime": "", "updateTime": "", "expirationTime": "",
        "sha256Hash": base64.b64encode(digest).decode(),
        "uri": f"{str(file['uri']).split('/v1beta/')[0]}/v1beta/{file['name']}",
        "state": "ACTIVE", "source": "UPLOADED"}


@pytest.mark.parametrize(("size", "expected"), [
    (2048, [("upload", "0", 1024), ("upload, finalize", "1024", 1024)]),
    (1024, [("upload, finalize", "0", 1024)]),
    (0, [("upload, finalize", "0", 0)]),
])
async def test_the_last_piece_finalizes_whatever_its_size(
        fake: FakeGemini, files: GeminiFiles, size: int,
        expected: list[tuple[str, str, int]]) -> None:
    file = await upload(files, b"x" * size)
    assert pieces(fake) == expected
    assert file["sizeBytes"] == str(size)


async def test_pieces_go_upstream_as_the_chunks_arrive(fake: FakeGemini,
                                                       files: GeminiFiles) -> None:
    held: list[int] = []

    async def watched() -> AsyncIterator[bytes]:
        for index in range(20):
            sent = sum(size for _, _, size in pieces(fake))
            held.append(index * 300 - sent)  # bytes read from the source, not yet upstream
            yield b"y" * 300

    await files.upload(watched(), "text/plain", "w.txt", KEY, max_bytes=10**6,
                       piece_bytes=PIECE)
    assert max(held) <= PIECE + 300  # one piece and the chunk that overflowed it
    assert len(pieces(fake)) == 6


def test_the_default_piece_is_8_mib() -> None:
    assert PIECE_BYTES == 8 * 1024 * 1024 == int(
        re.findall(r"X-Goog-Upload-Chunk-Granularity: (\d+)",
                   (FIXTURES / "files-upload-start.http.txt")
                   .read_text())[0])


async def test_an_upload_over_max_bytes_is_cancelled_upstream_and_is_a_413(
        fake: FakeGemini, files: GeminiFiles) -> None:
    with pytest.raises(AdapterError) as caught:
        await upload(files, b"z" * 3000, max_bytes=2500)
    error = caught.value
    assert (error.status, error.code, error.param) == (413, "file_too_large", "file")
    assert pieces(fake) == [("upload", "0", 1024), ("upload", "1024", 1024), ("cancel", "", 0)]
    assert not fake.files.uploads and not fake.files.files


async def test_an_upstream_refusal_keeps_its_status(fake: FakeGemini,
                                                    files: GeminiFiles) -> None:
    fake.file_refusals.append(
        Reply.error("error-429-resource-exhausted-retry-info-trimmed.json", 429))
    with pytest.raises(UpstreamError) as caught:
        await upload(files, b"a" * 10)
    assert caught.value.status == 429
    assert caught.value.code == "rate_limit_exceeded"
    fake.file_refusals.append(
        Reply.error("error-429-resource-exhausted-retry-info-trimmed.json", 429))
    with pytest.raises(UpstreamError) as caught:
        await files.list(None, 10, KEY)
    assert caught.value.status == 429


async def test_a_refused_piece_cancels_the_upload(fake: FakeGemini,
                                                  files: GeminiFiles) -> None:
    fake.files.granularity = 4096  # the fake refuses a 1024-byte piece before the last
    with pytest.raises(UpstreamError) as caught:
        await upload(files, b"b" * 3000)
    assert caught.value.status == 400
    assert pieces(fake) == [("upload", "0", 1024), ("cancel", "", 0)]
    assert not fake.files.uploads


async def test_get_list_in_pages_and_delete(fake: FakeGemini, files: GeminiFiles) -> None:
    names = [(await upload(files, b"%d" % n, f"f{n}.txt"))["name"] for n in range(3)]
    got = await files.get(str(names[0]), KEY)
    assert set(got) == set(fixture_json("files-get.json")) | {"displayName"}  # bare File
    first = await files.list(None, 2, KEY)
    assert [f["name"] for f in first["files"]] == names[:0:-1]  # newest first
    second = await files.list(first["nextPageToken"], 2, KEY)
    assert [f["name"] for f in second["files"]] == names[:1]
    assert "nextPageToken" not in second
    await files.delete(str(names[1]), KEY)
    assert [f["name"] for f in (await files.list(None, 10, KEY))["files"]] == names[::2][::-1]
    with pytest.raises(UpstreamError) as caught:
        await files.get(str(names[1]), KEY)
    assert (caught.value.status, caught.value.gemini_status) == (403, "PERMISSION_DENIED")
    assert fake.seen[-1].query == ""
    assert [s.query for s in fake.seen if s.path == "/v1beta/files"][:2] == [
        "pageSize=2", urlencode({"pageSize": 2, "pageToken": first["nextPageToken"]})]


async def test_another_key_sees_none_of_the_files(fake: FakeGemini,
                                                  files: GeminiFiles) -> None:
    name = str((await upload(files, b"mine"))["name"])
    assert await files.list(None, 10, OTHER) == {}
    for call in (files.get(name, OTHER), files.delete(name, OTHER),
                 anext(files.download(name, OTHER))):
        with pytest.raises(UpstreamError) as caught:
            await call
        assert (caught.value.status, caught.value.gemini_status) == (403, "PERMISSION_DENIED")
    assert (await files.get(name, KEY))["name"] == name


async def test_an_uploaded_file_cannot_be_downloaded(fake: FakeGemini,
                                                     files: GeminiFiles) -> None:
    name = str((await upload(files, b"mine"))["name"])
    with pytest.raises(UpstreamError) as caught:
        await anext(files.download(name, KEY))
    assert caught.value.status == 400
    assert caught.value.message == "Only GENERATED files can be downloaded."
    download = fake.seen[-1]
    assert (download.path, download.query) == (f"/download/v1beta/{name}:download", "alt=media")


async def jsonl_file(files: GeminiFiles, *requests: dict[str, object],
                     key: str = KEY) -> str:
    lines = b"".join(orjson.dumps({"key": f"k{i}", "request": r}) + b"\n"
                     for i, r in enumerate(requests))
    return str((await files.upload(chunks_of(lines, 500), "application/jsonl", "in.jsonl",
                                   key, max_bytes=10**7, piece_bytes=PIECE))["name"])


def ask(text: str) -> dict[str, object]:
    return {"contents": [{"role": "user", "parts": [{"text": text}]}]}


async def test_a_batch_is_pending_then_running_then_succeeded_with_a_results_file(
        fake: FakeGemini, files: GeminiFiles) -> None:
    queued = fixture_json("generate-content-text.json")
    fake.files.batch_responses.append(queued)
    source = await jsonl_file(files, ask("one"), ask(f"two {FAIL}"), ask("three"), ask("four"))
    created = await files.create_batch("gemini-2.5-flash", source, "run-1", KEY)
    name = str(created["name"])
    assert re.fullmatch(r"batches/[a-z0-9]{36}", name)
    recorded = fixture_json("batch-create-inline-response.json")
    assert list(created) == list(recorded) and "done" not in created
    meta = created["metadata"]
    assert list(meta) == ["@type", "model", "displayName", "inputConfig", "createTime",
                          "updateTime", "batchStats", "state", "name"]
    assert meta["@type"] == recorded["metadata"]["@type"]
    assert (meta["model"], meta["displayName"], meta["state"], meta["name"]) == (
        "models/gemini-2.5-flash", "run-1", "BATCH_STATE_PENDING", name)
    assert meta["batchStats"] == {"requestCount": "4", "pendingRequestCount": "4"}
    assert fake.seen[-1].body == {"batch": {"displayName": "run-1",
                                            "inputConfig": {"fileName": source}}}

    running = await files.get_batch(name, KEY)
    assert running["metadata"]["state"] == "BATCH_STATE_RUNNING" and "done" not in running
    done = await files.get_batch(name, KEY)
    assert done["done"] is True
    assert done["metadata"]["state"] == "BATCH_STATE_SUCCEEDED"
    assert list(done) == list(fixture_json("batch-get-succeeded-responses-file.json"))
    assert list(done["metadata"]) == [
        "@type", "model", "displayName", "inputConfig", "output", "createTime", "endTime",
        "updateTime", "batchStats", "state", "name"]  # as recorded
    assert done["metadata"]["batchStats"] == {
        "requestCount": "4", "successfulRequestCount": "3", "failedRequestCount": "1"}
    results = f"files/batch-{name.removeprefix('batches/')}"
    assert done["metadata"]["output"] == {"responsesFile": results}
    assert done["response"] == {
        "@type": fixture_json("batch-get-succeeded-responses-file.json")["response"]["@type"],
        "responsesFile": results}
    assert await files.get_batch(name, KEY) == done  # stays done

    lines = [orjson.loads(line) for line in
             b"".join([c async for c in files.download(results, KEY)]).splitlines()]
    recorded_lines = [orjson.loads(line) for line in
                      (FIXTURES / "batch-results-file.jsonl")
                      .read_bytes().splitlines()]
    assert lines == [
        {"response": queued, "key": "k0"},
        {"error": {"code": 400, "message": "Request contains an invalid argument.",
                   "status": "INVALID_ARGUMENT"}, "key": "k1"},
        {"response": recorded_lines[0]["response"], "key": "k2"},
        {"response": recorded_lines[1]["response"], "key": "k3"}]
    assert (await files.get(results, KEY))["source"] == "GENERATED"
    with pytest.raises(UpstreamError):
        await files.get_batch(name, OTHER)


async def test_an_embedding_batch_answers_as_many_values_as_asked(
        fake: FakeGemini, files: GeminiFiles) -> None:
    fake.files.batch_polls = 0
    request = {"content": {"parts": [{"text": "hello world"}]}, "outputDimensionality": 8}
    source = await jsonl_file(files, request, request | {"outputDimensionality": 3})
    created = await files.create_embed_batch("gemini-embedding-001", source, "e", KEY)
    assert created["metadata"]["@type"].endswith(".EmbedContentBatch")
    assert fake.seen[-1].path == "/v1beta/models/gemini-embedding-001:asyncBatchEmbedContent"
    done = await files.get_batch(str(created["name"]), KEY)
    assert done["metadata"]["state"] == "BATCH_STATE_SUCCEEDED"
    assert done["response"]["@type"].endswith(".EmbedContentBatchOutput")
    content = b"".join([c async for c in files.download(done["response"]["responsesFile"],
                                                         KEY)])
    lines = [orjson.loads(line) for line in content.splitlines()]
    recorded = orjson.loads((FIXTURES
                             / "batch-embed-results-file.jsonl").read_bytes().splitlines()[0])
    assert [list(line) for line in lines] == [list(recorded)] * 2
    assert [list(line["response"]) for line in lines] == [list(recorded["response"])] * 2
    assert [len(line["response"]["embedding"]["values"]) for line in lines] == [8, 3]
    assert lines[0]["response"]["tokenCount"] == "2"


async def test_a_large_results_file_streams_and_closes_when_left(
        fake: FakeGemini, files: GeminiFiles) -> None:
    fake.files.batch_polls = 0
    request = {"content": {"parts": [{"text": "x"}]}, "outputDimensionality": 3072}
    source = await jsonl_file(files, *[request] * 40)
    created = await files.create_embed_batch("gemini-embedding-001", source, "big", KEY)
    results = (await files.get_batch(str(created["name"]), KEY))["response"]["responsesFile"]
    sizes = [len(c) async for c in files.download(results, KEY)]
    assert len(sizes) > 2 and sum(sizes) > 10 * max(sizes)  # in pieces, as they arrive
    async with contextlib.aclosing(files.download(results, KEY)) as stream:
        assert await anext(stream)
    for _ in range(200):  # the fake sees the adapter hang up
        if fake.open_streams == 0:
            break
        await asyncio.sleep(0.01)
    assert fake.open_streams == 0


async def test_cancel_stops_a_running_batch_but_not_a_finished_one(
        fake: FakeGemini, files: GeminiFiles) -> None:
    source = await jsonl_file(files, ask("one"))
    running = str((await files.create_batch("gemini-2.5-flash", source, "c", KEY))["name"])
    assert await files.cancel_batch(running, KEY) == {}
    assert fake.seen[-1].path == f"/v1beta/{running}:cancel"
    cancelled = await files.get_batch(running, KEY)
    assert (cancelled["done"], cancelled["metadata"]["state"]) == (True,
                                                                   "BATCH_STATE_CANCELLED")
    fake.files.batch_polls = 0
    finished = str((await files.create_batch("gemini-2.5-flash", source, "d", KEY))["name"])
    await files.get_batch(finished, KEY)
    await files.cancel_batch(finished, KEY)
    assert (await files.get_batch(finished, KEY))["metadata"]["state"] == \
        "BATCH_STATE_SUCCEEDED"
    with pytest.raises(UpstreamError) as caught:
        await files.cancel_batch(finished, OTHER)
    assert caught.value.status == 404


async def test_batches_are_listed_in_pages_per_key(fake: FakeGemini,
                                                   files: GeminiFiles) -> None:
    source = await jsonl_file(files, ask("one"))
    names = [(await files.create_batch("gemini-2.5-flash", source, f"b{n}", KEY))["name"]
             for n in range(3)]
    first = await files.list_batches(None, 2, KEY)
    assert [op["name"] for op in first["operations"]] == names[:0:-1]
    second = await files.list_batches(first["nextPageToken"], 2, KEY)
    assert [op["name"] for op in second["operations"]] == names[:1]
    assert "nextPageToken" not in second
    assert await files.list_batches(None, 10, OTHER) == {}


async def test_a_batch_over_another_keys_file_is_refused(fake: FakeGemini,
                                                         files: GeminiFiles) -> None:
    source = await jsonl_file(files, ask("one"), key=OTHER)
    with pytest.raises(UpstreamError) as caught:
        await files.create_batch("gemini-2.5-flash", source, "x", KEY)
    assert caught.value.status == 403
    assert not fake.files.batches


@pytest.mark.parametrize("name", ["files/../models/x", "files/A", "batches/x?y", "models/m"])
async def test_a_malformed_name_is_not_found_without_a_call(
        fake: FakeGemini, files: GeminiFiles, name: str) -> None:
    for call in (files.get(name, KEY), files.get_batch(name, KEY),
                 files.cancel_batch(name, KEY), files.delete(name, KEY)):
        with pytest.raises(AdapterError) as caught:
            await call
        assert (caught.value.status, caught.value.code) == (404, "not_found")
    assert not fake.seen


async def test_the_fake_refuses_a_piece_at_the_wrong_offset(served: tuple[FakeGemini, str],
                                                             fake: FakeGemini) -> None:
    async with httpx.AsyncClient(base_url=served[1]) as http:
        start = await http.post("/upload/v1beta/files", json={"file": {}}, headers={
            "x-goog-api-key": KEY, "x-goog-upload-command": "start"})
        url = start.headers["x-goog-upload-url"]
        assert start.headers["x-goog-upload-chunk-granularity"] == str(PIECE)
        wrong = await http.post(url, content=b"q" * PIECE, headers={
            "x-goog-api-key": KEY, "x-goog-upload-command": "upload",
            "x-goog-upload-offset": "5"})
        assert wrong.status_code == 400
        assert wrong.json()["error"]["status"] == "INVALID_ARGUMENT"
        ragged = await http.post(url, content=b"q" * 5, headers={
            "x-goog-api-key": KEY, "x-goog-upload-command": "upload",
            "x-goog-upload-offset": "0"})
        assert ragged.status_code == 400
