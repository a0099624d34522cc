"""Several instances on one database (issue 18, stage 2): two processing cores, each with its own
connection as two `wijkbrug run` processes would have, working on the same inbox, timers and
Monday push at the same time. Each person's updates are handled once and in order; a timer fires
once, also when the instance that claimed it hung; the Monday push reaches each coordinator once.
On PostgreSQL they truly run side by side; on SQLite (one writer) they take turns, and the same
re-checks keep them from doing anything twice."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest

from bot.runner import Runner
from bot.schedules import PUSH_KEY
from db import cases as stored_cases
from db import directory as stored_directory
from db import inbox, timers, users
from db import settings as stored_settings
from db.connection import Connection, connect, transaction
from db.vault import Vault
from flows.cases import Case, Moved
from flows.model import Env, Input, Message, OpenCase, Role, Said, ToUser, Transition, User
from flows.state import Conversation
from flows.text import plain
from tests import updates
from tests.conftest import BACKENDS
from tests.driver import store, waiting

PEOPLE = 6
EACH = 8  # messages per person


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every test here runs on SQLite and on PostgreSQL (where it is not about PostgreSQL alone)."""
    return str(request.param)


class Echo:
    """A flow that answers each message with how many it had seen before and what it was, and a
    timer with its kind: so the outbox shows what was handled, how often and in which order."""

    def step(self, state: Conversation, user: User, event: Input, env: Env) -> Transition:
        said = event.text if isinstance(event, Said) else "?"
        reply = Message(to=ToUser(user_id=user.id), parts=(plain(f"{state.token}:{said}"),))
        return Transition(state=state.model_copy(update={"token": state.token + 1}), messages=(reply,))

    def case_action(
        self, state: Conversation, user: User, case: Case, action: str, version: int, env: Env
    ) -> Transition:
        raise AssertionError("no case buttons here")

    def on_timer(self, case: Case, kind: str, hours: float, now: datetime, member_gone: bool = False) -> Moved:
        assert case.member_id is not None
        return [Message(to=ToUser(user_id=case.member_id), parts=(plain(f"{kind} {case.id}"),))], []


async def two_instances(conn: Connection, database: Any, catalogs, clock) -> tuple[Runner, Runner]:
    """Two runners on the one database, each on its own connection, sharing the key (as two
    processes given the same WIJKBRUG_KEY)."""
    vault = Vault.generate()
    other = await connect(database)
    return (
        Runner(conn, catalogs, clock, "telegram", flow=Echo(), vault=vault),
        Runner(other, catalogs, clock, "telegram", flow=Echo(), vault=vault),
    )


async def people(conn: Connection, clock, count: int, role: Role = Role.VOLUNTEER) -> list[users.Account]:
    async with transaction(conn):
        return [
            await users.create(
                conn, channel="telegram", chat_id=str(7000 + n + (100 if role is Role.COORDINATOR else 0)), role=role,
                org_id="kompas", language="en", display_name=f"Invented {n}", now=clock(),
            )
            for n in range(count)
        ]


async def test_each_person_s_updates_are_handled_once_and_in_order_by_two_instances(
    conn, database, catalogs, clock
) -> None:
    first, second = await two_instances(conn, database, catalogs, clock)
    try:
        await people(conn, clock, PEOPLE)
        # Interleaved: person 0's first message, person 1's first, …, person 0's second, …
        await store(first, [updates.message(7000 + p, str(n)) for n in range(EACH) for p in range(PEOPLE)])

        async def keep_processing(runner: Runner) -> int:
            handled = 0
            while await inbox.pending(runner.conn, "telegram"):
                handled += await runner.process_pending(limit=5)
                await asyncio.sleep(0)
            return handled

        handled = await asyncio.gather(keep_processing(first), keep_processing(second))
        assert sum(handled) == PEOPLE * EACH  # each update once, by one of them

        replies: dict[str, list[str]] = {}
        for sent in await waiting(conn):
            replies.setdefault(sent.chat_id, []).append(sent.payload["text"])
        expected = [f"{n}:{n}" for n in range(EACH)]  # the n-th message saw n before it
        assert replies == {str(7000 + p): expected for p in range(PEOPLE)}
    finally:
        await second.conn.close()


