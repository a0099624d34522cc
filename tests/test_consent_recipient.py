"""A consent records whom it names (the contact and the case), the member receives the parent's
details only when such a consent names them, and advice asked after a decline stays in the chain
without the colleague who declined. (All people and numbers are invented.)"""

from __future__ import annotations

import sqlite3

import pytest

from flows import session
from flows.model import Choice, OpenCase
from flows.state import Step
from tests import driver
from tests.test_consent_per_person import SARA, env, follow_up
from tests.conftest import BACKENDS
from tests.test_trust import PREFERRED, _press, _runner, play, rows, story_db  # noqa: F401 (a fixture)


def test_only_asking_advice_after_a_decline_keeps_the_chain_and_leaves_out_who_declined() -> None:
    both = env().model_copy(update={"reachable": {"c-overvecht-2": 2, "c-overvecht-3": 3}})
    moved = session.step(follow_up(Step.SUGGESTED), SARA, Choice(data="5|consult"), both)
    asked = moved.state.request
    assert (asked.kind, asked.previous_id, asked.excluded) == ("consult", "H-100018", ("c-overvecht-2",))
    offered = [button.data.partition("|")[2] for row in moved.messages[-1].buttons for button in row]
    assert offered == ["to:c-overvecht-3"]
    picked = session.step(moved.state, SARA, Choice(data=f"{moved.state.token}|to:c-overvecht-3"), both)
    sent = session.step(picked.state, SARA, Choice(data=f"{picked.state.token}|send"), both)
    [opened] = [e for e in sent.effects if isinstance(e, OpenCase)]
    assert (opened.case_kind, opened.previous_id, opened.contact_id) == ("consult", "H-100018", "c-overvecht-3")


async def test_advice_after_a_decline_is_stored_as_following_the_declined_case(story_db, catalogs) -> None:
    await play("consult_after_decline_en.txt", story_db, catalogs)
    assert rows(story_db, "SELECT id, kind, contact_id, previous_id FROM cases ORDER BY opened_at") == [
        ("H-100001", "handover", "c-overvecht-2", None),
        ("H-100002", "consult", "c-overvecht-3", "H-100001"),
    ]


# ---- a consent records whom it names, and the details go only to that person ---------------------


async def test_each_consent_row_names_its_contact_and_case_also_after_asking_someone_else(story_db, catalogs) -> None:
    await play("handover_decline_chain_en.txt", story_db, catalogs)
    # Emre was asked first and declined; Hodan was asked next, with a consent naming her.
    assert rows(story_db, "SELECT contact_id, case_id, language FROM consents ORDER BY id") == [
        ("c-overvecht-2", "H-100001", "tr"),
        ("c-overvecht-3", "H-100002", "tr"),
    ]
    assert rows(story_db, "SELECT id, contact_id FROM cases ORDER BY opened_at") == [
        ("H-100001", "c-overvecht-2"),
        ("H-100002", "c-overvecht-3"),
    ]


def _a_request_to_hodan(database, case_id: str, consent_names: str) -> int:
    """A waiting handover of the story's question to Hodan, whose consent row names `consent_names`,
    written straight into the database; Hodan's chat."""
    # On either backend, through its own driver; the values are the test's own (invented) words.
    [(question_id, org_id, team_id)] = rows(
        database, "SELECT question_id, org_id, team_id FROM cases WHERE id = 'H-100002'"
    )
    [(hodan, chat)] = rows(database, f"{PREFERRED} WHERE u.contact_id = 'c-overvecht-3'")
    rows(
        database,
        "INSERT INTO cases (id, kind, question_id, org_id, volunteer_id, "
        "contact_id, member_id, team_id, way, status, opened_at) "
        f"SELECT '{case_id}', 'handover', {question_id}, '{org_id}', volunteer_id, 'c-overvecht-3', {hodan}, "
        f"'{team_id}', 'parent_calls', 'requested', '2026-11-30T11:00:00+00:00' "
        "FROM cases WHERE id = 'H-100002'",
    )
    rows(
        database,
        "INSERT INTO consents (question_id, volunteer_id, "
        "wording_version, language, given_at, contact_id, case_id) "
        f"VALUES ({question_id}, NULL, '2026-11', 'tr', '2026-11-30T11:00:00+00:00', '{consent_names}', '{case_id}')",
    )
    return int(chat)


