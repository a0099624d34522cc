"""SQLite, the default backend: opening the file, its pragmas, statements run in place, and the
checkpointer (what all backends share: db/backend.py; choosing one: db/connection.py).

Statements run on the event loop's own thread. SQLite on a local file in WAL mode with
`synchronous = NORMAL` answers in microseconds and never waits for the disk on commit; what
costs is a hop to another thread and back, which aiosqlite makes for every statement. Measured
on the development machine: 92 µs per indexed SELECT through aiosqlite, 7 µs in place; an
update takes about 15 statements, so the hops were the largest single cost of handling one.

The one thing that can make SQLite wait is another writer (an operator's command in another
process). So the connection never waits inside SQLite (`busy_timeout = 0`): a statement that
finds the database locked is tried again after a short asynchronous sleep, letting the rest of
the bot run, until BUSY_TIMEOUT_MS has passed; then the "database is locked" error surfaces.
A transaction of the bot never awaits anything but its own statements (one exception: a summary's
chart, drawn by a child process, bot/rendering.py), so two connections of this process never hold the
write lock across each other.

Storage trouble that outlasts that wait (a lock held longer, a full disk, a failing write) rolls
the transaction back; `keep_trying` is the one place that then waits, with growing pauses, and
runs the work again (db/connection.py).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from db.backend import Connection, Cursor, DatabaseError, IntegrityError, Statement

POSTGRESQL_SCHEMES = ("postgresql://", "postgres://")

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



def sqlite_trouble(exc: BaseException) -> bool:
    """Is this SQLite's error about the storage (locked, full, failing to write), worth trying again?"""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.OperationalError) and code is not None and code & 0xFF in TROUBLE


class SqliteCursor(Cursor):
    """A finished statement's sqlite3 cursor."""

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


class SqliteConnection(Connection):
    """An SQLite connection with an awaitable interface, run in place (see the module's note)."""

    backend = "sqlite"

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
        except IntegrityError:
            raise
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(*exc.args) from exc
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

    def execute(self, sql: str, parameters: Iterable[Any] = ()) -> Statement:
        async def run() -> Cursor:
            return SqliteCursor(await self._patiently(self._raw.execute, sql, parameters))

        return Statement(run())

    def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> Statement:
        async def run() -> Cursor:
            return SqliteCursor(await self._patiently(self._raw.executemany, sql, rows))

        return Statement(run())

    async def backup(self, target: Connection) -> None:
        assert isinstance(target, SqliteConnection)
        await self._patiently(self._raw.backup, target._raw)

    async def close(self) -> None:
        self._raw.close()




async def open_raw(path: str | Path) -> SqliteConnection:
    """A connection without Wijkbrug's schema (a backup's target)."""
    return SqliteConnection(sqlite3.connect(str(path), isolation_level=None, timeout=0))


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


async def connect_sqlite(path: str | Path, upgrade: bool = True) -> Connection:
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
        if str(self.path).startswith(POSTGRESQL_SCHEMES):  # PostgreSQL keeps its own log: nothing to do
            await asyncio.Event().wait()
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
    if conn.backend == "sqlite":
        await conn.execute("PRAGMA wal_autocheckpoint = 0")
