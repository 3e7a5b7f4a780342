"""The response store on a real PostgreSQL: the SQLite store's rules (owners, chains, delete,
retention, count and size limits), shared by several stores as by replicas, the schema made once
when they start together, and PostgreSQL lost and found again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import asyncpg
import pytest

from adapter.config import Settings
from adapter.store import ChainError, StoreUnavailable, open_store
from adapter.store_postgres import PostgresStore

from .real_postgres import RealPostgres, running_postgres
from .servers import free_port

A, B = "owner-a-hash", "owner-b-hash"
RECORD: dict[str, Any] = {"response": {"id": "resp_1", "output": [{"type": "message"}]},
                          "messages": [{"role": "user", "content": "héllo ✓"}, None, 1.5, True]}


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def server() -> Iterator[RealPostgres]:
    with running_postgres() as running:
        yield running


@pytest.fixture
async def url(server: RealPostgres) -> str:
    """A fresh database of the server's, for this test."""
    return await server.fresh_database()


@pytest.fixture
async def make_store(url: str) -> AsyncIterator[Callable[..., PostgresStore]]:
    stores: list[PostgresStore] = []

    def make(**kwargs: Any) -> PostgresStore:
        kwargs = {"retention_seconds": 3600.0, "max_records": 1000, **kwargs}
        store = PostgresStore(kwargs.pop("url", url), **kwargs)
        stores.append(store)
        return store

    yield make
    for store in stores:
        await store.aclose()


