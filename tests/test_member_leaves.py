"""A member who leaves (access revoked, or erased) with open cases, and timers that fail.

Issue 13, items 2 and 5: erasing a member while a request waited for them crashed the processing
loop on every restart (the reminder met a case without a member), and a revoked member kept
receiving case content. The stories member_revoked_with_open_cases_en and
member_erased_with_waiting_request_en tell the same as a conversation. All people are invented.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.i18n import Catalogs
from bot.runner import Runner
from db import privacy, users
from db.connection import connect, transaction
from db.vault import Vault, attach
from bot.core import Flow
from flows import case_followup
from flows import cases as case_flows
from flows.case_rules import LEFT
from flows import session
from flows.cases import Case, Moved
from tests import driver, updates
from tests.test_trust import operator, play, rows, story_db  # noqa: F401 - story_db is a fixture
from tests.conftest import BACKENDS

STORIES = Path(__file__).parent / "stories"
SARA, EMRE, PETRA = "7000", "7001", "7002"  # chat ids the story gives its people, in header order
REMINDER_DUE = datetime(2026, 12, 2, 10, tzinfo=UTC)  # the reminder is due at 09:00 UTC, 16 working hours on
AFTER_BOTH_TIMERS = datetime(2026, 12, 4, 10, tzinfo=UTC)  # the escalation too, 16 more


async def waiting_request(database: Path, catalogs: Catalogs, tmp_path: Path) -> Vault:
    """Sara's request waits for Emre (a reminder and an escalation are scheduled): the erase
    story up to the operator's command, sealed with the key file the CLI uses."""
    story = (STORIES / "member_erased_with_waiting_request_en.txt").read_text("utf-8")
    path = tmp_path / "waiting.txt"
    path.write_text(story[: story.index("operator:")], "utf-8")
    return await play(path, database, catalogs)


async def open_runner(
    database: Path, vault: Vault, catalogs: Catalogs, now: datetime | list[datetime], flow: Flow = session
) -> Runner:
    """A runner on the story's database; `now` in a list is a clock the test moves (`now[0] = …`)."""
    conn = await connect(database)
    attach(conn, vault)
    await driver.sent(conn)  # what the story left waiting
    moment = now if isinstance(now, list) else [now]
    return Runner(conn, catalogs, lambda: moment[0], "telegram", vault=vault, flow=flow)


class BrokenReminder:
    """The real conversation, except that a reminder has a bug whose message quotes the question."""

    step = staticmethod(session.step)
    case_action = staticmethod(session.case_action)

    @staticmethod
    def on_timer(case: Case, kind: str, *rest: Any) -> Moved:
        if kind == "remind":
            raise RuntimeError(f"an invented bug quoting {case.question_text}")
        return session.on_timer(case, kind, *rest)


async def feed(runner: Runner, update: dict) -> None:
    update["update_id"] += 10_000_000  # after the story's own updates
    await driver.feed(runner, update)


def user_id(database: Path, chat: str) -> int:
    return rows(database, f"SELECT user_id FROM addresses WHERE address = '{chat}'")[0][0]


async def sent_to(runner: Runner, chat: str) -> list[str]:
    return [c.payload.get("text", c.method) for c in await driver.waiting(runner.conn) if c.chat_id == chat]


# ---- item 2: erasing a member with a waiting request --------------------------------------------


async def test_erasing_a_member_with_a_waiting_request_hands_it_on_and_later_timers_do_not_crash(
    story_db, catalogs, tmp_path, capsys
) -> None:
    vault = await waiting_request(story_db, catalogs, tmp_path)
    emre = user_id(story_db, EMRE)
    assert rows(story_db, "SELECT count(*) FROM timers WHERE fired_at IS NULL") == [(2,)]

    assert await operator("erase", "--user", str(emre)) == 0
    assert rows(story_db, "SELECT status, member_id FROM cases") == [(LEFT, None)]
    assert rows(story_db, "SELECT count(*) FROM timers WHERE fired_at IS NULL") == [(0,)]
    assert "1 open request(s) handed to the wijkteam's coordinator" in capsys.readouterr().out

    # The bot starts again, after both timers were due: nothing crashes, nothing more is sent.
    runner = await open_runner(story_db, vault, catalogs, AFTER_BOTH_TIMERS)
    try:
        await runner.fire_timers()
        assert await driver.waiting(runner.conn) == []
    finally:
        await runner.conn.close()


