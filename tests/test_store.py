"""The response store: SQLite shared by workers, owners, chained conversations, retention by age,
count and size, the file's mode, migration of earlier files, and its settings."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from adapter.config import DAY, STORE_OFF, Settings, default_store_path
from adapter.store import ChainError, NullStore, ResponseStore, SQLiteStore, open_store

A, B = "owner-a-hash", "owner-b-hash"  # two callers (identities, as auth.identity makes them)
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
    await store.save("resp_1", RECORD, owner=A)
    assert db.is_file()
    assert await store.load("resp_1", A) == RECORD


async def test_unknown_id_loads_none(make_store) -> None:
    store = make_store()
    await store.save("resp_1", RECORD, owner=A)
    assert await store.load("resp_2", A) is None


async def test_save_again_replaces_the_record(make_store, db: Path) -> None:
    store = make_store()
    await store.save("resp_1", {"status": "in_progress"}, owner=A)
    await store.save("resp_1", {"status": "completed"}, owner=A)
    assert await store.load("resp_1", A) == {"status": "completed"}
    assert rows(db) == ["resp_1"]


async def test_delete_says_whether_it_existed(make_store) -> None:
    store = make_store()
    await store.save("resp_1", RECORD, owner=A)
    assert await store.delete("resp_1", A) is True
    assert await store.load("resp_1", A) is None
    assert await store.delete("resp_1", A) is False
    assert await store.delete("never_saved", A) is False


async def test_unserializable_record_is_refused(make_store) -> None:
    store = make_store()
    with pytest.raises(TypeError):
        await store.save("resp_1", {"bad": object()}, owner=A)
    assert await store.load("resp_1", A) is None


async def test_expired_records_are_not_returned_and_are_pruned(make_store, db: Path) -> None:
    clock = Clock()
    store = make_store(retention_seconds=100.0, clock=clock, prune_interval=60.0)
    await store.save("old", {"n": 1}, owner=A)
    clock.now += 50
    await store.save("newer", {"n": 2}, owner=A)
    clock.now += 51  # "old" is 101 s old, "newer" 51 s
    assert await store.load("old", A) is None
    assert await store.delete("old", A) is False  # expired counts as gone
    assert await store.load("newer", A) == {"n": 2}
    assert rows(db) == ["old", "newer"]  # loads do not prune
    await store.save("newest", {"n": 3}, owner=A)  # prune_interval since the last prune
    assert rows(db) == ["newer", "newest"]


async def test_saving_again_keeps_the_first_created_time(make_store) -> None:
    clock = Clock()
    store = make_store(retention_seconds=100.0, clock=clock)
    await store.save("resp_1", {"status": "in_progress"}, owner=A)
    clock.now += 90
    await store.save("resp_1", {"status": "completed"}, owner=A)
    clock.now += 20
    assert await store.load("resp_1", A) is None


async def test_at_most_max_records_are_kept_oldest_first(make_store, db: Path) -> None:
    clock = Clock()
    store = make_store(max_records=3, clock=clock, prune_every=1)
    for n in range(5):
        clock.now += 1
        await store.save(f"resp_{n}", {"n": n}, owner=A)
    assert rows(db) == ["resp_2", "resp_3", "resp_4"]
    assert await store.load("resp_1", A) is None
    assert await store.load("resp_4", A) == {"n": 4}


async def test_count_pruning_runs_once_per_prune_every_saves(make_store, db: Path) -> None:
    clock = Clock()
    store = make_store(max_records=2, clock=clock, prune_every=4, prune_interval=1e9)
    await store.load("anything", A)  # opens (and prunes the empty table)
    for n in range(3):
        clock.now += 1
        await store.save(f"resp_{n}", {"n": n}, owner=A)
    assert len(rows(db)) == 3  # three saves: no prune yet, the limit may be overshot
    clock.now += 1
    await store.save("resp_3", {"n": 3}, owner=A)  # the fourth save prunes
    assert rows(db) == ["resp_2", "resp_3"]


async def test_count_ties_keep_exactly_max_records(make_store, db: Path) -> None:
    store = make_store(max_records=2, clock=Clock(), prune_every=1)  # every save at one instant
    for n in range(4):
        await store.save(f"resp_{n}", {"n": n}, owner=A)
    assert rows(db) == ["resp_2", "resp_3"]


async def test_opening_prunes(make_store, db: Path) -> None:
    clock = Clock()
    first = make_store(max_records=10, clock=clock, prune_interval=1e9)
    for n in range(5):
        clock.now += 1
        await first.save(f"resp_{n}", {"n": n}, owner=A)
    await first.aclose()
    assert len(rows(db)) == 5
    second = make_store(max_records=2, clock=clock)
    assert await second.load("resp_4", A) == {"n": 4}
    assert rows(db) == ["resp_3", "resp_4"]
    clock.now += 3600 + 1
    third = make_store(max_records=10, retention_seconds=3600.0, clock=clock)
    await third.load("resp_4", A)
    assert rows(db) == []


async def test_two_workers_share_one_file(make_store) -> None:
    worker_a, worker_b = make_store(), make_store()
    await worker_a.save("from_a", {"by": "a"}, owner=A)
    await worker_b.save("from_b", {"by": "b"}, owner=A)
    assert await worker_b.load("from_a", A) == {"by": "a"}
    assert await worker_a.load("from_b", A) == {"by": "b"}
    assert await worker_b.delete("from_a", A) is True
    assert await worker_a.load("from_a", A) is None
    assert await worker_a.delete("from_a", A) is False


async def test_two_workers_writing_at_once(make_store) -> None:
    worker_a, worker_b = make_store(), make_store()
    await asyncio.gather(*(worker.save(f"{name}_{n}", {"n": n}, owner=A)
                           for n in range(50)
                           for name, worker in (("a", worker_a), ("b", worker_b))))
    loaded = await asyncio.gather(*(worker_b.load(f"a_{n}", A) for n in range(50)),
                                  *(worker_a.load(f"b_{n}", A) for n in range(50)))
    assert loaded == [{"n": n} for n in range(50)] * 2


async def test_records_survive_a_restart(make_store, db: Path) -> None:
    store = make_store()
    await store.save("resp_1", RECORD, owner=A)
    await store.aclose()
    restarted = make_store()
    assert await restarted.load("resp_1", A) == RECORD


async def test_closed_store_reopens_on_use(make_store) -> None:
    store = make_store()
    await store.save("resp_1", RECORD, owner=A)
    await store.aclose()
    await store.aclose()  # closing twice is harmless
    assert await store.load("resp_1", A) == RECORD


async def test_wal_mode_synchronous_normal_and_busy_timeout(make_store, db: Path) -> None:
    store = make_store()
    await store.save("resp_1", RECORD, owner=A)
    with sqlite3.connect(db) as other:  # journal_mode=WAL is kept in the file itself
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn = store._conn
    assert conn is not None
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    assert Path(f"{db}-wal").exists()


async def test_schema(make_store, db: Path) -> None:
    await make_store().save("resp_1", RECORD, owner=A)
    with sqlite3.connect(db) as conn:
        columns = [(row[1], row[2], row[5]) for row in conn.execute("PRAGMA table_info(responses)")]
        indexes = [row[0] for row in conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")]
        records = [(row[1], row[2], row[5]) for row in conn.execute("PRAGMA table_info(records)")]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    assert columns == [("id", "TEXT", 1), ("created", "REAL", 0), ("body", "BLOB", 0)]
    assert records == [("id", "TEXT", 1), ("owner", "TEXT", 0), ("parent", "TEXT", 0),
                       ("created", "REAL", 0), ("kept", "REAL", 0), ("depth", "INTEGER", 0),
                       ("size", "INTEGER", 0)]
    assert indexes == ["CREATE INDEX records_kept ON records (kept)",
                       "CREATE INDEX records_parent ON records (parent) WHERE parent IS NOT NULL"]
    assert version == 1


async def test_many_concurrent_saves(make_store, db: Path) -> None:
    store = make_store()
    await asyncio.gather(*(store.save(f"resp_{n}", {"n": n, "text": "x" * n}, owner=A)
                           for n in range(200)))
    loaded = await asyncio.gather(*(store.load(f"resp_{n}", A) for n in range(200)))
    assert loaded == [{"n": n, "text": "x" * n} for n in range(200)]
    assert len(rows(db)) == 200


async def test_connection_is_not_reused_after_fork(make_store, monkeypatch) -> None:
    store = make_store()
    await store.save("resp_1", RECORD, owner=A)
    inherited = store._conn
    monkeypatch.setattr(store, "_pid", os.getpid() + 1)  # as if this process were a fork child
    assert await store.load("resp_1", A) == RECORD
    assert store._conn is not inherited
    inherited.close()  # in a real fork it belongs to the parent; here the test owns it


def test_bad_limits_are_refused(db: Path) -> None:
    with pytest.raises(ValueError, match="retention_seconds"):
        SQLiteStore(db, 0, 10)
    with pytest.raises(ValueError, match="max_records"):
        SQLiteStore(db, 10, 0)
    with pytest.raises(ValueError, match="max_bytes"):
        SQLiteStore(db, 10, 10, max_bytes=0)


async def test_null_store_keeps_nothing() -> None:
    store = NullStore()
    await store.save("resp_1", RECORD, owner=A)
    assert await store.load("resp_1", A) is None
    assert await store.chain("resp_1", A) is None
    assert await store.delete("resp_1", A) is False
    await store.aclose()


@pytest.mark.parametrize("path", ["off", "OFF", "none", "", "  "])
def test_open_store_off(path: str) -> None:
    store = open_store(Settings(store_path=path))
    assert isinstance(store, NullStore)
    assert isinstance(store, ResponseStore)


async def test_open_store_sqlite(db: Path) -> None:
    settings = Settings(store_path=str(db), store_retention_seconds=7.0, store_max_records=3,
                        store_max_bytes=5000)
    store = open_store(settings)
    try:
        assert isinstance(store, SQLiteStore)
        assert isinstance(store, ResponseStore)
        assert (store.path, store.retention_seconds, store.max_records, store.max_bytes) == (
            db, 7.0, 3, 5000)
        await store.save("resp_1", RECORD, owner=A)
        assert await store.load("resp_1", A) == RECORD
    finally:
        await store.aclose()


# Owners


async def test_another_owner_finds_nothing(make_store, db: Path) -> None:
    store = make_store()
    await store.save("resp_1", RECORD, owner=A)
    assert await store.load("resp_1", B) is None
    assert await store.chain("resp_1", B) is None
    assert await store.delete("resp_1", B) is False
    assert rows(db) == ["resp_1"]  # B's delete removed nothing
    assert await store.load("resp_1", A) == RECORD
    assert await store.chain("resp_1", A) == [RECORD]


async def test_saving_again_keeps_the_first_owner(make_store) -> None:
    store = make_store()
    await store.save("resp_1", {"v": 1}, owner=A)
    await store.save("resp_1", {"v": 2}, owner=B)
    assert await store.load("resp_1", B) is None
    assert await store.load("resp_1", A) == {"v": 2}


# Chained conversations


def sizes(path: Path) -> dict[str, int]:
    """Each record's stored body size, by id."""
    with sqlite3.connect(path) as conn:
        return dict(conn.execute("SELECT id, length(body) FROM responses"))


