"""Coordinators' weekly summaries: counts checked against an independent count of generated
data, suppression of small numbers, scope, week boundaries around the clock change, the
Monday push after downtime, and the CSV export without personal data."""

from __future__ import annotations

import base64
import csv
import io
import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.directory_file import load, sample_path
from bot.runner import Runner
from db import cases as stored_cases
from db import directory as stored_directory
from db import questions, users
from db.connection import transaction
from flows import summary
from flows.directory import Directory
from flows.intake import AGE_GROUPS, THEMES
from flows.model import ChangeCase, LogQuestion, OpenCase, Role
from flows.summary import EventFact, QuestionFact, Week, cell, parse_week, read_week, week_of
from flows.suppression import Breakdown, protect
from tests import driver
from tests.conftest import BACKENDS

AMS = ZoneInfo("Europe/Amsterdam")
WEEK = Week(year=2026, number=47)  # 16–22 November 2026


@pytest.fixture
async def runner(conn, catalogs, clock) -> Runner:
    sample = load(sample_path())
    async with transaction(conn):
        await stored_directory.replace(conn, sample.directory, sample.away_given)
    return Runner(conn, catalogs, clock, "telegram")


async def make_user(
    conn, clock, chat: str, role: Role, org: str | None = None, team: str | None = None, contact: str | None = None
):
    return await users.create(
        conn, channel="telegram", chat_id=chat, role=role, org_id=org, language="nl", display_name="X", now=clock(),
        team_id=team, contact_id=contact,
    )


async def generate(runner: Runner, clock, seed: int = 3) -> list[dict]:
    """Questions and handovers spread over three weeks, two organisations, several wijken."""
    rng = random.Random(seed)
    conn = runner.conn
    volunteers = {
        org: [await make_user(conn, clock, f"{org}{i}", Role.VOLUNTEER, org=org) for i in range(4)]
        for org in ("lantaarn", "kompas")
    }
    made = []
    start, _ = WEEK.previous().bounds("Europe/Amsterdam")
    wijken = {"overvecht": "bt-overvecht", "west": "bt-west", "zuid": "bt-zuid"}
    async with transaction(conn):
        for n in range(400):
            org = rng.choice(["lantaarn", "kompas"])
            at = start + timedelta(minutes=rng.randrange(3 * 7 * 24 * 60))
            wijk = rng.choice(list(wijken))
            item = {
                "code": f"Q-{n:04d}", "org": org, "at": at, "theme": rng.choice(list(THEMES)), "wijk": wijk,
                "language": rng.choice(["tr", "ar", "nl", "so"]), "age": rng.choice(list(AGE_GROUPS)),
                "urgent": rng.random() < 0.1, "volunteer": rng.choice(volunteers[org]).id,
            }
            await questions.insert(
                conn,
                LogQuestion(
                    code=item["code"], volunteer_id=item["volunteer"], org_id=org, urgent=item["urgent"],
                    theme=item["theme"], age_group=item["age"], parent_language=item["language"], pc4="3561", wijk=wijk,
                    text="invented", created_at=at,
                ),
                runner.vault,
            )
            if rng.random() < 0.5:
                case_id = f"H-{n:06d}"
                await stored_cases.open_case(
                    conn,
                    OpenCase(
                        case_id=case_id, case_kind="handover", question_code=item["code"], org_id=org,
                        volunteer_id=item["volunteer"], contact_id="c-overvecht-1", member_id=None,
                        team_id=wijken[wijk], way="parent_calls", previous_id=None, at=at,
                    ),
                )
                item["case"] = case_id
                item["team"] = wijken[wijk]
                if rng.random() < 0.7:
                    accepted = at + timedelta(hours=rng.randrange(1, 60))
                    await stored_cases.change(
                        conn, ChangeCase(case_id=case_id, version=1, status="accepted", at=accepted), runner.vault
                    )
                    item["accepted"] = accepted
            made.append(item)
    return made


