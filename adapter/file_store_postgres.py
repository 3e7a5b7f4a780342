"""Kept files and batch records on PostgreSQL (`ADAPTER_STORE=postgresql://...`), beside the
response store in the same database, for replicas on several hosts.

The tables and rules are SQLite's (see `file_store`), prefixed `adapter_` as the response
store's are; a file's rows go when it does (a foreign key, ON DELETE CASCADE). The pool, its 503
`store_unavailable` while PostgreSQL cannot be reached and its recovery are the response
store's (`store_postgres.Pool`); the schema is made under an advisory lock, with its own version
table. Appending a row takes a transaction-wide advisory lock, so that replicas' uploads never
pass ADAPTER_STORE_MAX_BYTES together; pruning is done by one replica at a time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import asyncpg
import orjson

from .file_store import STALE_UPLOAD, StreamedFiles, described, store_full
from .store import PruneSchedule, StoreUnavailable
from .store_postgres import Pool, migrate

if TYPE_CHECKING:
    from .store_postgres import Connection

log = logging.getLogger("adapter.file_store")

_MIGRATE_LOCK = 0x616470_03  # advisory lock keys ("adp"), beside the response store's 1 and 2
_PRUNE_LOCK = 0x616470_04
_SPACE_LOCK = 0x616470_05  # the kept files' total size, checked and grown by one row at a time

_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        "CREATE TABLE adapter_kept_files (id TEXT PRIMARY KEY, owner TEXT NOT NULL, "
        "kind TEXT NOT NULL, meta BYTEA NOT NULL, bytes BIGINT NOT NULL DEFAULT 0, "
        "created_at DOUBLE PRECISION NOT NULL, expires_at DOUBLE PRECISION NOT NULL, "
        "touched DOUBLE PRECISION NOT NULL, complete BOOLEAN NOT NULL DEFAULT false, "
        "seq BIGINT GENERATED ALWAYS AS IDENTITY)",
        "CREATE INDEX adapter_kept_files_owner ON adapter_kept_files (owner, kind, created_at)",
        "CREATE INDEX adapter_kept_files_expires ON adapter_kept_files (expires_at)",
        "CREATE TABLE adapter_kept_chunks (id TEXT NOT NULL "
        "REFERENCES adapter_kept_files (id) ON DELETE CASCADE, seq INTEGER NOT NULL, "
        "data BYTEA NOT NULL, PRIMARY KEY (id, seq))",
        "CREATE TABLE adapter_kept_records (id TEXT PRIMARY KEY, owner TEXT NOT NULL, "
        "kind TEXT NOT NULL, record BYTEA NOT NULL, created_at DOUBLE PRECISION NOT NULL, "
        "expires_at DOUBLE PRECISION NOT NULL, seq BIGINT GENERATED ALWAYS AS IDENTITY)",
        "CREATE INDEX adapter_kept_records_owner ON adapter_kept_records "
        "(owner, kind, created_at)",
        "CREATE INDEX adapter_kept_records_expires ON adapter_kept_records (expires_at)",
    ),
}
_BEGIN = ("INSERT INTO adapter_kept_files (id, owner, kind, meta, created_at, expires_at, "
          "touched) VALUES ($1, $2, $3, $4, $5, $6, $5)")
_USED = "SELECT coalesce(sum(bytes), 0) FROM adapter_kept_files"
_APPEND = "INSERT INTO adapter_kept_chunks (id, seq, data) VALUES ($1, $2, $3)"
_GROW = "UPDATE adapter_kept_files SET bytes = bytes + $1, touched = $2 WHERE id = $3"
_FINISH = "UPDATE adapter_kept_files SET complete = true, bytes = $1 WHERE id = $2"
_DISCARD = "DELETE FROM adapter_kept_files WHERE id = $1"
_META = ("SELECT meta, bytes, created_at, expires_at FROM adapter_kept_files "
         "WHERE id = $1 AND owner = $2 AND complete AND expires_at > $3")
_LISTING = ("SELECT id, meta, bytes, created_at, expires_at FROM adapter_kept_files "
            "WHERE owner = $1 AND kind = $2 AND complete AND expires_at > $3 "
            "ORDER BY created_at DESC, seq DESC")
_ROWS = ("SELECT seq, data FROM adapter_kept_chunks WHERE id = $1 AND seq >= $2 "
         "ORDER BY seq LIMIT $3")
_DELETE = ("DELETE FROM adapter_kept_files "
           "WHERE id = $1 AND owner = $2 AND complete AND expires_at > $3")
# A record put again keeps its first owner and created_at; another owner's put changes nothing.
_PUT_RECORD = (
    "INSERT INTO adapter_kept_records (id, owner, kind, record, created_at, expires_at) "
    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET record = excluded.record, "
    "expires_at = excluded.expires_at WHERE adapter_kept_records.owner = excluded.owner"
)
_RECORD = ("SELECT record FROM adapter_kept_records "
           "WHERE id = $1 AND owner = $2 AND expires_at > $3")
_RECORDS = ("SELECT record FROM adapter_kept_records "
            "WHERE owner = $1 AND kind = $2 AND expires_at > $3 "
            "ORDER BY created_at DESC, seq DESC")
_PRUNE_FILES = ("DELETE FROM adapter_kept_files WHERE expires_at <= $1 "
                "OR (NOT complete AND touched < $2)")
_PRUNE_RECORDS = "DELETE FROM adapter_kept_records WHERE expires_at <= $1"


class PostgresFileStore(StreamedFiles):
    """Kept files and records in PostgreSQL; one asyncpg pool per process, made on first use."""

    def __init__(self, url: str, *, max_bytes: int, pool_size: int = 10,
                 clock: Callable[[], float] = time.time, prune_every: int = 1000,
                 prune_interval: float = 60.0) -> None:
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be at least 1, got {max_bytes!r}")
        self.max_bytes = int(max_bytes)
        self.pool_size = max(1, int(pool_size))
        self._clock = clock
        self._prunes = PruneSchedule(prune_every, prune_interval, self.max_bytes)
        self._pg = Pool(url, self.pool_size, self._set_up, "file store")
        self._connection = self._pg.connection

    # The store interface (`put` and `chunks`: StreamedFiles)

    async def meta(self, file_id: str, owner: str) -> dict[str, Any] | None:
        """The file's meta with its id, bytes, created_at and expires_at; None when it does not
        exist, is not finished, has expired or is another owner's."""
        async with self._connection() as conn:
            row = await conn.fetchrow(_META, file_id, owner, self._clock())
        return None if row is None else described(row[0], file_id, *row[1:])

    async def listing(self, owner: str, kind: str) -> list[dict[str, Any]]:
        """The `meta` of each of `owner`'s files of `kind`, newest first."""
        async with self._connection() as conn:
            rows = await conn.fetch(_LISTING, owner, kind, self._clock())
        return [described(row[1], row[0], *row[2:]) for row in rows]

    async def delete(self, file_id: str, owner: str) -> bool:
        """Delete `owner`'s file; False when there was none (as for `meta`)."""
        async with self._connection() as conn:
            status = await conn.execute(_DELETE, file_id, owner, self._clock())
        return bool(status != "DELETE 0")

    async def put_record(self, record_id: str, owner: str, kind: str, record: dict[str, Any], *,
                         expires_at: float) -> None:
        """Keep `record` (JSON) as `owner`'s until `expires_at`; put again, it is replaced."""
        body = orjson.dumps(record)
        async with self._connection() as conn:
            await conn.execute(_PUT_RECORD, record_id, owner, kind, body, self._clock(),
                               expires_at)
        await self._saved(len(body))

    async def record(self, record_id: str, owner: str) -> dict[str, Any] | None:
        async with self._connection() as conn:
            body = await conn.fetchval(_RECORD, record_id, owner, self._clock())
        return None if body is None else orjson.loads(body)

    async def records(self, owner: str, kind: str) -> list[dict[str, Any]]:
        """`owner`'s records of `kind`, newest first."""
        async with self._connection() as conn:
            rows = await conn.fetch(_RECORDS, owner, kind, self._clock())
        return [orjson.loads(row[0]) for row in rows]

    async def prune(self) -> None:
        """Delete expired files and records, and unfinished puts gone stale, now (unless another
        replica is pruning at this moment)."""
        async with self._connection() as conn:
            await self._prune(conn)

    async def ping(self) -> bool:
        """Whether PostgreSQL answers now; never raises."""
        return await self._pg.ping()

    async def aclose(self) -> None:
        await self._pg.aclose()

    # StreamedFiles' row operations

    async def _begin(self, file_id: str, owner: str, kind: str, meta: bytes,
                     expires_at: float) -> None:
        async with self._connection() as conn:
            await conn.execute(_BEGIN, file_id, owner, kind, meta, self._clock(), expires_at)

    async def _append(self, file_id: str, seq: int, data: bytes) -> None:
        now = self._clock()
        async with self._connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _SPACE_LOCK)
            used = await conn.fetchval(_USED)
            if used + len(data) > self.max_bytes:
                await _delete_old(conn, now)
                used = await conn.fetchval(_USED)
                if used + len(data) > self.max_bytes:
                    raise store_full(used, self.max_bytes)
            await conn.execute(_APPEND, file_id, seq, data)
            await conn.execute(_GROW, len(data), now, file_id)

    async def _finish(self, file_id: str, size: int) -> None:
        async with self._connection() as conn:
            await conn.execute(_FINISH, size, file_id)
        await self._saved(size)

    async def _discard(self, file_id: str) -> None:
        async with self._connection() as conn:
            await conn.execute(_DISCARD, file_id)

    async def _rows(self, file_id: str, seq: int, count: int) -> list[tuple[int, bytes]]:
        async with self._connection() as conn:
            rows = await conn.fetch(_ROWS, file_id, seq, count)
        return [(row[0], row[1]) for row in rows]

    # Within a connection

    async def _set_up(self, conn: Connection) -> None:
        """The schema brought up to date, and a first prune (once per process)."""
        await migrate(conn, "adapter_kept_version", _MIGRATIONS, _MIGRATE_LOCK)
        await self._prune(conn)

    async def _saved(self, size: int) -> None:
        if self._prunes.saved(size, self._clock()):
            try:
                await self.prune()
            except (StoreUnavailable, asyncpg.PostgresError) as exc:
                log.warning("file store: pruning old kept files failed: %s", exc)

    async def _prune(self, conn: Connection) -> None:
        now = self._clock()
        async with conn.transaction():
            if await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _PRUNE_LOCK):
                await _delete_old(conn, now)
        self._prunes.pruned(now)


async def _delete_old(conn: Connection, now: float) -> None:
    await conn.execute(_PRUNE_FILES, now, now - STALE_UPLOAD)
    await conn.execute(_PRUNE_RECORDS, now)