async def save_chain(store: SQLiteStore, count: int, *, text: str = "turn",
                     owner: str = A) -> list[str]:
    """A conversation of `count` responses, each continuing the one before."""
    ids = [f"resp_{n}" for n in range(count)]
    for n, response_id in enumerate(ids):
        await store.save(response_id, {"n": n, "messages": [text]}, owner=owner,
                         parent=ids[n - 1] if n else None)
    return ids


async def test_chain_returns_the_conversation_first_to_last(make_store) -> None:
    store = make_store()
    ids = await save_chain(store, 4)
    assert await store.chain(ids[-1], A) == [{"n": n, "messages": ["turn"]} for n in range(4)]
    assert await store.chain(ids[1], A) == [{"n": 0, "messages": ["turn"]},
                                            {"n": 1, "messages": ["turn"]}]


async def test_each_turn_is_stored_once(make_store, db: Path) -> None:
    store = make_store()
    turn = "x" * 10_000
    await save_chain(store, 50, text=turn)
    stored = sizes(db)
    assert len(stored) == 50
    assert max(stored.values()) < 10_100  # each record holds its own turn, not the history
    assert sum(stored.values()) < 50 * 10_100  # linear in the turns (a full copy: 12.75 MB)


async def test_a_branch_shares_its_ancestors(make_store) -> None:
    store = make_store()
    await save_chain(store, 2)
    await store.save("branch", {"n": "b", "messages": []}, owner=A, parent="resp_0")
    assert [r["n"] for r in await store.chain("branch", A)] == [0, "b"]
    assert [r["n"] for r in await store.chain("resp_1", A)] == [0, 1]


