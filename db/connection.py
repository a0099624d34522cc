"""Choosing and opening the database, transactions, and waiting out storage trouble.

Two backends give the same `Connection` (db/backend.py): SQLite, the default, a file
(db/backend_sqlite.py: statements run on the event loop's own thread), and PostgreSQL, chosen by a
`postgresql://` URL (db/backend_postgres.py: psycopg 3's AsyncConnection from a pool). `connect`
picks by the target; nothing outside db/ asks which one it got.

Several instances on one PostgreSQL database write at once; what would be a read-modify-write race
takes a lock first (`lock_address`, `lock_person`, `lock_case`, `lock_code`, in that order, each held
to the COMMIT), a job that runs once across instances takes `once`, and the rare work on the whole
database `lock_everything`. On SQLite every one of them is free: its one writer holds the whole file.

Storage trouble that outlasts a backend's own short wait (a lock held longer, a full disk, a failing write) rolls
the transaction back; `keep_trying` is the one place that then waits, with growing pauses, and
runs the work again. Every loop of the bot (poller, processing, timers, delivery, webhook,
console) goes through it, so such trouble delays the bot but never stops it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

from db.backend import Connection, Cursor, DatabaseError, IntegrityError, Row, StorageTrouble
from db.backend_sqlite import (
    BUSY_PROBE,
    BUSY_TIMEOUT_MS,
    POSTGRESQL_SCHEMES,
    Checkpointer,
    SqliteConnection,
    connect_sqlite,
    keep_private,
    leave_checkpoints_to,
    open_raw,
    sqlite_trouble,
)

__all__ = [
    "BUSY_PROBE", "BUSY_TIMEOUT_MS", "Checkpointer", "Connection", "Cursor", "DatabaseError", "IntegrityError",
    "Patience", "Row",
    "SqliteConnection", "StorageTrouble", "connect", "is_postgresql", "keep_private", "keep_trying",
    "leave_checkpoints_to", "lock_address", "lock_case", "lock_code", "lock_everything", "lock_person", "once",
    "open_raw", "shown", "storage_trouble", "transaction", "trouble_name",
]

log = logging.getLogger(__name__)

T = TypeVar("T")


def is_postgresql(target: str | Path) -> bool:
    """Does this database setting name a PostgreSQL database (a postgresql:// URL)?"""
    return str(target).startswith(POSTGRESQL_SCHEMES)


async def connect(target: str | Path, upgrade: bool = True) -> Connection:
    """Open the database `target` names (an SQLite file, created readable by its owner only, or a
    postgresql:// URL) and bring the schema up to date."""
    if is_postgresql(target):
        from db.backend_postgres import connect_postgres  # psycopg is loaded only when used

        return await connect_postgres(str(target), upgrade)
    return await connect_sqlite(target, upgrade)


def shown(target: str | Path) -> str:
    """The database setting as it may be printed: a URL's password left out."""
    if not is_postgresql(target):
        return str(target)
    parts = urlsplit(str(target))
    if parts.password is None:
        return str(target)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def storage_trouble(exc: BaseException) -> bool:
    """Is this error the storage's (locked, full, failing to write, the server gone), worth trying again?"""
    if isinstance(exc, StorageTrouble) or sqlite_trouble(exc):
        return True
    if type(exc).__module__.startswith("psycopg"):
        from db.backend_postgres import postgres_trouble

        return postgres_trouble(exc)
    return False


def trouble_name(exc: BaseException) -> str:
    """What kind of storage trouble this is, as it may be logged (never the error's message)."""
    cause = exc.__cause__ or exc
    name = getattr(cause, "sqlite_errorname", None) or getattr(cause, "sqlstate", None)
    return str(name or type(cause).__name__)


@dataclass(frozen=True)
class Patience:
    """The pauses between tries when storage trouble stopped some work: `first`, doubling up
    to `most`, for as long as it takes. `sleep` is injected by tests."""

    first: float = 0.1
    most: float = 5.0
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep


async def keep_trying(what: str, work: Callable[[], Awaitable[T]], patience: Patience = Patience()) -> T:
    """Run `work` until storage trouble no longer stops it, and return what it returned.

    `work` must be safe to run again after such trouble: its transactions roll back when they
    fail (see `transaction`), so a second run starts from what was stored. Anything else it
    raises (a bug) is raised at once. Only the error's kind is logged, never its message."""
    pause, tries = patience.first, 0
    while True:
        try:
            result = await work()
        except Exception as exc:
            if not storage_trouble(exc):
                raise
            tries += 1
            kind = trouble_name(exc)  # a StorageTrouble names the error it stands for
            if tries == 1:
                log.warning(
                    "%s: the database cannot be written now (%s); trying again, pauses growing to %.0fs",
                    what, kind, patience.most,
                )
            else:
                log.debug("%s: still %s after %d tries", what, kind, tries)
            await patience.sleep(pause)
            pause = min(pause * 2, patience.most)
            continue
        if tries:
            log.warning("%s: stored again after %d failed tries", what, tries)
        return result


@asynccontextmanager
async def transaction(conn: Connection) -> AsyncIterator[Connection]:
    """One write transaction: all of it is stored, or none of it. A failed COMMIT (a full
    disk) is rolled back too: the connection is never left inside a transaction."""
    await conn.execute("BEGIN IMMEDIATE")  # PostgreSQL's backend reads it as BEGIN
    try:
        yield conn
        await conn.execute("COMMIT")
    except BaseException:
        # SQLite may already have rolled back by itself (a full disk does): then there is
        # nothing to undo, and the original error is the one to report.
        if conn.in_transaction:
            try:
                await conn.execute("ROLLBACK")
            except Exception:
                pass  # the original error is the one to report
        raise


async def lock_address(conn: Connection, channel: str, address: str, wait: bool = True) -> bool:
    """Work on what came from one address (before its person may exist) waits for other such work;
    `wait=False`: only if nobody is at it now (False: somebody is)."""
    return await conn.lock("address", f"{channel}:{address}", wait)


async def lock_person(conn: Connection, person_id: int) -> None:
    """Work on one person (their conversation, their account) waits for other work on them."""
    await conn.lock("person", str(person_id))


async def lock_case(conn: Connection, case_id: str, wait: bool = True) -> bool:
    """Work on one case (a press, a timer, the other party) waits for other work on it; `wait=False`:
    only if nobody is at it now (False: somebody is)."""
    return await conn.lock("case", case_id, wait)


async def lock_code(conn: Connection, code: str) -> None:
    """A fresh code (a question's, a case's) is checked free and stored by one transaction at a time."""
    await conn.lock("code", code)


async def once(conn: Connection, job: str) -> bool:
    """Whether this transaction may do `job`, which runs in one instance at a time (the Monday push,
    the nightly retention): False while another transaction holds it. The caller re-reads, under it,
    the stored mark that says the job is done, as another instance may just have done it."""
    return await conn.lock("once", job, wait=False)


async def lock_everything(conn: Connection) -> None:
    """The rare work on the whole database (erasure, revocation, retention, a key rotation's batch):
    every other write transaction waits until this one ends. Take it first in the transaction."""
    await conn.lock_everything()
