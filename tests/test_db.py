"""Repository tests on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from db import alerts, conversations, inbox, invites, outbox, questions, users
from db.connection import IntegrityError, DatabaseError, connect, transaction
from db.inbox import Incoming
from db.schema import migrations, schema_version
from db.vault import Vault
from flows.model import LogQuestion, Message, Role, ToCoordinators
from flows.state import Conversation, Draft, Step
from flows.text import t
from tests.conftest import BACKENDS


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every test here that opens `conn` runs on SQLite and on PostgreSQL."""
    return str(request.param)

SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])  # about SQLite's file, its log or its locks

async def test_migrates_an_empty_database_to_the_newest_schema(db_path: Path) -> None:
    conn = await connect(db_path)
    try:
        assert await schema_version(conn) == migrations()[-1][0]
        async with conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'") as cur:
            tables = {row[0] for row in await cur.fetchall()}
        assert {
            "organisations", "users", "invites", "conversations", "questions", "inbox", "outbox", "settings",
            "held_alerts", "cases", "consents", "parents", "attachments", "timers",
        } <= tables
        async with conn.execute("PRAGMA journal_mode") as cur:
            assert (await cur.fetchone())[0] == "wal"
        async with conn.execute("PRAGMA foreign_keys") as cur:
            assert (await cur.fetchone())[0] == 1
    finally:
        await conn.close()
    again = await connect(db_path)  # a second start applies nothing and keeps the data
    await again.close()


async def test_refuses_a_database_from_a_newer_wijkbrug(db_path: Path) -> None:
    raw = sqlite3.connect(db_path)
    raw.execute("PRAGMA user_version = 999")
    raw.close()
    with pytest.raises(DatabaseError, match="newer"):
        await connect(db_path)


async def test_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    path.write_bytes(b"these are not the bytes of a database" * 200)
    with pytest.raises(DatabaseError, match="notes.sqlite3"):
        await connect(path)


@SQLITE_ONLY
async def test_a_writer_in_another_program_is_waited_for_without_stopping_the_bot(conn, db_path: Path) -> None:
    """Statements run on the event loop's thread; while another program holds the write lock the
    bot keeps running (polling, sending) and the transaction goes through once the lock is free."""
    from db import settings

    other = sqlite3.connect(db_path, timeout=0)
    other.execute("BEGIN IMMEDIATE")
    events: list[str] = []

    async def tick() -> None:
        """Another task of the bot; its third turn makes the other program let go."""
        while True:
            events.append("tick")
            if events.count("tick") == 3:
                other.rollback()
                events.append("lock freed")
            await asyncio.sleep(0)

    ticking = asyncio.create_task(tick())  # its first turn comes when the transaction waits
    try:
        async with transaction(conn):
            await settings.put(conn, "test.key", "written")
        events.append("written")
    finally:
        ticking.cancel()
        other.close()
    assert await settings.get(conn, "test.key") == "written"
    # The loop ran on while the lock was held (a blocked thread would have run no tick, and the
    # lock would never have been freed), and the transaction went through once it was free.
    assert events[:4] == ["tick", "tick", "tick", "lock freed"] and events[-1] == "written"


@SQLITE_ONLY
async def test_invites_are_single_use_expire_and_are_stored_hashed(conn, clock, db_path) -> None:
    async with transaction(conn):
        invite = await invites.create(
            conn, role=Role.VOLUNTEER, org_id="lantaarn", now=clock(), valid_for=timedelta(days=14)
        )
    usable = await invites.find_usable(conn, invite.code, clock())
    assert usable is not None and usable.role is Role.VOLUNTEER and usable.org_id == "lantaarn"
    assert invite.code.encode() not in db_path.read_bytes() + Path(f"{db_path}-wal").read_bytes()

    clock.advance(days=14, seconds=1)
    assert await invites.find_usable(conn, invite.code, clock()) is None  # expired
    clock.advance(days=-14)
    account = await users.create(
        conn, channel="telegram", chat_id="1", role=Role.VOLUNTEER, org_id="lantaarn", language="nl", display_name="A",
        now=clock(),
    )
    assert await invites.mark_used(conn, usable.code_hash, account.id, clock())
    assert await invites.find_usable(conn, invite.code, clock()) is None  # used
    assert not await invites.mark_used(conn, usable.code_hash, account.id, clock())
    assert await invites.find_usable(conn, "no-such-code", clock()) is None


