"""Opening the database, its pragmas and transactions (its migrations: db/schema.py).

Statements run on the event loop's own thread. SQLite on a local file in WAL mode with
`synchronous = NORMAL` answers in microseconds and never waits for the disk on commit; what
costs is a hop to another thread and back, which aiosqlite makes for every statement. Measured
on the development machine: 92 µs per indexed SELECT through aiosqlite, 7 µs in place; an
update takes about 15 statements, so the hops were the largest single cost of handling one.

The one thing that can make SQLite wait is another writer (an operator's command in another
process). So the connection never waits inside SQLite (`busy_timeout = 0`): a statement that
finds the database locked is tried again after a short asynchronous sleep, letting the rest of
the bot run, until BUSY_TIMEOUT_MS has passed; then the "database is locked" error surfaces.
A transaction of the bot never awaits anything but its own statements, so two connections of
this process never hold the write lock across each other.

Storage trouble that outlasts that wait (a lock held longer, a full disk, a failing write) rolls
the transaction back; `keep_trying` is the one place that then waits, with growing pauses, and
runs the work again. Every loop of the bot (poller, processing, timers, delivery, webhook,
console) goes through it, so such trouble delays the bot but never stops it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import stat
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self, TypeVar

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
# While the database is locked a statement is tried again at least this often (seconds): another
# writer's short transactions (rotate-key's batches) leave gaps a little longer than this.
BUSY_PROBE = 0.01
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_NOMEM = 7
SQLITE_IOERR = 10
SQLITE_FULL = 13
SQLITE_PROTOCOL = 15
# Trouble with the storage, not with the statement: it passes, and the same work then succeeds.
# (Any other error, such as "no such table", is a bug: trying again would only repeat it.)
TROUBLE = frozenset({SQLITE_BUSY, SQLITE_LOCKED, SQLITE_NOMEM, SQLITE_IOERR, SQLITE_FULL, SQLITE_PROTOCOL})

T = TypeVar("T")
# One result row as sqlite3 returns it (no row factory is set): its values are whatever the column
# holds (str, int, float, bytes or None), which only the repository reading it knows.
Row = tuple[Any, ...]


class DatabaseError(Exception):
    """The database cannot be used (not SQLite, from a newer Wijkbrug, locked, disk full)."""


class StorageTrouble(Exception):
    """Work that could not be stored now (locked, disk full) and was rolled back: try again later."""


def storage_trouble(exc: BaseException) -> bool:
    """Is this error the storage's (locked, full, failing to write), worth trying again?"""
    if isinstance(exc, StorageTrouble):
        return True
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.OperationalError) and code is not None and code & 0xFF in TROUBLE


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
            cause = exc.__cause__ or exc  # a StorageTrouble names the SQLite error it stands for
            kind = getattr(cause, "sqlite_errorname", None) or type(cause).__name__
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


