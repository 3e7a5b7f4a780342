"""Where /v1/files keeps the files Gemini cannot give back (batch inputs, the adapter's own batch
side files: "kept files") and where /v1/batches keeps its batch records.

The same database as the response store (ADAPTER_STORE: its SQLite file, or its PostgreSQL URL
in `file_store_postgres`), in tables of its own: `kept_files` (id, owner, kind, meta JSON, bytes,
created_at, expires_at, and whether the file is complete), `kept_chunks` (id, seq, data: the
content in rows of at most CHUNK_BYTES) and `kept_records` (id, owner, kind, record JSON,
created_at, expires_at).

Only the owner finds a file or record: to anyone else it answers as one that never existed. A
file is streamed in: each row is written in a short transaction of its own (a write transaction
held for the whole upload would stop every other writer of the file), and the file is visible
only once its last row is in; a put that fails, is cancelled or goes over a limit deletes what it
wrote. A put left unfinished by a process that died is pruned STALE_UPLOAD seconds after its last
row. The kept files' total size (unfinished ones included) is bounded by ADAPTER_STORE_MAX_BYTES:
a row that would go beyond it, once expired files are pruned, fails the put (413 `store_full`).
Expired files and records are never returned, and are pruned on the response store's schedule
(`store.PruneSchedule`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

import orjson

from .config import Settings
from .store import PruneSchedule, open_sqlite, transaction
from .translate.errors import AdapterError, FileNotFound, FileTooLarge

T = TypeVar("T")
log = logging.getLogger("adapter.file_store")

CHUNK_BYTES = 1 << 20  # the most content one row holds
READ_ROWS = 4  # rows `chunks` reads at a time
STALE_UPLOAD = 3600.0  # seconds after its last row that an unfinished put is taken for dead


@runtime_checkable
class FileStore(Protocol):
    async def put(self, file_id: str, owner: str, meta: dict[str, Any],
                  chunks: AsyncIterator[bytes], *, max_bytes: int, expires_at: float) -> int: ...
    async def meta(self, file_id: str, owner: str) -> dict[str, Any] | None: ...
    def chunks(self, file_id: str, owner: str) -> AsyncIterator[bytes]: ...
    async def listing(self, owner: str, kind: str) -> list[dict[str, Any]]: ...
    async def delete(self, file_id: str, owner: str) -> bool: ...
    async def put_record(self, record_id: str, owner: str, kind: str, record: dict[str, Any], *,
                         expires_at: float) -> None: ...
    async def record(self, record_id: str, owner: str) -> dict[str, Any] | None: ...
    async def records(self, owner: str, kind: str) -> list[dict[str, Any]]: ...
    async def ping(self) -> bool: ...
    async def aclose(self) -> None: ...


def store_off() -> AdapterError:
    return AdapterError("Files with purpose \"batch\" and batches are kept in the adapter's "
                        "store, which is off (ADAPTER_STORE=off): set ADAPTER_STORE to a file "
                        "or a postgresql:// URL to use them.", 400, code="store_off")


def store_full(used: int, limit: int) -> AdapterError:
    return AdapterError(f"The adapter's store is full: kept files take {used} of the {limit} "
                        "bytes ADAPTER_STORE_MAX_BYTES allows; delete files or try again when "
                        "older ones have expired.", 413, "file", "store_full")


def kind_of(meta: dict[str, Any]) -> str:
    """The kind a file is listed under: meta's "kind", "file" unless said."""
    kind = meta.get("kind", "file")
    if not isinstance(kind, str):
        raise TypeError(f"meta's kind must be a string, got {kind!r}")
    return kind


def described(meta: bytes, file_id: str, size: int, created_at: float,
              expires_at: float) -> dict[str, Any]:
    """What `meta` answers: the stored meta with its kind, id, size and times (whole seconds)."""
    found: dict[str, Any] = orjson.loads(meta)
    found.setdefault("kind", "file")
    found.update(id=file_id, bytes=size, created_at=int(created_at),
                 expires_at=int(expires_at))
    return found


async def rows_of(chunks: AsyncIterator[bytes],
                  max_bytes: int) -> AsyncGenerator[bytes, None]:
    """`chunks` as rows of CHUNK_BYTES (the last one shorter), small chunks joined and large ones
    split; file_too_large as soon as more than `max_bytes` came."""
    pending = bytearray()
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise FileTooLarge(max_bytes)
        view = memoryview(chunk)
        while view:
            take = CHUNK_BYTES - len(pending)
            pending += view[:take]
            view = view[take:]
            if len(pending) == CHUNK_BYTES:
                yield bytes(pending)
                pending.clear()
    if pending:
        yield bytes(pending)