async def test_inbox_ignores_a_redelivered_update_and_forgets_content_once_processed(conn, clock) -> None:
    first = [Incoming(update_id=10, payload='{"update_id": 10}'), Incoming(update_id=11, payload='{"update_id": 11}')]
    async with transaction(conn):
        assert await inbox.receive(conn, "telegram", first, clock()) == 2
    async with transaction(conn):
        assert await inbox.receive(conn, "telegram", [first[1], Incoming(update_id=12, payload="{}")], clock()) == 1
    assert [u.update_id for u in await inbox.pending(conn, "telegram")] == [10, 11, 12]
    async with transaction(conn):
        await inbox.mark_processed(conn, "telegram", 10, "handled", clock())
    assert [u.update_id for u in await inbox.pending(conn, "telegram")] == [11, 12]
    async with conn.execute("SELECT payload FROM inbox WHERE update_id = 10") as cur:
        assert (await cur.fetchone())[0] is None


async def test_retention_forgets_the_ids_of_updates_processed_more_than_a_week_ago(conn, clock) -> None:
    from db import privacy

    async with transaction(conn):
        await inbox.receive(conn, "telegram", [Incoming(update_id=n, payload="{}") for n in (20, 21, 22)], clock())
        await inbox.mark_processed(conn, "telegram", 20, "handled", clock() - timedelta(days=8))
        await inbox.mark_processed(conn, "telegram", 21, "handled", clock() - timedelta(days=6))
        await privacy.apply_retention(conn, clock(), 90, 180)
    assert set(await inbox.outcomes(conn, "telegram")) == {21, 22}  # 22 is not processed yet: kept
    async with transaction(conn):  # a redelivery within the week is still recognised
        assert await inbox.receive(conn, "telegram", [Incoming(update_id=21, payload="{}")], clock()) == 0


async def test_outbox_hands_out_the_oldest_call_per_chat_only(conn, clock) -> None:
    async with transaction(conn):
        for chat, text in [("1", "a"), ("2", "b"), ("1", "c")]:
            await outbox.enqueue(conn, "telegram", chat, "say", {"text": text}, clock())
    due = await outbox.due(conn, "telegram", clock())
    assert [(d.address, d.body["text"]) for d in due] == [("1", "a"), ("2", "b")]
    await outbox.retry_later(conn, due[0].id, clock() + timedelta(seconds=30))
    # chat 1 waits for its first call: the later one must not overtake it
    assert [d.body["text"] for d in await outbox.due(conn, "telegram", clock())] == ["b"]
    assert await outbox.next_due_at(conn, "telegram") == clock()
    clock.advance(seconds=30)
    again = await outbox.due(conn, "telegram", clock())
    assert [(d.body["text"], d.attempts) for d in again] == [("a", 1), ("b", 0)]
    await outbox.done(conn, again[0].id)
    assert [d.body["text"] for d in await outbox.due(conn, "telegram", clock())] == ["b", "c"]
    assert await outbox.size(conn, "telegram") == 2


async def test_conversation_state_round_trips(conn, clock) -> None:
    account = await users.create(
        conn, channel="telegram", chat_id="5", role=Role.VOLUNTEER, org_id="lantaarn", language="ar", display_name="",
        now=clock(),
    )
    assert await conversations.load(conn, account.id) == Conversation()
    state = Conversation(
        step=Step.POSTCODE,
        draft=Draft(urgent=False, theme="school", age_group="4-12", parent_language="other:Pashto"),
        token=7,
    )
    await conversations.save(conn, account.id, state, clock())
    assert await conversations.load(conn, account.id) == state