class Cursor:
    """A finished statement's cursor, with the awaitable reads that the repositories use."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _Statement:
    """What `Connection.execute` returns: awaited, the cursor; `async with`, the cursor, closed after."""

    __slots__ = ("_cursor", "_run")

    def __init__(self, run: Callable[[], Coroutine[Any, Any, Cursor]]) -> None:
        self._run = run
        self._cursor: Cursor | None = None

    def __await__(self) -> Generator[Any, None, Cursor]:
        return self._run().__await__()

    async def __aenter__(self) -> Cursor:
        self._cursor = await self._run()
        return self._cursor

    async def __aexit__(self, *exc: object) -> None:
        if self._cursor is not None:
            await self._cursor.close()


class Connection:
    """An SQLite connection with an awaitable interface, run in place (see the module's note)."""

    def __init__(self, raw: sqlite3.Connection) -> None:
        self._raw = raw
        self.busy_seconds = BUSY_TIMEOUT_MS / 1000

    @property
    def in_transaction(self) -> bool:
        return self._raw.in_transaction

    @property
    def total_changes(self) -> int:
        return self._raw.total_changes

    async def _patiently(self, call: Any, *args: Any) -> Any:
        try:
            return call(*args)
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", None) not in (SQLITE_BUSY, SQLITE_LOCKED) or self._raw.in_transaction:
                raise  # inside a transaction this connection holds the write lock: never busy
            error = exc
        deadline = time.monotonic() + self.busy_seconds
        pause = 0.001
        while time.monotonic() < deadline:
            await asyncio.sleep(pause)
            pause = min(pause * 2, BUSY_PROBE)
            try:
                return call(*args)
            except sqlite3.OperationalError as exc:
                if getattr(exc, "sqlite_errorcode", None) not in (SQLITE_BUSY, SQLITE_LOCKED):
                    raise
                error = exc
        raise error

    def execute(self, sql: str, parameters: Iterable[Any] = ()) -> _Statement:
        async def run() -> Cursor:
            return Cursor(await self._patiently(self._raw.execute, sql, parameters))

        return _Statement(run)

    def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> _Statement:
        async def run() -> Cursor:
            return Cursor(await self._patiently(self._raw.executemany, sql, rows))

        return _Statement(run)

    async def backup(self, target: Connection) -> None:
        await self._patiently(self._raw.backup, target._raw)

    async def close(self) -> None:
        self._raw.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def open_raw(path: str | Path) -> Connection:
    """A connection without Wijkbrug's schema (a backup's target)."""
    return Connection(sqlite3.connect(str(path), isolation_level=None, timeout=0))


def keep_private(path: Path, folder_too: bool = True) -> None:
    """Only the owner may read the database, its `-wal` and `-shm`, and its folder (0600/0700).
    A new folder and a new file are made so; existing ones are tightened (an existing folder
    only with `folder_too`, and never the working or the home directory, where much else lives:
    the files in it are 0600 all the same). SQLite gives the `-wal` and `-shm` it creates the
    database file's mode. A folder or file of someone else (which cannot be changed) is left."""
    folder = path.parent
    if not folder.exists():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    folder_too = folder_too and folder.resolve() not in (Path.cwd().resolve(), Path.home().resolve())
    for each in ((folder,) if folder_too else ()) + (
        path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal"),
    ):
        try:
            mode = stat.S_IMODE(each.stat().st_mode)
            private = mode & (0o700 if each.is_dir() else 0o600)
            if mode != private:
                each.chmod(private)
        except OSError:
            pass  # not there, or not ours


async def connect(path: str | Path, upgrade: bool = True) -> Connection:
    """Open (creating the file and its folder if needed, readable by their owner only) and
    bring the schema up to date."""
    path = Path(path)
    if str(path) != ":memory:":
        keep_private(path)
    conn = await open_raw(path)
    try:
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")
        await conn.execute("PRAGMA foreign_keys = ON")
        # Deleted rows are overwritten, not left in free pages: an erasure leaves no trace.
        await conn.execute("PRAGMA secure_delete = ON")
        if upgrade:
            from db.schema import migrate  # it needs this module

            await migrate(conn)
    except sqlite3.DatabaseError as exc:
        await conn.close()
        raise DatabaseError(f"{path}: cannot use this file as Wijkbrug's database: {exc}") from exc
    except DatabaseError:
        await conn.close()
        raise
    return conn


class Checkpointer:
    """Copies the write-ahead log back into the database on a thread of its own, once a second.

    SQLite does this by itself inside the COMMIT that fills the log past 1,000 pages, and with
    `synchronous = NORMAL` that is also where it waits for the disk: on the event loop's thread,
    milliseconds at a time. The bot's connections switch that off (`wal_autocheckpoint = 0`)
    and this one connection does it instead, in passive mode (it never blocks a reader or a
    writer), with the waiting done off the loop.

    A passive checkpoint copies the log back but cannot start it over while writes go on, and
    the log file never shrinks by itself: under steady writing it grew without end (to 480 MB in
    a 45-second load run). So when the log file is past `limit_bytes` after a copy, it is
    truncated to empty. That waits (up to `wait` seconds, off the loop) for the transaction
    in progress, then copies only what was written since and holds writers off for that long:
    they wait their turn with asynchronous sleeps, so the bot goes on meanwhile."""

    def __init__(
        self, path: str | Path, every: float = 1.0, limit_bytes: int = 4 * 1024 * 1024, wait: float = 0.2
    ) -> None:
        self.path = path
        self.log = Path(f"{path}-wal")
        self.every = every
        self.limit_bytes = limit_bytes
        self.wait = wait
        self.truncated = 0

    async def run(self) -> None:
        # A passive checkpoint never waits for anyone; `timeout` is only the truncation's wait.
        raw = sqlite3.connect(str(self.path), isolation_level=None, timeout=self.wait, check_same_thread=False)
        try:
            while True:
                await asyncio.sleep(self.every)
                await asyncio.to_thread(self._checkpoint, raw)
        finally:
            raw.close()

    def _checkpoint(self, raw: sqlite3.Connection) -> None:
        try:
            raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if self.log.exists() and self.log.stat().st_size > self.limit_bytes:
                busy, _, _ = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                self.truncated += not busy
        except sqlite3.OperationalError:
            pass  # busy: the next turn will do


async def leave_checkpoints_to(conn: Connection) -> None:
    """This connection's commits no longer copy the log back themselves (see Checkpointer)."""
    await conn.execute("PRAGMA wal_autocheckpoint = 0")


@asynccontextmanager
async def transaction(conn: Connection) -> AsyncIterator[Connection]:
    """One write transaction: all of it is stored, or none of it. A failed COMMIT (a full
    disk) is rolled back too: the connection is never left inside a transaction."""
    await conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        await conn.execute("COMMIT")
    except BaseException:
        # SQLite may already have rolled back by itself (a full disk does): then there is
        # nothing to undo, and the original error is the one to report.
        if conn.in_transaction:
            try:
                await conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the original error is the one to report
        raise