class NullFileStore:
    """The file store when the store is off: every use is a 400 saying so."""

    async def put(self, file_id: str, owner: str, meta: dict[str, Any],
                  chunks: AsyncIterator[bytes], *, max_bytes: int, expires_at: float) -> int:
        raise store_off()

    async def meta(self, file_id: str, owner: str) -> dict[str, Any] | None:
        raise store_off()

    def chunks(self, file_id: str, owner: str) -> AsyncIterator[bytes]:
        raise store_off()

    async def listing(self, owner: str, kind: str) -> list[dict[str, Any]]:
        raise store_off()

    async def delete(self, file_id: str, owner: str) -> bool:
        raise store_off()

    async def put_record(self, record_id: str, owner: str, kind: str, record: dict[str, Any], *,
                         expires_at: float) -> None:
        raise store_off()

    async def record(self, record_id: str, owner: str) -> dict[str, Any] | None:
        raise store_off()

    async def records(self, owner: str, kind: str) -> list[dict[str, Any]]:
        raise store_off()

    async def ping(self) -> bool:
        return True

    async def aclose(self) -> None:
        return None


class StreamedFiles(ABC):
    """`put` and `chunks`, on a database's row operations (SQLite's and PostgreSQL's)."""

    async def put(self, file_id: str, owner: str, meta: dict[str, Any],
                  chunks: AsyncIterator[bytes], *, max_bytes: int, expires_at: float) -> int:
        """Keep `chunks` as `owner`'s file `file_id` (a new id) with `meta` (JSON) until
        `expires_at`; its size. Nothing is kept when it fails (file_too_large beyond
        `max_bytes`, store_full, the chunks raising, the call cancelled)."""
        await self._begin(file_id, owner, kind_of(meta), orjson.dumps(meta), expires_at)
        size = 0
        try:
            async with aclosing(rows_of(chunks, max_bytes)) as rows:
                seq = 0
                async for row in rows:
                    await self._append(file_id, seq, row)
                    seq += 1
                    size += len(row)
            await self._finish(file_id, size)
        except BaseException:
            await asyncio.shield(self._discard_quietly(file_id))
            raise
        return size

    async def chunks(self, file_id: str, owner: str) -> AsyncIterator[bytes]:
        """The content of `owner`'s file, in order, READ_ROWS rows at a time; not_found (404)
        when there is none (as for `meta`) or it is deleted while it is read."""
        found = await self.meta(file_id, owner)
        if found is None:
            raise FileNotFound(file_id)
        sent = seq = 0
        while sent < found["bytes"]:
            rows = await self._rows(file_id, seq, READ_ROWS)
            if not rows:
                raise FileNotFound(file_id)
            for row_seq, data in rows:
                if row_seq != seq:
                    raise FileNotFound(file_id)
                seq += 1
                sent += len(data)
                yield data

    async def _discard_quietly(self, file_id: str) -> None:
        """Delete an unfinished put; when that fails too, pruning deletes it later."""
        try:
            await self._discard(file_id)
        except Exception as exc:  # the put's own error is the one to raise
            log.warning("file store: an unfinished file could not be deleted now (%s); it is "
                        "pruned later", exc)

    @abstractmethod
    async def meta(self, file_id: str, owner: str) -> dict[str, Any] | None: ...

    @abstractmethod
    async def _begin(self, file_id: str, owner: str, kind: str, meta: bytes,
                     expires_at: float) -> None:
        """The file's row, unfinished (invisible)."""

    @abstractmethod
    async def _append(self, file_id: str, seq: int, data: bytes) -> None:
        """One row of content; store_full when the kept files would outgrow the store."""

    @abstractmethod
    async def _finish(self, file_id: str, size: int) -> None:
        """The file complete: visible from now on."""

    @abstractmethod
    async def _discard(self, file_id: str) -> None:
        """The file and its rows deleted."""

    @abstractmethod
    async def _rows(self, file_id: str, seq: int, count: int) -> list[tuple[int, bytes]]:
        """Up to `count` rows (seq, data) from `seq` on."""


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS kept_files (id TEXT PRIMARY KEY, owner TEXT NOT NULL, "
    "kind TEXT NOT NULL, meta BLOB NOT NULL, bytes INTEGER NOT NULL DEFAULT 0, "
    "created_at REAL NOT NULL, expires_at REAL NOT NULL, touched REAL NOT NULL, "
    "complete INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX IF NOT EXISTS kept_files_owner ON kept_files (owner, kind, created_at)",
    "CREATE INDEX IF NOT EXISTS kept_files_expires ON kept_files (expires_at)",
    "CREATE TABLE IF NOT EXISTS kept_chunks (id TEXT NOT NULL, seq INTEGER NOT NULL, "
    "data BLOB NOT NULL, PRIMARY KEY (id, seq)) WITHOUT ROWID",
    "CREATE TRIGGER IF NOT EXISTS kept_files_delete AFTER DELETE ON kept_files "
    "BEGIN DELETE FROM kept_chunks WHERE id = old.id; END",
    "CREATE TABLE IF NOT EXISTS kept_records (id TEXT PRIMARY KEY, owner TEXT NOT NULL, "
    "kind TEXT NOT NULL, record BLOB NOT NULL, created_at REAL NOT NULL, "
    "expires_at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS kept_records_owner ON kept_records (owner, kind, created_at)",
    "CREATE INDEX IF NOT EXISTS kept_records_expires ON kept_records (expires_at)",
)
_BEGIN = ("INSERT INTO kept_files (id, owner, kind, meta, created_at, expires_at, touched) "
          "VALUES (?, ?, ?, ?, ?, ?, ?)")
