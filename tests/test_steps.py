"""Every step's rules in one spec (flows/steps.py): each Step has one, a refused answer leaves the
state as it was and says why, and the conversation modules stay readable (at most 400 lines).
(All people are invented.)"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from flows import session
from flows.model import Attachment, Env, Role, Said, User
from flows.spec import Refusal, StepSpec
from flows.state import Conversation, Draft, Request, Saved, Step
from flows.steps import SPECS
from tests.transcript import DIRECTORY

ENV = Env(
    now=datetime(2026, 11, 30, 10, tzinfo=UTC), today=date(2026, 11, 30), new_code="Q-NEW1", languages=("en", "nl"),
    directory=DIRECTORY, reachable={"c-overvecht-3": 3},
)
SARA = User(id=1, role=Role.VOLUNTEER, org_id="kompas", language="en", name="Sara")
DETOURS = {Step.LANGUAGE, Step.BROWSE, Step.DECLINE_REASON, Step.DECLINE_TEXT, Step.NOTE_TEXT}


def test_every_step_has_one_spec_and_the_detours_are_marked_there() -> None:
    assert set(SPECS) == set(Step) and all(isinstance(spec, StepSpec) for spec in SPECS.values())
    assert {step for step, spec in SPECS.items() if spec.detour} == DETOURS
    assert {step for step, spec in SPECS.items() if spec.menu} == {Step.LANGUAGE}


def _state(step: Step) -> Conversation:
    saved = Saved(code="Q-AAAA", theme="school", parent_language="tr", urgent=False, wijk="overvecht")
    request = Request(contact_id="c-overvecht-3")
    return Conversation(step=step, token=4, draft=Draft(urgent=False), saved=saved, request=request, case_id="H-1")


@pytest.mark.parametrize("step", [s for s in Step if s not in (Step.LANGUAGE,)])
def test_a_file_where_a_step_wants_none_is_refused_and_changes_nothing(step: Step) -> None:
    state = _state(step)
    refused = SPECS[step].take_attachment(state, SARA, ENV, Attachment(media="sticker", file_id="f-1"))
    assert isinstance(refused, Refusal) and refused.reasons
    moved = session.step(state, SARA, Attachment(media="sticker", file_id="f-1"), ENV)
    assert moved.state.model_dump() == {**state.model_dump(), "token": moved.state.token}
    assert moved.effects == () and moved.messages


@pytest.mark.parametrize("step", [s for s, spec in SPECS.items() if not spec.typed and s is not Step.LANGUAGE])
def test_typing_where_a_step_wants_a_press_is_refused_and_the_step_asked_again(step: Step) -> None:
    state = _state(step)
    assert isinstance(SPECS[step].take_text(state, SARA, ENV, "hello"), Refusal)
    moved = session.step(state, SARA, Said(text="hello"), ENV)
    assert moved.effects == () and moved.state.step is step


def test_no_conversation_module_is_over_400_lines() -> None:
    flows = Path(__file__).parent.parent / "flows"
    long = {p.name: n for p in flows.glob("*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}
