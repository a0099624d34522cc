"""A parent's consent names one person: a request to someone else asks again, in the parent's
language, and records that consent too. (All people and numbers are invented.)"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from flows import request, session
from flows.model import Choice, Env, EraseParent, OpenCase, RecordConsent, Role, SaveParent, Schedule, User
from flows.state import Conversation, Request, Saved, Step
from tests.conftest import BACKENDS
from tests.test_trust import play, rows, story_db  # noqa: F401 (a fixture)
from tests.transcript import DIRECTORY

NOW = datetime(2026, 11, 30, 10, tzinfo=UTC)
SARA = User(id=1, role=Role.VOLUNTEER, org_id="kompas", language="en", name="Sara")


def follow_up(step: Step, **request_fields) -> Conversation:
    """Emre declined; Sara asks Hodan, with the parent's details given for Emre."""
    saved = Saved(code="Q-TEST", theme="school", parent_language="tr", urgent=False, wijk="overvecht")
    asked = Request(
        contact_id="c-overvecht-3",
        previous_id="H-100018",
        has_details=True,
        excluded=("c-overvecht-2",),
        **request_fields,
    )
    return Conversation(step=step, saved=saved, request=asked, token=5)


def env() -> Env:
    return Env(
        now=NOW, today=date(2026, 11, 30), new_code="Q-NEW1", new_case_id="H-NEW001", languages=("en", "nl", "tr"),
        directory=DIRECTORY, reachable={"c-overvecht-3": 3},
    )


def test_asking_someone_else_asks_the_parent_again_naming_the_new_person() -> None:
    moved = session.step(follow_up(Step.WAY), SARA, Choice(data="5|call_together"), env())
    assert moved.state.step is Step.CONSENT and moved.state.request.consent_language == "tr"
    consent = [p for p in moved.messages[0].parts if not isinstance(p, tuple) and p.language == "tr"]
    assert consent and consent[0].params["contact"] == "Hodan Warsame"


def test_the_new_consent_is_recorded_and_the_earlier_details_are_reused() -> None:
    agreed = session.step(
        follow_up(Step.CONSENT, way="call_together", consent_language="tr"), SARA, Choice(data="5|yes"), env()
    )
    assert agreed.state.step is Step.SEND
    sent = session.step(agreed.state, SARA, Choice(data=f"{agreed.state.token}|send"), env())
    kinds = [type(e) for e in sent.effects]
    assert kinds == [RecordConsent, OpenCase, Schedule, Schedule]  # the case, then its reminder and escalation
    consent = sent.effects[0]
    assert (consent.wording_version, consent.language) == (request.CONSENT_VERSION, "tr")
    assert (consent.contact_id, consent.case_id) == ("c-overvecht-3", "H-NEW001")  # it names Hodan, for this request
    assert SaveParent not in kinds


def test_a_parent_who_does_not_agree_to_the_new_person_gets_a_consult_and_their_details_erased() -> None:
    refused = session.step(
        follow_up(Step.CONSENT, way="call_together", consent_language="tr"), SARA, Choice(data="5|no"), env()
    )
    assert refused.state.step is Step.SEND and refused.state.request.kind == "consult"
    assert [type(e) for e in refused.effects] == [EraseParent]
    sent = session.step(refused.state, SARA, Choice(data=f"{refused.state.token}|send"), env())
    assert [type(e) for e in sent.effects] == [OpenCase, Schedule, Schedule] and sent.effects[0].case_kind == "consult"


async def test_each_request_of_the_chain_has_its_own_consent_row(story_db, catalogs) -> None:
    await play("handover_decline_chain_en.txt", story_db, catalogs)
    assert rows(story_db, "SELECT wording_version, language FROM consents ORDER BY id") == [
        ("2026-11", "tr"),
        ("2026-11", "tr"),
    ]
    assert rows(story_db, "SELECT count(*) FROM cases WHERE kind = 'handover'") == [(2,)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """This module's tests run on SQLite and on PostgreSQL (tests/conftest.py)."""
    return str(request.param)
