"""/v1/files and /v1/batches across replicas, each its own process as if on its own host
(tests/integration/helpers.py `Fleet`), over one fake Gemini.

File ids are stateless (the Gemini file, its owner in the displayName); batch input files, batch
records, contexts and error files live in the store. So replicas sharing one real PostgreSQL serve
every file and batch wherever it was made, and still only to its owner; replicas each on their own
SQLite file do not know another's batches (the documented limit, docs/operations.md)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import openai
import orjson
import pytest
from openai.types import Batch

from ..fake_gemini import FakeGemini
from ..real_postgres import running_postgres
from .helpers import PDF, SERVER_KEY, Fleet, chat_line, jsonl, upload_batch_input

MODEL = "gemini-2.5-flash"
ALICE, BOB = "team-a", "team-b"  # client keys (ADAPTER_API_KEYS): each owns its files
# A pool of upstream keys: each replica must pick the same one for a caller, since a Gemini file
# (and batch) lives in the project of the key that made it (the fake keeps them per key).
POOL = f"{SERVER_KEY},second-gemini-key-0002,third-gemini-key-0003"


def env(fake_url: str, **extra: str) -> dict[str, str]:
    return {"GEMINI_BASE_URL": fake_url, "GEMINI_API_KEY": POOL,
            "ADAPTER_API_KEYS": f"{ALICE},{BOB}", "ADAPTER_RETRIES": "0", **extra}


def clients(fleet: Fleet, key: str = ALICE) -> list[openai.OpenAI]:
    """One openai client per replica, all with the same client key."""
    return [openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=20)
            for url in fleet.urls]


def finished(client: openai.OpenAI, batch_id: str) -> Batch:
    for _ in range(10):
        batch = client.batches.retrieve(batch_id)
        if batch.status in ("completed", "failed", "cancelled", "expired"):
            return batch
    raise AssertionError(batch)


def lines_of(client: openai.OpenAI, file_id: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in client.files.content(file_id).read().splitlines()]


@pytest.fixture(scope="module")
def shared(fake_server: tuple[FakeGemini, str],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """Three replicas whose store is one real PostgreSQL."""
    with running_postgres() as postgres:
        replicas = Fleet(3, env(fake_server[1], ADAPTER_STORE=postgres.url()),
                         tmp_path_factory.mktemp("files-shared"))
        try:
            yield replicas
        finally:
            replicas.close()


@pytest.fixture
def separate(fake_server: tuple[FakeGemini, str], tmp_path: Path) -> Iterator[Fleet]:
    """Two replicas, each with its own SQLite file (as on separate hosts)."""
    replicas = Fleet(2, env(fake_server[1]), tmp_path)
    try:
        yield replicas
    finally:
        replicas.close()


def test_a_file_uploaded_on_one_replica_is_used_listed_and_deleted_on_others(
        shared: Fleet, fake: FakeGemini) -> None:
    a, b, c = clients(shared)
    uploaded = a.files.create(file=("report.pdf", io.BytesIO(PDF), "application/pdf"),
                              purpose="user_data")

    b.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": [
        {"type": "text", "text": "Summarise."},
        {"type": "file", "file": {"file_id": uploaded.id}}]}])
    sent = fake.seen[-1].body["contents"][0]["parts"][1]["fileData"]
    assert sent["mimeType"] == "application/pdf"
    assert sent["fileUri"].endswith(uploaded.id.removeprefix("file-"))
    for client in (a, b, c):
        assert client.files.retrieve(uploaded.id) == uploaded
        assert uploaded.id in {f.id for f in client.files.list()}

    for other in clients(shared, BOB):
        assert other.files.list().data == []
        with pytest.raises(openai.NotFoundError):
            other.files.retrieve(uploaded.id)
        with pytest.raises(openai.BadRequestError):
            other.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": [
                {"type": "file", "file": {"file_id": uploaded.id}}]}])

    assert b.files.delete(uploaded.id).deleted
    for client in (a, c):
        with pytest.raises(openai.NotFoundError):
            client.files.retrieve(uploaded.id)
        assert uploaded.id not in {f.id for f in client.files.list()}


def test_a_batch_made_on_one_replica_is_served_by_every_other(shared: Fleet,
                                                                fake: FakeGemini) -> None:
    """Input uploaded on A, the batch created on B, polled on A, its output and error files read
    on B, listed everywhere; another tenant finds nothing on any replica; the input deleted on B
    is a 404 on A."""
    a, b, c = clients(shared)
    content = jsonl(chat_line("first", "Say hi"), chat_line("bad", "x", temperature=9),
                    chat_line("second", "Say bye"))
    batch_input = upload_batch_input(a, content)
    assert b.files.content(batch_input.id).read() == content
    assert c.files.retrieve(batch_input.id) == batch_input

    batch = b.batches.create(input_file_id=batch_input.id, endpoint="/v1/chat/completions",
                             completion_window="24h", metadata={"run": "eval-1"})
    done = finished(a, batch.id)
    assert done.status == "completed" and done.metadata == {"run": "eval-1"}
    assert done.input_file_id == batch_input.id
    assert done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed,
            done.request_counts.failed) == (3, 2, 1)
    assert done.output_file_id and done.error_file_id

    for client in (b, c):
        output = lines_of(client, done.output_file_id)
        assert sorted(line["custom_id"] for line in output) == ["first", "second"]
        assert all(line["response"]["status_code"] == 200 for line in output)
        errors = lines_of(client, done.error_file_id)
        assert [(line["custom_id"], line["response"]["body"]["error"]["param"])
                for line in errors] == [("bad", "temperature")]
        assert client.files.retrieve(done.output_file_id).purpose == "batch_output"
    for client in (a, b, c):
        assert client.batches.list().data[0].id == batch.id  # the newest
        assert batch_input.id in {f.id for f in client.files.list().data}

    for other in clients(shared, BOB):
        assert other.batches.list().data == []
        assert other.files.list().data == []
        for call in (partial(other.batches.retrieve, batch.id),
                     partial(other.batches.cancel, batch.id),
                     partial(other.files.retrieve, batch_input.id),
                     partial(other.files.content, batch_input.id),
                     partial(other.files.content, done.output_file_id),
                     partial(other.files.content, done.error_file_id),
                     partial(other.files.delete, batch_input.id)):
            with pytest.raises(openai.NotFoundError):
                call()
        with pytest.raises(openai.BadRequestError) as refused:
            other.batches.create(input_file_id=batch_input.id, endpoint="/v1/chat/completions",
                                 completion_window="24h")
        assert refused.value.code == "file_not_found"

    assert b.files.delete(batch_input.id).deleted
    for gone in (partial(a.files.retrieve, batch_input.id),
                 partial(a.files.content, batch_input.id)):
        with pytest.raises(openai.NotFoundError):
            gone()
    assert a.batches.retrieve(batch.id).status == "completed"  # its own records stay


def test_inputs_uploaded_at_once_on_every_replica_read_back_whole_on_the_next(
        shared: Fleet, fake: FakeGemini) -> None:
    """Batch inputs of several 1 MiB rows each, uploaded on the three replicas at the same time
    into the one PostgreSQL, each read back byte for byte through another replica."""
    contents = [jsonl(*[chat_line(f"{replica}-{n}", f"{replica} {n} " + "x" * 1000)
                        for n in range(3000)]) for replica in range(3)]
    assert all(len(content) > 3 << 20 for content in contents)
    replicas = clients(shared)
    with ThreadPoolExecutor(3) as pool:
        uploaded = list(pool.map(upload_batch_input, replicas, contents))
    for index, (file, content) in enumerate(zip(uploaded, contents, strict=True)):
        reader = replicas[(index + 1) % 3]
        assert reader.files.retrieve(file.id).bytes == len(content)
        assert reader.files.content(file.id).read() == content
        assert reader.files.delete(file.id).deleted


def test_a_batch_cancelled_on_another_replica_reads_cancelled_everywhere(
        shared: Fleet, fake: FakeGemini) -> None:
    a, b, c = clients(shared)
    fake.files.batch_polls = 100
    batch = a.batches.create(input_file_id=upload_batch_input(a, jsonl(chat_line("a", "hi"))).id,
                             endpoint="/v1/chat/completions", completion_window="24h")
    cancelled = b.batches.cancel(batch.id)
    assert cancelled.cancelling_at is not None
    for client in (a, c):
        seen = client.batches.retrieve(batch.id)
        assert (seen.status, seen.cancelling_at) == ("cancelled", cancelled.cancelling_at)
        assert client.batches.list().data[0].id == batch.id  # the newest
    for other in clients(shared, BOB):
        with pytest.raises(openai.NotFoundError):
            other.batches.cancel(batch.id)


def test_on_separate_sqlite_files_a_batch_is_known_only_where_it_was_made(
        separate: Fleet, fake: FakeGemini) -> None:
    """The documented limit of a store local to a host."""
    a, b = clients(separate)
    batch_input = upload_batch_input(a, jsonl(chat_line("a", "hi")))
    batch = a.batches.create(input_file_id=batch_input.id, endpoint="/v1/chat/completions",
                             completion_window="24h")
    for call in (partial(b.batches.retrieve, batch.id), partial(b.batches.cancel, batch.id),
                 partial(b.files.retrieve, batch_input.id),
                 partial(b.files.content, batch_input.id)):
        with pytest.raises(openai.NotFoundError):
            call()
    assert b.batches.list().data == []
    with pytest.raises(openai.BadRequestError) as refused:
        b.batches.create(input_file_id=batch_input.id, endpoint="/v1/chat/completions",
                         completion_window="24h")
    assert refused.value.code == "file_not_found"
    assert a.batches.retrieve(batch.id).id == batch.id
    assert a.files.content(batch_input.id).read() == jsonl(chat_line("a", "hi"))
