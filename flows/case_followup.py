"""Following a case up when its member does not answer, leaves, or it has no news for too long:
a reminder to the member and then an escalation to the team's coordinator (the case's timers,
scheduled by `cases.opened`), the case handed back to that coordinator when its member leaves
Wijkbrug, and its expiry once the retention period has passed without news."""

from __future__ import annotations

from datetime import datetime

from flows import cases
from flows.case_rules import LEFT, WAITING, button
from flows.case_view import Case
from flows.cases import Moved
from flows.model import Message, ToCoordinators, Unschedule
from flows.terms import CaseAction, CaseStatus
from flows.text import Text, ltr, t, tn


def expire(case: Case, days: int, now: datetime) -> Moved:
    """A case that had no news for the retention period (never answered, or never closed) is
    closed as expired, so that retention erases the parent's details it holds. The volunteer is
    told once; the member is not (a request they never answered, or one they left open)."""
    told = cases._to_volunteer(
        case,
        tn(
            "Your request {case} to {name} has had no news for {n} day, "
            "so it is now closed. The parent's details it held are erased.",
            "Your request {case} to {name} has had no news for {n} days, "
            "so it is now closed. The parent's details it held are erased.",
            days,
            case=ltr(case.id),
            name=case.contact_name,
        ),
    )
    return told, [cases._change(case, CaseStatus.EXPIRED, now), Unschedule(case_id=case.id)]


def on_timer(
    case: Case, kind: str, hours: float, now: datetime, member_gone: bool = False
) -> Moved:
    """A reminder to the member, then an escalation to the team's coordinator; nothing once answered.
    A case whose member is gone (erased or revoked before their cases were handed on, in an older
    database) is handed on now instead."""
    if case.status != WAITING:
        return [], []
    if member_gone or case.member_id is None:
        return member_left(case, now)
    if kind == "remind":
        again = cases.to_member(case)
        reminder = t(
            "⏰ Reminder: {volunteer} is waiting for your answer to {case}.",
            volunteer=case.volunteer_name, case=ltr(case.id),
        )
        notice = cases._notice(case, "reminder")
        return [again.model_copy(update={"parts": (reminder, *again.parts), "notice": notice})], []
    return escalate(
        case, tn("No answer after {n} working hour.", "No answer after {n} working hours.", int(2 * hours)), now
    )


def escalate(case: Case, why: Text, now: datetime) -> Moved:
    alert = Message(
        to=ToCoordinators(team_id=case.team_id),
        parts=(
            t(
                "⚠️ Request {case} to {name} ({team}) needs follow-up.",
                case=ltr(case.id), name=case.contact_name, team=case.team_name,
            ),
            why,
            cases._about(case),
            t("From {volunteer} of {organisation}.", volunteer=case.volunteer_name, organisation=case.org_name),
        ),
        about=case.volunteer_id,
        notice=cases._notice(case, "escalation"),
    )
    told = cases._to_volunteer(
        case,
        t(
            "{name} has not answered {case} yet. The wijkteam's coordinator is following it up.",
            name=case.contact_name,
            case=ltr(case.id),
        ),
    )
    return [alert, *told], [cases._change(case, case.status, now, escalated=True)]


def member_left(case: Case, now: datetime) -> Moved:
    """What happens to a case when its member leaves Wijkbrug (access revoked, or erased).

    Waiting, accepted or in progress, the case cannot go on with them: it goes back to the team's
    coordinator (alerted with what the request is about, not the parent's details: the parent
    agreed to pass those to this member only), its timers stop, and the volunteer is told plainly
    and offered to ask someone else. Nothing goes to the member. A case that is over stays as it is."""
    if case.status not in cases.OPEN:
        return [], []
    alert = Message(
        to=ToCoordinators(team_id=case.team_id),
        parts=(
            t(
                "⚠️ Request {case} to {name} ({team}) needs follow-up.",
                case=ltr(case.id), name=case.contact_name, team=case.team_name,
            ),
            t("{name} no longer uses Wijkbrug.", name=case.contact_name),
            t("{field}: {value}", field=t("Status"), value=cases.STATUS[case.status]),
            cases._about(case),
            t("From {volunteer} of {organisation}.", volunteer=case.volunteer_name, organisation=case.org_name),
            t("The volunteer has been told and can ask someone else in the team."),
        ),
        notice=cases._notice(case, "escalation"),
    )
    if case.status == WAITING:
        news = t(
            "{name} is no longer available on Wijkbrug and will not answer your request {case}. "
            "The wijkteam's coordinator has been told.",
            name=case.contact_name,
            case=ltr(case.id),
        )
    else:
        news = t(
            "{name}, who took on your request {case}, is no longer available on Wijkbrug. "
            "The wijkteam's coordinator has been told and will follow it up.",
            name=case.contact_name,
            case=ltr(case.id),
        )
    after = cases.moved(case, LEFT)
    if case.question_code:
        offer = ((button(after, CaseAction.NEXT, t("Ask someone else")),),)
        told = cases._to_volunteer(case, news, t("You can ask someone else in the wijkteam."), buttons=offer)
    else:
        told = cases._to_volunteer(case, news)
    return [alert, *told], [cases._change(case, LEFT, now), Unschedule(case_id=case.id)]
