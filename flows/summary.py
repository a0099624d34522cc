"""Weekly summaries for coordinators: what volunteers brought in, where handovers stall.

Theory of operation: the runner loads the facts of one ISO week (Monday 00:00 to Monday 00:00 in
the bot's time zone) and of the week before, for one coordinator's scope only (an organisation,
or a wijkteam); `build` counts them into a `Report`; `report_parts` writes it out. Small numbers
can identify a family: every cell of a breakdown between 1 and the threshold is shown as "<5";
totals are exact. No names, phone numbers or question text are ever part of a report.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from flows import intake
from flows.directory import Directory
from flows.text import Day, Text, layout, ltr, plain, t, tn
from flows.workhours import add_working_hours

THRESHOLD = 5


class Week(BaseModel):
    model_config = ConfigDict(frozen=True)
    year: int
    number: int

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    def first_day(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    def bounds(self, timezone: str) -> tuple[datetime, datetime]:
        """Monday 00:00 to the next Monday 00:00, local time (so 167 or 169 hours around DST)."""
        zone = ZoneInfo(timezone)
        start = datetime.combine(self.first_day(), time(0), zone)
        end = datetime.combine(self.first_day() + timedelta(days=7), time(0), zone)
        return start, end

    def previous(self) -> Week:
        return week_of(self.first_day() - timedelta(days=7))


def week_of(day: date) -> Week:
    year, number, _ = day.isocalendar()
    return Week(year=year, number=number)


def parse_week(args: str, today: date) -> Week | None:
    """`` (this week), `last`, or `2026-W47`; None if it is none of those or lies ahead."""
    text = args.strip().lower()
    if not text:
        return week_of(today)
    if text in ("last", "vorige", "previous"):
        return week_of(today - timedelta(days=7))
    found = re.fullmatch(r"(\d{4})-?w(\d{1,2})", text)
    if not found:
        return None
    try:
        week = Week(year=int(found.group(1)), number=int(found.group(2)))
        week.first_day()
    except ValueError:
        return None
    return week if week.first_day() <= today else None


class QuestionFact(BaseModel):
    model_config = ConfigDict(frozen=True)
    code: str
    created_at: datetime
    theme: str
    wijk: str | None
    parent_language: str
    age_group: str
    urgent: bool
    volunteer_id: int | None


class EventFact(BaseModel):
    model_config = ConfigDict(frozen=True)
    case_id: str
    kind: str  # handover, consult
    status: str
    at: datetime
    opened_at: datetime


class OpenCaseFact(BaseModel):
    model_config = ConfigDict(frozen=True)
    case_id: str
    team_id: str
    opened_at: datetime


class Figures(BaseModel):
    questions: int = 0
    urgent: int = 0
    by_theme: dict[str, int] = {}
    by_wijk: dict[str, int] = {}
    by_language: dict[str, int] = {}
    by_age: dict[str, int] = {}
    wijk_theme: dict[str, int] = {}  # "wijk|theme"
    wijk_language: dict[str, int] = {}
    consults_asked: int = 0
    consults_answered: int = 0
    requested: int = 0
    accepted: int = 0
    declined: int = 0
    contact_made: int = 0
    closed: int = 0
    withdrawn: int = 0
    median_hours_to_accept: float | None = None
    active_volunteers: int = 0


class Stalled(BaseModel):
    case_id: str
    team_id: str
    days_waiting: int


class Report(BaseModel):
    scope_name: str
    week: Week
    start: date
    end: date  # the last day
    this: Figures
    last: Figures
    stalled: list[Stalled] = []
    threshold: int = THRESHOLD
    partial: bool = False  # the week is not over yet


def figures(questions: list[QuestionFact], events: list[EventFact]) -> Figures:
    def count(values) -> dict[str, int]:
        return dict(Counter(values).most_common())

    handover = [e for e in events if e.kind == "handover"]
    consult = [e for e in events if e.kind == "consult"]
    waits = [(e.at - e.opened_at).total_seconds() / 3600 for e in handover if e.status == "accepted"]
    by_status = Counter(e.status for e in handover)
    return Figures(
        questions=len(questions),
        urgent=sum(q.urgent for q in questions),
        by_theme=count(q.theme for q in questions),
        by_wijk=count(q.wijk or "?" for q in questions),
        by_language=count(q.parent_language for q in questions),
        by_age=count(q.age_group for q in questions),
        wijk_theme=count(f"{q.wijk or '?'}|{q.theme}" for q in questions),
        wijk_language=count(f"{q.wijk or '?'}|{q.parent_language}" for q in questions),
        consults_asked=sum(e.status == "requested" for e in consult),
        consults_answered=len({e.case_id for e in consult if e.status in ("answered", "closed")}),
        requested=by_status["requested"],
        accepted=by_status["accepted"],
        declined=by_status["declined"],
        contact_made=by_status["contact_made"],
        closed=by_status["closed"],
        withdrawn=by_status["withdrawn"],
        median_hours_to_accept=statistics.median(waits) if waits else None,
        active_volunteers=len({q.volunteer_id for q in questions if q.volunteer_id is not None}),
    )


def stalled(open_cases: list[OpenCaseFact], now: datetime, timezone: str, holidays: frozenset, reminder_hours: float) -> list[Stalled]:
    """Handovers still waiting for an answer past the reminder time."""
    late = [
        Stalled(case_id=c.case_id, team_id=c.team_id, days_waiting=(now - c.opened_at).days)
        for c in open_cases
        if add_working_hours(c.opened_at, reminder_hours, timezone, holidays) <= now
    ]
    return sorted(late, key=lambda s: -s.days_waiting)


def build(
    scope_name: str,
    week: Week,
    this: tuple[list[QuestionFact], list[EventFact]],
    last: tuple[list[QuestionFact], list[EventFact]],
    late: list[Stalled],
    today: date,
    threshold: int = THRESHOLD,
) -> Report:
    first = week.first_day()
    return Report(
        scope_name=scope_name,
        week=week,
        start=first,
        end=first + timedelta(days=6),
        this=figures(*this),
        last=figures(*last),
        stalled=late,
        threshold=threshold,
        partial=today <= first + timedelta(days=6),
    )


# ---- writing it out ---------------------------------------------------------------------------


def cell(n: int, threshold: int) -> int | Text:
    """A breakdown's cell: exact when 0 or at least the threshold, else "<5"."""
    return layout("<{k}", k=threshold) if 0 < n < threshold else n


