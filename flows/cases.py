"""Warm handovers and consults once they are sent: what each step does, and who hears what.
Who may take which step, and the buttons each side is shown, is one table: flows/case_rules.py.

Theory of operation: a case (a handover or a consult) has a status and a version. Its buttons
carry `c:<case>:<action>:<version>`; a press whose version is not the case's current one is
answered "expired" and changes nothing, so two people (or two old messages) cannot both move a
case. The member accepts, declines (with a reason) or asks a question; later marks contact
made and closed. The volunteer hears each step as a status only, and may withdraw the parent's
consent, which erases the parent's data at once. Timers remind the member and then escalate to
the team's coordinator; they never delay an urgent question, which reaches that coordinator at
once when it is saved.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flows import codec, intake
from flows.case_view import Case as Case
from flows.case_view import Parent as Parent  # bot/ builds cases.Parent
from flows.case_rules import (
    LEFT,
    MEMBER,
    MEMBER_SEES_PARENT,
    VOLUNTEER,
    WAITING,
    button,
    buttons_for,
    consent_names_member,
    member_sees_parent,
)
from flows.model import (
    Attachment,
    Button,
    ChangeCase,
    Effect,
    EraseParent,
    Message,
    Notice,
    Schedule,
    ToCoordinators,
    ToUser,
    Unschedule,
)
from flows.terms import CaseAction, CaseKind, CaseStatus
from flows.text import Text, lang, layout, ltr, plain, t, tn, tp
from flows.workhours import add_working_hours

Moved = tuple[list[Message], list[Effect]]  # what a step of a case says, and what it changes
OPEN = (CaseStatus.REQUESTED, CaseStatus.ACCEPTED, CaseStatus.CONTACT_MADE)


WAYS: dict[str, Text] = {
    "parent_calls": tp("way", "The parent calls the professional"),
    "call_together": tp("way", "The volunteer and the parent call together"),
    "meet_org": tp("way", "A meeting of the three at the organisation"),
    "meet_team": tp("way", "A meeting of the three at the wijkteam's office"),
}

DECLINE_REASONS: dict[str, Text] = {
    "not_our_wijk": tp("decline", "Not our wijk"),
    "no_capacity": tp("decline", "No capacity now"),
    "other_service": tp("decline", "Another service fits better"),
    "other": tp("decline", "Another reason (type it)"),
}

STATUS: dict[CaseStatus, Text] = {
    CaseStatus.REQUESTED: tp("status", "waiting for an answer"),
    CaseStatus.ACCEPTED: tp("status", "accepted"),
    CaseStatus.DECLINED: tp("status", "declined"),
    CaseStatus.CONTACT_MADE: tp("status", "contact made"),
    CaseStatus.CLOSED: tp("status", "closed"),
    CaseStatus.WITHDRAWN: tp("status", "consent withdrawn"),
    CaseStatus.MEMBER_LEFT: tp("status", "back with the wijkteam's coordinator"),
    CaseStatus.EXPIRED: tp("status", "closed: no news for too long"),
}


def parse_button(data: str) -> tuple[str, str, int] | None:
    """(case id, action, version) from a case button's data (flows/codec.py), or None if it is not
    one (then it is answered as any button that is not current: expired)."""
    press = codec.decode(data)
    if not isinstance(press, codec.CasePress):
        return None
    return press.case_id, press.action, press.version


def _about(case: Case) -> tuple[Text, ...]:
    """The question in a few lines, without the parent's identity."""
    lines = [
        t("{field}: {value}", field=t("Theme"), value=intake.THEMES.get(case.theme, intake.THEMES["other"])),
        t("{field}: {value}", field=t("Age of the child"), value=intake.AGE_GROUPS.get(case.age_group, plain("–"))),
    ]
    if case.parent_language:
        lines.append(t("{field}: {value}", field=t("Parent's language"), value=intake.language_label(case.parent_language) or plain("–")))
    if case.wijk_name:
        lines.append(t("{field}: {value}", field=t("Wijk"), value=case.wijk_name))
    if case.way:
        lines.append(t("{field}: {value}", field=t("Way"), value=WAYS[case.way]))
    return tuple(lines)


def quoted(text: str, language: str | None, kind: str = "message") -> Text:
    """Relayed free text, with the language it is written in (Wijkbrug translates no free text:
    the reader sees which language it is, docs/handover.md). `language` None: not known (older rows)."""
    if language is None:
        return layout("“{text}”", text=text)
    if kind == "question":
        return t("Question (in {language}): “{text}”", language=lang(language), text=text)
    if kind == "short":
        return t("Short version (in {language}): “{text}”", language=lang(language), text=text)
    return t("Message (in {language}): “{text}”", language=lang(language), text=text)


