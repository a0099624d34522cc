"""Storage trouble waits, it does not kill: a locked database, a full disk or a failing write rolls
the work back, and `keep_trying` runs it again with growing pauses until it is stored. The
pauses are recorded by an injected sleep, never measured. (The real process against the fake
Bot API: tests/test_storage_e2e.py.)"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.delivery import DeliveryWorker, Pacer
from db import outbox, privacy
from db import settings as stored
from db.connection import IntegrityError, Connection, Patience, keep_trying, transaction
from db.vault import Vault, attach, load_keys, write_keys
from tests.storage_fill import fill_questions
from tests.test_delivery import ScriptedSender, queue
from tests.test_trust import operator, play, rows, story_db  # noqa: F401 - the fixture


class Pauses:
    """An injected sleep: records each pause, and calls `then` after the n-th."""

    def __init__(self, after: int = 0, then: Callable[[], object] = lambda: None) -> None:
        self.seen: list[float] = []
        self.after, self.then = after, then

    async def __call__(self, seconds: float) -> None:
        self.seen.append(seconds)
        if len(self.seen) == self.after:
            self.then()

    @property
    def patience(self) -> Patience:
        return Patience(sleep=self)


def holder(db_path: Path) -> sqlite3.Connection:
    """Another program holding the write lock."""
    other = sqlite3.connect(db_path, timeout=0, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


async def put(conn: Connection, key: str, value: str) -> None:
    async with transaction(conn):
        await stored.put(conn, key, value)


async def test_a_lock_held_long_is_waited_out_with_growing_pauses_and_the_work_stored_once(conn, db_path) -> None:
    other = holder(db_path)
    conn.busy_seconds = 0  # no short wait inside the statement: straight to the pauses
    pauses = Pauses(after=9, then=other.rollback)  # the other program lets go after 9 pauses
    runs = 0

    async def work() -> None:
        nonlocal runs
        runs += 1
        await put(conn, "trouble.lock", "stored")

    await keep_trying("test", work, pauses.patience)
    other.close()
    assert pauses.seen == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 5.0]  # doubling, capped at 5 s
    assert runs == 10 and await stored.get(conn, "trouble.lock") == "stored"


async def test_a_full_disk_rolls_back_and_the_work_is_stored_once_there_is_room(conn) -> None:
    await conn.execute("VACUUM")  # no free pages left by the migrations (a table rebuild leaves some)
    async with conn.execute("PRAGMA page_count") as cur:
        pages = (await cur.fetchone())[0]
    await conn.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full
    room: list[str] = []
    pauses = Pauses(after=3, then=lambda: room.append("freed"))

    async def work() -> None:
        if room:
            await conn.execute("PRAGMA max_page_count = 1073741823")
        async with transaction(conn):
            await stored.put(conn, "trouble.first", "x" * 3000)
            await stored.put(conn, "trouble.second", "y" * 3000)

    await keep_trying("test", work, pauses.patience)
    assert len(pauses.seen) == 3 and not conn.in_transaction
    assert await stored.get(conn, "trouble.first") == "x" * 3000
    assert await stored.get(conn, "trouble.second") == "y" * 3000


async def test_a_bug_is_not_storage_trouble_and_is_raised_at_once(conn) -> None:
    pauses = Pauses()

    async def work() -> None:
        async with transaction(conn):
            await conn.execute("SELECT * FROM no_such_table")

    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        await keep_trying("test", work, pauses.patience)
    assert pauses.seen == [] and not conn.in_transaction


async def test_a_commit_that_fails_is_rolled_back_and_the_connection_goes_on(conn) -> None:
    """A full disk can fail the COMMIT itself; a deferred foreign key fails it the same way, on
    demand. The connection must not be left inside the transaction (every later BEGIN would fail)."""
    await conn.execute("CREATE TEMP TABLE parent_rows (id INTEGER PRIMARY KEY)")
    await conn.execute("CREATE TEMP TABLE child_rows (parent REFERENCES parent_rows(id) DEFERRABLE INITIALLY DEFERRED)")
    with pytest.raises(IntegrityError):
        async with transaction(conn):
            await stored.put(conn, "trouble.commit", "half")
            await conn.execute("INSERT INTO child_rows VALUES (42)")  # fails only at COMMIT
    assert not conn.in_transaction and await stored.get(conn, "trouble.commit") is None
    await put(conn, "trouble.after", "fine")
    assert await stored.get(conn, "trouble.after") == "fine"


async def test_a_sent_call_whose_row_cannot_be_deleted_is_kept_and_never_sent_twice(conn, clock, db_path) -> None:
    await queue(conn, clock, ("1", "a1"), ("1", "a2"), ("2", "b1"))
    sender = ScriptedSender()
    other: list[sqlite3.Connection] = []
    original = sender.send

    async def send(address, kind, body):  # the first call gets through; then another program takes the lock
        await original(address, kind, body)
        if not other:
            other.append(holder(db_path))

    sender.send = send  # type: ignore[method-assign]
    conn.busy_seconds = 0
    pauses = Pauses(after=4, then=lambda: other[0].rollback())
    ticks = iter(range(10**6))
    worker = DeliveryWorker(conn, sender, clock, "telegram", pacer=Pacer(1e9, 1e9, 1e9, 1e9),
                            monotonic=lambda: float(next(ticks)), patience=pauses.patience)
    while await worker.drain_once():
        pass
    other[0].close()
    assert sorted(sender.attempts) == ["a1", "a2", "b1"]  # each sent exactly once
    assert len(pauses.seen) >= 4 and await outbox.size(conn) == 0


async def test_rotation_goes_in_short_batches_leaves_the_lock_free_between_and_resumes(conn, db_path) -> None:
    old_key = Fernet.generate_key()
    old = attach(conn, Vault([old_key]))
    await fill_questions(conn, old, 1234)
    new_key = Fernet.generate_key()
    new = Vault([new_key, old_key])
    free_between: list[bool] = []
    interrupt = True

    class Interrupted(Exception):
        pass

    async def between(seconds: float) -> None:
        # The bot's turn: another connection gets the write lock at once.
        other = sqlite3.connect(db_path, timeout=0, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.rollback()
        other.close()
        free_between.append(True)
        if len(free_between) == 5 and interrupt:
            raise Interrupted  # the operator's command is stopped half-way

    with pytest.raises(Interrupted):
        await privacy.rotate(conn, new, datetime.now(UTC), batch=100, sleep=between)
    free_between.clear()
    interrupt = False
    done_already = 5 * 100
    later = await privacy.rotate(conn, new, datetime.now(UTC), batch=100, sleep=between)
    assert later.values == 1234 - done_already  # the values done before are skipped
    assert (
        later.transactions == 13 + len(privacy.SEALED) - 1
    )  # the questions 100 at a time; one for each other sealed column
    assert len(free_between) == 12  # all read again, 100 at a time, the lock left free after each full batch
    async with conn.execute("SELECT text FROM questions") as cur:
        texts = [row[0] for row in await cur.fetchall()]
    assert all(new.is_newest(text) for text in texts) and len(texts) == 1234
    assert Vault([new_key]).open(texts[1000]) == "An invented question, number 1000."
    assert (await privacy.rotate(conn, new, datetime.now(UTC), batch=100, sleep=between)).values == 0  # nothing left


async def test_rotate_key_run_again_after_an_interruption_finishes_with_its_key(story_db, catalogs, capsys) -> None:
    """An interrupted `rotate-key` left its new key in front in the key file and part of the data
    re-sealed; run again, it adds no further key and finishes the job under that key."""
    await play("warm_handover_tr_nl.txt", story_db, catalogs)
    key_file = story_db.with_suffix(".key")
    interrupted = Fernet.generate_key()
    write_keys(key_file, [interrupted, *load_keys(None, key_file, create=False)])  # what it did before stopping
    assert await operator("rotate-key") == 0
    assert "under the newest key (an earlier rotation was finished)" in capsys.readouterr().out
    keys = load_keys(None, key_file, create=False)
    assert len(keys) == 2 and keys[0] == interrupted
    [(sealed,)] = rows(story_db, "SELECT phone_sealed FROM parents")
    assert Vault([interrupted]).open(sealed) == "+31612345678"
    assert await operator("rotate-key") == 0  # finished: a next run makes a new key
    assert "under a new key" in capsys.readouterr().out and len(load_keys(None, key_file, create=False)) == 3


def disk_full() -> sqlite3.OperationalError:
    error = sqlite3.OperationalError("database or disk is full")
    error.sqlite_errorcode, error.sqlite_errorname = 13, "SQLITE_FULL"  # as SQLite sets them
    return error


async def test_the_processing_loop_waits_out_trouble_in_updates() -> None:
    """A StorageProblem or a full disk in an update's transaction is waited out; the loop goes on.
    (The timers have a loop of their own now, bot/schedules.keep_firing: tests/test_run_channels.py.)"""
    from bot.runner import StorageProblem
    from bot.telegram import TelegramBot

    class Runner:
        """The first round meets a lock in an update, the second a full disk."""

        def __init__(self) -> None:
            self.updates: list[Exception] = [disk_full(), StorageProblem("database is locked")]
            self.rounds = 0

        async def process_pending(self, committed) -> int:
            self.rounds += 1
            if self.updates:
                raise self.updates.pop()
            return 0

    class Worker:
        wake = asyncio.Event()

    done = asyncio.Event()
    pauses = Pauses(after=2, then=done.set)
    bot = object.__new__(TelegramBot)  # only what the loop uses: no Telegram, no database
    bot.received, bot.drained, bot.patience = asyncio.Event(), asyncio.Event(), pauses.patience
    runner = Runner()
    loop = asyncio.create_task(bot._process(runner, Worker()))  # type: ignore[arg-type]
    await asyncio.wait_for(done.wait(), 5)
    await asyncio.sleep(0)
    assert not loop.done()  # still running after both
    loop.cancel()
    assert pauses.seen == [0.1, 0.2] and runner.rounds >= 3
