"""The response store: SQLite shared by workers, retention by age and count, and its settings."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from adapter.config import DAY, STORE_OFF, Settings, default_store_path
from adapter.store import NullStore, ResponseStore, SQLiteStore, open_store

RECORD: dict[str, Any] = {
    "response": {"id": "resp_1", "object": "response", "output": [{"type": "message"}]},
    "input_items": [{"role": "user", "content": "héllo ✓"}],
    "history": [{"role": "user", "parts": [{"text": "hi"}]}, None, 1.5, True],
}


class Clock:
    """A settable time.time for retention tests."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state" / "nested" / "responses.sqlite3"


@pytest.fixture
async def make_store(db: Path) -> AsyncIterator[Callable[..., SQLiteStore]]:
    """SQLiteStore factory on the test's file; every store made is closed afterwards."""
    stores: list[SQLiteStore] = []

    def make(**kwargs: Any) -> SQLiteStore:
        kwargs = {"retention_seconds": 3600.0, "max_records": 1000, **kwargs}
        store = SQLiteStore(kwargs.pop("path", db), **kwargs)
        stores.append(store)
        return store

    yield make
    for store in stores:
        await store.aclose()


def rows(path: Path) -> list[str]:
    """Ids physically in the file, oldest first, read by a separate connection."""
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM responses ORDER BY created, rowid")]


async def test_round_trip_creates_parent_directories(make_store, db: Path) -> None:
    store = make_store()
    assert not db.parent.exists()
    await store.save("resp_1", RECORD)
    assert db.is_file()
    assert await store.load("resp_1") == RECORD


async def test_unknown_id_loads_none(make_store) -> None:
    store = make_store()
    await store.save("resp_1", RECORD)
    assert await store.load("resp_2") is None


async def test_save_again_replaces_the_record(make_store, db: Path) -> None:
    store = make_store()
    await store.save("resp_1", {"status": "in_progress"})
    await store.save("resp_1", {"status": "completed"})
    assert await store.load("resp_1") == {"status": "completed"}
    assert rows(db) == ["resp_1"]


async def test_delete_says_whether_it_existed(make_store) -> None:
    store = make_store()
    await store.save("resp_1", RECORD)
    assert await store.delete("resp_1") is True
    assert await store.load("resp_1") is None
    assert await store.delete("resp_1") is False
    assert await store.delete("never_saved") is False


async def test_unserializable_record_is_refused(make_store) -> None:
    store = make_store()
    with pytest.raises(TypeError):
        await store.save("resp_1", {"bad": object()})
    assert await store.load("resp_1") is None


async def test_expired_records_are_not_returned_and_are_pruned(make_store, db: Path) -> None:
    clock = Clock()
    store = make_store(retention_seconds=100.0, clock=clock, prune_interval=60.0)
    await store.save("old", {"n": 1})
    clock.now += 50
    await store.save("newer", {"n": 2})
    clock.now += 51  # "old" is 101 s old, "newer" 51 s
    assert await store.load("old") is None
    assert await store.delete("old") is False  # expired counts as gone
    assert await store.load("newer") == {"n": 2}
    assert rows(db) == ["old", "newer"]  # loads do not prune
    await store.save("newest", {"n": 3})  # more than prune_interval since the last prune
    assert rows(db) == ["newer", "newest"]


async def test_saving_again_keeps_the_first_created_time(make_store) -> None:
    clock = Clock()
    store = make_store(retention_seconds=100.0, clock=clock)
    await store.save("resp_1", {"status": "in_progress"})
    clock.now += 90
    await store.save("resp_1", {"status": "completed"})
    clock.now += 20
    assert await store.load("resp_1") is None


async def test_at_most_max_records_are_kept_oldest_first(make_store, db: Path) -> None:
    clock = Clock()
    store = make_store(max_records=3, clock=clock, prune_every=1)
    for n in range(5):
        clock.now += 1
        await store.save(f"resp_{n}", {"n": n})
    assert rows(db) == ["resp_2", "resp_3", "resp_4"]
    assert await store.load("resp_1") is None
    assert await store.load("resp_4") == {"n": 4}


