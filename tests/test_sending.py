"""Sending a request returns its whole consequence (flows/sending.py): the request to the member
and its two timers, with the due times the runner used to compute (working hours in Amsterdam,
Dutch public holidays skipped). (All people and numbers are invented.)"""

from __future__ import annotations

from datetime import UTC, date, datetime

from flows import cases, sending, session
from flows.case_view import AskedQuestion
from flows.holidays_nl import dutch_holidays
from flows.model import Choice, Env, OpenCase, Schedule, ToUser
from flows.state import Step
from flows.workhours import add_working_hours
from tests.test_consent_per_person import SARA, follow_up
from tests.transcript import DIRECTORY

# Thursday 24 December 2026, 15:00 in Amsterdam: Christmas (Friday) and the weekend follow.
NOW = datetime(2026, 12, 24, 14, 0, tzinfo=UTC)
QUESTION = AskedQuestion(
    code="Q-TEST", theme="school", age_group="4-12", parent_language="tr", wijk="overvecht", urgent=False,
    text="A letter from school (invented).", text_language="en",
)


def env(**changes: object) -> Env:
    return Env(
        now=NOW, today=date(2026, 12, 24), new_code="Q-NEW1", new_case_id="H-NEW001", languages=("en", "nl", "tr"),
        directory=DIRECTORY, reachable={"c-overvecht-3": 3}, holidays=dutch_holidays(2026) | dutch_holidays(2027),
        reminder_hours=16, question=QUESTION,
    ).model_copy(update=changes)


def _sent():
    state = follow_up(Step.SEND, way="call_together", consent_language="tr")
    assert sending.question_needed(state) == "Q-TEST"
    return session.step(state, SARA, Choice(data="5|send"), env())


def test_sending_returns_the_request_to_the_member_with_their_buttons_before_the_volunteer_is_told() -> None:
    moved = _sent()
    to_member, to_sara = moved.messages
    assert to_member.to == ToUser(user_id=3) and to_sara.to == ToUser(user_id=SARA.id)
    assert "A letter from school (invented)." in str(to_member.parts)
    assert [cases.parse_button(b.data)[1] for row in to_member.buttons for b in row] == ["accept", "decline", "note"]
    assert all(cases.parse_button(b.data)[2] == 1 for row in to_member.buttons for b in row)  # a new case: version 1


def test_the_timers_fall_due_in_working_hours_skipping_christmas_and_the_weekend() -> None:
    effects = _sent().effects
    [opened] = [e for e in effects if isinstance(e, OpenCase)]
    timers = {e.timer: e.due_at for e in effects if isinstance(e, Schedule)}
    # 16 working hours: Thursday 15-17 (2), Monday 28 (8), Tuesday 29 until 15:00 (6).
    assert timers["remind"] == datetime(2026, 12, 29, 14, 0, tzinfo=UTC)
    # 32: Thursday (2), Monday (8), Tuesday (8), Wednesday (8), Thursday 31 until 15:00 (6).
    assert timers["escalate"] == datetime(2026, 12, 31, 14, 0, tzinfo=UTC)
    # Exactly what the runner computed before, from the same moment, zone, holidays and hours.
    holidays = env().holidays
    assert timers["remind"] == add_working_hours(opened.at, 16, "Europe/Amsterdam", holidays)
    assert timers["escalate"] == add_working_hours(opened.at, 32, "Europe/Amsterdam", holidays)
    assert [type(e).__name__ for e in effects][-3:] == ["OpenCase", "Schedule", "Schedule"]


def test_only_the_last_step_needs_the_question() -> None:
    assert sending.question_needed(follow_up(Step.CONSENT)) is None
