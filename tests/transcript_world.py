"""What the transcript harness (tests/transcript.py) keeps between steps: a small in-memory stand-in
for what the bot stores, built from the flows' effects only.

Every effect a flow returns goes through `World.apply`, which keeps what later steps consult (the
people's languages, who is away, the questions, the parent's details, consents, cases and timers)
and returns the one `= …` line the transcript shows for it. `World.case` builds the
`flows.cases.Case` a case's buttons and timers are judged on, from those effects, the directory
and the people, as the runner builds it from the database. Nothing here decides anything the flows
decide; a case changed from a version it no longer has is a bug in the flows, and fails the test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from flows.cases import OPEN, Case, Parent
from flows.directory import Directory
from flows.model import (
    AddAttachment,
    ChangeCase,
    EraseParent,
    LogQuestion,
    OpenCase,
    RecordConsent,
    SaveParent,
    Schedule,
    SetAway,
    SetLanguage,
    SetQuestionWijk,
    Unschedule,
    User,
)
from flows.state import Saved

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def value(x: Any) -> Any:
    """An enum-like value as the string it stands for (flows may move to StrEnums)."""
    return x.value if isinstance(x, Enum) else x


def local(moment: datetime) -> str:
    """A moment as a reader in Amsterdam says it: Tue 2026-12-01 15:30."""
    here = moment.astimezone(AMSTERDAM)
    return f"{WEEKDAYS[here.weekday()]} {here:%Y-%m-%d %H:%M}"


@dataclass
class CaseRow:
    opened: OpenCase
    status: str = "requested"
    version: int = 1  # as the database numbers a new case
    escalated: bool = False


@dataclass
class World:
    directory: Directory
    people: dict[int, User]  # user id -> the person (their language changes with SetLanguage)
    questions: dict[str, LogQuestion] = field(default_factory=dict)
    parents: dict[str, Parent | None] = field(default_factory=dict)  # question code -> details (None: erased)
    attachments: dict[str, AddAttachment] = field(default_factory=dict)  # question code -> the newest
    consents: list[RecordConsent] = field(default_factory=list)  # given and not withdrawn
    cases: dict[str, CaseRow] = field(default_factory=dict)
    timers: list[Schedule] = field(default_factory=list)

    def name(self, user_id: int | None) -> str:
        person = self.people.get(user_id) if user_id is not None else None
        return person.name if person else f"user {user_id}"

    def _contact(self, contact_id: str) -> str:
        contact = self.directory.contact(contact_id)
        return f"{contact.name} ({contact_id})" if contact else contact_id

    # ---- effects ------------------------------------------------------------------------------

    def apply(self, effect: Any) -> str:
        """Keep what `effect` changes; the line that says what was stored."""
        keep = LINES.get(type(effect))
        assert keep is not None, f"the transcript harness does not know the effect {type(effect).__name__}"
        return keep(self, effect)

    def _language(self, effect: SetLanguage) -> str:
        self.people[effect.user_id] = self.people[effect.user_id].model_copy(update={"language": effect.language})
        return f"= language: {effect.language}"

    def _question(self, effect: LogQuestion) -> str:
        self.questions[effect.code] = effect
        return (
            f"= saved {effect.code}: urgent={'yes' if effect.urgent else 'no'} theme={value(effect.theme)} "
            f"age={value(effect.age_group)} parent_language={effect.parent_language} pc4={effect.pc4} "
            f"wijk={effect.wijk} text={len(effect.text)} characters"
        )

    def _wijk(self, effect: SetQuestionWijk) -> str:
        if effect.code in self.questions:
            self.questions[effect.code] = self.questions[effect.code].model_copy(update={"wijk": effect.wijk})
        return f"= wijk of {effect.code}: {effect.wijk}"

    def _away(self, effect: SetAway) -> str:
        d = self.directory
        contacts = [
            c.model_copy(update={"away_until": effect.until}) if c.id == effect.contact_id else c for c in d.contacts
        ]
        self.directory = Directory.of(d.organisations, d.wijken, d.teams, contacts, d.services)
        if effect.until is None:
            return f"= {effect.contact_id} back (not away)"
        return f"= {effect.contact_id} away until {effect.until}"

    def _consent(self, effect: RecordConsent) -> str:
        self.consents.append(effect)
        return (
            f"= consent for {effect.case_id} recorded: the parent of {effect.question_code} agrees that their "
            f"details go to {self._contact(effect.contact_id)}; wording {effect.wording_version} shown in "
            f"{effect.language}, confirmed by {self.name(effect.volunteer_id)}"
        )

    def _parent(self, effect: SaveParent) -> str:
        self.parents[effect.question_code] = Parent(
            first_name=effect.first_name, phone=effect.phone, call_time=effect.call_time
        )
        when = f"“{effect.call_time}”" if effect.call_time else "no preference"
        return (
            f"= parent of {effect.question_code} stored sealed: first name “{effect.first_name}”, "
            f"phone {effect.phone}, best time to call {when}"
        )

    def _attachment(self, effect: AddAttachment) -> str:
        self.attachments[effect.question_code] = effect
        return f"= attachment of {effect.question_code} stored sealed: {effect.media} {effect.file_id}"

    def _erase(self, effect: EraseParent) -> str:
        self.parents[effect.question_code] = None
        self.attachments.pop(effect.question_code, None)
        self.consents = [c for c in self.consents if c.question_code != effect.question_code]
        return (
            f"= parent of {effect.question_code} erased: first name, phone, best time to call and attachment; "
            "consent withdrawn"
        )

    def _schedule(self, effect: Schedule) -> str:
        self.timers.append(effect)
        return f"= {value(effect.timer)} timer for {effect.case_id} set: {local(effect.due_at)} (Amsterdam)"

    def _unschedule(self, effect: Unschedule) -> str:
        self.timers = [timer for timer in self.timers if timer.case_id != effect.case_id]
        return f"= timers of {effect.case_id} cancelled"

    def _open(self, effect: OpenCase) -> str:
        assert effect.case_id not in self.cases, f"case {effect.case_id} opened twice"
        self.cases[effect.case_id] = CaseRow(effect)
        about = f" of {effect.question_code}" if effect.question_code else ""
        line = (
            f"= case {effect.case_id} opened: {value(effect.case_kind)}{about} from {self.name(effect.volunteer_id)} "
            f"({effect.org_id}) to {self._contact(effect.contact_id)} of {effect.team_id}"
        )
        if effect.member_id is None:
            line += "; reaches nobody on Wijkbrug"
        else:
            line += f"; reaches {self.name(effect.member_id)}"
        if effect.way:
            line += f"; way={value(effect.way)}"
        if effect.previous_id:
            line += f"; follows {effect.previous_id}"
        if effect.short_text:
            line += f"; short version in {effect.short_language} ({len(effect.short_text)} characters, sealed)"
        return line

    def _change(self, effect: ChangeCase) -> str:
        row = self.cases.get(effect.case_id)
        assert row is not None, f"change of a case never opened: {effect.case_id}"
        assert row.version == effect.version, (
            f"{effect.case_id} changed from version {effect.version}, it is at {row.version}"
        )
        status = value(effect.status)
        before = row.status
        if status != before:
            row.status, row.version = status, row.version + 1
        row.escalated = row.escalated or effect.escalated
        line = f"= case {effect.case_id}: " + (f"{before} → {status}" if status != before else f"still {status}")
        if effect.reason:
            line += f"; reason={value(effect.reason)}"
        if effect.reason_text:
            line += f"; reason typed ({len(effect.reason_text)} characters, sealed)"
        if effect.escalated:
            line += "; escalated to the wijkteam's coordinator"
        if effect.answered:
            line += "; first answer given"
        return line

    # ---- what the flows consult ---------------------------------------------------------------

    def case(self, case_id: str | None) -> Case | None:
        """The case as the flows see it, with the names the directory and the people give it."""
        row = self.cases.get(case_id or "")
        if row is None:
            return None
        c = row.opened
        q = self.questions.get(c.question_code or "")
        d = self.directory
        contact, team = d.contact(c.contact_id), d.team(c.team_id)
        wijk = d.wijk(q.wijk or "") if q else None
        attachment = self.attachments.get(c.question_code or "")
        consent = next((k.contact_id for k in reversed(self.consents) if k.case_id == c.case_id), None)
        return Case(
            id=c.case_id,
            kind=value(c.case_kind),
            status=row.status,
            version=row.version,
            question_code=c.question_code,
            theme=value(q.theme) if q else "other",
            age_group=value(q.age_group) if q else "",
            parent_language=q.parent_language if q else "",
            wijk=q.wijk if q else None,
            wijk_name=wijk.name if wijk else None,
            urgent=q.urgent if q else False,
            question_text=q.text if q else None,
            volunteer_id=c.volunteer_id,
            volunteer_name=self.people[c.volunteer_id].name if c.volunteer_id in self.people else "–",
            org_id=c.org_id,
            org_name=d.organisation_name(c.org_id, c.org_id),
            contact_id=c.contact_id,
            contact_name=contact.name if contact else c.contact_id,
            contact_phone=contact.phone if contact else "",
            member_id=c.member_id,
            team_id=c.team_id,
            team_name=team.name if team else c.team_id,
            team_address=team.address if team else "",
            way=value(c.way),
            escalated=row.escalated,
            parent=self.parents.get(c.question_code or ""),
            attachment_media=attachment.media if attachment else None,
            attachment_file=attachment.file_id if attachment else None,
            opened_at=c.at,
            question_language=q.text_language if q else None,
            short_text=c.short_text,
            short_language=c.short_language,
            consent_contact=consent,
        )

    def cases_of(self, user_id: int) -> tuple[Case, ...]:
        """A member's or a volunteer's cases, newest first (/inbox, /cases, /away)."""
        mine = [i for i, row in self.cases.items() if user_id in (row.opened.volunteer_id, row.opened.member_id)]
        return tuple(case for i in reversed(mine) if (case := self.case(i)) is not None)

    def open_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.cases.values():
            if row.status in OPEN:
                counts[row.opened.contact_id] = counts.get(row.opened.contact_id, 0) + 1
        return counts

    def questions_without_request(self, user_id: int) -> tuple[Saved, ...]:
        """A volunteer's saved questions nobody was asked about yet (/cases)."""
        asked = {row.opened.question_code for row in self.cases.values()}
        return tuple(
            Saved(
                code=q.code,
                theme=value(q.theme),
                parent_language=q.parent_language,
                urgent=q.urgent,
                wijk=q.wijk,
                text_language=q.text_language,
            )
            for q in self.questions.values()
            if q.volunteer_id == user_id and q.code not in asked
        )

    def due(self, now: datetime) -> list[Schedule]:
        """The timers due at `now`, soonest first; they are taken (each fires once)."""
        fired = sorted((timer for timer in self.timers if timer.due_at <= now), key=lambda timer: timer.due_at)
        self.timers = [timer for timer in self.timers if timer.due_at > now]
        return fired


LINES: dict[type, Callable[[World, Any], str]] = {
    SetLanguage: World._language,
    LogQuestion: World._question,
    SetQuestionWijk: World._wijk,
    SetAway: World._away,
    RecordConsent: World._consent,
    SaveParent: World._parent,
    AddAttachment: World._attachment,
    OpenCase: World._open,
    ChangeCase: World._change,
    EraseParent: World._erase,
    Schedule: World._schedule,
    Unschedule: World._unschedule,
}