async def test_count_pruning_runs_once_per_prune_every_saves(make_store, db: Path) -> None:
    clock = Clock()
    store = make_store(max_records=2, clock=clock, prune_every=4, prune_interval=1e9)
    await store.load("anything")  # opens (and prunes the empty table)
    for n in range(3):
        clock.now += 1
        await store.save(f"resp_{n}", {"n": n})
    assert len(rows(db)) == 3  # three saves: no prune yet, the limit may be overshot
    clock.now += 1
    await store.save("resp_3", {"n": 3})  # the fourth save prunes
    assert rows(db) == ["resp_2", "resp_3"]


async def test_count_ties_keep_exactly_max_records(make_store, db: Path) -> None:
    store = make_store(max_records=2, clock=Clock(), prune_every=1)  # every save at one instant
    for n in range(4):
        await store.save(f"resp_{n}", {"n": n})
    assert rows(db) == ["resp_2", "resp_3"]


async def test_opening_prunes(make_store, db: Path) -> None:
    clock = Clock()
    first = make_store(max_records=10, clock=clock, prune_interval=1e9)
    for n in range(5):
        clock.now += 1
        await first.save(f"resp_{n}", {"n": n})
    await first.aclose()
    assert len(rows(db)) == 5
    second = make_store(max_records=2, clock=clock)
    assert await second.load("resp_4") == {"n": 4}
    assert rows(db) == ["resp_3", "resp_4"]
    clock.now += 3600 + 1
    third = make_store(max_records=10, retention_seconds=3600.0, clock=clock)
    await third.load("resp_4")
    assert rows(db) == []


async def test_two_workers_share_one_file(make_store) -> None:
    worker_a, worker_b = make_store(), make_store()
    await worker_a.save("from_a", {"by": "a"})
    await worker_b.save("from_b", {"by": "b"})
    assert await worker_b.load("from_a") == {"by": "a"}
    assert await worker_a.load("from_b") == {"by": "b"}
    assert await worker_b.delete("from_a") is True
    assert await worker_a.load("from_a") is None
    assert await worker_a.delete("from_a") is False


async def test_two_workers_writing_at_once(make_store) -> None:
    worker_a, worker_b = make_store(), make_store()
    await asyncio.gather(*(worker.save(f"{name}_{n}", {"n": n})
                           for n in range(50)
                           for name, worker in (("a", worker_a), ("b", worker_b))))
    loaded = await asyncio.gather(*(worker_b.load(f"a_{n}") for n in range(50)),
                                  *(worker_a.load(f"b_{n}") for n in range(50)))
    assert loaded == [{"n": n} for n in range(50)] * 2


async def test_records_survive_a_restart(make_store, db: Path) -> None:
    store = make_store()
    await store.save("resp_1", RECORD)
    await store.aclose()
    restarted = make_store()
    assert await restarted.load("resp_1") == RECORD


async def test_closed_store_reopens_on_use(make_store) -> None:
    store = make_store()
    await store.save("resp_1", RECORD)
    await store.aclose()
    await store.aclose()  # closing twice is harmless
    assert await store.load("resp_1") == RECORD


async def test_wal_mode_synchronous_normal_and_busy_timeout(make_store, db: Path) -> None:
    store = make_store()
    await store.save("resp_1", RECORD)
    with sqlite3.connect(db) as other:  # journal_mode=WAL is kept in the file itself
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn = store._conn
    assert conn is not None
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    assert Path(f"{db}-wal").exists()