_USED = "SELECT coalesce(sum(bytes), 0) FROM kept_files"
_APPEND = "INSERT INTO kept_chunks (id, seq, data) VALUES (?, ?, ?)"
_GROW = "UPDATE kept_files SET bytes = bytes + ?, touched = ? WHERE id = ?"
_FINISH = "UPDATE kept_files SET complete = 1, bytes = ? WHERE id = ?"
_DISCARD = "DELETE FROM kept_files WHERE id = ?"
_META = ("SELECT meta, bytes, created_at, expires_at FROM kept_files "
         "WHERE id = ? AND owner = ? AND complete = 1 AND expires_at > ?")
_LISTING = ("SELECT id, meta, bytes, created_at, expires_at FROM kept_files "
            "WHERE owner = ? AND kind = ? AND complete = 1 AND expires_at > ? "
            "ORDER BY created_at DESC, rowid DESC")
_ROWS = "SELECT seq, data FROM kept_chunks WHERE id = ? AND seq >= ? ORDER BY seq LIMIT ?"
_DELETE = "DELETE FROM kept_files WHERE id = ? AND owner = ? AND complete = 1 AND expires_at > ?"
# A record put again keeps its first owner and created_at; another owner's put changes nothing.
_PUT_RECORD = (
    "INSERT INTO kept_records (id, owner, kind, record, created_at, expires_at) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET record = excluded.record, "
    "expires_at = excluded.expires_at WHERE kept_records.owner = excluded.owner"
)
_RECORD = "SELECT record FROM kept_records WHERE id = ? AND owner = ? AND expires_at > ?"
_RECORDS = ("SELECT record FROM kept_records WHERE owner = ? AND kind = ? AND expires_at > ? "
            "ORDER BY created_at DESC, rowid DESC")
_PRUNE_FILES = ("DELETE FROM kept_files WHERE expires_at <= ? "
                "OR (complete = 0 AND touched < ?)")
_PRUNE_RECORDS = "DELETE FROM kept_records WHERE expires_at <= ?"