def _question(case: Case) -> Text | tuple[Text, ...]:
    question = quoted(case.question_text or "–", case.question_language if case.question_text else None, "question")
    if case.short_text:
        return (quoted(case.short_text, case.short_language, "short"), question)
    return question


def to_member(case: Case) -> Message:
    """The request as the member receives it, with the buttons the table gives them now."""
    assert case.member_id is not None
    who = t("From {volunteer} of {organisation}.", volunteer=case.volunteer_name, organisation=case.org_name)
    keyboard = buttons_for(case, MEMBER)
    if case.kind is CaseKind.CONSULT:
        head = t("💬 Request for advice {case}: a situation, without naming the family.", case=ltr(case.id))
        return Message(
            to=ToUser(user_id=case.member_id), parts=(head, who, _about(case), _question(case)), buttons=keyboard,
            notice=_notice(case, "consult"),
        )
    head = t("🤝 Request for a warm handover {case}", case=ltr(case.id))
    parts: list[Text | tuple[Text, ...]] = [head, who, _about(case), _question(case)]
    if not consent_names_member(case) and case.status in (WAITING, *MEMBER_SEES_PARENT):
        parts.append(t("No consent of the parent names you for this request, so their details are not passed on to you."))
    elif case.status == WAITING:
        parts.append(t("The parent agreed that their first name and phone number are passed on to you once you accept."))
    elif member_sees_parent(case):
        parts.append(_parent_details(case))
    if case.status == WAITING and case.urgent:
        parts.insert(1, t("⚠️ The volunteer reported that a child may be in danger."))
    return Message(
        to=ToUser(user_id=case.member_id), parts=tuple(parts), buttons=keyboard, notice=_notice(case, "handover")
    )


def _notice(case: Case, kind: str) -> Notice:
    """What an e-mail notice may say of a message about `case`: no personal data."""
    return Notice(kind=kind, code=case.id, org=case.org_name)


def _parent_details(case: Case) -> Text | tuple[Text, ...]:
    if case.parent is None:
        return t("The parent's details have been erased.")
    lines = [
        t("The parent: {name}, phone {phone}.", name=case.parent.first_name, phone=ltr(case.parent.phone)),
    ]
    if case.parent.call_time:
        lines.append(t("Best time to call: {when}", when=case.parent.call_time))
    return tuple(lines)


def _to_volunteer(case: Case, *parts: Text | tuple[Text, ...], buttons: tuple[tuple[Button, ...], ...] = ()) -> list[Message]:
    if case.volunteer_id is None:
        return []
    return [Message(to=ToUser(user_id=case.volunteer_id), parts=parts, buttons=buttons)]


def what_next(case: Case) -> Text:
    """What the volunteer tells the parent after an acceptance, by the way chosen."""
    if case.way == "parent_calls":
        return t("Please ask the parent to call {name} on {phone}.", name=case.contact_name, phone=ltr(case.contact_phone or "–"))
    if case.way == "call_together":
        return t("Call {name} together with the parent, on {phone}.", name=case.contact_name, phone=ltr(case.contact_phone or "–"))
    if case.way == "meet_team":
        return t("{name} will contact you to plan a meeting at the wijkteam's office ({address}).", name=case.contact_name, address=case.team_address or "–")
    return t("{name} will contact you to plan a meeting at your organisation.", name=case.contact_name)


def opened(case: Case, now: datetime, timezone: str, holidays: frozenset[date], reminder_hours: float) -> Moved:
    """A new case: the request to the member, and the timers that follow it up."""
    remind = add_working_hours(now, reminder_hours, timezone, holidays)
    escalate = add_working_hours(now, 2 * reminder_hours, timezone, holidays)
    effects: list[Effect] = [Schedule(timer="remind", case_id=case.id, due_at=remind), Schedule(timer="escalate", case_id=case.id, due_at=escalate)]
    return [to_member(case)], effects


def _change(case: Case, status: CaseStatus, now: datetime, **extra: Any) -> ChangeCase:
    return ChangeCase(case_id=case.id, version=case.version, status=status, at=now, **extra)


def moved(case: Case, status: CaseStatus) -> Case:
    return case.model_copy(update={"status": status, "version": case.version + 1})


