"""The response store on PostgreSQL, shared by replicas on several hosts (`ADAPTER_STORE=
postgresql://...`).

The records and their rules are SQLite's (see `store`): one row per response with its owner (a
hashed key), parent, `created`, `kept`, depth and size; only the owner finds a record; a
conversation is a chain of records; retention, `max_records` and `max_bytes` prune by `kept`,
later turns first, so what remains is whole chains. The body is the record's JSON, as bytes.
Times are the adapter's clock (seconds since the epoch), as in SQLite: keep replicas' clocks in
step (NTP).

Each process has an asyncpg pool, made on first use (a request or `ping`, which the readiness
probe calls), which then creates or migrates the schema under an advisory lock, so replicas
starting together do it once. While PostgreSQL cannot be reached, the request that needs the
store gets a 503 `store_unavailable` and nothing else fails; the pool replaces broken
connections, so the store recovers by itself when PostgreSQL is back. Pruning is taken by one
replica at a time (a second advisory lock); the others skip it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import asyncpg
import orjson

from .store import MAX_CHAIN, PruneSchedule, StoreUnavailable, chain_bodies, check_limits

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Connection: TypeAlias = PoolConnectionProxy[asyncpg.Record]

T = TypeVar("T")
log = logging.getLogger("adapter.store")

CONNECT_TIMEOUT = 5.0  # seconds to open a connection
COMMAND_TIMEOUT = 10.0  # seconds for one statement: a hung server is a 503, not a hung request
PING_TIMEOUT = 2.0
_MIGRATE_LOCK = 0x616470_01  # advisory lock keys ("adp"): the schema, and pruning
_PRUNE_LOCK = 0x616470_02
_ROLLBACK_TRIES = 3  # a deadlock between two replicas' saves: try again

_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        "CREATE TABLE adapter_responses (id TEXT PRIMARY KEY, owner TEXT, parent TEXT, "
        "created DOUBLE PRECISION NOT NULL, kept DOUBLE PRECISION NOT NULL, "
        "depth INTEGER NOT NULL, size INTEGER NOT NULL, body BYTEA NOT NULL, "
        "seq BIGINT GENERATED ALWAYS AS IDENTITY)",
        "CREATE INDEX adapter_responses_kept ON adapter_responses (kept)",
        "CREATE INDEX adapter_responses_parent ON adapter_responses (parent) "
        "WHERE parent IS NOT NULL",
    ),
}
# The ids from $1 back to its conversation's first record (at most $2 + 1 of them).
_WALK = (
    "chain(id, n) AS (SELECT $1::text, 0 WHERE $1::text IS NOT NULL UNION ALL "
    "SELECT r.parent, chain.n + 1 FROM chain JOIN adapter_responses r ON r.id = chain.id "
    "WHERE r.parent IS NOT NULL AND chain.n < $2)"
)
# One statement: the conversation's earlier records live as long as this one ($1 its parent),
# and a record saved again keeps its first `created`, owner and parent.
_SAVE = (
    f"WITH RECURSIVE {_WALK}, "
    "keep AS (UPDATE adapter_responses SET kept = $5 "
    "WHERE id IN (SELECT id FROM chain) AND kept < $5) "
    "INSERT INTO adapter_responses (id, owner, parent, created, kept, depth, size, body) "
    "VALUES ($3, $4, $1, $5, $5, "
    "COALESCE((SELECT depth + 1 FROM adapter_responses WHERE id = $1), 0), $6, $7) "
    "ON CONFLICT (id) DO UPDATE SET body = excluded.body, size = excluded.size"
)
_CHAIN = (
    "WITH RECURSIVE chain(id, n) AS ("
    "SELECT id, 0 FROM adapter_responses WHERE id = $1 AND owner = $2 AND created >= $3 "
    "UNION ALL SELECT r.parent, chain.n + 1 FROM chain "
    "JOIN adapter_responses r ON r.id = chain.id WHERE r.parent IS NOT NULL AND chain.n < $4) "
    "SELECT chain.id, r.owner, r.parent, r.depth, r.body FROM chain "
    "LEFT JOIN adapter_responses r ON r.id = chain.id ORDER BY chain.n"
)
_LOAD = "SELECT body FROM adapter_responses WHERE id = $1 AND owner = $2 AND created >= $3"
_FIND = ("SELECT parent FROM adapter_responses WHERE id = $1 AND owner = $2 AND created >= $3 "
         "FOR UPDATE")
_ANCESTOR = "SELECT owner, created, parent FROM adapter_responses WHERE id = $1 FOR UPDATE"
_HAS_CHILD = "SELECT 1 FROM adapter_responses WHERE parent = $1 LIMIT 1"
_HIDE = "UPDATE adapter_responses SET owner = NULL WHERE id = $1"
_REMOVE = "DELETE FROM adapter_responses WHERE id = $1"
_PRUNE_AGE = "DELETE FROM adapter_responses WHERE kept < $1"
_TOTALS = "SELECT count(*), coalesce(sum(size), 0) FROM adapter_responses"
_PRUNE_LIMITS = (
    "DELETE FROM adapter_responses WHERE seq IN (SELECT seq FROM ("
    "SELECT seq, ROW_NUMBER() OVER w AS n, SUM(size) OVER w AS total FROM adapter_responses "
    "WINDOW w AS (ORDER BY kept DESC, depth, seq DESC ROWS UNBOUNDED PRECEDING)) ranked "
    "WHERE n > $1 OR total > $2)"
)

# What says PostgreSQL cannot be reached (refused, reset, timed out, shutting down, starting up,
# full, refusing our credentials), rather than a fault of the statement.
UNREACHABLE = (
    OSError,  # refused, reset, TimeoutError
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.InvalidAuthorizationSpecificationError,
    asyncpg.exceptions.InvalidCatalogNameError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
)


class PostgresStore:
    """Records in PostgreSQL; one asyncpg pool per process, made on first use."""

    def __init__(self, url: str, retention_seconds: float, max_records: int, *,
                 max_bytes: int = 1 << 30, max_chain: int = MAX_CHAIN, pool_size: int = 10,
                 clock: Callable[[], float] = time.time, prune_every: int = 1000,
                 prune_interval: float = 60.0) -> None:
        check_limits(retention_seconds, max_records, max_bytes)
        self.retention_seconds = float(retention_seconds)
        self.max_records = int(max_records)
        self.max_bytes = int(max_bytes)
        self.max_chain = max(1, int(max_chain))
        self.pool_size = max(1, int(pool_size))
        self._clock = clock
        self._prunes = PruneSchedule(prune_every, prune_interval, self.max_bytes)
        self._pg = Pool(url, self.pool_size, self._set_up, "response store")
        self._connection = self._pg.connection

    # The store interface

    async def save(self, response_id: str, record: dict[str, Any], *, owner: str,
                   parent: str | None = None) -> None:
        """Keep `record` as `owner`'s, continuing `parent` (a record of the same owner)."""
        body = orjson.dumps(record)
        now = self._clock()
        async with self._connection() as conn:
            await _retrying(lambda: conn.execute(
                _SAVE, parent, self.max_chain, response_id, owner, now, len(body), body))
        if self._prunes.saved(len(body), now):
            await self._prune_quietly()

    async def load(self, response_id: str, owner: str) -> dict[str, Any] | None:
        """The record, if it exists, is `owner`'s and has not expired."""
        async with self._connection() as conn:
            body = await conn.fetchval(_LOAD, response_id, owner, self._cutoff())
        return None if body is None else orjson.loads(body)

    async def chain(self, response_id: str, owner: str) -> list[dict[str, Any]] | None:
        """The records of the conversation that ends with `response_id`, first to last; None
        as for `load`. ChainError when it cannot be continued (too long, or a record is gone)."""
        async with self._connection() as conn:
            rows = await conn.fetch(_CHAIN, response_id, owner, self._cutoff(), self.max_chain)
        bodies = chain_bodies(response_id, owner, self.max_chain, [tuple(row) for row in rows])
        return None if bodies is None else [orjson.loads(body) for body in bodies]

    async def delete(self, response_id: str, owner: str) -> bool:
        """Delete `owner`'s record; False if there was none to delete (as for `load`)."""
        async with self._connection() as conn:
            return await _retrying(lambda: self._delete(conn, response_id, owner))

    async def prune(self) -> None:
        """Delete expired records and the oldest beyond max_records and max_bytes now (unless
        another replica is pruning at this moment)."""
        async with self._connection() as conn:
            await self._prune(conn)

    async def ping(self) -> bool:
        """Whether PostgreSQL answers now (within PING_TIMEOUT); never raises."""
        return await self._pg.ping()

    async def aclose(self) -> None:
        await self._pg.aclose()

    # Within a connection

    async def _set_up(self, conn: Connection) -> None:
        """The schema brought up to date, and a first prune (once per process)."""
        await migrate(conn, "adapter_store_version", _MIGRATIONS, _MIGRATE_LOCK)
        await self._prune(conn)

    def _cutoff(self) -> float:
        return self._clock() - self.retention_seconds

    async def _delete(self, conn: Connection, response_id: str, owner: str) -> bool:
        """Delete the record, or only hide it (owner NULL) while later records need its items.
        Then its ancestors that were kept only for it (deleted or expired ones) go too."""
        cutoff = self._cutoff()
        async with conn.transaction():
            row = await conn.fetchrow(_FIND, response_id, owner, cutoff)
            if row is None:
                return False
            if await conn.fetchval(_HAS_CHILD, response_id):
                await conn.execute(_HIDE, response_id)
                return True
            await conn.execute(_REMOVE, response_id)
            parent = row[0]
            for _ in range(self.max_chain):
                ancestor = None if parent is None else await conn.fetchrow(_ANCESTOR, parent)
                if ancestor is None or await conn.fetchval(_HAS_CHILD, parent):
                    break
                ancestor_owner, created, grandparent = ancestor
                if ancestor_owner is not None and created >= cutoff:
                    break  # a live response of its own
                await conn.execute(_REMOVE, parent)
                parent = grandparent
        return True

    async def _prune(self, conn: Connection) -> None:
        async with conn.transaction():
            if await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _PRUNE_LOCK):
                await conn.execute(_PRUNE_AGE, self._cutoff())
                count, total = await conn.fetchrow(_TOTALS) or (0, 0)
                if count > self.max_records or total > self.max_bytes:
                    await conn.execute(_PRUNE_LIMITS, self.max_records, self.max_bytes)
        self._prunes.pruned(self._clock())

    async def _prune_quietly(self) -> None:
        """Prune as housekeeping: a failure must not fail the save that triggered it."""
        try:
            await self.prune()
        except (StoreUnavailable, asyncpg.PostgresError) as exc:
            log.warning("store: pruning old responses failed: %s", exc)


