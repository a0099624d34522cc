"""Migration 013 (a person has an account and addresses) on a copy of a database made by the code
before it (tests/data/before_people.sqlite3, made by commit 973942a; everyone in it is invented):
nothing is lost, every reference to a person still holds, and the sealed values still open."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from db.connection import DatabaseError, connect
from db.schema import REBUILD, migrate, schema_version

DATA = Path(__file__).parent / "data"
BEFORE = 12  # the schema of the fixture


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the fixture (and its key, as the key file beside a database)."""
    database = tmp_path / "wijkbrug.sqlite3"
    shutil.copyfile(DATA / "before_people.sqlite3", database)
    shutil.copyfile(DATA / "before_people.key", tmp_path / "wijkbrug.key")
    return database


def read(database: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(database) as raw:
        return raw.execute(sql).fetchall()


def tables(database: Path) -> dict[str, list[tuple]]:
    """Every table's rows in rowid order, with its column names as the first row."""
    found = {}
    with sqlite3.connect(database) as raw:
        names = [r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        for name in names:
            cursor = raw.execute(f"SELECT * FROM {name} ORDER BY rowid")
            found[name] = [tuple(d[0] for d in cursor.description), *cursor.fetchall()]
    return found



async def test_the_fixture_is_a_database_of_the_schema_before(copy: Path) -> None:
    assert read(copy, "PRAGMA user_version") == [(BEFORE,)]
    assert read(copy, "SELECT role, count(*) FROM users GROUP BY role") == [("coordinator", 2), ("member", 2), ("volunteer", 2)]
    assert read(copy, "SELECT count(*) FROM users WHERE revoked_at IS NOT NULL OR unreachable_at IS NOT NULL") == [(3,)]
    assert "addresses" not in tables(copy)


async def test_a_rebuild_that_breaks_a_reference_is_rolled_back_and_names_the_table(copy: Path) -> None:
    """A rebuild of users that forgets to copy its rows would leave invites, conversations and
    the rest pointing at nobody: the check before the commit refuses it, and nothing changes."""
    before = tables(copy)
    forgetful = f"""{REBUILD}
CREATE TABLE users_new (id INTEGER PRIMARY KEY, role TEXT NOT NULL, org_id TEXT, language TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL, contact_id TEXT, team_id TEXT,
    revoked_at TEXT, channel TEXT, chat_id TEXT, unreachable_at TEXT, unreachable_told INTEGER);
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
"""
    conn = await connect(copy, upgrade=False)
    try:
        with pytest.raises(DatabaseError) as refused:
            await migrate(conn, [(BEFORE + 1, "013_forgetful.sql", forgetful)])
        assert "013_forgetful.sql" in str(refused.value) and "table invites refers to a missing row of users" in str(refused.value)
        assert await schema_version(conn) == BEFORE and not conn.in_transaction
        async with conn.execute("PRAGMA foreign_keys") as cur:
            assert (await cur.fetchone())[0] == 1
    finally:
        await conn.close()
    assert tables(copy) == before


async def test_a_rebuild_runs_with_foreign_keys_off_so_that_dropping_a_table_deletes_nothing(copy: Path) -> None:
    """Without the mark, dropping users runs an implicit DELETE: its ON DELETE actions empty
    invites.used_by and delete the conversations."""
    rebuild = f"""{REBUILD}
CREATE TABLE users_new (id INTEGER PRIMARY KEY, channel TEXT, chat_id TEXT, role TEXT NOT NULL, org_id TEXT,
    language TEXT NOT NULL, display_name TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL, contact_id TEXT,
    team_id TEXT, revoked_at TEXT, unreachable_at TEXT, unreachable_told INTEGER NOT NULL DEFAULT 0);
INSERT INTO users_new SELECT * FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
"""
    conn = await connect(copy, upgrade=False)
    try:
        await migrate(conn, [(BEFORE + 1, "013_copy.sql", rebuild)])
        assert await schema_version(conn) == BEFORE + 1
    finally:
        await conn.close()
    assert read(copy, "SELECT count(*) FROM invites WHERE used_by IS NOT NULL") == [(6,)]
    assert read(copy, "SELECT count(*) FROM conversations") == [(3,)]

    unmarked = rebuild.removeprefix(REBUILD)
    shutil.copyfile(DATA / "before_people.sqlite3", copy)
    conn = await connect(copy, upgrade=False)
    try:
        await migrate(conn, [(BEFORE + 1, "013_copy.sql", unmarked)])
    finally:
        await conn.close()
    assert read(copy, "SELECT count(*) FROM invites WHERE used_by IS NOT NULL") == [(0,)]
    assert read(copy, "SELECT count(*) FROM conversations") == [(0,)]


async def test_a_rebuild_that_leaves_a_parent_without_its_key_is_rolled_back_and_named(copy: Path) -> None:
    """CREATE TABLE ... AS copies the rows but not the primary key that the references need."""
    keyless = f"""{REBUILD}
CREATE TABLE users_new AS SELECT * FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
"""
    before = tables(copy)
    conn = await connect(copy, upgrade=False)
    try:
        with pytest.raises(DatabaseError, match=r"013_keyless.sql was not applied: foreign key mismatch - \"\w+\" referencing \"users\""):
            await migrate(conn, [(BEFORE + 1, "013_keyless.sql", keyless)])
        assert await schema_version(conn) == BEFORE
    finally:
        await conn.close()
    assert tables(copy) == before