async def test_a_chain_longer_than_max_chain_cannot_be_continued(make_store) -> None:
    store = make_store(max_chain=3)
    ids = await save_chain(store, 3)
    assert len(await store.chain(ids[1], A)) == 2
    with pytest.raises(ChainError) as info:
        await store.chain(ids[2], A)
    assert info.value.code == "conversation_too_long"
    assert "3 responses" in str(info.value)
    assert await store.load(ids[2], A) is not None  # it still answers GET


async def test_a_record_missing_from_the_chain_is_a_clear_error(make_store, db: Path) -> None:
    store = make_store()
    ids = await save_chain(store, 3)
    with sqlite3.connect(db) as conn:  # as another version or a hand edit might leave it
        conn.execute("DELETE FROM records WHERE id = ?", (ids[1],))
    with pytest.raises(ChainError) as info:
        await store.chain(ids[2], A)
    assert info.value.code == "previous_response_not_found"
    assert ids[1] in str(info.value)
    assert await store.load(ids[2], A) is not None


async def test_continuing_a_vanished_parent_saves_a_broken_chain(make_store) -> None:
    store = make_store()
    await store.save("orphan", {"messages": []}, owner=A, parent="never_saved")
    assert await store.load("orphan", A) == {"messages": []}
    with pytest.raises(ChainError, match="never_saved"):
        await store.chain("orphan", A)


