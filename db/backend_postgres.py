"""PostgreSQL, the backend for several instances (issue 18): psycopg 3's AsyncConnection, taken from
a pool (psycopg-pool) per database URL and event loop, behind the same `Connection` as SQLite's.

The repositories' SQL is written once, with SQLite's `?` placeholders; `postgresql_sql` turns them
into psycopg's `%s` (and a literal `%` into `%%`) outside quoted names, literals and comments.
Everything else the repositories say is valid in both dialects (`ON CONFLICT … DO UPDATE`,
`RETURNING`, `coalesce`, partial indexes).

Backend-specific SQL lives only in these places:
- db/schema_postgres.py: the schema version (a table, where SQLite has `PRAGMA user_version`), the
  baseline schema and the rule that translates later migrations;
- db/privacy.py: the inbox's row key for key rotation (`ctid`, where SQLite has `rowid`); backup
  (SQLite's online backup; for PostgreSQL, `pg_dump`);
- db/wal.py: emptying SQLite's write-ahead log (PostgreSQL has nothing to do there);
- db/timers.py: a timer's claim (`FOR UPDATE SKIP LOCKED`).

Statements run with autocommit on; `transaction` (db/connection.py) sends BEGIN IMMEDIATE and COMMIT
itself, so a transaction spans exactly what it did on SQLite. Several instances (and several jobs of
one) write at once, under READ COMMITTED; what keeps their read-modify-writes apart is locks, each
held to the COMMIT (advisory locks, `pg_advisory_xact_lock`), taken in one order (`LockKind`):
- every write transaction holds WRITE_LOCK shared (taken with the BEGIN, no extra round trip);
  `lock_everything` takes it exclusively, for the rare work on the whole database (erasure,
  revocation, the nightly retention, a key rotation's batch);
- processing an update locks its address and then its person (bot/processing.py): one update of a
  person at a time, across instances; then the case it acts on. A timer locks its case (trying
  only: a case in use is left for the next round) and claims its row `FOR UPDATE SKIP LOCKED`;
- `once` (`pg_try_advisory_xact_lock`): the Monday push, the nightly retention and the
  unreachable check run in one instance, the others skip them.
A claim lives as long as its transaction: an instance killed mid-work loses its connection and the
server rolls the work back at once; one that hangs is cut off after LEASE_MS idle in a transaction
(`idle_in_transaction_session_timeout`), the lease after which its timers are taken over.
(Outbox ids may commit out of id order: the delivery worker does not lean on their order; it claims
an address with an expiring lease in db/outbox.py, and is woken by NOTIFY, db/notify.py.)"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from psycopg_pool import AsyncConnectionPool

from db.backend import Connection, Cursor, DatabaseError, IntegrityError, LockKind, Statement

# `transaction`'s BEGIN IMMEDIATE becomes BEGIN and this advisory lock shared, held until the COMMIT;
# `lock_everything` takes it exclusively. A lock not had within LOCK_TIMEOUT_MS (SQLite's busy
# timeout) raises lock_not_available, storage trouble that `keep_trying` waits out.
WRITE_LOCK = 0x77696A6C
LOCK_TIMEOUT_MS = 5000
# A transaction left waiting for its client this long is ended by the server (its locks and claims
# freed): the lease of a hung instance's work. Far above the longest await inside one (a chart, ~1 s).
LEASE_MS = 60_000
# The first key of a two-key advisory lock, per kind (the second is the hash of the thing's key);
# two-key locks never collide with WRITE_LOCK's one-key space.
LOCK_SPACES = {"address": 1, "person": 2, "case": 3, "code": 4, "once": 5}
POOL_MAX = 32  # connections one process may hold per database: a handful of jobs, each with its own

# SQLSTATE classes and codes that are trouble with the server or its storage, not with the
# statement: the same work succeeds once it passes (the rest, such as a unique violation, are bugs).
TROUBLE_CLASSES = ("08", "40", "53", "57", "58")  # connection, rollback, resources, shutdown, system
TROUBLE_CODES = frozenset({"55P03", "55006"})  # lock not available, object in use


@functools.lru_cache(maxsize=2048)
def postgresql_sql(sql: str) -> str:
    """A statement written for SQLite (`?` placeholders) as psycopg takes it (`%s`, `%%`)."""
    out: list[str] = []
    quote = ""  # the quote we are inside: ' (a literal), " (a name), - (a comment to the line's end)
    for i, ch in enumerate(sql):
        if quote:
            if ch == ("\n" if quote == "-" else quote):
                quote = ""
            out.append("%%" if ch == "%" else ch)
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        elif ch == "-" and sql.startswith("--", i):
            quote = "-"
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        else:
            out.append("%%" if ch == "%" else ch)
    return "".join(out)


def postgres_trouble(exc: BaseException) -> bool:
    """Is this psycopg error the server's or the storage's (gone, shutting down, disk full, a
    deadlock or serialisation failure), so that the same work succeeds when tried again?"""
    if isinstance(exc, psycopg.OperationalError) and getattr(exc, "sqlstate", None) is None:
        return True  # the connection was lost
    state = getattr(exc, "sqlstate", None) or ""
    return isinstance(exc, psycopg.Error) and (state[:2] in TROUBLE_CLASSES or state in TROUBLE_CODES)


class PostgresCursor(Cursor):
    """A finished statement's rows, read at once (a cursor of psycopg is tied to its connection)."""

    __slots__ = ("_count", "_rows")

    def __init__(self, rows: list[Any], count: int) -> None:
        self._rows = rows
        self._count = count

    @property
    def lastrowid(self) -> int | None:
        return None  # not in PostgreSQL: the repositories say `RETURNING id`

    @property
    def rowcount(self) -> int:
        return self._count

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows


class _Pool:
    """One pool of a database URL on one event loop, open while some connection of it is."""

    def __init__(self, url: str) -> None:
        self.pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = AsyncConnectionPool(
            url, min_size=1, max_size=POOL_MAX, open=False, timeout=30,
            kwargs={
                "autocommit": True,
                "options": f"-c lock_timeout={LOCK_TIMEOUT_MS} -c idle_in_transaction_session_timeout={LEASE_MS}",
            },
        )
        self.users = 0
        # Opened once; a connection asked for meanwhile (two jobs starting together) waits for it.
        self.opening = asyncio.ensure_future(self.pool.open(wait=True, timeout=10))


_POOLS: dict[tuple[str, int], _Pool] = {}


async def _take(url: str) -> tuple[_Pool, psycopg.AsyncConnection[Any]]:
    key = (url, id(asyncio.get_running_loop()))
    pool = _POOLS.get(key)
    if pool is None:
        pool = _POOLS[key] = _Pool(url)
    try:
        await asyncio.shield(pool.opening)
    except Exception:
        if _POOLS.get(key) is pool:
            del _POOLS[key]
            await pool.pool.close()
        raise
    pool.users += 1
    try:
        return pool, await pool.pool.getconn()
    except BaseException:
        await _give_back(key, pool, None)
        raise


async def _give_back(key: tuple[str, int], pool: _Pool, raw: psycopg.AsyncConnection[Any] | None) -> None:
    if raw is not None:
        await pool.pool.putconn(raw)
    pool.users -= 1
    if pool.users == 0 and _POOLS.get(key) is pool:
        del _POOLS[key]
        await pool.pool.close()


class PostgresConnection(Connection):
    """A pooled psycopg connection with the interface of db/backend.py. A connection lost outside
    a transaction is replaced by a fresh one from the pool at the next statement."""

    backend = "postgresql"

    def __init__(self, url: str, pool: _Pool, raw: psycopg.AsyncConnection[Any]) -> None:
        self._url = url
        self._pool = pool
        self._raw: psycopg.AsyncConnection[Any] | None = raw
        self._key = (url, id(asyncio.get_running_loop()))

    @property
    def in_transaction(self) -> bool:
        raw = self._raw
        return raw is not None and not raw.closed and raw.info.transaction_status != TransactionStatus.IDLE

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        raw = self._raw
        if raw is None:
            raise DatabaseError("the connection is closed")
        if raw.broken or raw.closed:
            await self._pool.pool.putconn(raw)  # the pool drops a broken connection
            self._raw = None
            self._raw = raw = await self._pool.pool.getconn()
        return raw

    async def _begin_writing(self, cur: psycopg.AsyncCursor[Any]) -> None:
        """BEGIN and the write lock shared, in one round trip; not had in time (or cancelled), nothing
        is left open."""
        try:
            # Two statements in one: psycopg sends a query without parameters as it is.
            await cur.execute(f"BEGIN; SELECT pg_advisory_xact_lock_shared({WRITE_LOCK})")
        except BaseException:
            try:
                await cur.execute("ROLLBACK")
            except Exception:  # noqa: BLE001 - the connection is gone: nothing is open either
                pass
            raise

    async def _run(self, sql: str, parameters: Any, many: bool) -> Cursor:
        raw = await self._connection()
        async with raw.cursor() as cur:
            try:
                if sql == "BEGIN IMMEDIATE":  # a write transaction (see WRITE_LOCK)
                    await self._begin_writing(cur)
                    return PostgresCursor([], 0)
                if many:
                    await cur.executemany(postgresql_sql(sql), [tuple(row) for row in parameters])
                else:
                    await cur.execute(postgresql_sql(sql), tuple(parameters))
            except psycopg.IntegrityError as exc:
                raise IntegrityError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc
            rows = await cur.fetchall() if cur.description is not None else []
            return PostgresCursor(rows, cur.rowcount)

    def execute(self, sql: str, parameters: Iterable[Any] = ()) -> Statement:
        return Statement(self._run(sql, parameters, many=False))

    def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> Statement:
        return Statement(self._run(sql, rows, many=True))

    async def lock(self, kind: LockKind, key: str, wait: bool = True) -> bool:
        how = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
        async with self.execute(f"SELECT {how}(?, hashtext(?))", (LOCK_SPACES[kind], key)) as cur:
            row = await cur.fetchone()
        return wait or bool(row and row[0])

    async def lock_everything(self) -> None:
        await self.execute(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")

    async def backup(self, target: Connection) -> None:
        raise DatabaseError("a PostgreSQL database is backed up with pg_dump (see the README)")

    async def close(self) -> None:
        raw, self._raw = self._raw, None
        if raw is None:
            return
        if not raw.closed and raw.info.transaction_status != TransactionStatus.IDLE:
            await raw.rollback()
        await _give_back(self._key, self._pool, raw)


async def connect_postgres(url: str, upgrade: bool = True) -> Connection:
    """A connection to the database at `url`, the schema brought up to date."""
    try:
        pool, raw = await _take(url)
    except Exception as exc:  # pool timeout, refused, bad password: say which database, not the password
        where = url.split("@")[-1]
        raise DatabaseError(f"cannot connect to the PostgreSQL database at {where} ({type(exc).__name__})") from exc
    conn = PostgresConnection(url, pool, raw)
    if upgrade:
        from db.schema import migrate  # it needs this module

        try:
            await migrate(conn)
        except BaseException:
            await conn.close()
            raise
    return conn