def accept(case: Case, now: datetime) -> Moved:
    after = moved(case, CaseStatus.ACCEPTED)
    messages = [to_member(after)]
    if case.attachment_file and case.parent is not None and member_sees_parent(after):
        messages.append(
            Message(
                to=ToUser(user_id=case.member_id or 0),
                parts=(t("The document the volunteer added to {case}.", case=ltr(case.id)),),
                attachment=_attachment(case),
            )
        )
    messages += _to_volunteer(
        case,
        t("✅ {name} ({team}) accepted your request {case}.", name=case.contact_name, team=case.team_name, case=ltr(case.id)),
        what_next(after),
    )
    return messages, [_change(case, CaseStatus.ACCEPTED, now), Unschedule(case_id=case.id)]


def _attachment(case: Case) -> Attachment:
    return Attachment(media=case.attachment_media or "document", file_id=case.attachment_file or "")


def decline(case: Case, now: datetime, reason: str, text: str | None) -> Moved:
    shown: Text = DECLINE_REASONS[reason] if reason != "other" else plain(text or "–")
    after = moved(case, CaseStatus.DECLINED)
    messages = _to_volunteer(
        case,
        t("{name} ({team}) cannot take your request {case}. Reason: {reason}", name=case.contact_name, team=case.team_name, case=ltr(case.id), reason=shown),
        t("You can ask someone else; the parent will then be asked for consent again, for that person."),
        buttons=buttons_for(after, VOLUNTEER),
    )
    messages.append(Message(to=ToUser(user_id=case.member_id or 0), parts=(t("You declined {case}. The volunteer has been told.", case=ltr(case.id)),)))
    effects: list[Effect] = [_change(case, CaseStatus.DECLINED, now, reason=reason, reason_text=text if reason == "other" else None), Unschedule(case_id=case.id)]
    return messages, effects


def progress(case: Case, now: datetime, status: CaseStatus) -> Moved:
    """Contact made, or closed: the volunteer hears the status, never the content."""
    after = moved(case, status)
    if status is CaseStatus.CONTACT_MADE:
        news = t("📞 {name} has made contact with the family ({case}).", name=case.contact_name, case=ltr(case.id))
    elif case.kind is CaseKind.CONSULT:
        news = t("{name} closed the conversation {case}.", name=case.contact_name, case=ltr(case.id))
    else:
        news = t("✔️ {name} has closed {case}. Thank you for the warm handover!", name=case.contact_name, case=ltr(case.id))
    mine = Message(to=ToUser(user_id=case.member_id or 0), parts=(t("Noted: {case} is now {status}.", case=ltr(case.id), status=STATUS[status]),), buttons=buttons_for(after, MEMBER))
    effects: list[Effect] = [_change(case, status, now)]
    if status is CaseStatus.CLOSED:
        effects.append(Unschedule(case_id=case.id))
    return [mine, *_to_volunteer(case, news)], effects


def withdraw(case: Case, now: datetime) -> Moved:
    messages = [
        Message(
            to=ToUser(user_id=case.member_id or 0),
            parts=(
                t("The parent has withdrawn consent for {case}. Their details have been erased from Wijkbrug and the request is closed.", case=ltr(case.id)),
                t("Please also delete any notes with their details that you made outside Wijkbrug."),
            ),
            notice=_notice(case, "news"),
        )
    ] if case.member_id else []
    messages += _to_volunteer(case, t("Consent for {case} is withdrawn: the parent's details are erased, and {name} has been told.", case=ltr(case.id), name=case.contact_name))
    effects: list[Effect] = [_change(case, CaseStatus.WITHDRAWN, now), Unschedule(case_id=case.id)]
    if case.question_code:
        effects.append(EraseParent(question_code=case.question_code, org_id=case.org_id, at=now))
    return messages, effects


def expire(case: Case, days: int, now: datetime) -> Moved:
    """A case that had no news for the retention period (never answered, or never closed) is
    closed as expired, so that retention erases the parent's details it holds. The volunteer is
    told once; the member is not (a request they never answered, or one they left open)."""
    told = _to_volunteer(
        case,
        tn(
            "Your request {case} to {name} has had no news for {n} day, so it is now closed. The parent's details it held are erased.",
            "Your request {case} to {name} has had no news for {n} days, so it is now closed. The parent's details it held are erased.",
            days,
            case=ltr(case.id),
            name=case.contact_name,
        ),
    )
    return told, [_change(case, CaseStatus.EXPIRED, now), Unschedule(case_id=case.id)]


