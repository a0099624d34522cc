"""Who may do what with a case: every (kind, status, side, action) against the rule written out
here, both the check of a press and the buttons shown; a member who declined sees no parent.
(All people and numbers are invented.)"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from flows import access, case_rules, cases, session
from flows.model import Env, Role, User
from flows.state import Conversation
from tests import driver
from tests.test_trust import PREFERRED, _press, _runner, play, rows, story_db  # noqa: F401 (a fixture)
from tests.conftest import BACKENDS

VOLUNTEER_ID, MEMBER_ID, OTHER_ID = 1, 2, 3
NOW = datetime(2026, 11, 30, 10, tzinfo=UTC)

# The rule, written out by hand: (kind, status) -> {side: actions}; anything not listed is refused.
OPEN_VOLUNTEER = {"show", "note", "withdraw", "withdraw_yes"}
EXPECTED: dict[tuple[str, str], dict[str, set[str]]] = {
    ("handover", "requested"): {"volunteer": OPEN_VOLUNTEER, "member": {"show", "note", "accept", "decline"}},
    ("handover", "accepted"): {"volunteer": OPEN_VOLUNTEER, "member": {"show", "note", "contact_made", "close"}},
    ("handover", "contact_made"): {"volunteer": OPEN_VOLUNTEER, "member": {"show", "note", "close"}},
    ("handover", "declined"): {"volunteer": {"show", "next"}},
    ("handover", "closed"): {"volunteer": {"show"}},
    ("handover", "withdrawn"): {"volunteer": {"show"}},
    ("consult", "requested"): {"volunteer": {"show", "note", "close"}, "member": {"show", "note", "close"}},
    ("consult", "closed"): {"volunteer": {"show"}},
}
STATUSES = ("requested", "accepted", "declined", "contact_made", "closed", "withdrawn")
ACTIONS = ("show", "note", "accept", "decline", "contact_made", "close", "withdraw", "withdraw_yes", "next", "forged")
SIDES = {
    "volunteer": (VOLUNTEER_ID, Role.VOLUNTEER), "member": (MEMBER_ID, Role.MEMBER),
    "other": (OTHER_ID, Role.VOLUNTEER),
}
GRID = [
    (kind, status, side, action)
    for kind in ("handover", "consult")
    for status in STATUSES
    for side in SIDES
    for action in ACTIONS
]


def a_case(kind: str, status: str) -> cases.Case:
    return cases.Case(
        id="H-TEST01",
        kind=kind,
        status=status,
        version=3,
        question_code="Q-TEST",
        theme="school",
        age_group="4-12",
        parent_language="tr",
        wijk="overvecht",
        wijk_name="Overvecht",
        urgent=False,
        question_text="A question (invented).",
        volunteer_id=VOLUNTEER_ID,
        volunteer_name="Sara",
        org_id="kompas",
        org_name="Kompas",
        contact_id="c-1",
        contact_name="Emre",
        member_id=MEMBER_ID,
        team_id="bt-1",
        team_name="Buurtteam",
        way="parent_calls" if kind == "handover" else None,
        parent=cases.Parent(first_name="Fatma", phone="+31612345678") if kind == "handover" else None,
        opened_at=NOW,
        consent_contact="c-1" if kind == "handover" else None,  # the parent's consent names Emre
    )


def a_user(side: str) -> User:
    user_id, role = SIDES[side]
    return User(id=user_id, role=role, org_id="kompas", language="en", name=side)


def env(case: cases.Case) -> Env:
    return Env(now=NOW, today=date(2026, 11, 30), new_code="Q-NEW1", languages=("en",), case=case)


def actions_of(buttons) -> set[str]:
    return {cases.parse_button(b.data)[1] for row in buttons for b in row}


@pytest.mark.parametrize(("kind", "status", "side", "action"), GRID, ids=["-".join(g) for g in GRID])
def test_a_press_is_taken_exactly_when_the_rule_allows_it(kind: str, status: str, side: str, action: str) -> None:
    case, user, state = a_case(kind, status), a_user(side), Conversation(token=7)
    allowed = action in EXPECTED.get((kind, status), {}).get(side, set())
    assert access.may_act(user, case, action) is allowed
    moved = session.case_action(state, user, case, action, case.version, env(case))
    if allowed:
        assert moved.notice is None and (moved.messages or moved.effects or moved.state != state)
    else:
        assert moved.notice == case_rules.not_allowed(case)
        assert (moved.messages, moved.effects, moved.state) == ((), (), state)
        notice = access.refusal(user, case)
        assert ("not yours" in notice.msgid) is (side == "other")


@pytest.mark.parametrize(
    ("kind", "status", "side"), [(k, s, d) for k in ("handover", "consult") for s in STATUSES for d in SIDES]
)
def test_only_allowed_actions_are_shown_as_buttons(kind: str, status: str, side: str) -> None:
    case = a_case(kind, status)
    allowed = EXPECTED.get((kind, status), {}).get(side, set())
    assert actions_of(case_rules.buttons_for(case, side)) <= allowed
    if side == "member":
        assert actions_of(cases.to_member(case).buttons) <= allowed
    if "show" in allowed:
        shown = session.case_action(Conversation(), a_user(side), case, "show", case.version, env(case))
        assert all(actions_of(m.buttons) <= allowed for m in shown.messages)


@pytest.mark.parametrize("status", STATUSES)
def test_the_member_sees_the_parent_only_while_the_case_is_accepted_by_them(status: str) -> None:
    message = cases.to_member(a_case("handover", status))
    assert ("Fatma" in str(message.model_dump())) is (status in ("accepted", "contact_made"))


async def test_a_member_who_declined_gets_no_parent_details_by_pressing_or_forging_show(story_db, catalogs) -> None:
    vault = await play("handover_decline_chain_en.txt", story_db, catalogs)
    (case_id, version), = rows(story_db, "SELECT id, version FROM cases WHERE status = 'declined'")
    (emre_id, emre), = rows(story_db, f"{PREFERRED} WHERE u.contact_id = 'c-overvecht-2'")
    before = rows(story_db, "SELECT id, status, version FROM cases ORDER BY id")
    runner, conn = await _runner(story_db, vault, catalogs)
    try:
        for action in ("show", "note", "accept", "contact_made", "close"):
            for v in (version - 1, version):
                await _press(runner, conn, int(emre), f"c:{case_id}:{action}:{v}")
        said = await driver.waiting(conn)
        assert said and all(c.method == "answerCallbackQuery" for c in said)
        assert not any("Fatma" in str(c.payload) or "12345678" in str(c.payload) for c in said)
        assert "not possible" in said[-1].payload["text"]
    finally:
        await conn.close()
    assert rows(story_db, "SELECT id, status, version FROM cases ORDER BY id") == before
    refused = rows(story_db, f"SELECT detail FROM audit WHERE action = 'refused' AND actor = 'user:{emre_id}'")
    assert sum(int(detail.split()[0]) if detail else 1 for detail, in refused) == 10  # one row a case an hour, counted


@pytest.mark.parametrize("step", ["note_text", "decline_text"])
def test_a_note_over_the_limit_is_not_cut_but_refused_saying_by_how_much(step: str, catalogs) -> None:
    from flows.model import Said
    from flows.state import Step

    case = a_case("handover", "requested")
    state = Conversation(step=Step(step), case_id=case.id, token=4)
    moved = session.step(state, a_user("member"), Said(text="x" * 1234), env(case))
    assert moved.state == state and moved.effects == ()
    [told] = moved.messages
    assert told.to.user_id == MEMBER_ID
    text = catalogs.render_parts(told.parts, "en")
    assert "234 characters too long" in text and "1,000" in text and "Nothing was passed on" in text
    fits = session.step(state, a_user("member"), Said(text="x" * 1000), env(case))
    assert any("x" * 1000 in str(m.model_dump()) for m in fits.messages) or fits.effects  # exactly the limit still goes


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """This module's tests run on SQLite and on PostgreSQL (tests/conftest.py)."""
    return str(request.param)
