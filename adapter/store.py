"""Where /v1/responses keeps its responses: an SQLite file that every worker process shares.

Each record is one JSON object (the response, its input items and the chat messages this turn
added), stored by response id with its owner (a one-way hash of the caller's key: see
`auth.identity`) and its parent, the record `previous_response_id` continued. A conversation
is a chain of records, each turn's items stored once; `chain` walks it back to its first record.
Only the owner finds a record; to anyone else it does not exist.

Two tables: `responses` holds the bodies (id, created, body: the schema of earlier versions),
`records` the small metadata rows (owner, parent, times, depth, size), so that pruning and
keeping a chain alive never rewrite a body. Deleting a `records` row deletes its body (a trigger).

The file is in WAL mode, so readers never wait for the one writer, and every worker process
opens its own connection; SQLite's file locks (with a busy timeout) keep several `--workers`
consistent. Calls into SQLite block, so they run in a thread. The file (and its -wal and -shm,
which SQLite creates with the file's mode) is created readable by its owner only.

A record's lifetime: it answers GET (and can be continued) until it is older than the retention
or deleted. Its ancestors stay in the file as long as it does, even when they are themselves
expired or deleted (then they answer nobody, but still feed the chain): `kept` is the newest
`created` among a record and its descendants, and pruning goes by `kept`. Pruning (on open,
then after `prune_every` saves, `prune_interval` seconds or a tenth of `max_bytes` saved,
whichever comes first) deletes the records whose `kept` is older than the retention, then the
oldest beyond `max_records` and beyond `max_bytes` in total, a conversation's later records
before its earlier ones, so what remains is always whole chains. Between prunes the limits may be
overshot by what was saved since the last prune.

Files of earlier versions (a `responses` table only) are migrated on open: their records get a
metadata row with no owner, so nobody can read or continue them; they count towards the limits
and expire like any other record.

`store_postgres.PostgresStore` keeps the same records, by the same rules, in PostgreSQL, for
replicas on several hosts; `open_store` picks it for a `postgresql://` ADAPTER_STORE.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

import orjson

from .config import Settings
from .translate.errors import AdapterError

T = TypeVar("T")
log = logging.getLogger("adapter.store")

BUSY_TIMEOUT = 5.0  # seconds to wait for another process's write lock
MAX_CHAIN = 1000  # responses in one previous_response_id conversation
_VERSION = 1  # PRAGMA user_version of a file with the `records` table

_BODIES = ("CREATE TABLE IF NOT EXISTS responses "
           "(id TEXT PRIMARY KEY, created REAL NOT NULL, body BLOB NOT NULL)")
# From a file of an earlier version (or a new one) to _VERSION, in one write transaction.
_MIGRATE = (
    "CREATE TABLE records (id TEXT PRIMARY KEY, owner TEXT, parent TEXT, "
    "created REAL NOT NULL, kept REAL NOT NULL, depth INTEGER NOT NULL, size INTEGER NOT NULL)",
    "CREATE INDEX records_kept ON records (kept)",
    "CREATE INDEX records_parent ON records (parent) WHERE parent IS NOT NULL",
    "CREATE TRIGGER records_delete AFTER DELETE ON records "
    "BEGIN DELETE FROM responses WHERE id = old.id; END",
    "INSERT INTO records (id, owner, parent, created, kept, depth, size) "
    "SELECT id, NULL, NULL, created, created, 0, length(body) FROM responses",
    "DROP INDEX IF EXISTS responses_created",
    f"PRAGMA user_version = {_VERSION}",
)
# A record saved again (a background response finishing, say) keeps its first `created`, owner
# and parent, so rewriting it does not extend its life nor change whose it is.
_SAVE_BODY = (
    "INSERT INTO responses (id, created, body) VALUES (?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET body = excluded.body"
)
_SAVE_RECORD = (
    "INSERT INTO records (id, owner, parent, created, kept, depth, size) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET size = excluded.size"
)
_DEPTH = "SELECT depth FROM records WHERE id = ?"
# The ids from `id` back to its conversation's first record (at most MAX_CHAIN + 1 of them).
_WALK = (
    "WITH RECURSIVE chain(id, n) AS (SELECT ?, 0 UNION ALL "
    "SELECT r.parent, chain.n + 1 FROM chain JOIN records r ON r.id = chain.id "
    "WHERE r.parent IS NOT NULL AND chain.n < ?)"
)
_KEEP_CHAIN = (f"{_WALK} UPDATE records SET kept = ? "
               "WHERE id IN (SELECT id FROM chain) AND kept < ?")
_CHAIN = (
    "WITH RECURSIVE chain(id, n) AS ("
    "SELECT id, 0 FROM records WHERE id = ? AND owner = ? AND created >= ? UNION ALL "
    "SELECT r.parent, chain.n + 1 FROM chain JOIN records r ON r.id = chain.id "
    "WHERE r.parent IS NOT NULL AND chain.n < ?) "
    "SELECT chain.id, r.owner, r.parent, r.depth, b.body FROM chain "
    "LEFT JOIN records r ON r.id = chain.id LEFT JOIN responses b ON b.id = chain.id "
    "ORDER BY chain.n"
)
_LOAD = ("SELECT b.body FROM records r JOIN responses b ON b.id = r.id "
         "WHERE r.id = ? AND r.owner = ? AND r.created >= ?")
_FIND = "SELECT parent FROM records WHERE id = ? AND owner = ? AND created >= ?"
_ANCESTOR = "SELECT owner, created, parent FROM records WHERE id = ?"
_HAS_CHILD = "SELECT 1 FROM records WHERE parent = ? LIMIT 1"
_HIDE = "UPDATE records SET owner = NULL WHERE id = ?"
_REMOVE = "DELETE FROM records WHERE id = ?"
_PRUNE_AGE = "DELETE FROM records WHERE kept < ?"
_TOTALS = "SELECT count(*), sum(size) FROM records"
# Beyond the newest `max_records`, or beyond `max_bytes` counted from the newest. Among records
# kept until the same moment (a chain continued at that moment), a later turn goes first.
_PRUNE_LIMITS = (
    "DELETE FROM records WHERE rowid IN (SELECT rid FROM ("
    "SELECT rowid AS rid, ROW_NUMBER() OVER w AS n, SUM(size) OVER w AS total FROM records "
    "WINDOW w AS (ORDER BY kept DESC, depth, rowid DESC ROWS UNBOUNDED PRECEDING)) "
    "WHERE n > ? OR total > ?)"
)


class ChainError(Exception):
    """A stored conversation that cannot be continued: too long, or a record of it is gone."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class StoreUnavailable(AdapterError):
    """The store cannot be reached now (its server is down, say): a 503 for the request that
    needed it; the store itself recovers when its server is back."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 503, code="store_unavailable")


def chain_bodies(response_id: str, owner: str, max_chain: int,
                 rows: list[tuple[str, str | None, str | None, int | None, bytes | None]]
                 ) -> list[bytes] | None:
    """The bodies of a conversation, first to last, from the rows a chain walk found: (id,
    owner, parent, depth, body) from `response_id` back, a missing record's row all None but its
    id. None when the walk found nothing (no such record of `owner`'s); ChainError when the
    conversation cannot be continued (too long, or a record of it is gone or another's)."""
    if not rows:
        return None
    if (rows[0][3] or 0) + 1 >= max_chain:
        raise ChainError(f"The conversation that response {response_id!r} ends has reached "
                         f"{max_chain} responses, the most this adapter chains; "
                         "start a new one (send the history as input).",
                         "conversation_too_long")
    bodies = []
    for record_id, record_owner, parent, _, body in rows:
        if body is None or record_owner not in (owner, None):
            raise _gone(response_id, record_id)
        bodies.append(body)
        if parent is None:
            return bodies[::-1]
    raise _gone(response_id, str(rows[-1][2]))  # longer than the walk goes


@runtime_checkable
class ResponseStore(Protocol):
    async def save(self, response_id: str, record: dict[str, Any], *, owner: str,
                   parent: str | None = None) -> None: ...
    async def load(self, response_id: str, owner: str) -> dict[str, Any] | None: ...
    async def chain(self, response_id: str, owner: str) -> list[dict[str, Any]] | None: ...
    async def delete(self, response_id: str, owner: str) -> bool: ...  # True if it existed
    async def ping(self) -> bool: ...  # can it be reached now (readiness); never raises
    async def aclose(self) -> None: ...


class NullStore:
    """The store when storing is off: nothing is kept, so nothing is found."""

    async def save(self, response_id: str, record: dict[str, Any], *, owner: str,
                   parent: str | None = None) -> None:
        return None

    async def load(self, response_id: str, owner: str) -> dict[str, Any] | None:
        return None

    async def chain(self, response_id: str, owner: str) -> list[dict[str, Any]] | None:
        return None

    async def delete(self, response_id: str, owner: str) -> bool:
        return False

    async def ping(self) -> bool:
        return True

    async def aclose(self) -> None:
        return None


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, taking the write lock at once (waiting on busy_timeout)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _gone(response_id: str, missing: str) -> ChainError:
    return ChainError(f"Response {response_id!r} continues a response that is no longer stored "
                      f"({missing!r}), so its conversation cannot be continued.",
                      "previous_response_not_found")


def _create_private(path: Path) -> None:
    """Create the database file readable by its owner only (its directory too, when missing);
    SQLite gives the -wal and -shm files the database file's mode. An existing file keeps its
    mode, with a warning when others may read it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    if os.stat(path).st_mode & 0o077:
        log.warning("%s can be read by other users than its owner; stored responses are "
                    "private: chmod 600 it (and its -wal and -shm files)", path)


def open_sqlite(path: Path, set_up: Callable[[sqlite3.Connection], None]) -> sqlite3.Connection:
    """A connection to the SQLite file at `path` (created private), in WAL mode, with `set_up`
    (its schema) applied. Workers opening the file at the same moment can be refused ("database
    is locked") without SQLite's busy handler being asked, so that is tried again."""
    _create_private(path)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None,
                           check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
        deadline = time.monotonic() + BUSY_TIMEOUT
        while True:
            try:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                conn.execute("PRAGMA synchronous = NORMAL")
                set_up(conn)
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
    except BaseException:
        conn.close()
        raise
    if str(mode).lower() != "wal":
        log.warning("%s: SQLite could not use WAL mode here (%s); several workers may wait "
                    "on each other", path, mode)
    return conn


def check_limits(retention_seconds: float, max_records: int, max_bytes: int) -> None:
    """Refuse limits no store can keep (every store checks the same)."""
    if retention_seconds <= 0:
        raise ValueError(f"retention_seconds must be positive, got {retention_seconds!r}")
    if max_records < 1:
        raise ValueError(f"max_records must be at least 1, got {max_records!r}")
    if max_bytes < 1:
        raise ValueError(f"max_bytes must be at least 1, got {max_bytes!r}")


class PruneSchedule:
    """When a store prunes: after `every` saves, after a tenth of `max_bytes` saved, or
    `interval` seconds after the last prune, whichever comes first."""

    def __init__(self, every: int, interval: float, max_bytes: int) -> None:
        self._every = max(1, every)
        self._interval = interval
        self._max_bytes = max_bytes
        self._saves = 0
        self._bytes = 0
        self._last = 0.0

    def saved(self, size: int, now: float) -> bool:
        """Count a save of `size` bytes at `now`; whether pruning is due."""
        self._saves += 1
        self._bytes += size
        return (self._saves >= self._every or self._bytes * 10 >= self._max_bytes
                or now - self._last >= self._interval)

    def pruned(self, now: float) -> None:
        self._saves = 0
        self._bytes = 0
        self._last = now


class SQLiteStore:
    """Records in one SQLite file; one connection per process, opened on first use."""

    def __init__(self, path: str | Path, retention_seconds: float, max_records: int, *,
                 max_bytes: int = 1 << 30, max_chain: int = MAX_CHAIN,
                 clock: Callable[[], float] = time.time, prune_every: int = 1000,
                 prune_interval: float = 60.0) -> None:
        check_limits(retention_seconds, max_records, max_bytes)
        self.path = Path(path).expanduser()
        self.retention_seconds = float(retention_seconds)
        self.max_records = int(max_records)
        self.max_bytes = int(max_bytes)
        self.max_chain = max(1, int(max_chain))
        self._clock = clock
        self._prunes = PruneSchedule(prune_every, prune_interval, self.max_bytes)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0  # the process that opened _conn

    # Public API: everything that touches SQLite runs in a thread.

    async def save(self, response_id: str, record: dict[str, Any], *, owner: str,
                   parent: str | None = None) -> None:
        """Keep `record` as `owner`'s, continuing `parent` (a record of the same owner)."""
        body = orjson.dumps(record)  # here, so the record cannot change while it is written
        await asyncio.to_thread(self._locked, self._save, response_id, owner, parent, body)

    async def load(self, response_id: str, owner: str) -> dict[str, Any] | None:
        """The record, if it exists, is `owner`'s and has not expired."""
        return await asyncio.to_thread(self._parsed, self._load, response_id, owner)

    async def chain(self, response_id: str, owner: str) -> list[dict[str, Any]] | None:
        """The records of the conversation that ends with `response_id`, first to last; None
        as for `load`. ChainError when it cannot be continued (too long, or a record is gone)."""
        return await asyncio.to_thread(self._parsed, self._chain, response_id, owner)

    async def delete(self, response_id: str, owner: str) -> bool:
        """Delete `owner`'s record; False if there was none to delete (as for `load`)."""
        return await asyncio.to_thread(self._locked, self._delete, response_id, owner)

    async def prune(self) -> None:
        """Delete expired records and the oldest beyond max_records and max_bytes now."""
        await asyncio.to_thread(self._locked, self._prune)

    async def ping(self) -> bool:
        """A local file: reachable whenever this process runs."""
        return True

    async def aclose(self) -> None:
        """Close this process's connection (a later call opens it again)."""
        await asyncio.to_thread(self._close)

    # In the thread, under the lock.

    def _locked(self, func: Callable[..., T], *args: Any) -> T:
        with self._lock:
            return func(*args)

    def _parsed(self, func: Callable[..., Any], *args: Any) -> Any:
        """`func`'s body or bodies, parsed (in the thread too, but outside the lock)."""
        found = self._locked(func, *args)
        if found is None:
            return None
        return orjson.loads(found) if isinstance(found, bytes) else list(map(orjson.loads, found))

    def _connection(self) -> sqlite3.Connection:
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        # None yet, or inherited across a fork: a connection must not cross processes, and
        # the parent's one is left alone (closing it here could disturb the parent's locks).
        self._conn = None
        conn = open_sqlite(self.path, self._migrate)
        self._conn, self._pid = conn, os.getpid()
        self._prune_quietly()
        return conn

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        """Bring the file to _VERSION; under the write lock, so one worker does it once."""
        conn.execute(_BODIES)
        if conn.execute("PRAGMA user_version").fetchone()[0] >= _VERSION:
            return
        with transaction(conn):
            if conn.execute("PRAGMA user_version").fetchone()[0] >= _VERSION:
                return
            migrated = conn.execute("SELECT count(*) FROM responses").fetchone()[0]
            for statement in _MIGRATE:
                conn.execute(statement)
        if migrated:
            log.info("store: %d responses of an earlier version kept, readable by nobody",
                     migrated)

    def _cutoff(self) -> float:
        return self._clock() - self.retention_seconds

    def _save(self, response_id: str, owner: str, parent: str | None, body: bytes) -> None:
        conn = self._connection()
        now = self._clock()
        with transaction(conn):
            depth = 0
            if parent is not None and (row := conn.execute(_DEPTH, (parent,)).fetchone()):
                depth = row[0] + 1
            conn.execute(_SAVE_BODY, (response_id, now, body))
            conn.execute(_SAVE_RECORD, (response_id, owner, parent, now, now, depth, len(body)))
            if parent is not None:  # the conversation's earlier records live as long as this
                conn.execute(_KEEP_CHAIN, (parent, self.max_chain, now, now))
        if self._prunes.saved(len(body), now):
            self._prune_quietly()

    def _load(self, response_id: str, owner: str) -> bytes | None:
        row = self._connection().execute(
            _LOAD, (response_id, owner, self._cutoff())).fetchone()
        return None if row is None else row[0]

    def _chain(self, response_id: str, owner: str) -> list[bytes] | None:
        rows = self._connection().execute(
            _CHAIN, (response_id, owner, self._cutoff(), self.max_chain)).fetchall()
        return chain_bodies(response_id, owner, self.max_chain, rows)

    def _delete(self, response_id: str, owner: str) -> bool:
        """Delete the record, or only hide it (owner NULL) while later records need its items.
        Then its ancestors that were kept only for it (deleted or expired ones) go too."""
        conn = self._connection()
        cutoff = self._cutoff()
        with transaction(conn):
            row = conn.execute(_FIND, (response_id, owner, cutoff)).fetchone()
            if row is None:
                return False
            if conn.execute(_HAS_CHILD, (response_id,)).fetchone():
                conn.execute(_HIDE, (response_id,))
                return True
            conn.execute(_REMOVE, (response_id,))
            parent = row[0]
            for _ in range(self.max_chain):
                ancestor = None if parent is None else conn.execute(
                    _ANCESTOR, (parent,)).fetchone()
                if ancestor is None or conn.execute(_HAS_CHILD, (parent,)).fetchone():
                    break
                ancestor_owner, created, grandparent = ancestor
                if ancestor_owner is not None and created >= cutoff:
                    break  # a live response of its own
                conn.execute(_REMOVE, (parent,))
                parent = grandparent
        return True

    def _prune(self) -> None:
        conn = self._connection()
        with transaction(conn):
            conn.execute(_PRUNE_AGE, (self._cutoff(),))
            count, total = conn.execute(_TOTALS).fetchone()
            if count > self.max_records or (total or 0) > self.max_bytes:
                conn.execute(_PRUNE_LIMITS, (self.max_records, self.max_bytes))
        self._prunes.pruned(self._clock())

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
    """The store the settings ask for: PostgreSQL at a `postgresql://` ADAPTER_STORE, SQLite at
    a file, or none when it is off."""
    if settings.store_url is not None:
        from .store_postgres import PostgresStore  # asyncpg only when it is used
        return PostgresStore(settings.store_url, settings.store_retention_seconds,
                             settings.store_max_records, max_bytes=settings.store_max_bytes,
                             pool_size=settings.store_pool_size)
    path = settings.store_file
    if path is None:
        return NullStore()
    return SQLiteStore(path, settings.store_retention_seconds, settings.store_max_records,
                       max_bytes=settings.store_max_bytes)
