"""The case table (flows/case_rules.TRANSITIONS) and the callback codec (flows/codec.py): an illegal
move raises the one named error and changes nothing; the buttons drawn are exactly the legal
moves; every button's data reads back as itself, and forged or garbled data is refused.
(All people and numbers are invented.)"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows import case_rules, cases, codec, session
from flows.state import Conversation
from flows.terms import CaseAction, CaseKind, CaseStatus, Scope, Side
from tests.test_case_rules import a_case, a_user, actions_of, env

GRID = [(k, s, d, a) for k in CaseKind for s in CaseStatus for d in Side for a in CaseAction]


@pytest.mark.parametrize(("kind", "status", "side", "action"), GRID, ids=["-".join(g) for g in GRID])
def test_a_move_not_in_the_table_raises_not_allowed_and_a_press_on_it_changes_nothing(
    kind, status, side, action
) -> None:
    case = a_case(kind, status)
    row = case_rules.TRANSITIONS.get((kind, status, side), {})
    if action in row:
        assert case_rules.move(case, side, action) == row[action]
        return
    before = case.model_copy()
    with pytest.raises(case_rules.NotAllowed):
        case_rules.move(case, side, action)
    state = Conversation(token=7)
    user = a_user(side)
    moved = session.case_action(state, user, case, str(action), case.version, env(case))
    assert moved.notice == case_rules.not_allowed(case)
    assert (moved.messages, moved.effects, moved.state, moved.chosen) == ((), (), state, None)
    assert case == before


def test_an_action_that_does_not_exist_is_not_allowed() -> None:
    with pytest.raises(case_rules.NotAllowed):
        case_rules.move(a_case("handover", "requested"), Side.MEMBER, "forged")


@pytest.mark.parametrize(("kind", "status", "side"), [(k, s, d) for k in CaseKind for s in CaseStatus for d in Side])
def test_the_buttons_drawn_are_exactly_the_legal_moves(kind, status, side) -> None:
    case = a_case(kind, status)
    legal = set(case_rules.TRANSITIONS.get((kind, status, side), {}))
    assert actions_of(case_rules.buttons_for(case, side)) == legal - case_rules.NOT_DRAWN
    gone = case.model_copy(update={"question_code": None})  # a question that is gone: nobody else to ask
    assert actions_of(case_rules.buttons_for(gone, side)) == legal - case_rules.NOT_DRAWN - {CaseAction.NEXT}


def test_a_move_that_changes_the_status_says_which_and_the_flow_stores_that_status() -> None:
    case = a_case("handover", "accepted")
    assert case_rules.move(case, Side.MEMBER, "contact_made") is CaseStatus.CONTACT_MADE
    moved = session.case_action(Conversation(), a_user("member"), case, "contact_made", case.version, env(case))
    [change] = [e for e in moved.effects if e.kind == "change_case"]
    assert change.status == "contact_made" and str(change.status) == "contact_made"


def test_the_enums_read_as_the_strings_they_replace() -> None:
    assert [str(s) for s in CaseStatus] == [
        "requested", "accepted", "declined", "contact_made", "closed", "withdrawn", "member_left", "expired"
    ]
    assert (
        str(CaseKind.CONSULT) == "consult"
        and f"{Side.MEMBER}" == "member"
        and str(CaseAction.WITHDRAW_YES) == "withdraw_yes"
    )
    assert (
        cases.Case.model_validate({**a_case("handover", "requested").model_dump(), "status": "declined"}).status
        is CaseStatus.DECLINED
    )


# ---- the codec ----------------------------------------------------------------------------

values = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)


@given(token=st.integers(min_value=0, max_value=10**12), value=values)
def test_a_step_press_reads_back_as_itself(token: int, value: str) -> None:
    assert codec.decode(codec.encode_step(token, value)) == codec.StepPress(token, value)


@given(
    case_id=st.from_regex(r"[A-Za-z0-9-]{1,20}", fullmatch=True),
    action=st.sampled_from(list(CaseAction)),
    version=st.integers(min_value=0, max_value=999_999_999),
)
def test_a_case_press_reads_back_as_itself(case_id: str, action: CaseAction, version: int) -> None:
    data = codec.encode_case(case_id, action, version)
    assert codec.decode(data) == codec.CasePress(case_id, str(action), version)
    assert cases.parse_button(data) == (case_id, action, version)


@pytest.mark.parametrize(
    "data",
    ["", "|", "x|yes", "|yes", "05|yes", "-1|yes", "²|yes", "5|", "c:H-1:show", "c:H-1:show:", "c:H-1:show:03",
     "c:H-1:show:²", "c:H 1:show:3", "c:H-1:Show:3", "c:H-1:show:3:4", "c:" + "A" * 21 + ":show:3",
     "c:H-1:show:1234567890"],
)  # fmt: skip
def test_forged_or_garbled_data_is_refused(data: str) -> None:
    press = codec.decode(data)
    assert press is None or (isinstance(press, codec.StepPress) and data.startswith(f"{press.token}|"))
    assert cases.parse_button(data) is None


def test_data_that_would_not_read_back_is_never_made() -> None:
    with pytest.raises(ValueError):
        codec.encode_case("H 1", "show", 3)
    with pytest.raises(ValueError):
        codec.encode_step(3, "")


def test_a_scope_is_parsed_and_written_as_it_is_stored() -> None:
    assert str(Scope.team("bt-1")) == "team:bt-1" and Scope.parse("org:kompas") == Scope.org("kompas")
    for bad in ("", "org", "org:", "wijk:x", ":x"):
        with pytest.raises(ValueError):
            Scope.parse(bad)


def test_env_takes_only_a_case_where_a_case_belongs() -> None:
    from datetime import date

    from pydantic import ValidationError

    from flows.model import Env

    case = a_case("handover", "requested")
    assert env(case).case is case
    for wrong in ({"case": "H-TEST01"}, {"my_cases": ("H-TEST01",)}, {"report": {"week": "2026-W47"}}):
        with pytest.raises(ValidationError):
            Env(now=case.opened_at, today=date(2026, 11, 30), new_code="Q-1", languages=("en",), **wrong)


def test_the_themes_are_listed_once() -> None:
    from flows.directory import THEME_CODES
    from flows.intake import THEMES
    from flows.terms import Theme

    assert tuple(THEMES) == tuple(Theme) and THEME_CODES == tuple(str(theme) for theme in Theme)