def independent(made: list[dict], week: Week, scope) -> dict:
    start, end = week.bounds("Europe/Amsterdam")
    mine = [m for m in made if scope(m) and start <= m["at"] < end]
    accepted = [m for m in made if scope(m) and "accepted" in m and start <= m["accepted"] < end]
    waits = sorted((m["accepted"] - m["at"]).total_seconds() / 3600 for m in accepted)
    return {
        "questions": len(mine),
        "urgent": sum(m["urgent"] for m in mine),
        "by_theme": {t: sum(m["theme"] == t for m in mine) for t in THEMES if any(m["theme"] == t for m in mine)},
        "requested": sum(1 for m in made if scope(m) and "case" in m and start <= m["at"] < end),
        "accepted": len(accepted),
        "median": (waits[len(waits) // 2] + waits[(len(waits) - 1) // 2]) / 2 if waits else None,
        "volunteers": len({m["volunteer"] for m in mine}),
    }


async def test_an_organisation_s_summary_counts_what_an_independent_count_finds(runner, clock) -> None:
    made = await generate(runner, clock)
    clock.now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    report, _ = await runner.report_for_scope("org:lantaarn", WEEK)
    expected = independent(made, WEEK, lambda m: m["org"] == "lantaarn")
    assert report.this.questions == expected["questions"] > 20
    assert report.this.urgent == expected["urgent"]
    assert report.this.by_theme == protect(expected["by_theme"], 5)  # the exact counts, as the rule shows them
    assert report.this.requested == expected["requested"] >= 5
    assert report.this.accepted == expected["accepted"] >= 5
    assert report.this.median_hours_to_accept == pytest.approx(expected["median"])
    assert report.this.active_volunteers == expected["volunteers"]
    before = independent(made, WEEK.previous(), lambda m: m["org"] == "lantaarn")
    assert report.last.questions == before["questions"]


async def test_a_team_s_summary_covers_its_wijken_and_its_cases_only(runner, clock) -> None:
    made = await generate(runner, clock)
    clock.now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    report, _ = await runner.report_for_scope("team:bt-west", WEEK)
    expected = independent(made, WEEK, lambda m: m["wijk"] == "west")
    assert report.this.questions == expected["questions"]
    assert report.this.requested == expected["requested"]
    assert set(report.this.by_wijk.cells) == {"west"}


async def test_a_coordinator_sees_only_their_own_scope(runner, clock, conn) -> None:
    made = await generate(runner, clock)
    clock.now = datetime(2026, 11, 23, 10, tzinfo=UTC)
    coordinator = await make_user(conn, clock, "c1", Role.COORDINATOR, org="kompas")
    report, _ = await runner.report(coordinator, WEEK)
    assert report.this.questions == independent(made, WEEK, lambda m: m["org"] == "kompas")["questions"]
    assert report.scope_name.startswith("Demo-vereniging Het Kompas")


def test_small_numbers_are_shown_as_less_than_the_threshold_and_totals_stay_exact() -> None:
    assert (cell(0, 5), cell(5, 5), cell(17, 5)) == (0, 5, 17)
    assert cell("small", 5).msgid == "<{k}" and cell("large", 5).msgid == "≥{k}" and cell("small", 5).params["k"] == 5
    assert protect({"school": 9, "housing": 7}, 5) == Breakdown(cells={"school": 9, "housing": 7})
    # one small cell and an exact total: the smallest other is hidden too, or 2 = 18 - 9 - 7
    assert protect({"school": 9, "housing": 2, "money": 7}, 5) == Breakdown(
        cells={"school": 9, "money": "large", "housing": "small"}
    )
    assert protect({"housing": 2}, 5) == Breakdown(withheld=True)  # "2 questions" and "Housing: <5"


def _splits(total: int, parts: int):
    if parts == 1:
        yield (total,)
        return
    for first in range(total + 1):
        for rest in _splits(total - first, parts - 1):
            yield (first, *rest)


@pytest.mark.parametrize(
    ("categories", "threshold", "most"), [(2, 5, 20), (3, 5, 20), (4, 5, 17), (3, 4, 16), (4, 3, 12)]
)
def test_no_hidden_count_can_be_worked_out_from_the_shown_ones_and_the_total(
    categories: int, threshold: int, most: int
) -> None:
    """Every way of splitting every total over a few categories: whoever sees a breakdown and the
    exact total, and knows the rule, still finds at least two possible values for each hidden
    count from 1 to threshold-1 (all splits that show the same are the ones they cannot tell apart)."""
    alike: dict[tuple, list[tuple[int, ...]]] = {}
    for total in range(most + 1):
        for split in _splits(total, categories):
            shown = protect({f"c{i}": n for i, n in enumerate(split)}, threshold)
            assert all(not isinstance(n, int) or n == 0 or n >= threshold for n in shown.cells.values())
            alike.setdefault((total, shown.withheld, tuple(shown.cells.items())), []).append(split)
    for (total, withheld, cells), splits in alike.items():
        for i in range(categories):
            if any(0 < split[i] < threshold for split in splits):
                assert len({split[i] for split in splits}) >= 2, (total, withheld, cells, splits)


def _facts(themes: list[str], statuses: list[str], minutes: int = 20) -> tuple[list[QuestionFact], list[EventFact]]:
    at = datetime(2026, 11, 17, 10, tzinfo=UTC)
    asked = [
        QuestionFact(
            code=f"Q-{i}", created_at=at, theme=theme, wijk="overvecht", parent_language="tr", age_group="4-12",
            urgent=False, volunteer_id=1,
        )
        for i, theme in enumerate(themes)
    ]
    events = [
        EventFact(case_id=f"H-{i}", kind="handover", status=s, at=at, opened_at=at - timedelta(minutes=minutes))
        for i, s in enumerate(statuses)
    ]
    return asked, events


def test_text_and_chart_are_made_from_one_suppressed_report(catalogs) -> None:
    """Two housing questions were "<5" in the text and a bar of 2 in the chart; and beside an exact
    total, one hidden theme could be worked out by subtraction."""
    from bot import charts

    this = _facts(
        ["upbringing"] * 7 + ["school"] * 6 + ["housing"] * 2 + ["money"],
        ["requested"] * 6 + ["accepted"] * 2 + ["contact_made"],
    )
    report = summary.build(
        "Demo (invented)", WEEK, this, _facts(["housing"] * 2, ["requested"]), [], date(2026, 11, 25)
    )
    for figures in (report.this, report.last):  # no small number leaves `build`, but in the totals
        cells = [
            n
            for b in (
                figures.by_theme, figures.by_wijk, figures.by_language, figures.by_age, figures.wijk_theme,
                figures.wijk_language,
            )
            for n in b.cells.values()
        ]
        cells += [
            figures.requested, figures.accepted, figures.declined, figures.contact_made, figures.closed,
            figures.consults_asked, figures.consults_answered,
        ]
        assert not [n for n in cells if isinstance(n, int) and 0 < n < 5]
    for language in ("nl", "ar", "ti"):
        data = charts.chart_data(report, catalogs, language)
        values = [bar.value for panel in data.panels for _, bars in panel.series for bar in bars]
        assert values and not any(0 < v < 5 for v in values), values
        marks = {bar.mark for panel in data.panels for _, bars in panel.series for bar in bars}
        assert not any(mark.isdigit() and 0 < int(mark) < 5 for mark in marks)
        figure = charts.figure(data)
        try:
            drawn = [round(patch.get_width()) for axis in figure.axes for patch in axis.patches]
        finally:
            from matplotlib import pyplot

            pyplot.close(figure)
        assert drawn and not any(0 < w < 5 for w in drawn), drawn
    text = catalogs.render_parts(tuple(summary.report_parts(report, Directory())), "nl")
    assert "Wonen: <5" in text and "School en onderwijs: ≥5" in text and "16 vragen" in text
    assert "aangevraagd 6 · aangenomen <5" in text and "contact gelegd <5" in text
    assert "Opvoeding: 7" in text
    assert "Wonen: 2" not in text and "aangenomen 2" not in text
    assert "Tijd tot aannemen (mediaan): niet getoond bij minder dan 5 aangenomen verzoeken." in text


def test_a_median_under_an_hour_is_shown_in_minutes(catalogs) -> None:
    this = _facts([], ["accepted"] * 5, minutes=20)
    report = summary.build("Demo (invented)", WEEK, this, ([], []), [], date(2026, 11, 25))
    text = catalogs.render_parts(tuple(summary.report_parts(report, Directory())), "en")
    assert "Median time to acceptance: 20 minutes" in text and "0 hours" not in text


@pytest.mark.parametrize("language", ["nl", "tr", "ar", "pl", "uk", "ti", "so", "fa", "en"])
def test_the_chart_is_drawn_in_the_reader_s_language_with_every_glyph(catalogs, language: str, recwarn) -> None:
    from bot import charts

    report = summary.build(
        "Demo (invented)", WEEK, _facts(["upbringing"] * 12, ["requested"] * 5), ([], []), [], date(2026, 11, 25)
    )
    data = charts.chart_data(report, catalogs, language)
    assert data.panels[0].title == catalogs.render(summary.t("Questions by theme"), language)
    assert charts.draw(report, catalogs, language).startswith(b"\x89PNG")
    assert not [str(w.message) for w in recwarn if "missing from font" in str(w.message)]
    assert data.rtl == (language in ("ar", "fa"))


def test_an_empty_week_s_chart_has_whole_counts_from_zero(catalogs) -> None:
    from matplotlib import pyplot

    from bot import charts

    report = summary.build("Demo (invented)", WEEK, ([], []), ([], []), [], date(2026, 11, 25))
    figure = charts.figure(charts.chart_data(report, catalogs, "nl"))
    try:
        for axis in figure.axes:
            low, high = axis.get_xlim()
            assert low == 0 and high >= 1
            assert all(float(tick).is_integer() for tick in axis.get_xticks())
    finally:
        pyplot.close(figure)


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ("0001-W01", "no_such_week"), ("2026-W54", "no_such_week"), ("2025-W53", "no_such_week"),
        ("2026-W00", "no_such_week"), ("2026-W49", "ahead"), ("soon", "unclear"),
    ],
)
def test_a_week_that_does_not_exist_is_named_as_such(args: str, problem: str) -> None:
    found = read_week(args, date(2026, 11, 25))
    assert isinstance(found, tuple) and found[0] == problem