async def test_question_codes_are_unique_and_scoped_to_the_organisation(conn, clock) -> None:
    account = await users.create(
        conn, channel="telegram", chat_id="6", role=Role.VOLUNTEER, org_id="lantaarn", language="nl", display_name="",
        now=clock(),
    )
    question = LogQuestion(
        code="Q-AB23", volunteer_id=account.id, org_id="lantaarn", urgent=True, theme="safety", age_group="0-4",
        parent_language="ar", pc4="3452", text="invented text", created_at=clock(),
    )
    vault = Vault.generate()
    await questions.insert(conn, question, vault)
    with pytest.raises(IntegrityError):
        await questions.insert(conn, question, vault)
    stored = await questions.by_code(conn, "lantaarn", "Q-AB23", vault)
    assert stored is not None and stored.urgent and stored.pc4 == "3452" and stored.volunteer_id == account.id
    assert stored.text == "invented text"
    assert await questions.by_code(conn, "kompas", "Q-AB23", vault) is None


async def test_alerts_wait_for_a_coordinator(conn, clock) -> None:
    message = Message(to=ToCoordinators(org_id="lantaarn"), parts=(t("Urgent"),))
    await alerts.hold(conn, "org:lantaarn", message, clock())
    assert await alerts.count(conn, "org:lantaarn") == 1
    assert await alerts.take(conn, "org:kompas") == []
    assert await alerts.take(conn, "org:lantaarn") == [message]
    assert await alerts.count(conn, "org:lantaarn") == 0


@SQLITE_ONLY
async def test_the_checkpointer_copies_the_log_back_off_the_event_loop(conn, db_path: Path) -> None:
    """The bot's connections leave checkpoints to the Checkpointer: their commits only append to
    the write-ahead log, and the log reaches the database file on the checkpointer's thread."""
    from db import settings
    from db.connection import Checkpointer, leave_checkpoints_to

    await leave_checkpoints_to(conn)
    before = db_path.stat().st_size
    for n in range(300):
        async with transaction(conn):
            await settings.put(conn, f"test.{n}", "x" * 500)
    assert db_path.stat().st_size == before  # all of it still in the log
    checkpointing = asyncio.create_task(Checkpointer(db_path, every=0.05).run())
    try:
        for _ in range(100):
            await asyncio.sleep(0.05)
            if db_path.stat().st_size > before:
                break
    finally:
        checkpointing.cancel()
        await asyncio.gather(checkpointing, return_exceptions=True)
    assert db_path.stat().st_size > before


@pytest.mark.parametrize("limit", [1024 * 1024, None])
async def test_under_steady_writing_the_log_file_is_kept_small(db_path: Path, limit: int | None) -> None:
    """Passive checkpoints alone copy the log back but cannot start it over while writes keep
    coming, and the file never shrinks: it grew to 480 MB in a 45-second load run. Three
    connections write in turn, as the bot's do; once the writing pauses the checkpointer brings
    the log file under its limit. (`None`: passive only, to show what this guards against.)"""
    from db import settings
    from db.connection import Checkpointer, leave_checkpoints_to

    conns = [await connect(db_path) for _ in range(3)]
    checkpointer = Checkpointer(db_path, every=0.02, limit_bytes=limit or 10**12)
    checkpointing = asyncio.create_task(checkpointer.run())
    try:
        for conn in conns:
            await leave_checkpoints_to(conn)
        for n in range(10_000):  # about 40 MB of pages: each row its own
            conn = conns[n % 3]
            async with transaction(conn):
                await settings.put(conn, f"test.{n % 5000}", "x" * 2000)
            await asyncio.sleep(0)
        await asyncio.sleep(0.2)  # a pause in the writing: some turns of the checkpointer
    finally:
        checkpointing.cancel()
        await asyncio.gather(checkpointing, return_exceptions=True)
    size = checkpointer.log.stat().st_size
    try:
        if limit is None:
            assert size > 20 * 1024 * 1024 and checkpointer.truncated == 0
        else:
            assert size <= limit and checkpointer.truncated > 0
            async with conns[0].execute("SELECT count(*) FROM settings WHERE key LIKE 'test.%'") as cur:
                assert (await cur.fetchone())[0] == 5000  # nothing lost on the way
    finally:
        for conn in conns:
            await conn.close()