async def test_deleting_a_response_keeps_what_later_ones_need(make_store, db: Path) -> None:
    store = make_store()
    ids = await save_chain(store, 3)
    assert await store.delete(ids[0], A) is True
    assert await store.load(ids[0], A) is None  # gone for GET, DELETE and continuing
    assert await store.chain(ids[0], A) is None
    assert await store.delete(ids[0], A) is False
    assert [r["n"] for r in await store.chain(ids[2], A)] == [0, 1, 2]  # still continues
    assert await store.delete(ids[2], A) is True
    assert rows(db) == ids[:2]  # resp_1 is a live response: resp_0 is kept for it
    assert await store.delete(ids[1], A) is True
    assert rows(db) == []  # resp_0 was kept only for resp_1


async def test_deleting_the_last_response_drops_expired_ancestors(make_store, db: Path) -> None:
    clock = Clock()
    store = make_store(retention_seconds=100.0, clock=clock, prune_interval=1e9)
    await store.save("first", {"messages": []}, owner=A)
    clock.now += 90
    await store.save("second", {"messages": []}, owner=A, parent="first")
    clock.now += 20  # "first" expired, kept for "second"
    assert await store.load("first", A) is None
    assert len(await store.chain("second", A)) == 2
    await store.delete("second", A)
    assert rows(db) == []


async def test_expired_ancestors_live_as_long_as_their_descendants(make_store, db: Path) -> None:
    clock = Clock()
    store = make_store(retention_seconds=100.0, clock=clock, prune_interval=0)
    await store.save("first", {"messages": [1]}, owner=A)
    clock.now += 90
    await store.save("second", {"messages": [2]}, owner=A, parent="first")
    clock.now += 50  # "first" is 140 s old, "second" 50 s; every save prunes
    await store.save("unrelated", {"messages": []}, owner=A)
    assert rows(db) == ["first", "second", "unrelated"]
    assert await store.chain("second", A) == [{"messages": [1]}, {"messages": [2]}]
    clock.now += 51  # now "second" expired too
    await store.save("later", {"messages": []}, owner=A)
    assert rows(db) == ["unrelated", "later"]


async def test_count_pruning_keeps_a_live_conversation_whole(make_store, db: Path) -> None:
    clock = Clock()
    store = make_store(max_records=3, clock=clock, prune_every=1)
    await store.save("start", {"messages": []}, owner=A)
    clock.now += 1
    await store.save("other", {"messages": []}, owner=B)
    clock.now += 1
    await store.save("next", {"messages": []}, owner=A, parent="start")
    clock.now += 1
    await store.save("last", {"messages": []}, owner=A, parent="next")
    # "start" is the oldest record, but "last" needs it: "other" goes.
    assert rows(db) == ["start", "next", "last"]
    assert len(await store.chain("last", A)) == 3


# Size limit


async def test_size_limit_prunes_the_oldest(make_store, db: Path) -> None:
    clock = Clock()
    store = make_store(max_bytes=35_000, clock=clock, prune_every=1)
    for n in range(6):
        clock.now += 1
        await store.save(f"resp_{n}", {"text": "x" * 10_000}, owner=A)
    assert rows(db) == ["resp_3", "resp_4", "resp_5"]
    assert sum(sizes(db).values()) <= 35_000
    assert await store.load("resp_2", A) is None


