"""What every file store must do, written once: tests/test_file_store.py runs these on SQLite,
tests/test_file_store_postgres.py on a real PostgreSQL. Each scenario takes a `Backend`: a way to
make stores (on one database, with a settable clock) and to look at the rows physically kept."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pytest

from adapter.file_store import CHUNK_BYTES, STALE_UPLOAD, StreamedFiles
from adapter.translate.errors import AdapterError

A, B = "a" * 64, "b" * 64  # two callers' identities
MIB = 1 << 20
NOW = 1_000_000.0
DAY = 86_400.0
META: dict[str, Any] = {"filename": "input.jsonl", "purpose": "batch", "note": "héllo ✓"}


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Backend:
    """`make(**kwargs)`: a store on the test's database (clock, max_bytes, prune_every...);
    `chunk_rows()`: (file id, seq, size) of every content row kept; `file_rows()`: the ids of
    every file row, finished or not."""

    make: Callable[..., StreamedFiles]
    chunk_rows: Callable[[], Awaitable[list[tuple[str, int, int]]]]
    file_rows: Callable[[], Awaitable[list[str]]]


def content(size: int) -> bytes:
    """`size` bytes that differ from row to row, so that rows out of order would show."""
    return bytes((n * 7 + n // 4093) % 251 for n in range(size))


async def pieces(data: bytes, sizes: Iterable[int]) -> AsyncIterator[bytes]:
    """`data` in pieces of the given sizes, in turn (the last size repeated)."""
    sizes = list(sizes)
    at = n = 0
    while at < len(data):
        size = sizes[min(n, len(sizes) - 1)]
        yield data[at:at + size]
        at += size
        n += 1


async def read(store: StreamedFiles, file_id: str, owner: str = A) -> list[bytes]:
    return [chunk async for chunk in store.chunks(file_id, owner)]


async def put(store: StreamedFiles, file_id: str, data: bytes, *, owner: str = A,
              meta: dict[str, Any] | None = None, max_bytes: int = 64 * MIB,
              expires_at: float = NOW + DAY, sizes: Iterable[int] = (65_536,)) -> int:
    return await store.put(file_id, owner, META if meta is None else meta, pieces(data, sizes),
                           max_bytes=max_bytes, expires_at=expires_at)


async def round_trip_of_several_mib(backend: Backend) -> None:
    store = backend.make()
    data = content(3 * MIB + MIB // 2 + 3)
    # small, odd and large pieces: joined and split into rows of CHUNK_BYTES
    size = await put(store, "file-kept_1", data, sizes=(1, 1000, 65_537, 3 * MIB))
    assert size == len(data)
    assert [row[2] for row in await backend.chunk_rows()] == [MIB, MIB, MIB, MIB // 2 + 3]
    assert await store.meta("file-kept_1", A) == {
        **META, "kind": "file", "id": "file-kept_1", "bytes": len(data),
        "created_at": int(NOW), "expires_at": int(NOW + DAY)}
    chunks = await read(store, "file-kept_1")
    assert [len(chunk) for chunk in chunks] == [MIB, MIB, MIB, MIB // 2 + 3]
    assert b"".join(chunks) == data
    assert CHUNK_BYTES == MIB


async def an_empty_file(backend: Backend) -> None:
    store = backend.make()
    assert await put(store, "file-kept_empty", b"") == 0
    assert (await store.meta("file-kept_empty", A) or {})["bytes"] == 0
    assert await read(store, "file-kept_empty") == []


async def reading_goes_a_few_rows_at_a_time(backend: Backend) -> None:
    store = backend.make()
    await put(store, "file-kept_1", content(10 * MIB), sizes=(MIB,))
    chunks = store.chunks("file-kept_1", A)
    first = await anext(chunks)
    assert len(first) == MIB
    # the rest is read as it is asked for: deleted now, the reader finds it gone
    assert await store.delete("file-kept_1", A) is True
    with pytest.raises(AdapterError) as info:
        async for _ in chunks:
            pass
    assert (info.value.status, info.value.code) == (404, "not_found")


async def over_max_bytes_keeps_nothing(backend: Backend) -> None:
    store = backend.make()
    with pytest.raises(AdapterError) as info:
        await put(store, "file-kept_big", content(3 * MIB), max_bytes=2 * MIB + 5)
    assert (info.value.status, info.value.param, info.value.code) == (413, "file",
                                                                       "file_too_large")
    assert await backend.chunk_rows() == []
    assert await backend.file_rows() == []
    assert await store.meta("file-kept_big", A) is None


async def a_full_store_refuses_until_files_expire(backend: Backend) -> None:
    clock = Clock()
    store = backend.make(clock=clock, max_bytes=3 * MIB)
    await put(store, "file-kept_old", content(2 * MIB), expires_at=NOW + 100)
    with pytest.raises(AdapterError) as info:
        await put(store, "file-kept_new", content(2 * MIB), sizes=(MIB // 2,))
    assert (info.value.status, info.value.code) == (413, "store_full")
    assert "ADAPTER_STORE_MAX_BYTES" in info.value.message
    assert await backend.file_rows() == ["file-kept_old"]
    assert {row[0] for row in await backend.chunk_rows()} == {"file-kept_old"}
    clock.now += 100  # the old file expired: its room is taken back for the new one
    assert await put(store, "file-kept_new", content(2 * MIB)) == 2 * MIB
    assert await backend.file_rows() == ["file-kept_new"]


async def another_owner_finds_nothing(backend: Backend) -> None:
    store = backend.make()
    await put(store, "file-kept_1", b"line\n")
    await store.put_record("batch_1", A, "batch", {"n": 1}, expires_at=NOW + DAY)
    assert await store.meta("file-kept_1", B) is None
    with pytest.raises(AdapterError) as info:
        await read(store, "file-kept_1", B)
    assert (info.value.status, info.value.param, info.value.code) == (404, "file_id",
                                                                       "not_found")
    assert await store.listing(B, "file") == []
    assert await store.delete("file-kept_1", B) is False
    assert await store.record("batch_1", B) is None
    assert await store.records(B, "batch") == []
    await store.put_record("batch_1", B, "batch", {"n": "B's"}, expires_at=NOW + DAY)
    assert await store.record("batch_1", A) == {"n": 1}  # B changed nothing of A's
    assert await store.record("batch_1", B) is None
    assert await read(store, "file-kept_1") == [b"line\n"]


async def missing_files_and_records(backend: Backend) -> None:
    store = backend.make()
    assert await store.meta("file-kept_none", A) is None
    with pytest.raises(AdapterError, match="file-kept_none"):
        await read(store, "file-kept_none")
    assert await store.delete("file-kept_none", A) is False
    assert await store.record("batch_none", A) is None


async def expired_files_and_records_are_gone(backend: Backend) -> None:
    clock = Clock()
    store = backend.make(clock=clock)
    await put(store, "file-kept_short", b"short", expires_at=NOW + 10)
    await put(store, "file-kept_long", b"long", expires_at=NOW + 1000)
    await store.put_record("batch_short", A, "batch", {"n": 1}, expires_at=NOW + 10)
    clock.now += 10
    assert await store.meta("file-kept_short", A) is None
    with pytest.raises(AdapterError):
        await read(store, "file-kept_short")
    assert await store.delete("file-kept_short", A) is False
    assert [f["id"] for f in await store.listing(A, "file")] == ["file-kept_long"]
    assert await store.record("batch_short", A) is None
    assert await store.records(A, "batch") == []
    await store.prune()
    assert await backend.file_rows() == ["file-kept_long"]
    assert {row[0] for row in await backend.chunk_rows()} == {"file-kept_long"}


async def pruned_on_schedule(backend: Backend) -> None:
    clock = Clock()
    store = backend.make(clock=clock, prune_every=2)
    await put(store, "file-kept_1", b"one", expires_at=NOW + 10)
    clock.now += 20
    assert await backend.file_rows() == ["file-kept_1"]  # expired, not pruned yet
    await put(store, "file-kept_2", b"two")  # the second save: pruning is due
    assert await backend.file_rows() == ["file-kept_2"]


async def an_unfinished_put_of_a_dead_process_is_pruned(backend: Backend) -> None:
    clock = Clock()
    store = backend.make(clock=clock)
    await store._begin("file-kept_dead", A, "file", b"{}", NOW + DAY)
    await store._append("file-kept_dead", 0, b"partial")
    assert await store.meta("file-kept_dead", A) is None
    clock.now += STALE_UPLOAD - 1
    await store.prune()
    assert await backend.file_rows() == ["file-kept_dead"]  # may still be under way
    clock.now += 2
    await store.prune()
    assert await backend.file_rows() == []
    assert await backend.chunk_rows() == []


async def delete_removes_content(backend: Backend) -> None:
    store = backend.make()
    await put(store, "file-kept_1", content(2 * MIB + 1))
    await put(store, "file-kept_2", b"kept")
    assert await store.delete("file-kept_1", A) is True
    assert await store.meta("file-kept_1", A) is None
    assert await store.delete("file-kept_1", A) is False
    assert await backend.file_rows() == ["file-kept_2"]
    assert [row[0] for row in await backend.chunk_rows()] == ["file-kept_2"]


async def listing_is_newest_first_by_kind(backend: Backend) -> None:
    clock = Clock()
    store = backend.make(clock=clock)
    for n, kind in enumerate(["file", "batch_output", "file", "file"]):
        clock.now += 1
        await put(store, f"file-kept_{n}", b"x", meta={"n": n, "kind": kind})
    await put(store, "file-kept_b", b"x", owner=B)
    assert [f["id"] for f in await store.listing(A, "file")] == [
        "file-kept_3", "file-kept_2", "file-kept_0"]
    assert [(f["n"], f["kind"]) for f in await store.listing(A, "batch_output")] == [
        (1, "batch_output")]


async def records_newest_first(backend: Backend) -> None:
    clock = Clock()
    store = backend.make(clock=clock)
    for n in range(3):
        clock.now += 1
        await store.put_record(f"batch_{n}", A, "batch", {"n": n, "ü": [1.5, None]},
                               expires_at=NOW + DAY)
    await store.put_record("other_0", A, "other", {"other": True}, expires_at=NOW + DAY)
    assert await store.records(A, "batch") == [{"n": n, "ü": [1.5, None]} for n in (2, 1, 0)]
    clock.now += 1
    await store.put_record("batch_0", A, "batch", {"n": "0 again"}, expires_at=NOW + DAY)
    assert await store.record("batch_0", A) == {"n": "0 again"}
    # put again, a record keeps its place (its first created_at)
    assert [r["n"] for r in await store.records(A, "batch")] == [2, 1, "0 again"]
    assert await store.records(A, "other") == [{"other": True}]


async def a_failing_upload_keeps_nothing(backend: Backend) -> None:
    store = backend.make()

    async def broken() -> AsyncIterator[bytes]:
        yield content(2 * MIB + 10)
        raise ConnectionResetError("the client went away")

    with pytest.raises(ConnectionResetError):
        await store.put("file-kept_x", A, META, broken(), max_bytes=64 * MIB,
                        expires_at=NOW + DAY)
    assert await backend.file_rows() == []
    assert await backend.chunk_rows() == []


async def a_cancelled_upload_keeps_nothing_and_is_never_visible(backend: Backend) -> None:
    store = backend.make()
    halfway = asyncio.Event()

    async def stalled() -> AsyncIterator[bytes]:
        yield content(MIB + MIB // 2)
        yield content(MIB)  # the first row is written before this one is asked for
        halfway.set()
        await asyncio.Event().wait()  # the client stops sending
        yield b"never"

    task = asyncio.create_task(store.put("file-kept_x", A, META, stalled(),
                                         max_bytes=64 * MIB, expires_at=NOW + DAY))
    await halfway.wait()
    assert len(await backend.chunk_rows()) == 2
    assert await store.meta("file-kept_x", A) is None  # unfinished: invisible
    assert await store.listing(A, "file") == []
    with pytest.raises(AdapterError):
        await read(store, "file-kept_x")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await backend.file_rows() == []
    assert await backend.chunk_rows() == []


SCENARIOS = [
    round_trip_of_several_mib, an_empty_file, reading_goes_a_few_rows_at_a_time,
    over_max_bytes_keeps_nothing, a_full_store_refuses_until_files_expire,
    another_owner_finds_nothing, missing_files_and_records, expired_files_and_records_are_gone,
    pruned_on_schedule, an_unfinished_put_of_a_dead_process_is_pruned, delete_removes_content,
    listing_is_newest_first_by_kind, records_newest_first, a_failing_upload_keeps_nothing,
    a_cancelled_upload_keeps_nothing_and_is_never_visible,
]
