"""A consent records whom it names (the contact and the case), the member receives the parent's
details only when such a consent names them, and advice asked after a decline stays in the chain
without the colleague who declined. (All people and numbers are invented.)"""

from __future__ import annotations

from flows import session
from flows.model import Choice
from flows.state import Step
from tests.test_consent_per_person import SARA, env, follow_up
from tests.test_trust import play, rows, story_db  # noqa: F401 (a fixture)


def test_only_asking_advice_after_a_decline_keeps_the_chain_and_leaves_out_who_declined() -> None:
    both = env().model_copy(update={"reachable": {"c-overvecht-2": 2, "c-overvecht-3": 3}})
    moved = session.step(follow_up(Step.SUGGESTED), SARA, Choice(data="5|consult"), both)
    asked = moved.state.request
    assert (asked.kind, asked.previous_id, asked.excluded) == ("consult", "H-100018", ("c-overvecht-2",))
    offered = [button.data.partition("|")[2] for row in moved.messages[-1].buttons for button in row]
    assert offered == ["to:c-overvecht-3"]
    picked = session.step(moved.state, SARA, Choice(data=f"{moved.state.token}|to:c-overvecht-3"), both)
    sent = session.step(picked.state, SARA, Choice(data=f"{picked.state.token}|send"), both)
    opened = sent.effects[-1]
    assert (opened.case_kind, opened.previous_id, opened.contact_id) == ("consult", "H-100018", "c-overvecht-3")


async def test_advice_after_a_decline_is_stored_as_following_the_declined_case(story_db, catalogs) -> None:
    await play("consult_after_decline_en.txt", story_db, catalogs)
    assert rows(story_db, "SELECT id, kind, contact_id, previous_id FROM cases ORDER BY opened_at") == [
        ("H-100016", "handover", "c-overvecht-2", None),
        ("H-100022", "consult", "c-overvecht-3", "H-100016"),
    ]