class Pool:
    """One process's asyncpg pool, made on first use, which first runs `set_up` (the schema) on
    one connection. `name` names the store in its 503 and its log lines."""

    def __init__(self, url: str, size: int, set_up: Callable[[Connection], Awaitable[None]],
                 name: str) -> None:
        self._url = url  # holds the password: never logged
        self._size = size
        self._set_up = set_up
        self._name = name
        self._pool: asyncpg.Pool | None = None
        self._reachable = True  # as last seen, so that losing and finding it is logged once

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """A pooled connection; StoreUnavailable when PostgreSQL cannot be reached."""
        try:
            pool = self._pool or await self._open()
            async with pool.acquire(timeout=CONNECT_TIMEOUT) as conn:
                yield conn
        except UNREACHABLE as exc:
            if self._reachable:
                self._reachable = False
                log.warning("store: PostgreSQL cannot be reached (%s: %s); requests that need "
                            "the %s get 503s until it can", type(exc).__name__, exc, self._name)
            raise StoreUnavailable(f"The {self._name} cannot be reached now; try again "
                                   "shortly.") from None
        if not self._reachable:
            self._reachable = True
            log.warning("store: PostgreSQL reached again (the %s)", self._name)

    async def ping(self) -> bool:
        """Whether PostgreSQL answers now (within PING_TIMEOUT); never raises."""
        try:
            async with self.connection() as conn:
                await conn.fetchval("SELECT 1", timeout=PING_TIMEOUT)
        except StoreUnavailable:
            return False
        return True

    async def aclose(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def _open(self) -> asyncpg.Pool:
        """The pool, set up (once per process)."""
        pool = await asyncpg.create_pool(self._url, min_size=1, max_size=self._size,
                                         timeout=CONNECT_TIMEOUT, command_timeout=COMMAND_TIMEOUT)
        try:
            async with pool.acquire() as conn:
                await self._set_up(conn)
        except BaseException:
            pool.terminate()
            raise
        if self._pool is not None:  # another task opened it meanwhile
            pool.terminate()
            return self._pool
        self._pool = pool
        return pool


async def migrate(conn: Connection, table: str, migrations: dict[int, tuple[str, ...]],
                  lock: int) -> None:
    """Create or migrate a schema to its newest version (`migrations`' last step, the steps done
    recorded in `table`), in one transaction under the advisory lock `lock`, so that replicas
    starting together wait for the first one and then find it done."""
    newest = max(migrations)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", lock)
        await conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (version INTEGER NOT NULL)")
        version = await conn.fetchval(f"SELECT max(version) FROM {table}") or 0
        if version > newest:
            log.warning("store: the PostgreSQL schema %s is version %d, newer than this "
                        "adapter's %d (a newer replica migrated it)", table, version, newest)
        for step in range(version + 1, newest + 1):
            for statement in migrations[step]:
                await conn.execute(statement)
            await conn.execute(f"INSERT INTO {table} VALUES ($1)", step)
            log.info("store: PostgreSQL schema %s migrated to version %d", table, step)


async def _retrying(call: Callable[[], Awaitable[T]]) -> T:
    """`call`, tried again when PostgreSQL rolled it back to break a deadlock with another
    replica's transaction over the same conversation."""
    for _ in range(_ROLLBACK_TRIES - 1):
        try:
            return await call()
        except asyncpg.exceptions.TransactionRollbackError:
            continue
    return await call()
