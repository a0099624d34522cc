"""/cases offers a volunteer's saved questions that have no request yet: their own, of their own
organisation, and not those already asked about. (All people and texts are invented.)"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.directory_file import load, sample_path
from db import cases, directory, questions, users
from db.connection import transaction
from db.vault import Vault
from flows.model import LogQuestion, OpenCase, Role
import pytest
from tests.conftest import BACKENDS

NOW = datetime(2026, 11, 30, 10, tzinfo=UTC)


def logged(code: str, volunteer_id: int, org_id: str) -> LogQuestion:
    return LogQuestion(
        code=code, volunteer_id=volunteer_id, org_id=org_id, urgent=False, theme="school", age_group="4-12",
        parent_language="tr", pc4="3561", wijk="overvecht", text="An invented question.", created_at=NOW,
    )


async def test_only_the_volunteer_s_own_questions_without_a_request_are_offered(conn) -> None:
    vault = Vault.generate()
    sample = load(sample_path())
    async with transaction(conn):
        await directory.replace(conn, sample.directory, sample.away_given)
        sara = await users.create(
            conn, channel="telegram", chat_id="1", role=Role.VOLUNTEER, org_id="kompas", language="en",
            display_name="Sara", now=NOW,
        )
        ali = await users.create(
            conn, channel="telegram", chat_id="2", role=Role.VOLUNTEER, org_id="kompas", language="en",
            display_name="Ali", now=NOW,
        )
        for code, who in (("Q-AAAA", sara), ("Q-BBBB", sara), ("Q-CCCC", ali), ("Q-DDDD", sara)):
            await questions.insert(conn, logged(code, who.id, "kompas"), vault)
        await questions.insert(conn, logged("Q-EEEE", sara.id, "lantaarn"), vault)  # another organisation's scope
        await cases.open_case(
            conn,
            OpenCase(
                case_id="H-AAAAAA", case_kind="consult", question_code="Q-BBBB", org_id="kompas", volunteer_id=sara.id,
                contact_id="c-overvecht-2", member_id=None, team_id="bt-overvecht", way=None, previous_id=None, at=NOW,
            ),
        )
        await conn.execute("UPDATE questions SET text = NULL WHERE code = 'Q-DDDD'")  # erased: nothing left to pass on
    found = await questions.without_request(conn, sara.id, "kompas")
    assert [q.code for q in found] == ["Q-AAAA"]
    assert (found[0].theme, found[0].parent_language, found[0].wijk, found[0].urgent) == (
        "school", "tr", "overvecht",
        False,
    )
    assert [q.code for q in await questions.without_request(conn, ali.id, "kompas")] == ["Q-CCCC"]


def test_picking_a_saved_question_offers_its_wijk_s_people_without_alerting_again() -> None:
    from datetime import date

    from flows import session
    from flows.model import Choice, Command, Env, ToCoordinators, User
    from flows.state import Conversation, Saved, Step
    from tests.transcript import DIRECTORY

    sara = User(id=1, role=Role.VOLUNTEER, org_id="kompas", language="en", name="Sara")
    urgent = Saved(code="Q-AAAA", theme="school", parent_language="tr", urgent=True, wijk="overvecht")
    env = Env(now=NOW, today=date(2026, 11, 30), new_code="Q-NEW1", languages=("en",), directory=DIRECTORY,
              reachable={"c-overvecht-2": 2}, my_questions=(urgent,))
    listed = session.step(Conversation(token=3), sara, Command(name="cases"), env)
    assert listed.state.step is Step.PICK_QUESTION
    token = listed.state.token
    assert session.step(listed.state, sara, Choice(data=f"{token}|Q-ZZZZ"), env).notice is not None  # not one of hers
    picked = session.step(listed.state, sara, Choice(data=f"{token}|Q-AAAA"), env)
    assert picked.state.step is Step.SUGGESTED and picked.state.saved == urgent
    assert not any(isinstance(m.to, ToCoordinators) for m in picked.messages)
    assert "to:c-overvecht-2" in str(picked.messages[-1].buttons)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """This module's tests run on SQLite and on PostgreSQL (tests/conftest.py)."""
    return str(request.param)
