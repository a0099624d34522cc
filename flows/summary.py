"""Weekly summaries for coordinators: what volunteers brought in, where handovers stall.

Theory of operation: the runner loads the facts of one ISO week (Monday 00:00 to Monday 00:00 in
the bot's time zone) and of the week before, for one coordinator's scope only (an organisation,
or a wijkteam); `build` counts them and hides what could point to a family (`suppress`, applied
once), so a `Report` holds only what may be shown: the text (`report_parts`), the
chart (bot/charts.py) and the Monday push are all made from it. No names, phone numbers or
question text are ever part of a report.

What may be shown is decided in flows/suppression.py, whose docstring states the rule (the same
words as under "Small numbers" in docs/summaries.md and docs/privacy.md).
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from typing import Literal

from pydantic import BaseModel, ConfigDict

from flows import intake
from flows.directory import Directory
from flows.suppression import THRESHOLD, Breakdown, Cell, Counts, Figures, suppress
from flows.text import Day, Text, layout, ltr, plain, t, tn
from flows.workhours import add_working_hours

FIRST_YEAR = 2000  # no week before this one holds data (and 0001-W01's week before does not exist)


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


WeekProblem = Literal["unclear", "no_such_week", "ahead"]


def read_week(args: str, today: date) -> Week | tuple[WeekProblem, str]:
    """`` (this week), `last`, or `2026-W47`; else what is wrong with it: not a week at all
    (`unclear`), a week that does not exist (`no_such_week`: 2026-W54, 2025-W53, 0001-W01, a
    year before FIRST_YEAR) or one that has not begun (`ahead`), with the week as it was written."""
    text = args.strip().lower()
    if not text:
        return week_of(today)
    if text in ("last", "vorige", "previous"):
        return week_of(today - timedelta(days=7))
    found = re.fullmatch(r"(\d{4})-?w(\d{1,2})", text)
    if not found:
        return ("unclear", args.strip())
    label = f"{found.group(1)}-W{int(found.group(2)):02d}"
    try:
        week = Week(year=int(found.group(1)), number=int(found.group(2)))
        week.first_day()
    except ValueError:
        return ("no_such_week", label)
    if week.year < FIRST_YEAR:
        return ("no_such_week", label)
    return week if week.first_day() <= today else ("ahead", label)


def export_options(args: str) -> tuple[str, bool]:
    """`/export last excel`: the week asked for, and whether the file is for a Dutch Excel."""
    words = args.split()
    return " ".join(w for w in words if w.lower() != "excel"), any(w.lower() == "excel" for w in words)


def parse_week(args: str, today: date) -> Week | None:
    """The week `args` names, or None if it names none that may be summarised (see `read_week`)."""
    found = read_week(args, today)
    return found if isinstance(found, Week) else None


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


def figures(questions: list[QuestionFact], events: list[EventFact]) -> Counts:
    def count(values: Iterable[str]) -> dict[str, int]:
        return dict(Counter(values).most_common())

    handover = [e for e in events if e.kind == "handover"]
    consult = [e for e in events if e.kind == "consult"]
    waits = [(e.at - e.opened_at).total_seconds() / 3600 for e in handover if e.status == "accepted"]
    by_status = Counter(e.status for e in handover)
    return Counts(
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


def stalled(
    open_cases: list[OpenCaseFact], now: datetime, timezone: str, holidays: frozenset[date], reminder_hours: float
) -> list[Stalled]:
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
        this=suppress(figures(*this), threshold),
        last=suppress(figures(*last), threshold),
        stalled=late,
        threshold=threshold,
        partial=today <= first + timedelta(days=6),
    )


# ---- writing it out ---------------------------------------------------------------------------


def cell(n: Cell, threshold: int) -> int | Text:
    """A cell as `suppress` left it: exact, "<5" (1 to 4) or "≥5" (hidden so that a "<5" cannot
    be worked out from the total)."""
    if n == "small":
        return layout("<{k}", k=threshold)
    if n == "large":
        return layout("≥{k}", k=threshold)
    return n


def _theme(code: str) -> Text:
    return intake.THEMES.get(code, intake.THEMES["other"])


def _wijk(code: str, directory: Directory) -> Text:
    wijk = directory.wijk(code)
    return plain(wijk.name if wijk else "?")


def _age(code: str) -> Text:
    return intake.AGE_GROUPS.get(code, plain(code or "?"))


def _breakdown(title: Text, shown: Breakdown, name: Callable[[str], Text], threshold: int) -> tuple[Text, ...]:
    if shown.withheld:
        return (title, layout("  {why}", why=t("Not shown, so that no family can be recognised.")))
    return (title, *(layout("  {name}: {n}", name=name(key), n=cell(n, threshold)) for key, n in shown.cells.items()))


def report_parts(report: Report, directory: Directory) -> list[Text | tuple[Text, ...]]:
    this, last, k = report.this, report.last, report.threshold
    # TRANSLATORS: the heading of a coordinator's weekly summary; {week} is like "2026-W47".
    head = t(
        "📊 Summary for {scope}, week {week} ({start} – {end})",
        scope=report.scope_name, week=ltr(report.week.label), start=Day(on=report.start), end=Day(on=report.end),
    )
    parts: list[Text | tuple[Text, ...]] = [head]
    if report.partial:
        parts.append(t("This week so far."))
    parts.append(
        (
            tn("{n} question logged", "{n} questions logged", this.questions),
            tn("{n} of them urgent (a child in danger)", "{n} of them urgent (a child in danger)", this.urgent),
            tn("{n} active volunteer", "{n} active volunteers", this.active_volunteers),
            t(
                "The week before: questions {questions} · urgent {urgent}.",
                questions=last.questions, urgent=last.urgent,
            ),
        )
    )
    if this.questions and all(b.withheld for b in this.breakdowns()):
        parts.append(
            t("Too few questions for a breakdown by theme, wijk, language or age: it could point to a family.")
        )
    elif this.questions:
        def lang_name(code: str) -> Text:
            return intake.language_label(code) or plain("?")

        def wijk_name(code: str) -> Text:
            return _wijk(code, directory)

        def wijk_theme(key: str) -> Text:
            return layout("{wijk} · {theme}", wijk=wijk_name(key.split("|")[0]), theme=_theme(key.split("|")[1]))

        def wijk_language(key: str) -> Text:
            return layout(
                "{wijk} · {language}", wijk=wijk_name(key.split("|")[0]), language=lang_name(key.split("|")[1])
            )

        rows = (
            (t("By theme:"), this.by_theme, _theme),
            (t("By wijk:"), this.by_wijk, wijk_name),
            (t("By the parent's language:"), this.by_language, lang_name),
            (t("By age of the child:"), this.by_age, _age),
            (t("By wijk and theme:"), this.wijk_theme, wijk_theme),
            (t("By wijk and the parent's language:"), this.wijk_language, wijk_language),
        )
        parts.extend(_breakdown(title, shown, name, k) for title, shown, name in rows)

    def shown(n: Cell) -> int | Text:
        return cell(n, k)

    parts.append(
        (
            t("Warm handovers:"),
            t(
                "requested {requested} · accepted {accepted} · declined "
                "{declined} · contact made {contact} · closed {closed}",
                requested=shown(this.requested),
                accepted=shown(this.accepted),
                declined=shown(this.declined),
                contact=shown(this.contact_made),
                closed=shown(this.closed),
            ),
            t(
                "The week before: requested {requested} · accepted {accepted}.",
                requested=shown(last.requested), accepted=shown(last.accepted),
            ),
            t(
                "Advice asked: {asked} · answered: {answered}",
                asked=shown(this.consults_asked), answered=shown(this.consults_answered),
            ),
            _median(this.median_hours_to_accept, this.accepted, k),
        )
    )
    if report.stalled:
        lines: list[Text] = [t("Waiting for an answer past the reminder time:")]
        for late in report.stalled[:20]:
            team = directory.team(late.team_id)
            days = tn("{n} day", "{n} days", late.days_waiting)
            lines.append(
                layout(
                    "  {case} · {team} · {days}",
                    case=ltr(late.case_id), team=team.name if team else late.team_id, days=days,
                )
            )
        parts.append(tuple(lines))
    else:
        parts.append(t("No handover is waiting past the reminder time."))
    if this.anything_hidden() or last.anything_hidden():
        parts.append(
            (
                tn(
                    "Numbers below {n} are shown as “<{n}”, so that no family can be recognised.",
                    "Numbers below {n} are shown as “<{n}”, so that no family can be recognised.",
                    k,
                ),
                t(
                    "Where a “<{n}” could be worked out from the total, another "
                    "number is hidden too (“≥{n}”) or the list is left out.",
                    n=k,
                ),
            )
        )
    return parts


def _median(hours: float | None, accepted: Cell, k: int) -> Text:
    if accepted == 0:
        return t("Median time to acceptance: no acceptances this week.")
    if hours is None:
        return t("Median time to acceptance: not shown for fewer than {n} acceptances.", n=k)
    minutes = round(hours * 60)
    if minutes < 60:
        return tn("Median time to acceptance: {n} minute", "Median time to acceptance: {n} minutes", minutes)
    if hours < 48:
        return tn("Median time to acceptance: {n} hour", "Median time to acceptance: {n} hours", round(hours))
    return tn("Median time to acceptance: {n} day", "Median time to acceptance: {n} days", round(hours / 24))
