"""The schema: forward-only numbered migrations (db/migrations/NNN_*.sql), each in its own
transaction, and the schema version a database is at (`PRAGMA user_version`).

A migration whose first line is `-- wijkbrug: rebuild` rebuilds a table the way SQLite documents
it (see `_rebuilding`): with foreign keys off while it runs, and every reference checked before
it commits.

On PostgreSQL (db/schema_postgres.py) the same numbered files are applied from a consolidated
baseline, translated by a documented rule; `migrate` and `schema_version` pick by the backend."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from importlib import resources

from db.connection import Connection, DatabaseError

# The first line of a migration that rebuilds a table (see `_rebuilding`).
REBUILD = "-- wijkbrug: rebuild"


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) for every file in db/migrations, in order."""
    found = []
    for entry in resources.files("db.migrations").iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.name, entry.read_text("utf-8")))
    return sorted(found)


async def schema_version(conn: Connection) -> int:
    if conn.backend == "postgresql":
        from db import schema_postgres

        return await schema_postgres.schema_version(conn)
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def migrate(conn: Connection, known: list[tuple[int, str, str]] | None = None) -> list[str]:
    """Apply the migrations newer than the database, each in its own transaction. `known`: the
    migrations as `migrations()` returns them (the default), or others (a test's)."""
    known = migrations() if known is None else known
    if conn.backend == "postgresql":
        from db import schema_postgres

        return await schema_postgres.migrate(conn, known)
    current = await schema_version(conn)
    newest = known[-1][0] if known else 0
    if current > newest:
        raise DatabaseError(f"the database is at schema version {current}, newer than this Wijkbrug knows ({newest})")
    applied = []
    for version, name, sql in known:
        if version <= current:
            continue
        if sql.startswith(REBUILD):
            await _rebuilding(conn, name, version, sql)
        else:
            await _apply(conn, version, sql)
        applied.append(name)
    return applied


async def _apply(conn: Connection, version: int, sql: str, check: Callable[[], Awaitable[None]] | None = None) -> None:
    """One migration in one transaction; `check` runs last, before the commit."""
    await conn.execute("BEGIN IMMEDIATE")
    try:
        # executescript would commit on its own; run the statements inside our transaction.
        for statement in split_statements(sql):
            await conn.execute(statement)
        if check is not None:
            await check()
        await conn.execute(f"PRAGMA user_version = {version}")
        await conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            await conn.execute("ROLLBACK")
        raise


async def _rebuilding(conn: Connection, name: str, version: int, sql: str) -> None:
    """A migration that rebuilds a table (new table, copy, drop, rename), as SQLite documents it
    (https://www.sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema Changes"):
    foreign keys off before its transaction (inside one the pragma does nothing), so that dropping
    the old table deletes or empties nothing that refers to it; every foreign key checked before
    the commit (a violation rolls it all back, naming the table); foreign keys as they were after."""
    async with conn.execute("PRAGMA foreign_keys") as cur:
        keys = int((await cur.fetchone())[0])
    await conn.execute("PRAGMA foreign_keys = OFF")

    async def check() -> None:
        try:
            async with conn.execute("PRAGMA foreign_key_check") as cur:
                broken = await cur.fetchall()
        except sqlite3.OperationalError as exc:  # "foreign key mismatch": a parent key lost its index
            raise DatabaseError(f"migration {name} was not applied: {exc}") from exc
        if broken:
            where = "; ".join(sorted({f"table {row[0]} refers to a missing row of {row[2]}" for row in broken}))
            raise DatabaseError(f"migration {name} was not applied: {len(broken)} broken reference(s): {where}")

    try:
        await _apply(conn, version, sql, check)
    finally:
        await conn.execute(f"PRAGMA foreign_keys = {keys}")


def split_statements(sql: str) -> list[str]:
    """A migration's statements, one by one (sqlite3 knows where a statement ends, quotes and all)."""
    statements, buffer = [], ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not buffer.strip().startswith("--"):
        statements.append(buffer.strip())
    return [s for s in statements if s]