async def test_the_report_text_suppresses_small_cells(runner, clock, catalogs) -> None:
    await generate(runner, clock)
    clock.now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    report, _ = await runner.report_for_scope("org:lantaarn", WEEK)
    text = catalogs.render_parts(tuple(summary.report_parts(report, await runner.directory())), "en")
    assert f"{report.this.questions} questions logged" in text
    assert "<5" in text  # some cells are small
    cells = [line.rsplit(": ", 1)[1] for line in text.splitlines() if line.startswith("  ") and ": " in line]
    assert cells and all(value in ("<5", "≥5") or int(value.replace(",", "")) >= 5 for value in cells)


@pytest.mark.parametrize(
    ("local", "week"),
    [
        ("2026-03-29 23:30", "2026-W13"),  # Sunday night, summer time since 02:00 that day
        ("2026-03-30 00:30", "2026-W14"),  # Monday 00:30 CEST is still Sunday in UTC
        ("2026-10-25 23:59", "2026-W43"),
        ("2026-10-26 00:01", "2026-W44"),  # winter time again: Monday 00:01 CET
        ("2026-12-31 12:00", "2026-W53"),  # 2026 has 53 ISO weeks
        ("2027-01-03 12:00", "2026-W53"),
        ("2027-01-04 00:00", "2027-W01"),
    ],
)
def test_weeks_start_on_monday_at_midnight_in_amsterdam(local: str, week: str) -> None:
    moment = datetime.fromisoformat(local).replace(tzinfo=AMS)
    found = week_of(moment.date())
    start, end = found.bounds("Europe/Amsterdam")
    assert found.label == week and start <= moment < end
    assert start.astimezone(UTC) <= moment.astimezone(UTC) < end.astimezone(UTC)


