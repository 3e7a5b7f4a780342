"""The store of kept files and batch records on a real PostgreSQL: the shared scenarios, replicas
sharing files and the schema made once, PostgreSQL lost (503) and found again, and
open_file_store on a postgresql:// ADAPTER_STORE."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any

import asyncpg
import pytest

from adapter.config import Settings
from adapter.file_store import open_file_store
from adapter.file_store_postgres import PostgresFileStore
from adapter.store import StoreUnavailable, open_store

from .file_store_scenarios import MIB, SCENARIOS, A, Backend, Clock, content, put, read
from .real_postgres import RealPostgres, running_postgres
from .servers import free_port


@pytest.fixture(scope="module")
def server() -> Iterator[RealPostgres]:
    with running_postgres() as running:
        yield running


@pytest.fixture
async def url(server: RealPostgres) -> str:
    """A fresh database of the server's, for this test."""
    return await server.fresh_database()


async def query(url: str, statement: str) -> list[Any]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(statement))
    finally:
        await conn.close()


@pytest.fixture
async def backend(url: str) -> AsyncIterator[Backend]:
    stores: list[PostgresFileStore] = []

    def make(**kwargs: Any) -> PostgresFileStore:
        kwargs = {"max_bytes": 64 * MIB, "clock": Clock(), **kwargs}
        store = PostgresFileStore(kwargs.pop("url", url), **kwargs)
        stores.append(store)
        return store

    async def chunk_rows() -> list[tuple[str, int, int]]:
        return [(row[0], row[1], row[2]) for row in await query(
            url, "SELECT id, seq, length(data) FROM adapter_kept_chunks ORDER BY id, seq")]

    async def file_rows() -> list[str]:
        return [row[0] for row in await query(
            url, "SELECT id FROM adapter_kept_files ORDER BY seq")]

    yield Backend(make, chunk_rows, file_rows)
    for store in stores:
        await store.aclose()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.__name__)
async def test_scenario(scenario: Callable[[Backend], Coroutine[Any, Any, None]],
                        backend: Backend) -> None:
    await scenario(backend)


async def test_replicas_share_files_and_make_the_schema_once(backend: Backend,
                                                             url: str) -> None:
    stores = [backend.make() for _ in range(4)]
    assert await asyncio.gather(*(store.ping() for store in stores)) == [True] * 4
    assert [row[0] for row in await query(url, "SELECT version FROM adapter_kept_version")] \
        == [1]
    await put(stores[0], "file-kept_1", content(MIB + 7))
    assert b"".join(await read(stores[1], "file-kept_1")) == content(MIB + 7)
    assert await stores[2].delete("file-kept_1", A) is True
    assert await stores[3].meta("file-kept_1", A) is None


async def test_beside_the_response_store_in_one_database(backend: Backend, url: str) -> None:
    responses = open_store(Settings.from_env({"ADAPTER_STORE": url}))
    try:
        await responses.save("resp_1", {"n": 1}, owner=A)
        await put(backend.make(), "file-kept_1", b"line\n")
        assert await responses.load("resp_1", A) == {"n": 1}
    finally:
        await responses.aclose()


async def test_replicas_uploading_together_stay_within_the_store(backend: Backend) -> None:
    stores = [backend.make(max_bytes=5 * MIB) for _ in range(3)]
    results = await asyncio.gather(
        *(put(store, f"file-kept_{n}", content(2 * MIB), sizes=(MIB // 4,))
          for n, store in enumerate(stores)), return_exceptions=True)
    assert sum(result == 2 * MIB for result in results) == 2
    assert [getattr(result, "code", None) for result in results].count("store_full") == 1
    assert sum(row[2] for row in await backend.chunk_rows()) == 4 * MIB


async def test_unreachable_postgres_is_a_503_and_ping_false(backend: Backend) -> None:
    store = backend.make(url=f"postgresql://postgres@127.0.0.1:{free_port()}/none")
    assert await store.ping() is False
    with pytest.raises(StoreUnavailable) as info:
        await store.meta("file-kept_1", A)
    assert (info.value.status, info.value.code) == (503, "store_unavailable")
    with pytest.raises(StoreUnavailable):
        await put(store, "file-kept_1", b"x")


async def test_postgres_stopped_and_started_again(backend: Backend,
                                                  server: RealPostgres) -> None:
    store = backend.make()
    await put(store, "file-kept_before", b"before")
    server.stop()
    try:
        assert await store.ping() is False
        with pytest.raises(StoreUnavailable):
            await put(store, "file-kept_during", b"during")
        with pytest.raises(StoreUnavailable):
            await store.record("batch_1", A)
    finally:
        server.start()
    assert await store.ping() is True  # the same store, not restarted
    assert await read(store, "file-kept_before") == [b"before"]
    assert await put(store, "file-kept_after", b"after") == 5
    assert await backend.file_rows() == ["file-kept_before", "file-kept_after"]


def test_open_file_store_postgres(url: str) -> None:
    store = open_file_store(Settings.from_env({"ADAPTER_STORE": url,
                                               "ADAPTER_STORE_POOL_SIZE": "3",
                                               "ADAPTER_STORE_MAX_BYTES": "5000000"}))
    assert isinstance(store, PostgresFileStore)
    assert (store.pool_size, store.max_bytes) == (3, 5_000_000)
