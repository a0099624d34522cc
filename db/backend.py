"""What every backend's connection offers the repositories (db/backend_sqlite.py, the default, and
db/backend_postgres.py): statements with `?` placeholders, awaited or used with `async with`, and
cursors whose rows are plain tuples. No module outside db/ knows which backend it talks to; the
few places inside db/ that must differ ask `conn.backend`."""

from __future__ import annotations

import sqlite3
from collections.abc import Coroutine, Generator, Iterable
from typing import Any, Literal, Self

# One result row as the driver returns it (no row factory is set): its values are whatever the
# column holds (str, int, float, bytes or None), which only the repository reading it knows.
Row = tuple[Any, ...]
Backend = Literal["sqlite", "postgresql"]
# What a transaction may lock, in the one order every transaction takes them (so two never wait for
# each other): the address an update came from, then its person, then a case, then a fresh code; a
# job that runs once across instances ("once") is only ever tried, never waited for.
LockKind = Literal["address", "person", "case", "code", "once"]


class DatabaseError(Exception):
    """The database cannot be used (not Wijkbrug's, from a newer Wijkbrug, unreachable, locked)."""


class IntegrityError(sqlite3.IntegrityError):
    """A constraint refused the statement (a key already taken, a missing reference), on either
    backend. Both raise this; it is sqlite3's IntegrityError, so code written against SQLite's
    error catches it too. On PostgreSQL the transaction it happened in can only be rolled back."""


class StorageTrouble(Exception):
    """Work that could not be stored now (locked, disk full) and was rolled back: try again later."""


class Cursor:
    """A finished statement's result, with the awaitable reads the repositories use."""

    @property
    def lastrowid(self) -> int | None:
        raise NotImplementedError

    @property
    def rowcount(self) -> int:
        raise NotImplementedError

    async def fetchone(self) -> Any:
        raise NotImplementedError

    async def fetchall(self) -> list[Any]:
        raise NotImplementedError

    async def close(self) -> None:
        return None


class Statement:
    """What `Connection.execute` returns: awaited, the cursor; `async with`, the cursor, closed after."""

    __slots__ = ("_cursor", "_run")

    def __init__(self, run: Coroutine[Any, Any, Cursor]) -> None:
        self._run = run
        self._cursor: Cursor | None = None

    def __await__(self) -> Generator[Any, None, Cursor]:
        return self._run.__await__()

    async def __aenter__(self) -> Cursor:
        self._cursor = await self._run
        return self._cursor

    async def __aexit__(self, *exc: object) -> None:
        if self._cursor is not None:
            await self._cursor.close()


class Connection:
    """One connection of one job (poller, processing, delivery…), whichever the backend."""

    backend: Backend
    # How long a statement waits for another writer's lock before the error surfaces (seconds).
    busy_seconds: float = 5.0

    @property
    def in_transaction(self) -> bool:
        raise NotImplementedError

    def execute(self, sql: str, parameters: Iterable[Any] = ()) -> Statement:
        raise NotImplementedError

    def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> Statement:
        raise NotImplementedError

    async def lock(self, kind: LockKind, key: str, wait: bool = True) -> bool:
        """Hold the lock of one address, person, case, code or job (`kind`, `key`) until the transaction
        ends, so that other work on the same thing waits; `wait=False`: only if nobody holds it now
        (False: somebody does). On SQLite a write transaction holds the whole database already:
        nothing to do. Take them in the order of `LockKind`."""
        return True

    async def lock_everything(self) -> None:
        """Wait until no other write transaction runs, and keep every other one out until this one
        ends: for the rare work on the whole database (erasure, retention, key rotation)."""
        return None

    async def backup(self, target: Connection) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