def relay(case: Case, from_member: bool, text: str, now: datetime, language: str | None = None) -> Moved:
    """A question or an answer, passed to the other side in the same case (a member's first
    answer to a consult is counted as its answer). `language`: the writer's, which the text is
    taken to be in (it is shown with it, untranslated)."""
    effects: list[Effect] = []
    if from_member and case.kind is CaseKind.CONSULT:
        effects.append(_change(case, case.status, now, answered=True))
    return _relay(case, from_member, text, language), effects


def _relay(case: Case, from_member: bool, text: str, language: str | None) -> list[Message]:
    said = quoted(text, language)
    if from_member:
        head = t("💬 {name} ({team}) about {case}:", name=case.contact_name, team=case.team_name, case=ltr(case.id))
        return _to_volunteer(case, head, said, buttons=((button(case, CaseAction.NOTE, t("Answer")),),))
    head = t("💬 {volunteer} ({organisation}) about {case}:", volunteer=case.volunteer_name, organisation=case.org_name, case=ltr(case.id))
    answer = ((button(case, CaseAction.NOTE, t("Answer")),),)
    return [
        Message(
            to=ToUser(user_id=case.member_id or 0), parts=(head, said), buttons=answer, notice=_notice(case, "message")
        )
    ]


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
        again = to_member(case)
        reminder = t("⏰ Reminder: {volunteer} is waiting for your answer to {case}.", volunteer=case.volunteer_name, case=ltr(case.id))
        return [again.model_copy(update={"parts": (reminder, *again.parts), "notice": _notice(case, "reminder")})], []
    return escalate(case, tn("No answer after {n} working hour.", "No answer after {n} working hours.", int(2 * hours)), now)


def escalate(case: Case, why: Text, now: datetime) -> Moved:
    alert = Message(
        to=ToCoordinators(team_id=case.team_id),
        parts=(
            t("⚠️ Request {case} to {name} ({team}) needs follow-up.", case=ltr(case.id), name=case.contact_name, team=case.team_name),
            why,
            _about(case),
            t("From {volunteer} of {organisation}.", volunteer=case.volunteer_name, organisation=case.org_name),
        ),
        about=case.volunteer_id,
        notice=_notice(case, "escalation"),
    )
    told = _to_volunteer(case, t("{name} has not answered {case} yet. The wijkteam's coordinator is following it up.", name=case.contact_name, case=ltr(case.id)))
    return [alert, *told], [_change(case, case.status, now, escalated=True)]


def member_left(case: Case, now: datetime) -> Moved:
    """What happens to a case when its member leaves Wijkbrug (access revoked, or erased).

    Waiting, accepted or in progress, the case cannot go on with them: it goes back to the team's
    coordinator (alerted with what the request is about, not the parent's details: the parent
    agreed to pass those to this member only), its timers stop, and the volunteer is told plainly
    and offered to ask someone else. Nothing goes to the member. A case that is over stays as it is."""
    if case.status not in OPEN:
        return [], []
    alert = Message(
        to=ToCoordinators(team_id=case.team_id),
        parts=(
            t(
                "⚠️ Request {case} to {name} ({team}) needs follow-up.",
                case=ltr(case.id),
                name=case.contact_name,
                team=case.team_name,
            ),
            t("{name} no longer uses Wijkbrug.", name=case.contact_name),
            t("{field}: {value}", field=t("Status"), value=STATUS[case.status]),
            _about(case),
            t("From {volunteer} of {organisation}.", volunteer=case.volunteer_name, organisation=case.org_name),
            t("The volunteer has been told and can ask someone else in the team."),
        ),
        notice=_notice(case, "escalation"),
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
    after = moved(case, LEFT)
    if case.question_code:
        offer = ((button(after, CaseAction.NEXT, t("Ask someone else")),),)
        told = _to_volunteer(case, news, t("You can ask someone else in the wijkteam."), buttons=offer)
    else:
        told = _to_volunteer(case, news)
    return [alert, *told], [_change(case, LEFT, now), Unschedule(case_id=case.id)]


def summary_line(case: Case) -> Text:
    """One line per case for /cases and /inbox."""
    return layout(
        "{case} · {theme} · {name} · {status}",
        case=ltr(case.id),
        theme=intake.THEMES.get(case.theme, intake.THEMES["other"]),
        name=case.contact_name,
        status=STATUS.get(case.status, plain(case.status)),
    )
