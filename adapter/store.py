"""Where /v1/responses keeps its responses: an SQLite file that every worker process shares.

Each record is one JSON object (the response, its input items and the conversation so far),
stored by response id. The file is in WAL mode, so readers never wait for the one writer, and
every worker process opens its own connection; SQLite's file locks (with a busy timeout) keep
several `--workers` consistent. Calls into SQLite block, so they run in a thread.

Old records go away by themselves: a record older than the retention is never returned, and
pruning (on open, then at most once per `prune_every` saves or `prune_interval` seconds) deletes
those and the oldest beyond `max_records`. Between prunes the table may hold up to `prune_every`
records more than `max_records`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

import orjson

from .config import Settings

T = TypeVar("T")
log = logging.getLogger("adapter.store")

BUSY_TIMEOUT = 5.0  # seconds to wait for another process's write lock

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS responses "
    "(id TEXT PRIMARY KEY, created REAL NOT NULL, body BLOB NOT NULL)",
    "CREATE INDEX IF NOT EXISTS responses_created ON responses (created)",
)
# A record saved again (a background response finishing, say) keeps its first `created`, so
# rewriting it does not extend its life.
_UPSERT = (
    "INSERT INTO responses (id, created, body) VALUES (?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET body = excluded.body"
)
_LOAD = "SELECT body FROM responses WHERE id = ? AND created >= ?"
_DELETE = "DELETE FROM responses WHERE id = ? AND created >= ?"
_PRUNE_AGE = "DELETE FROM responses WHERE created < ?"
# Everything after the newest `max_records`, walked along the created index (rowid breaks ties).
_PRUNE_COUNT = (
    "DELETE FROM responses WHERE rowid IN (SELECT rowid FROM responses "
    "ORDER BY created DESC, rowid DESC LIMIT -1 OFFSET ?)"
)


@runtime_checkable
class ResponseStore(Protocol):
    async def save(self, response_id: str, record: dict[str, Any]) -> None: ...
    async def load(self, response_id: str) -> dict[str, Any] | None: ...
    async def delete(self, response_id: str) -> bool: ...  # True if it existed
    async def aclose(self) -> None: ...


class NullStore:
    """The store when storing is off: nothing is kept, so nothing is found."""

    async def save(self, response_id: str, record: dict[str, Any]) -> None:
        return None

    async def load(self, response_id: str) -> dict[str, Any] | None:
        return None

    async def delete(self, response_id: str) -> bool:
        return False

    async def aclose(self) -> None:
        return None


class SQLiteStore:
    """Records in one SQLite file; one connection per process, opened on first use."""

    def __init__(self, path: str | Path, retention_seconds: float, max_records: int, *,
                 clock: Callable[[], float] = time.time, prune_every: int = 1000,
                 prune_interval: float = 60.0) -> None:
        if retention_seconds <= 0:
            raise ValueError(f"retention_seconds must be positive, got {retention_seconds!r}")
        if max_records < 1:
            raise ValueError(f"max_records must be at least 1, got {max_records!r}")
        self.path = Path(path).expanduser()
        self.retention_seconds = float(retention_seconds)
        self.max_records = int(max_records)
        self._clock = clock
        self._prune_every = max(1, prune_every)
        self._prune_interval = prune_interval
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0  # the process that opened _conn
        self._saves_since_prune = 0
        self._last_prune = 0.0

    # Public API: everything that touches SQLite runs in a thread.

    async def save(self, response_id: str, record: dict[str, Any]) -> None:
        body = orjson.dumps(record)  # here, so the record cannot change while it is written
        await asyncio.to_thread(self._locked, self._save, response_id, body)

    async def load(self, response_id: str) -> dict[str, Any] | None:
        body = await asyncio.to_thread(self._locked, self._load, response_id)
        return None if body is None else orjson.loads(body)

    async def delete(self, response_id: str) -> bool:
        return await asyncio.to_thread(self._locked, self._delete, response_id)

    async def prune(self) -> None:
        """Delete expired records and the oldest beyond max_records now."""
        await asyncio.to_thread(self._locked, self._prune)

    async def aclose(self) -> None:
        """Close this process's connection (a later call opens it again)."""
        await asyncio.to_thread(self._close)

    # In the thread, under the lock.

    def _locked(self, func: Callable[..., T], *args: Any) -> T:
        with self._lock:
            return func(*args)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        # None yet, or inherited across a fork: a connection must not cross processes, and
        # the parent's one is left alone (closing it here could disturb the parent's locks).
        self._conn = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
            self._set_up(conn)
        except BaseException:
            conn.close()
            raise
        self._conn, self._pid = conn, os.getpid()
        self._prune_quietly()
        return conn

    def _set_up(self, conn: sqlite3.Connection) -> None:
        """WAL mode and the schema. Workers opening the file at the same moment can be refused
        ("database is locked") without SQLite's busy handler being asked, so try again."""
        deadline = time.monotonic() + BUSY_TIMEOUT
        while True:
            try:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                conn.execute("PRAGMA synchronous = NORMAL")
                for statement in _SCHEMA:
                    conn.execute(statement)
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        if str(mode).lower() != "wal":
            log.warning("%s: SQLite could not use WAL mode here (%s); several workers may wait "
                        "on each other", self.path, mode)

    def _cutoff(self) -> float:
        return self._clock() - self.retention_seconds

    def _save(self, response_id: str, body: bytes) -> None:
        conn = self._connection()
        conn.execute(_UPSERT, (response_id, self._clock(), body))
        self._saves_since_prune += 1
        if (self._saves_since_prune >= self._prune_every
                or self._clock() - self._last_prune >= self._prune_interval):
            self._prune_quietly()

    def _load(self, response_id: str) -> bytes | None:
        row = self._connection().execute(_LOAD, (response_id, self._cutoff())).fetchone()
        return None if row is None else row[0]

    def _delete(self, response_id: str) -> bool:
        return self._connection().execute(_DELETE, (response_id, self._cutoff())).rowcount > 0

    def _prune(self) -> None:
        conn = self._connection()
        conn.execute(_PRUNE_AGE, (self._cutoff(),))
        conn.execute(_PRUNE_COUNT, (self.max_records,))
        self._saves_since_prune = 0
        self._last_prune = self._clock()

    def _prune_quietly(self) -> None:
        """Prune as housekeeping: a failure (another worker holding the lock too long, say)
        must not fail the save that triggered it; the next prune catches up."""
        try:
            self._prune()
        except sqlite3.Error as exc:
            log.warning("%s: pruning old responses failed: %s", self.path, exc)

    def _close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None and self._pid == os.getpid():
                conn.close()


def open_store(settings: Settings) -> ResponseStore:
    """The store the settings ask for: SQLite at settings.store_path, or none when it is off."""
    path = str(settings.store_path).strip()
    if path.lower() in ("", "off", "none"):
        return NullStore()
    return SQLiteStore(path, settings.store_retention_seconds, settings.store_max_records)