class SQLiteFileStore(StreamedFiles):
    """Kept files and records in the response store's SQLite file; one connection per process
    (beside the response store's), opened on first use, used in a thread under a lock."""

    def __init__(self, path: str | Path, *, max_bytes: int,
                 clock: Callable[[], float] = time.time, prune_every: int = 1000,
                 prune_interval: float = 60.0) -> None:
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be at least 1, got {max_bytes!r}")
        self.path = Path(path).expanduser()
        self.max_bytes = int(max_bytes)
        self._clock = clock
        self._prunes = PruneSchedule(prune_every, prune_interval, self.max_bytes)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0  # the process that opened _conn

    # The store interface (`put` and `chunks`: StreamedFiles)

    async def meta(self, file_id: str, owner: str) -> dict[str, Any] | None:
        """The file's meta with its id, bytes, created_at and expires_at; None when it does not
        exist, is not finished, has expired or is another owner's."""
        row = await self._run(self._fetchone, _META, (file_id, owner, self._clock()))
        return None if row is None else described(row[0], file_id, *row[1:])

    async def listing(self, owner: str, kind: str) -> list[dict[str, Any]]:
        """The `meta` of each of `owner`'s files of `kind`, newest first."""
        rows = await self._run(self._fetchall, _LISTING, (owner, kind, self._clock()))
        return [described(meta, file_id, *rest) for file_id, meta, *rest in rows]

    async def delete(self, file_id: str, owner: str) -> bool:
        """Delete `owner`'s file; False when there was none (as for `meta`)."""
        return await self._run(self._write, _DELETE, (file_id, owner, self._clock())) > 0

    async def put_record(self, record_id: str, owner: str, kind: str, record: dict[str, Any], *,
                         expires_at: float) -> None:
        """Keep `record` (JSON) as `owner`'s until `expires_at`; put again, it is replaced."""
        body = orjson.dumps(record)
        now = self._clock()
        await self._run(self._write, _PUT_RECORD, (record_id, owner, kind, body, now, expires_at))
        await self._saved(len(body))

    async def record(self, record_id: str, owner: str) -> dict[str, Any] | None:
        row = await self._run(self._fetchone, _RECORD, (record_id, owner, self._clock()))
        return None if row is None else orjson.loads(row[0])

    async def records(self, owner: str, kind: str) -> list[dict[str, Any]]:
        """`owner`'s records of `kind`, newest first."""
        rows = await self._run(self._fetchall, _RECORDS, (owner, kind, self._clock()))
        return [orjson.loads(row[0]) for row in rows]

    async def prune(self) -> None:
        """Delete expired files and records, and unfinished puts gone stale, now."""
        await self._run(self._prune)

    async def ping(self) -> bool:
        """A local file: reachable whenever this process runs."""
        return True

    async def aclose(self) -> None:
        """Close this process's connection (a later call opens it again)."""
        await asyncio.to_thread(self._close)

    # StreamedFiles' row operations

    async def _begin(self, file_id: str, owner: str, kind: str, meta: bytes,
                     expires_at: float) -> None:
        now = self._clock()
        await self._run(self._write, _BEGIN, (file_id, owner, kind, meta, now, expires_at, now))

    async def _append(self, file_id: str, seq: int, data: bytes) -> None:
        await self._run(self._append_row, file_id, seq, data, self._clock())

    async def _finish(self, file_id: str, size: int) -> None:
        await self._run(self._write, _FINISH, (size, file_id))
        await self._saved(size)

    async def _discard(self, file_id: str) -> None:
        await self._run(self._write, _DISCARD, (file_id,))

    async def _rows(self, file_id: str, seq: int, count: int) -> list[tuple[int, bytes]]:
        return await self._run(self._fetchall, _ROWS, (file_id, seq, count))

    async def _saved(self, size: int) -> None:
        if self._prunes.saved(size, self._clock()):
            await self._run(self._prune_quietly)

    # In the thread, under the lock

    async def _run(self, func: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(self._locked, func, *args)

    def _locked(self, func: Callable[..., T], *args: Any) -> T:
        with self._lock:
            return func(*args)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        # None yet, or inherited across a fork: the parent's connection is left alone.
        self._conn = None
        conn = open_sqlite(self.path, _create_tables)
        self._conn, self._pid = conn, os.getpid()
        self._prune_quietly()
        return conn

    def _fetchone(self, statement: str, args: tuple[Any, ...]) -> Any:
        return self._connection().execute(statement, args).fetchone()

    def _fetchall(self, statement: str, args: tuple[Any, ...]) -> list[Any]:
        return self._connection().execute(statement, args).fetchall()

    def _write(self, statement: str, args: tuple[Any, ...]) -> int:
        """Run one write statement in its own transaction; the rows it changed."""
        conn = self._connection()
        with transaction(conn):
            return conn.execute(statement, args).rowcount

    def _append_row(self, file_id: str, seq: int, data: bytes, now: float) -> None:
        conn = self._connection()
        with transaction(conn):
            used = conn.execute(_USED).fetchone()[0]
            if used + len(data) > self.max_bytes:
                self._delete_old(conn, now)
                used = conn.execute(_USED).fetchone()[0]
                if used + len(data) > self.max_bytes:
                    raise store_full(used, self.max_bytes)
            conn.execute(_APPEND, (file_id, seq, data))
            conn.execute(_GROW, (len(data), now, file_id))

    @staticmethod
    def _delete_old(conn: sqlite3.Connection, now: float) -> None:
        conn.execute(_PRUNE_FILES, (now, now - STALE_UPLOAD))
        conn.execute(_PRUNE_RECORDS, (now,))

    def _prune(self) -> None:
        conn = self._connection()
        now = self._clock()
        with transaction(conn):
            self._delete_old(conn, now)
        self._prunes.pruned(now)

    def _prune_quietly(self) -> None:
        """Prune as housekeeping: a failure must not fail the call that triggered it."""
        try:
            self._prune()
        except sqlite3.Error as exc:
            log.warning("%s: pruning old kept files failed: %s", self.path, exc)

    def _close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None and self._pid == os.getpid():
                conn.close()


def _create_tables(conn: sqlite3.Connection) -> None:
    with transaction(conn):
        for statement in _SCHEMA:
            conn.execute(statement)


def open_file_store(settings: Settings) -> FileStore:
    """The file store beside the response store: PostgreSQL at a `postgresql://` ADAPTER_STORE,
    SQLite at a file, NullFileStore when it is off."""
    if settings.store_url is not None:
        from .file_store_postgres import PostgresFileStore  # asyncpg only when it is used
        return PostgresFileStore(settings.store_url, max_bytes=settings.store_max_bytes,
                                 pool_size=settings.store_pool_size)
    if settings.store_file is None:
        return NullFileStore()
    return SQLiteFileStore(settings.store_file, max_bytes=settings.store_max_bytes)
