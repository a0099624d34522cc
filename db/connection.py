"""Opening the database, its pragmas, transactions and forward-only numbered migrations."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

import aiosqlite

BUSY_TIMEOUT_MS = 5000


class DatabaseError(Exception):
    """The database cannot be used (not SQLite, from a newer Wijkbrug, locked, disk full)."""


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) for every file in db/migrations, in order."""
    found = []
    for entry in resources.files("db.migrations").iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.name, entry.read_text("utf-8")))
    return sorted(found)


async def connect(path: str | Path, upgrade: bool = True) -> aiosqlite.Connection:
    """Open (creating the file and its folder if needed) and bring the schema up to date."""
    path = Path(path)
    if str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(str(path), isolation_level=None)
    try:
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")
        await conn.execute("PRAGMA foreign_keys = ON")
        # Deleted rows are overwritten, not left in free pages: an erasure leaves no trace.
        await conn.execute("PRAGMA secure_delete = ON")
        if upgrade:
            await migrate(conn)
    except sqlite3.DatabaseError as exc:
        await conn.close()
        raise DatabaseError(f"{path}: cannot use this file as Wijkbrug's database: {exc}") from exc
    except DatabaseError:
        await conn.close()
        raise
    return conn


async def schema_version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def migrate(conn: aiosqlite.Connection) -> list[str]:
    """Apply the migrations newer than the database, each in its own transaction."""
    current = await schema_version(conn)
    known = migrations()
    newest = known[-1][0] if known else 0
    if current > newest:
        raise DatabaseError(
            f"the database is at schema version {current}, newer than this Wijkbrug knows ({newest})"
        )
    applied = []
    for version, name, sql in known:
        if version <= current:
            continue
        await conn.execute("BEGIN IMMEDIATE")
        try:
            # executescript would commit on its own; run the statements inside our transaction.
            for statement in _statements(sql):
                await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version = {version}")
            await conn.execute("COMMIT")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied


def _statements(sql: str) -> list[str]:
    statements, buffer = [], ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not buffer.strip().startswith("--"):
        statements.append(buffer.strip())
    return [s for s in statements if s]


@asynccontextmanager
async def transaction(conn: aiosqlite.Connection) -> AsyncIterator[aiosqlite.Connection]:
    """One write transaction: all of it is stored, or none of it."""
    await conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        # SQLite may already have rolled back by itself (a full disk does): then there is
        # nothing to undo, and the original error is the one to report.
        if conn.in_transaction:
            await conn.execute("ROLLBACK")
        raise
    else:
        await conn.execute("COMMIT")
