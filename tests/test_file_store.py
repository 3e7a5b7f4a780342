"""The store of kept files and batch records on SQLite: the shared scenarios (round trip in rows
of 1 MiB, limits, owners, expiry, records, failed and cancelled uploads), the file it shares with
the response store, the store when it is off, and which store the settings open."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from adapter.config import Settings
from adapter.file_store import NullFileStore, SQLiteFileStore, open_file_store
from adapter.store import SQLiteStore
from adapter.translate.errors import AdapterError

from .file_store_scenarios import MIB, NOW, SCENARIOS, A, Backend, Clock, content, pieces, put, read


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state" / "responses.sqlite3"


@pytest.fixture
async def backend(db: Path) -> AsyncIterator[Backend]:
    stores: list[SQLiteFileStore] = []

    def make(**kwargs: Any) -> SQLiteFileStore:
        store = SQLiteFileStore(db, **{"max_bytes": 64 * MIB, "clock": Clock(), **kwargs})
        stores.append(store)
        return store

    def query(statement: str) -> list[Any]:
        with sqlite3.connect(db) as conn:
            return conn.execute(statement).fetchall()

    async def chunk_rows() -> list[tuple[str, int, int]]:
        return [tuple(row) for row in  # type: ignore[misc]
                query("SELECT id, seq, length(data) FROM kept_chunks ORDER BY id, seq")]

    async def file_rows() -> list[str]:
        return [row[0] for row in query("SELECT id FROM kept_files ORDER BY rowid")]

    yield Backend(make, chunk_rows, file_rows)
    for store in stores:
        await store.aclose()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.__name__)
async def test_scenario(scenario: Callable[[Backend], Coroutine[Any, Any, None]],
                        backend: Backend) -> None:
    await scenario(backend)


async def test_shares_the_response_stores_private_file(backend: Backend, db: Path) -> None:
    responses = SQLiteStore(db, 3600.0, 1000)
    try:
        await responses.save("resp_1", {"n": 1}, owner=A)
        files = backend.make()
        await put(files, "file-kept_1", content(MIB + 1))
        assert await responses.load("resp_1", A) == {"n": 1}
        assert b"".join(await read(files, "file-kept_1")) == content(MIB + 1)
    finally:
        await responses.aclose()
    assert os.stat(db).st_mode & 0o777 == 0o600
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_a_second_process_sees_what_one_kept(backend: Backend) -> None:
    one, two = backend.make(), backend.make()
    await put(one, "file-kept_1", b"shared\n")
    assert (await two.meta("file-kept_1", A) or {})["bytes"] == 7
    assert await two.delete("file-kept_1", A) is True
    assert await one.meta("file-kept_1", A) is None


async def test_null_file_store_says_the_store_is_off() -> None:
    store = NullFileStore()
    calls = [
        store.put("file-kept_1", A, {}, pieces(b"x", [1]), max_bytes=10, expires_at=NOW),
        store.meta("file-kept_1", A), store.listing(A, "file"), store.delete("file-kept_1", A),
        store.put_record("batch_1", A, "batch", {}, expires_at=NOW),
        store.record("batch_1", A), store.records(A, "batch"),
    ]
    for call in calls:
        with pytest.raises(AdapterError) as info:
            await call
        assert (info.value.status, info.value.code) == (400, "store_off")
        assert "ADAPTER_STORE" in info.value.message
    with pytest.raises(AdapterError, match="ADAPTER_STORE"):
        store.chunks("file-kept_1", A)
    assert await store.ping() is True
    await store.aclose()


def test_open_file_store_follows_adapter_store(db: Path) -> None:
    assert isinstance(open_file_store(Settings.from_env({"ADAPTER_STORE": "off"})),
                      NullFileStore)
    store = open_file_store(Settings.from_env({"ADAPTER_STORE": str(db),
                                               "ADAPTER_STORE_MAX_BYTES": "5000000"}))
    assert isinstance(store, SQLiteFileStore)
    assert (store.path, store.max_bytes) == (db, 5_000_000)


def test_bad_max_bytes_is_refused(db: Path) -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        SQLiteFileStore(db, max_bytes=0)