async def due_timers(runner: Runner, clock, count: int) -> list[int]:
    """`count` cases of one member, each with a reminder due now."""
    conn = runner.conn
    await directory_loaded(conn)
    [volunteer] = await people(conn, clock, 1)
    async with transaction(conn):
        member = await users.create(
            conn, channel="telegram", chat_id="7999", role=Role.MEMBER, org_id=None, language="en",
            display_name="Invented member", now=clock(), contact_id="c-overvecht-1", team_id="bt-overvecht",
        )
        for n in range(count):
            await stored_cases.open_case(
                conn,
                OpenCase(
                    case_id=f"H-AAAA{n:02d}", case_kind="consult", question_code=None, org_id="kompas",
                    volunteer_id=volunteer.id, contact_id="c-overvecht-1", member_id=member.id,
                    team_id="bt-overvecht", way=None, previous_id=None, at=clock(),
                ),
            )
            await timers.schedule(conn, "remind", f"H-AAAA{n:02d}", clock())
    return [t.id for t in await timers.due(conn, clock())]


async def reminders(conn: Connection) -> list[str]:
    return sorted(sent.payload["text"] for sent in await waiting(conn) if sent.chat_id == "7999")


async def test_two_instances_firing_the_same_timers_fire_each_once(conn, database, catalogs, clock) -> None:
    first, second = await two_instances(conn, database, catalogs, clock)
    try:
        await due_timers(first, clock, 12)
        fired = await asyncio.gather(first.fire_timers(), second.fire_timers())
        assert sum(fired) == 12
        assert await reminders(conn) == sorted(f"remind H-AAAA{n:02d}" for n in range(12))
        assert await timers.due(conn, clock()) == []
        assert await asyncio.gather(first.fire_timers(), second.fire_timers()) == [0, 0]
    finally:
        await second.conn.close()


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_timer_claimed_by_an_instance_that_hung_is_fired_by_another_once_its_lease_ran_out(
    conn, database, catalogs, clock
) -> None:
    """An instance claimed a timer (its case locked, its row `FOR UPDATE`) and then stopped answering
    (killed mid-work, or frozen). The other passes the timer by while the claim holds, and fires it,
    once, when the server has ended the hung transaction after the lease (here a second)."""
    first, second = await two_instances(conn, database, catalogs, clock)
    try:
        [timer_id] = await due_timers(first, clock, 1)
        hung = await psycopg.AsyncConnection.connect(str(database), autocommit=True)
        await hung.execute("SET idle_in_transaction_session_timeout = '1s'")  # its lease
        await hung.execute("BEGIN")
        await hung.execute("SELECT pg_advisory_xact_lock(3, hashtext('H-AAAA00'))")  # as lock_case does
        await hung.execute("SELECT 1 FROM timers WHERE id = %s FOR UPDATE SKIP LOCKED", (timer_id,))

        assert await second.fire_timers() == 0  # claimed: passed by, not waited for
        assert await reminders(conn) == []
        fired = 0
        async with asyncio.timeout(60):  # the lease is a second; the server ends the hung session then
            while not fired:
                await asyncio.sleep(0.2)
                fired = await second.fire_timers()
        assert fired == 1
        assert await reminders(conn) == ["remind H-AAAA00"]
        with pytest.raises(psycopg.Error):  # the hung instance's claim is gone with its session
            await hung.execute("UPDATE timers SET fired_at = 'x' WHERE id = %s", (timer_id,))
        await hung.close()
        assert await first.fire_timers() == 0 and await second.fire_timers() == 0
        assert await reminders(conn) == ["remind H-AAAA00"]
    finally:
        await second.conn.close()


async def test_two_instances_pushing_the_monday_summary_at_once_send_it_to_each_coordinator_once(
    conn, database, catalogs, clock
) -> None:
    first, second = await two_instances(conn, database, catalogs, clock)
    try:
        await people(conn, clock, 3, Role.COORDINATOR)
        assert await first.push_summaries() == 0  # the first look stores when the next push is due
        due = await stored_settings.get(conn, PUSH_KEY)
        assert due is not None
        clock.advance(days=8)
        pushed = await asyncio.gather(first.push_summaries(), second.push_summaries())
        assert sorted(pushed) == [0, 3]
        told: dict[str, int] = {}
        for sent in await waiting(conn):
            told[sent.chat_id] = told.get(sent.chat_id, 0) + 1
        assert set(told) == {"7100", "7101", "7102"}
        assert len(set(told.values())) == 1  # each coordinator got what the others got: one push
        assert await stored_settings.get(conn, PUSH_KEY) != due
        assert await asyncio.gather(first.push_summaries(), second.push_summaries()) == [0, 0]
    finally:
        await second.conn.close()


async def directory_loaded(conn: Connection) -> None:
    from bot.directory_file import load, sample_path

    sample = load(sample_path())
    async with transaction(conn):
        await stored_directory.replace(conn, sample.directory, sample.away_given)