async def test_schema(make_store, db: Path) -> None:
    await make_store().save("resp_1", RECORD)
    with sqlite3.connect(db) as conn:
        columns = [(row[1], row[2], row[5]) for row in conn.execute("PRAGMA table_info(responses)")]
        indexes = [row[0] for row in conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")]
    assert columns == [("id", "TEXT", 1), ("created", "REAL", 0), ("body", "BLOB", 0)]
    assert indexes == ["CREATE INDEX responses_created ON responses (created)"]


async def test_many_concurrent_saves(make_store, db: Path) -> None:
    store = make_store()
    await asyncio.gather(*(store.save(f"resp_{n}", {"n": n, "text": "x" * n}) for n in range(200)))
    loaded = await asyncio.gather(*(store.load(f"resp_{n}") for n in range(200)))
    assert loaded == [{"n": n, "text": "x" * n} for n in range(200)]
    assert len(rows(db)) == 200


async def test_connection_is_not_reused_after_fork(make_store, monkeypatch) -> None:
    store = make_store()
    await store.save("resp_1", RECORD)
    inherited = store._conn
    monkeypatch.setattr(store, "_pid", os.getpid() + 1)  # as if this process were a fork child
    assert await store.load("resp_1") == RECORD
    assert store._conn is not inherited
    inherited.close()  # in a real fork it belongs to the parent; here the test owns it


def test_bad_limits_are_refused(db: Path) -> None:
    with pytest.raises(ValueError, match="retention_seconds"):
        SQLiteStore(db, 0, 10)
    with pytest.raises(ValueError, match="max_records"):
        SQLiteStore(db, 10, 0)


async def test_null_store_keeps_nothing() -> None:
    store = NullStore()
    await store.save("resp_1", RECORD)
    assert await store.load("resp_1") is None
    assert await store.delete("resp_1") is False
    await store.aclose()


@pytest.mark.parametrize("path", ["off", "OFF", "none", "", "  "])
def test_open_store_off(path: str) -> None:
    store = open_store(Settings(store_path=path))
    assert isinstance(store, NullStore)
    assert isinstance(store, ResponseStore)


async def test_open_store_sqlite(db: Path) -> None:
    settings = Settings(store_path=str(db), store_retention_seconds=7.0, store_max_records=3)
    store = open_store(settings)
    try:
        assert isinstance(store, SQLiteStore)
        assert isinstance(store, ResponseStore)
        assert (store.path, store.retention_seconds, store.max_records) == (db, 7.0, 3)
        await store.save("resp_1", RECORD)
        assert await store.load("resp_1") == RECORD
    finally:
        await store.aclose()


# Settings


def test_settings_defaults() -> None:
    settings = Settings.from_env({"HOME": "/home/someone"})
    assert settings.store_path == (
        "/home/someone/.local/state/gemini-openai-adapter/responses.sqlite3")
    assert settings.store_retention_seconds == 30 * 86400
    assert settings.store_max_records == 100_000
    assert Settings().store_path == default_store_path(os.environ)


def test_settings_store_path_follows_xdg_state_home() -> None:
    env = {"HOME": "/home/someone", "XDG_STATE_HOME": "/var/state"}
    assert Settings.from_env(env).store_path == (
        "/var/state/gemini-openai-adapter/responses.sqlite3")
    env["XDG_STATE_HOME"] = "relative/state"  # not absolute: ignored, as the XDG spec says
    assert Settings.from_env(env).store_path.startswith("/home/someone/.local/state/")


@pytest.mark.parametrize(("raw", "expected"), [
    ("/data/adapter.db", "/data/adapter.db"),
    ("relative.db", "relative.db"),
    ("off", STORE_OFF), ("Off", STORE_OFF), ("none", STORE_OFF), ("NONE", STORE_OFF),
])
def test_settings_store_path(raw: str, expected: str) -> None:
    assert Settings.from_env({"HOME": "/h", "ADAPTER_STORE": raw}).store_path == expected


def test_settings_store_path_expands_home() -> None:
    path = Settings.from_env({"ADAPTER_STORE": "~/x.db"}).store_path
    assert path == os.path.expanduser("~/x.db")
    assert not path.startswith("~")


def test_settings_empty_store_variable_means_default() -> None:
    env = {"HOME": "/h", "ADAPTER_STORE": ""}
    assert Settings.from_env(env).store_path == default_store_path(env)


@pytest.mark.parametrize(("raw", "seconds"),
                         [("7", 7 * DAY), ("0.5", 0.5 * DAY), ("365", 365 * DAY)])
def test_settings_retention_days(raw: str, seconds: float) -> None:
    env = {"ADAPTER_STORE_RETENTION_DAYS": raw}
    assert Settings.from_env(env).store_retention_seconds == seconds


@pytest.mark.parametrize("raw", ["abc", "0", "-1", "7d"])
def test_settings_bad_retention_days(raw: str) -> None:
    with pytest.raises(ValueError, match="ADAPTER_STORE_RETENTION_DAYS"):
        Settings.from_env({"ADAPTER_STORE_RETENTION_DAYS": raw})


def test_settings_max_records() -> None:
    assert Settings.from_env({"ADAPTER_STORE_MAX_RECORDS": "250"}).store_max_records == 250


@pytest.mark.parametrize("raw", ["abc", "0", "-5", "1.5", "1e3"])
def test_settings_bad_max_records(raw: str) -> None:
    with pytest.raises(ValueError, match="ADAPTER_STORE_MAX_RECORDS"):
        Settings.from_env({"ADAPTER_STORE_MAX_RECORDS": raw})