def test_the_week_with_the_clock_change_is_an_hour_short() -> None:
    start, end = Week(year=2026, number=13).bounds("Europe/Amsterdam")
    assert (end - start) == timedelta(days=7) and (end.astimezone(UTC) - start.astimezone(UTC)) == timedelta(hours=167)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("", "2026-W48"), ("last", "2026-W47"), ("2026-W47", "2026-W47"), ("2026w5", "2026-W05"), ("2026-W49", None),
        ("2026-W60", None), ("soon", None),
    ],
)
def test_which_week(args: str, expected: str | None) -> None:
    found = parse_week(args, date(2026, 11, 25))
    assert (found.label if found else None) == expected


async def test_the_monday_push_comes_once_even_after_downtime(runner, clock, conn) -> None:
    coordinator = await make_user(conn, clock, "c9", Role.COORDINATOR, team="bt-overvecht")
    clock.now = datetime(2026, 11, 27, 12, tzinfo=UTC)  # a Friday
    assert await runner.push_summaries() == 0  # the first start only plans the next push
    clock.now = datetime(2026, 11, 30, 7, 59, tzinfo=UTC)  # Monday 08:59 in Amsterdam
    assert await runner.push_summaries() == 0
    clock.now = datetime(2026, 11, 30, 13, 0, tzinfo=UTC)  # the bot was down at 09:00; back at 14:00
    assert await runner.push_summaries() == 1
    assert await runner.push_summaries() == 0  # never twice
    sent = await driver.waiting(conn)
    assert [c.method for c in sent] == ["sendMessage", "sendPhoto"] and all(
        c.chat_id == coordinator.chat_id for c in sent
    )
    assert "2026-W48" in sent[0].payload["text"]
    clock.now = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # the next Monday at 09:00
    assert await runner.push_summaries() == 1


async def test_export_has_codes_and_categories_but_no_personal_data(runner, clock, conn) -> None:
    await generate(runner, clock)
    clock.now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    _, rows = await runner.report_for_scope("org:lantaarn", WEEK, with_rows=True)
    from bot.export import to_csv

    table = list(csv.DictReader(io.StringIO(to_csv(rows).decode("utf-8-sig"))))
    assert table and {r["type"] for r in table} == {"question", "handover"}
    assert all(r["code"].startswith(("Q-", "H-")) for r in table)
    assert "invented" not in to_csv(rows).decode()  # the question text never leaves
    assert set(table[0]) == {
        "type", "code", "question", "date", "theme", "wijk", "parent_language", "age_group", "urgent", "status", "team",
    }


