"""Migration 013 (a person has an account and addresses) on a copy of a database made by the code
before it (tests/data/before_people.sqlite3, made by commit 973942a; everyone in it is invented):
nothing is lost, every reference to a person still holds, and the sealed values still open."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from db import users
from db.connection import DatabaseError, connect
from db.schema import REBUILD, migrate, migrations, schema_version
from db.vault import open_vault

DATA = Path(__file__).parent / "data"
INDEXES = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'users' AND sql IS NOT NULL"
BEFORE = 12  # the schema of the fixture
MOVED = {"channel", "chat_id", "unreachable_at", "unreachable_told"}  # users' columns that went to addresses


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


def users_without(rows: list[tuple], columns: set[str]) -> list[tuple]:
    keep = [i for i, name in enumerate(rows[0]) if name not in columns]
    return [tuple(row[i] for i in keep) for row in rows]


async def test_the_fixture_is_a_database_of_the_schema_before(copy: Path) -> None:
    assert read(copy, "PRAGMA user_version") == [(BEFORE,)]
    roles = read(copy, "SELECT role, count(*) FROM users GROUP BY role")
    assert roles == [("coordinator", 2), ("member", 2), ("volunteer", 2)]
    assert read(copy, "SELECT count(*) FROM users WHERE revoked_at IS NOT NULL OR unreachable_at IS NOT NULL") == [(3,)]
    assert "addresses" not in tables(copy)


async def test_every_person_gets_their_chat_as_their_one_preferred_address_and_nothing_is_lost(copy: Path) -> None:
    before = tables(copy)
    old_users = {row[0]: dict(zip(before["users"][0], row, strict=True)) for row in before["users"][1:]}
    indexes = read(copy, INDEXES)

    conn = await connect(copy)
    try:
        assert await schema_version(conn) == migrations()[-1][0] >= 13
        async with conn.execute("PRAGMA foreign_keys") as cur:
            assert (await cur.fetchone())[0] == 1  # back on after the rebuild
        async with conn.execute("PRAGMA foreign_key_check") as cur:
            assert await cur.fetchall() == []
        vault = await open_vault(conn, None, copy.with_suffix(".key"))
        parents = read(copy, "SELECT first_name_sealed, phone_sealed FROM parents ORDER BY question_id")
        opened = [(vault.open(name), vault.open(phone)) for name, phone in parents]
        assert opened == [("Fatma", "+31612345678"), ("Murat", "+31687654321")]
        (question,) = read(copy, "SELECT text FROM questions ORDER BY id LIMIT 1")[0]
        assert "letter from school" in (vault.open(question) or "")
        (waiting,) = read(copy, "SELECT payload FROM outbox")[0]
        assert "invented message still waiting" in (vault.open(waiting) or "")

        # Each person: one address, preferred, their old chat, with its unreachable mark.
        after = tables(copy)
        addresses = [dict(zip(after["addresses"][0], row, strict=True)) for row in after["addresses"][1:]]
        assert sorted(a["user_id"] for a in addresses) == sorted(old_users)
        for address in addresses:
            old = old_users[address["user_id"]]
            assert (address["channel"], address["address"], address["preferred"]) == (old["channel"], old["chat_id"], 1)
            marks = ("unreachable_at", "unreachable_told")
            assert [address[mark] for mark in marks] == [old[mark] for mark in marks]
            assert address["created_at"] == old["created_at"]
        for user_id, old in old_users.items():
            account = await users.get(conn, user_id)
            assert account is not None
            assert (account.channel, account.chat_id) == (old["channel"], old["chat_id"])
            assert account.unreachable_at == old["unreachable_at"]
            assert await users.by_chat(conn, old["channel"], old["chat_id"]) == account
        noor = await users.by_chat(conn, "telegram", "7001")
        assert noor is not None and noor.unreachable_at == "2026-12-01T09:00:00+00:00"
        # Noor's coordinators are still to be told; Petra's were told; Emre is revoked.
        assert [a.display_name for a in await users.newly_unreachable(conn)] == ["Noor"]
    finally:
        await conn.close()

    # The account keeps every other column; every other table is as it was, every reference too
    # (invites.used_by, conversations, questions, cases, consents, held alerts).
    assert users_without(after["users"], MOVED) == users_without(before["users"], MOVED)
    assert set(after["users"][0]) == set(before["users"][0]) - MOVED
    later = ("login_links", "web_feed", "web_sessions", "whatsapp_statuses", "whatsapp_sent", "whatsapp_media")  # empty
    assert all(after.pop(name)[1:] == [] for name in later)
    # Migration 018 gives the inbox an external id (WhatsApp's wamid): none for the rows before it.
    assert after["inbox"][0][-1] == "external_id" and all(row[-1] is None for row in after["inbox"][1:])
    after["inbox"] = [row[:-1] for row in after["inbox"]]
    # Migration 020 gives an invite the language its person starts in: none for the invites before it.
    assert after["invites"][0][-1] == "language" and all(row[-1] is None for row in after["invites"][1:])
    after["invites"] = [row[:-1] for row in after["invites"]]
    # Migration 022 adds the outbox's claims (several instances): empty after migrating.
    assert after.pop("outbox_claims") == [("channel", "address", "holder", "expires_at")]
    assert {name: rows for name, rows in after.items() if name not in ("users", "addresses", "outbox")} == {
        name: rows for name, rows in before.items() if name not in ("users", "outbox")
    }
    # The outbox (migration 014) names its columns for any channel and knows whom each row is for;
    # what waited is all still there, as it was.
    old_outbox = [dict(zip(before["outbox"][0], row, strict=True)) for row in before["outbox"][1:]]
    new_outbox = [dict(zip(after["outbox"][0], row, strict=True)) for row in after["outbox"][1:]]
    assert old_outbox and len(new_outbox) == len(old_outbox)
    for old, new in zip(old_outbox, new_outbox, strict=True):
        renamed = {"address": old.pop("chat_id"), "kind": old.pop("method")}
        assert new == {**old, **renamed, "person_id": new["person_id"]}
        owner = read(
            copy, f"SELECT user_id FROM addresses WHERE channel = '{new['channel']}' AND address = '{new['address']}'"
        )
        assert [(new["person_id"],)] == owner
    assert read(copy, "SELECT used_by FROM invites ORDER BY rowid") == [(1,), (2,), (3,), (4,), (5,), (6,), (None,)]
    assert read(copy, INDEXES) == indexes
    assert read(copy, "SELECT count(*) FROM sqlite_master WHERE type IN ('trigger', 'view')") == [(0,)]


async def test_a_second_start_changes_nothing(copy: Path) -> None:
    conn = await connect(copy)
    await conn.close()
    with sqlite3.connect(copy) as raw:
        first = list(raw.iterdump())
    conn = await connect(copy)
    try:
        assert await migrate(conn) == []
    finally:
        await conn.close()
    with sqlite3.connect(copy) as raw:
        assert list(raw.iterdump()) == first


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
        assert "013_forgetful.sql was not applied" in str(refused.value)
        assert "table invites refers to a missing row of users" in str(refused.value)
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
        named = r"013_keyless.sql was not applied: foreign key mismatch - \"\w+\" referencing \"users\""
        with pytest.raises(DatabaseError, match=named):
            await migrate(conn, [(BEFORE + 1, "013_keyless.sql", keyless)])
        assert await schema_version(conn) == BEFORE
    finally:
        await conn.close()
    assert tables(copy) == before