async def query(url: str, statement: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(statement, *args)  # type: ignore[no-any-return]
    finally:
        await conn.close()


async def rows(url: str) -> list[str]:
    """Ids physically in the table, oldest first."""
    found = await query(url, "SELECT id FROM adapter_responses ORDER BY created, seq")
    return [row[0] for row in found]


async def save_chain(store: PostgresStore, count: int, *, owner: str = A) -> list[str]:
    ids = [f"resp_{n}" for n in range(count)]
    for n, response_id in enumerate(ids):
        await store.save(response_id, {"n": n, "messages": ["turn"]}, owner=owner,
                         parent=ids[n - 1] if n else None)
    return ids


async def test_round_trip_and_save_again(make_store, url: str) -> None:
    clock = Clock()
    store = make_store(clock=clock)
    await store.save("resp_1", RECORD, owner=A)
    assert await store.load("resp_1", A) == RECORD
    assert await store.load("unknown", A) is None
    clock.now += 10
    await store.save("resp_1", {"v": 2}, owner=B)  # saved again: first owner and time stay
    assert await store.load("resp_1", A) == {"v": 2}
    assert await store.load("resp_1", B) is None
    assert [tuple(r) for r in await query(url, "SELECT owner, created FROM adapter_responses")] \
        == [(A, 1_000_000.0)]


async def test_another_owner_finds_nothing(make_store) -> None:
    store = make_store()
    ids = await save_chain(store, 2)
    assert await store.load(ids[1], B) is None
    assert await store.chain(ids[1], B) is None
    assert await store.delete(ids[1], B) is False
    assert await store.load(ids[1], A) is not None  # B's delete did nothing


async def test_chain_first_to_last_and_branches(make_store) -> None:
    store = make_store()
    ids = await save_chain(store, 4)
    assert await store.chain(ids[-1], A) == [{"n": n, "messages": ["turn"]} for n in range(4)]
    await store.save("branch", {"n": "b"}, owner=A, parent=ids[0])
    assert [r["n"] for r in await store.chain("branch", A)] == [0, "b"]
    assert await store.chain("unknown", A) is None


async def test_a_chain_longer_than_max_chain_cannot_be_continued(make_store) -> None:
    store = make_store(max_chain=3)
    ids = await save_chain(store, 3)
    assert len(await store.chain(ids[1], A)) == 2
    with pytest.raises(ChainError) as info:
        await store.chain(ids[2], A)
    assert info.value.code == "conversation_too_long"


async def test_a_missing_or_foreign_record_breaks_the_chain(make_store, url: str) -> None:
    store = make_store()
    ids = await save_chain(store, 3)
    await query(url, "DELETE FROM adapter_responses WHERE id = $1", ids[1])
    with pytest.raises(ChainError, match=ids[1]) as info:
        await store.chain(ids[2], A)
    assert info.value.code == "previous_response_not_found"
    await store.save("mine", {}, owner=A, parent="theirs")
    await store.save("theirs", {}, owner=B)
    with pytest.raises(ChainError, match="theirs"):
        await store.chain("mine", A)


async def test_deleting_keeps_what_later_responses_need(make_store, url: str) -> None:
    store = make_store()
    ids = await save_chain(store, 3)
    assert await store.delete(ids[0], A) is True
    assert await store.load(ids[0], A) is None
    assert await store.delete(ids[0], A) is False
    assert [r["n"] for r in await store.chain(ids[2], A)] == [0, 1, 2]
    assert await store.delete(ids[2], A) is True
    assert await rows(url) == ids[:2]  # resp_1 is live: resp_0 is kept for it
    assert await store.delete(ids[1], A) is True
    assert await rows(url) == []


async def test_retention_and_expired_ancestors(make_store, url: str) -> None:
    clock = Clock()
    store = make_store(retention_seconds=100.0, clock=clock, prune_interval=0)
    await store.save("first", {"messages": [1]}, owner=A)
    clock.now += 90
    await store.save("second", {"messages": [2]}, owner=A, parent="first")
    clock.now += 50  # "first" expired, kept for "second"
    await store.save("unrelated", {}, owner=A)
    assert await store.load("first", A) is None
    assert await rows(url) == ["first", "second", "unrelated"]
    assert len(await store.chain("second", A)) == 2
    clock.now += 51
    await store.save("later", {}, owner=A)
    assert await rows(url) == ["unrelated", "later"]


async def test_count_pruning_keeps_a_live_conversation_whole(make_store, url: str) -> None:
    clock = Clock()
    store = make_store(max_records=3, clock=clock, prune_every=1)
    for name, owner, parent in (("start", A, None), ("other", B, None), ("next", A, "start"),
                                ("last", A, "next")):
        clock.now += 1
        await store.save(name, {"messages": []}, owner=owner, parent=parent)
    assert await rows(url) == ["start", "next", "last"]
    assert len(await store.chain("last", A)) == 3


async def test_size_limit_prunes_the_oldest(make_store, url: str) -> None:
    clock = Clock()
    store = make_store(max_bytes=35_000, clock=clock, prune_every=1)
    for n in range(6):
        clock.now += 1
        await store.save(f"resp_{n}", {"text": "x" * 10_000}, owner=A)
    assert await rows(url) == ["resp_3", "resp_4", "resp_5"]
    assert await store.load("resp_2", A) is None


async def test_replicas_share_records(make_store) -> None:
    one, two = make_store(), make_store()
    await one.save("resp_0", {"n": 0}, owner=A)
    await two.save("resp_1", {"n": 1}, owner=A, parent="resp_0")
    assert await one.chain("resp_1", A) == [{"n": 0}, {"n": 1}]
    assert await two.delete("resp_1", A) is True
    assert await one.load("resp_1", A) is None


async def test_schema_is_made_once_by_replicas_starting_together(make_store, url: str) -> None:
    stores = [make_store() for _ in range(4)]
    assert await asyncio.gather(*(store.ping() for store in stores)) == [True] * 4
    assert [r[0] for r in await query(url, "SELECT version FROM adapter_store_version")] == [1]
    await stores[0].save("resp_0", RECORD, owner=A)
    late = make_store()  # a replica starting later finds the schema and its records
    assert await late.load("resp_0", A) == RECORD
    assert len(await query(url, "SELECT version FROM adapter_store_version")) == 1


async def test_unreachable_postgres_is_a_503_and_ping_false(make_store) -> None:
    store = make_store(url=f"postgresql://postgres@127.0.0.1:{free_port()}/none")
    assert await store.ping() is False
    with pytest.raises(StoreUnavailable) as info:
        await store.load("resp_0", A)
    assert (info.value.status, info.value.code) == (503, "store_unavailable")
    assert info.value.body()["error"]["type"] == "server_error"


async def test_postgres_stopped_and_started_again(make_store, server: RealPostgres) -> None:
    store = make_store()
    await store.save("before", RECORD, owner=A)
    server.stop()
    try:
        assert await store.ping() is False
        with pytest.raises(StoreUnavailable):
            await store.save("during", RECORD, owner=A)
        with pytest.raises(StoreUnavailable):
            await store.load("before", A)
    finally:
        server.start()
    assert await store.ping() is True  # the same store, not restarted
    assert await store.load("before", A) == RECORD
    await store.save("after", RECORD, owner=A, parent="before")
    assert len(await store.chain("after", A)) == 2


def test_open_store_postgres(url: str) -> None:
    store = open_store(Settings.from_env({"ADAPTER_STORE": url, "ADAPTER_STORE_POOL_SIZE": "3"}))
    assert isinstance(store, PostgresStore)
    assert store.pool_size == 3


@pytest.mark.parametrize("raw", ["postgresql://u@db/x", "postgres://u:p@db:5433/x",
                                 "POSTGRESQL://db/x"])
def test_settings_take_a_postgres_url(raw: str) -> None:
    settings = Settings.from_env({"ADAPTER_STORE": f" {raw} "})
    assert (settings.store_url, settings.store_file) == (raw, None)


def test_settings_refuse_other_urls() -> None:
    with pytest.raises(ValueError, match=r"ADAPTER_STORE.*mysql://"):
        Settings.from_env({"ADAPTER_STORE": "mysql://user:secret@db/x"})