async def test_the_coordinator_and_the_volunteer_hear_when_a_member_is_erased(story_db, catalogs, tmp_path) -> None:
    vault = await waiting_request(story_db, catalogs, tmp_path)
    runner = await open_runner(story_db, vault, catalogs, datetime(2026, 11, 30, 12, tzinfo=UTC))
    try:
        assert await runner.erase(user_id(story_db, EMRE)) is not None
        [alert] = await sent_to(runner, PETRA)
        assert "needs follow-up" in alert and "no longer uses Wijkbrug" in alert
        assert "Fatma" not in alert and "12345678" not in alert  # the parent agreed to Emre only
        [told] = await sent_to(runner, SARA)
        assert "no longer available" in told
        [call] = [c for c in await driver.waiting(runner.conn) if c.chat_id == SARA]
        keyboard = call.payload["reply_markup"]["inline_keyboard"]
        assert [b["text"] for row in keyboard for b in row] == ["Ask someone else"]
    finally:
        await runner.conn.close()


async def test_a_member_erased_before_this_fix_is_handed_on_when_a_timer_meets_the_case(
    story_db, catalogs, tmp_path
) -> None:
    """A database where a member was erased the old way (their cases left without a member)."""
    vault = await waiting_request(story_db, catalogs, tmp_path)
    runner = await open_runner(story_db, vault, catalogs, AFTER_BOTH_TIMERS)
    try:
        async with transaction(runner.conn):
            await privacy.erase_user(runner.conn, user_id(story_db, EMRE), runner.clock())
        await runner.fire_timers()
        assert rows(story_db, "SELECT status FROM cases") == [(LEFT,)]
        assert rows(story_db, "SELECT count(*) FROM timers WHERE fired_at IS NULL") == [(0,)]
        assert len(await sent_to(runner, PETRA)) == 1  # handed on once, not escalated again
    finally:
        await runner.conn.close()


async def test_a_timer_whose_step_raises_is_closed_as_failed_and_later_timers_still_fire(
    story_db, catalogs, tmp_path, caplog
) -> None:
    vault = await waiting_request(story_db, catalogs, tmp_path)
    runner = await open_runner(story_db, vault, catalogs, AFTER_BOTH_TIMERS, flow=BrokenReminder())
    try:
        with caplog.at_level(logging.ERROR):
            await runner.fire_timers()  # does not raise
        await runner.fire_timers()  # and the failed timer is not tried again
        # The reminder failed and is closed; the escalation after it still fired (once).
        closed = rows(story_db, "SELECT kind, fired_at IS NOT NULL FROM timers ORDER BY due_at")
        assert closed == [("remind", 1), ("escalate", 1)]
        [(subject, detail)] = rows(story_db, "SELECT subject, detail FROM audit WHERE action = 'timer-failed'")
        assert subject.startswith("H-") and detail == "remind: RuntimeError"
        assert len(await sent_to(runner, PETRA)) == 1
        assert await sent_to(runner, EMRE) == []  # the failed reminder's messages were rolled back
        assert "RuntimeError" in caplog.text and "teacher" not in caplog.text  # the type, never the message
    finally:
        await runner.conn.close()


# ---- item 5: a revoked member receives nothing more ---------------------------------------------


async def test_revoking_a_member_drops_what_still_waits_in_the_outbox_for_them(story_db, catalogs, tmp_path) -> None:
    vault = await waiting_request(story_db, catalogs, tmp_path)
    runner = await open_runner(story_db, vault, catalogs, REMINDER_DUE)
    try:
        await runner.fire_timers()
        [reminder] = await sent_to(runner, EMRE)  # not sent yet when the operator revokes
        assert "Reminder" in reminder
        assert await runner.revoke(user_id(story_db, EMRE))
        assert await sent_to(runner, EMRE) == []
    finally:
        await runner.conn.close()