async def test_size_limit_prunes_without_waiting_for_prune_every(make_store, db: Path) -> None:
    clock = Clock()
    store = make_store(max_bytes=100_000, clock=clock, prune_every=10**6, prune_interval=1e9)
    for n in range(30):
        clock.now += 1
        await store.save(f"resp_{n}", {"text": "x" * 10_000}, owner=A)
    assert sum(sizes(db).values()) <= 110_000  # at most a tenth over between prunes
    assert rows(db)[-1] == "resp_29"


# The file


async def test_file_is_private(make_store, db: Path) -> None:
    store = make_store()
    await store.save("resp_1", RECORD, owner=A)
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        assert path.stat().st_mode & 0o777 == 0o600, path
    assert db.parent.stat().st_mode & 0o777 == 0o700


async def test_private_even_with_a_permissive_umask(make_store, db: Path) -> None:
    old = os.umask(0)
    try:
        store = make_store()
        await store.save("resp_1", RECORD, owner=A)
    finally:
        os.umask(old)
    assert db.stat().st_mode & 0o777 == 0o600
    assert Path(f"{db}-wal").stat().st_mode & 0o777 == 0o600


async def test_an_existing_file_keeps_its_mode_with_a_warning(make_store, db: Path,
                                                              caplog) -> None:
    db.parent.mkdir(parents=True)
    db.touch(mode=0o644)
    db.chmod(0o644)
    await make_store().save("resp_1", RECORD, owner=A)
    assert db.stat().st_mode & 0o777 == 0o644
    assert "chmod 600" in caplog.text


# Migration of files of earlier versions


def old_file(path: Path, rows: list[tuple[str, float, dict[str, Any]]]) -> None:
    """A store file as earlier versions wrote it: one table, whole conversations per record."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE responses (id TEXT PRIMARY KEY, created REAL NOT NULL, "
                     "body BLOB NOT NULL)")
        conn.execute("CREATE INDEX responses_created ON responses (created)")
        conn.executemany("INSERT INTO responses VALUES (?, ?, ?)",
                         [(i, created, orjson.dumps(body)) for i, created, body in rows])


async def test_migrates_an_old_file_and_its_records_are_nobodys(make_store, db: Path) -> None:
    clock = Clock()
    old_file(db, [("resp_old", clock.now - 10, RECORD), ("resp_older", clock.now - 20, RECORD)])
    store = make_store(clock=clock, retention_seconds=100.0)
    for owner in (A, B, ""):
        assert await store.load("resp_old", owner) is None
        assert await store.chain("resp_old", owner) is None
        assert await store.delete("resp_old", owner) is False
    await store.save("resp_new", RECORD, owner=A)
    assert await store.load("resp_new", A) == RECORD
    with sqlite3.connect(db) as conn:
        migrated = conn.execute("SELECT id, owner, parent, created, kept, depth, size "
                                "FROM records ORDER BY created").fetchall()
    size = len(orjson.dumps(RECORD))
    assert migrated == [("resp_older", None, None, clock.now - 20, clock.now - 20, 0, size),
                        ("resp_old", None, None, clock.now - 10, clock.now - 10, 0, size),
                        ("resp_new", A, None, clock.now, clock.now, 0, size)]
    clock.now += 95  # the old records expire as they would have
    await store.prune()
    assert rows(db) == ["resp_new"]


async def test_migrated_records_count_towards_the_limits(make_store, db: Path) -> None:
    clock = Clock()
    old_file(db, [(f"resp_old_{n}", clock.now - 10 + n, {"text": "x" * 1000}) for n in range(5)])
    store = make_store(clock=clock, max_records=3)
    await store.prune()
    assert rows(db) == ["resp_old_2", "resp_old_3", "resp_old_4"]


async def test_migration_runs_once_for_several_workers(make_store, db: Path) -> None:
    old_file(db, [("resp_old", 1_000_000.0, RECORD)])
    workers = [make_store(clock=Clock()) for _ in range(4)]
    await asyncio.gather(*(worker.load("anything", A) for worker in workers))
    await workers[0].save("resp_new", RECORD, owner=A)
    restarted = make_store(clock=Clock())
    assert await restarted.load("resp_new", A) == RECORD
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM records").fetchone()[0] == 2


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