def _theme(code: str) -> Text:
    return intake.THEMES.get(code, intake.THEMES["other"])


def _wijk(code: str, directory: Directory) -> Text:
    wijk = directory.wijk(code)
    return plain(wijk.name if wijk else "?")


def _age(code: str) -> Text:
    return intake.AGE_GROUPS.get(code, plain(code or "?"))


def _breakdown(title: Text, counts: dict[str, int], name, threshold: int) -> tuple[Text, ...]:
    lines = [title]
    for key, n in counts.items():
        lines.append(layout("  {name}: {n}", name=name(key), n=cell(n, threshold)))
    return tuple(lines)


def report_parts(report: Report, directory: Directory) -> list[Text | tuple[Text, ...]]:
    this, last, k = report.this, report.last, report.threshold
    # TRANSLATORS: the heading of a coordinator's weekly summary; {week} is like "2026-W47".
    head = t("📊 Summary for {scope}, week {week} ({start} – {end})", scope=report.scope_name, week=ltr(report.week.label), start=Day(on=report.start), end=Day(on=report.end))
    parts: list[Text | tuple[Text, ...]] = [head]
    if report.partial:
        parts.append(t("This week so far."))
    parts.append(
        (
            tn("{n} question logged", "{n} questions logged", this.questions),
            tn("{n} of them urgent (a child in danger)", "{n} of them urgent (a child in danger)", this.urgent),
            tn("{n} active volunteer", "{n} active volunteers", this.active_volunteers),
            t("The week before: questions {questions} · urgent {urgent}.", questions=last.questions, urgent=last.urgent),
        )
    )
    if this.questions:
        lang_name = lambda code: intake.language_label(code) or plain("?")
        parts.append(_breakdown(t("By theme:"), this.by_theme, _theme, k))
        parts.append(_breakdown(t("By wijk:"), this.by_wijk, lambda c: _wijk(c, directory), k))
        parts.append(_breakdown(t("By the parent's language:"), this.by_language, lang_name, k))
        parts.append(_breakdown(t("By age of the child:"), this.by_age, _age, k))
        parts.append(
            _breakdown(
                t("By wijk and theme:"),
                this.wijk_theme,
                lambda key: layout("{wijk} · {theme}", wijk=_wijk(key.split("|")[0], directory), theme=_theme(key.split("|")[1])),
                k,
            )
        )
        parts.append(
            _breakdown(
                t("By wijk and the parent's language:"),
                this.wijk_language,
                lambda key: layout("{wijk} · {language}", wijk=_wijk(key.split("|")[0], directory), language=lang_name(key.split("|")[1])),
                k,
            )
        )
    parts.append(
        (
            t("Warm handovers:"),
            t(
                "requested {requested} · accepted {accepted} · declined {declined} · contact made {contact} · closed {closed}",
                requested=this.requested, accepted=this.accepted, declined=this.declined, contact=this.contact_made, closed=this.closed,
            ),
            t("The week before: requested {requested} · accepted {accepted}.", requested=last.requested, accepted=last.accepted),
            t("Advice asked: {asked} · answered: {answered}", asked=this.consults_asked, answered=this.consults_answered),
            _median(this.median_hours_to_accept),
        )
    )
    if report.stalled:
        lines: list[Text] = [t("Waiting for an answer past the reminder time:")]
        for late in report.stalled[:20]:
            team = directory.team(late.team_id)
            days = tn("{n} day", "{n} days", late.days_waiting)
            lines.append(layout("  {case} · {team} · {days}", case=ltr(late.case_id), team=team.name if team else late.team_id, days=days))
        parts.append(tuple(lines))
    else:
        parts.append(t("No handover is waiting past the reminder time."))
    if this.questions and any(0 < n < k for n in this.wijk_theme.values()):
        parts.append(tn("Numbers below {n} are shown as “<{n}”, so that no family can be recognised.", "Numbers below {n} are shown as “<{n}”, so that no family can be recognised.", k))
    return parts


def _median(hours: float | None) -> Text:
    if hours is None:
        return t("Median time to acceptance: no acceptances this week.")
    if hours < 48:
        return tn("Median time to acceptance: {n} hour", "Median time to acceptance: {n} hours", round(hours))
    return tn("Median time to acceptance: {n} day", "Median time to acceptance: {n} days", round(hours / 24))