async def test_after_revoking_a_note_a_reminder_and_a_second_escalation_send_the_member_nothing(
    story_db, catalogs, tmp_path
) -> None:
    vault = await waiting_request(story_db, catalogs, tmp_path)
    now = [datetime(2026, 11, 30, 12, tzinfo=UTC)]
    runner = await open_runner(story_db, vault, catalogs, now)
    try:
        assert await runner.revoke(user_id(story_db, EMRE))
        assert len(await sent_to(runner, PETRA)) == 1
        # Sara writes a note on the case, pressing the button with the case's current version.
        (case_id, version), = rows(story_db, "SELECT id, version FROM cases")
        await feed(runner, updates.press(int(SARA), 1, f"c:{case_id}:note:{version}", language_code="en"))
        await feed(runner, updates.message(int(SARA), "An invented note about the family.", language_code="en"))
        now[0] = AFTER_BOTH_TIMERS  # the reminder and the escalation fall due
        await runner.fire_timers()
        assert await sent_to(runner, EMRE) == []
        assert len(await sent_to(runner, PETRA)) == 1  # no second escalation
    finally:
        await runner.conn.close()


async def test_nothing_is_rendered_for_a_revoked_account_even_on_a_case_still_open(
    story_db, catalogs, tmp_path
) -> None:
    """The one place messages are rendered for recipients skips a revoked account: also for a case
    revoked before its cases were handed on (an older database)."""
    vault = await waiting_request(story_db, catalogs, tmp_path)
    now = [datetime(2026, 11, 30, 12, tzinfo=UTC)]
    runner = await open_runner(story_db, vault, catalogs, now)
    try:
        async with transaction(runner.conn):
            await users.revoke(runner.conn, user_id(story_db, EMRE), runner.clock())  # bypassing the hand-on
        (case_id, version), = rows(story_db, "SELECT id, version FROM cases")
        await feed(runner, updates.press(int(SARA), 1, f"c:{case_id}:note:{version}", language_code="en"))
        await feed(runner, updates.message(int(SARA), "An invented note about the family.", language_code="en"))
        now[0] = AFTER_BOTH_TIMERS
        await runner.fire_timers()
        assert await sent_to(runner, EMRE) == []
    finally:
        await runner.conn.close()


async def test_a_member_revoked_before_this_fix_is_handed_on_when_a_timer_meets_the_case(
    story_db, catalogs, tmp_path
) -> None:
    """An older database: the member was revoked, their waiting request stayed with them; its
    reminder neither reaches them nor escalates a second time, it hands the case on."""
    vault = await waiting_request(story_db, catalogs, tmp_path)
    runner = await open_runner(story_db, vault, catalogs, AFTER_BOTH_TIMERS)
    try:
        async with transaction(runner.conn):
            await users.revoke(runner.conn, user_id(story_db, EMRE), runner.clock())  # bypassing the hand-on
        await runner.fire_timers()
        assert rows(story_db, "SELECT status FROM cases") == [(LEFT,)]
        assert await sent_to(runner, EMRE) == []
        [alert] = await sent_to(runner, PETRA)
        assert "no longer uses Wijkbrug" in alert
    finally:
        await runner.conn.close()


@pytest.mark.parametrize("status", ["accepted", "contact_made"])
def test_an_accepted_case_goes_back_to_the_coordinator_when_its_member_leaves(status: str) -> None:
    case = case_flows.Case(
        id="H-AAAAAA", kind="handover", status=status, version=3, question_code="Q-2345", theme="school",
        age_group="4-12", parent_language="tr", wijk="overvecht", wijk_name="Overvecht", urgent=False,
        question_text="invented", volunteer_id=1, volunteer_name="Sara", org_id="kompas", org_name="Het Kompas",
        contact_id="c-1", contact_name="Emre", member_id=2, team_id="bt-overvecht", team_name="Buurtteam Overvecht",
        way="parent_calls", parent=case_flows.Parent(first_name="Invented", phone="0600000000"),
        opened_at=datetime(2026, 11, 30, tzinfo=UTC),
    )
    now = datetime(2026, 12, 1, tzinfo=UTC)
    messages, effects = case_followup.member_left(case, now)
    assert [type(m.to).__name__ for m in messages] == ["ToCoordinators", "ToUser"]
    assert all(getattr(m.to, "user_id", None) != 2 for m in messages)  # nothing for the member
    assert [type(e).__name__ for e in effects] == ["ChangeCase", "Unschedule"]
    assert effects[0].status == LEFT and effects[0].version == 3
    assert messages[1].buttons[0][0].data == "c:H-AAAAAA:next:4"
    closed = case.model_copy(update={"status": "closed"})
    assert case_followup.member_left(closed, now) == ([], [])


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """This module's tests run on SQLite and on PostgreSQL (tests/conftest.py)."""
    return str(request.param)
