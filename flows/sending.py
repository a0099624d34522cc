"""Sending a request: everything it leads to, in one transition.

Theory of operation: the volunteer presses "Send the request". The flow returns the effects
that store it (for a new handover: the parent's consent, naming this person and this request;
the parent's details and attachment; then the case) and, in the same transition, what opening
the case leads to: the request as the member receives it, with the buttons the case table gives
them, and the two timers that follow it up (a reminder after `Env.reminder_hours` working hours,
an escalation after twice that; working hours in `Env.timezone`, `Env.holidays` skipped). The
runner stores effects and messages and calls nothing back. The member's message needs the saved
question's text, which the state does not hold: `question_needed` says which question the runner
loads into `Env.question` for this step.
"""

from __future__ import annotations

from flows import cases
from flows.case_view import AskedQuestion, Case
from flows.model import AddAttachment, Effect, Env, Message, OpenCase, RecordConsent, SaveParent, User
from flows.request import CONSENT_VERSION, contact_of
from flows.state import Conversation, Step
from flows.terms import CaseKind, CaseStatus
from flows.text import Text, ltr, t


def question_needed(state: Conversation) -> str | None:
    """The code of the saved question whose text the open step needs (its last step: sending)."""
    if state.step is Step.SEND and state.saved is not None:
        return state.saved.code
    return None


def send(state: Conversation, user: User, env: Env) -> tuple[list[Message], list[Effect]]:
    """The request to the member and the effects of sending: consent, the parent's details and the
    attachment (for a new handover), the case itself, and its timers (flows.cases.opened)."""
    request, saved = state.request, state.saved
    assert request is not None and saved is not None
    contact, team = contact_of(state, env)
    assert contact is not None and team is not None
    org_id = user.org_id or ""
    effects: list[Effect] = []
    if request.kind is CaseKind.HANDOVER:
        # Every handover records the consent the parent gave, naming this person and this request.
        effects.append(
            RecordConsent(
                question_code=saved.code,
                org_id=org_id,
                volunteer_id=user.id,
                contact_id=contact.id,
                case_id=env.new_case_id,
                wording_version=CONSENT_VERSION,
                language=request.consent_language or user.language,
                at=env.now,
            )
        )
    if request.kind is CaseKind.HANDOVER and not request.has_details:
        effects.append(
            SaveParent(
                question_code=saved.code, org_id=org_id, first_name=request.first_name or "", phone=request.phone or "",
                call_time=request.call_time,
            )
        )
        if request.attachment_file:
            effects.append(
                AddAttachment(
                    question_code=saved.code, org_id=org_id, media=request.attachment_media or "document",
                    file_id=request.attachment_file, at=env.now,
                )
            )
    opening = OpenCase(
        case_id=env.new_case_id,
        case_kind=request.kind,
        question_code=saved.code,
        org_id=org_id,
        volunteer_id=user.id,
        contact_id=contact.id,
        member_id=env.reachable.get(contact.id),
        team_id=team.id,
        way=request.way,
        previous_id=request.previous_id,
        at=env.now,
        short_text=request.short_text if not request.short_skipped else None,
        short_language=request.short_language if request.short_text and not request.short_skipped else None,
    )
    effects.append(opening)
    told, timers = cases.opened(
        opened_case(opening, user, env), env.now, env.timezone, env.holidays, env.reminder_hours
    )
    return told, [*effects, *timers]


def opened_case(opening: OpenCase, user: User, env: Env) -> Case:
    """The case as it is once stored (flows.case_view.Case, as the runner would read it back): new,
    version 1, with the names the directory gives it and the question as `Env.question` holds it."""
    directory = env.directory
    contact = directory.contact(opening.contact_id)
    team = directory.team(opening.team_id)
    asked = env.question or AskedQuestion(code=opening.question_code or "")
    wijk = directory.wijk(asked.wijk or "")
    return Case(
        id=opening.case_id,
        kind=opening.case_kind,
        status=CaseStatus.REQUESTED,
        version=1,
        question_code=opening.question_code,
        theme=asked.theme or "other",
        age_group=asked.age_group,
        parent_language=asked.parent_language,
        wijk=asked.wijk,
        wijk_name=wijk.name if wijk else None,
        urgent=asked.urgent,
        question_text=asked.text,
        volunteer_id=user.id,
        volunteer_name=user.name,
        org_id=opening.org_id,
        org_name=directory.organisation_name(opening.org_id, opening.org_id),
        contact_id=opening.contact_id,
        contact_name=contact.name if contact else opening.contact_id,
        contact_phone=contact.phone if contact else "",
        member_id=opening.member_id,
        team_id=opening.team_id,
        team_name=team.name if team else opening.team_id,
        team_address=team.address if team else "",
        way=opening.way,
        opened_at=opening.at,
        question_language=asked.text_language,
        short_text=opening.short_text,
        short_language=opening.short_language,
        # The consent recorded with it names its contact (a handover); a consult has none.
        consent_contact=opening.contact_id if opening.case_kind is CaseKind.HANDOVER else None,
    )


def sent_text(state: Conversation, env: Env) -> Text:
    contact, _ = contact_of(state, env)
    return t(
        "Sent to {name} as {case}. You will hear here when they answer; /cases shows where your requests stand.",
        name=contact.name if contact else "",
        case=ltr(env.new_case_id),
    )