async def _shown_to_hodan(database, vault, catalogs, chat: int, case_id: str) -> list:
    runner, conn = await _runner(database, vault, catalogs)
    try:
        await _press(runner, conn, chat, f"c:{case_id}:show:1")
        await _press(runner, conn, chat, f"c:{case_id}:accept:1")
        await _press(runner, conn, chat, f"c:{case_id}:show:2")
        return await driver.waiting(conn)
    finally:
        await conn.close()


@pytest.mark.parametrize("consent_names, sees", [("c-overvecht-3", True), ("c-overvecht-2", False)])
async def test_a_member_gets_the_parents_details_only_when_the_cases_consent_names_them(
    story_db, catalogs, consent_names, sees
) -> None:
    vault = await play("handover_decline_chain_en.txt", story_db, catalogs)
    chat = _a_request_to_hodan(story_db, "H-TEST01", consent_names)
    said = await _shown_to_hodan(story_db, vault, catalogs, chat, "H-TEST01")
    assert rows(story_db, "SELECT status FROM cases WHERE id = 'H-TEST01'") == [("accepted",)]
    to_hodan = [c for c in said if c.payload.get("chat_id") == str(chat)]
    text = " ".join(str(c.payload) for c in to_hodan)
    assert ("Fatma" in text) is sees and ("+31612345678" in text) is sees
    assert any(c.method == "sendPhoto" for c in to_hodan) is sees  # the attachment goes with the details
    if not sees:
        assert "No consent of the parent names you" in text


async def test_a_withdrawn_consent_names_nobody(story_db, catalogs) -> None:
    vault = await play("handover_decline_chain_en.txt", story_db, catalogs)
    chat = _a_request_to_hodan(story_db, "H-TEST01", "c-overvecht-3")
    rows(story_db, "UPDATE consents SET withdrawn_at = '2026-11-30T11:30:00+00:00' WHERE case_id = 'H-TEST01'")
    said = await _shown_to_hodan(story_db, vault, catalogs, chat, "H-TEST01")
    assert not any("Fatma" in str(c.payload) for c in said)


async def test_the_migration_names_the_recipient_of_consents_stored_before(tmp_path) -> None:
    """A consent stored before 012 is linked to the handover opened with it; a handover that reused
    an earlier consent (as before issue 13) is left without one, so its member gets no details."""
    from db.connection import connect
    from db.schema import migrate, migrations

    database = tmp_path / "old.sqlite3"
    with sqlite3.connect(database) as raw:
        raw.execute("PRAGMA user_version = 11")
    conn = await connect(database, upgrade=False)
    for version, _, sql in migrations():
        if version <= 11:
            for statement in [s for s in sql.split(";\n") if s.strip()]:
                await conn.execute(statement)
    await conn.execute("INSERT INTO organisations VALUES ('o', 'O')")
    await conn.execute(
        "INSERT INTO questions (id, code, org_id, urgent, theme, age_group, parent_language, pc4, created_at) "
        "VALUES (1, 'Q-AAAA', 'o', 0, 'other', '', 'tr', '3561', '2026-01-01')"
    )
    first, second = "2026-01-02T10:00:00+00:00", "2026-01-03T10:00:00+00:00"
    await conn.execute(
        "INSERT INTO cases (id, kind, question_id, org_id, contact_id, team_id, status, previous_id, opened_at) VALUES "
        "('H-AAAAAA', 'handover', 1, 'o', 'c-emre', 't', 'declined', NULL, ?), "
        "('H-BBBBBB', 'handover', 1, 'o', 'c-hodan', 't', 'accepted', 'H-AAAAAA', ?)",
        (first, second),
    )
    await conn.execute(
        "INSERT INTO consents (question_id, wording_version, language, given_at) VALUES (1, '2026-11', 'tr', ?)",
        (first,),
    )
    assert (await migrate(conn))[:1] == ["012_consent_recipient.sql"]
    await conn.close()
    assert rows(database, "SELECT contact_id, case_id FROM consents") == [("c-emre", "H-AAAAAA")]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """This module's tests run on SQLite and on PostgreSQL (tests/conftest.py)."""
    return str(request.param)