async def test_summary_and_export_by_command_for_a_coordinator_only(runner, clock, conn) -> None:
    from db import inbox
    from db.inbox import Incoming
    from tests import updates

    await generate(runner, clock)
    clock.now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    coordinator = await make_user(conn, clock, "8001", Role.COORDINATOR, org="lantaarn")
    for text in [
        "/summary last", "/export 2026-W47", "/summary someday", "/summary 0001-W01", "/summary 2026-W54",
        "/export last excel",
    ]:
        update = updates.message(8001, text)
        async with transaction(conn):
            await inbox.receive(
                conn, "telegram", [Incoming(update_id=update["update_id"], payload=updates.payload(update))], clock()
            )
        await runner.process_pending()
    sent = [c for c in await driver.waiting(conn) if c.chat_id == coordinator.chat_id]
    assert [c.method for c in sent] == [
        "sendMessage", "sendPhoto", "sendDocument", "sendMessage", "sendMessage", "sendMessage", "sendDocument",
    ]
    assert "2026-W47" in sent[0].payload["text"]
    assert base64.b64decode(sent[1].payload["_upload"]["data"]).startswith(b"\x89PNG")
    assert base64.b64decode(sent[2].payload["_upload"]["data"]).startswith("\ufefftype,code,question".encode())
    assert "/export excel" in sent[2].payload["caption"]  # how to get the file for a Dutch Excel
    assert "2026-W47" in sent[3].payload["text"]  # the example of a valid week
    # weeks that do not exist are answered as such, not with "Sorry, something went wrong"
    assert sent[4].payload["text"].startswith("Week 0001-W01 bestaat niet.") and "Sorry" not in sent[4].payload["text"]
    assert sent[5].payload["text"].startswith("Week 2026-W54 bestaat niet.")
    excel = base64.b64decode(sent[6].payload["_upload"]["data"]).decode("utf-8")
    assert excel.startswith("\ufefftype;code;question;date") and "excel" not in sent[6].payload["caption"]
    from db import privacy

    assert [(a[1], a[2], a[3]) for a in await privacy.audit_log(conn)] == [
        (f"user:{coordinator.id}", "export", "org:lantaarn 2026-W47"),
        (f"user:{coordinator.id}", "export", "org:lantaarn 2026-W47"),
    ]


def test_the_csv_opens_in_columns_and_keeps_its_letters_in_excel() -> None:
    """Invented rows. A BOM so Excel reads UTF-8 ("Kürtçe"); `excel`: ";" and local times."""
    from bot.export import to_csv

    rows = [{"type": "question", "code": "Q-AB12", "date": "2026-11-17T09:30:00+00:00", "theme": "Kürtçe", "urgent": 0}]
    plain = to_csv(rows)
    assert (
        plain.startswith(b"\xef\xbb\xbftype,code,")
        and "Kürtçe".encode() in plain
        and "2026-11-17T09:30:00+00:00" in plain.decode()
    )
    excel = to_csv(rows, excel=True, timezone=AMS).decode("utf-8")
    assert excel.startswith("\ufefftype;code;question;date;") and ";2026-11-17 10:30;Kürtçe;" in excel


def test_the_small_numbers_rule_is_stated_once_in_the_same_words_in_both_docs() -> None:
    from pathlib import Path

    docs = Path(__file__).parent.parent / "docs"

    def rule(name: str) -> str:
        text = (docs / name).read_text("utf-8")
        start = text.index("**Small numbers.**")
        return text[start : text.index("\n\n", text.index("\n- ", start) + 1)]

    assert rule("summaries.md") == rule("privacy.md")
    assert "secondary" not in rule("privacy.md") and "≥5" in rule("privacy.md")
    # the module that applies it states it too, in the same words (its list of cases)
    from flows import suppression

    words = lambda text: " ".join(text.split())  # noqa: E731
    listed = rule("privacy.md")[rule("privacy.md").index("\n- ") :]
    assert words(listed) in words(suppression.__doc__)


def test_matplotlib_is_imported_only_when_a_chart_is_drawn() -> None:
    import subprocess
    import sys

    code = "import sys, bot.runner, bot.charts, bot.cli; sys.exit('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """This module's tests run on SQLite and on PostgreSQL (tests/conftest.py)."""
    return str(request.param)
