"""Summary benchmark: one week's summary of one organisation over a database holding 100,000
questions and handovers. Target (issue 6): under 1 s. Run: .venv/bin/python benchmarks/summary_bench.py
All data is generated and invented."""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.directory_file import load, sample_path
from bot.i18n import Catalogs
from bot.runner import Runner
from db import cases, questions, users
from db import directory as stored_directory
from db.connection import connect, transaction
from db.vault import Vault, attach
from flows import summary
from flows.intake import AGE_GROUPS, THEMES
from flows.model import ChangeCase, LogQuestion, OpenCase, Role

QUESTIONS = 70_000
HANDOVERS = 30_000
START = datetime(2025, 1, 6, tzinfo=UTC)
SPAN = timedelta(days=700)


async def main() -> None:
    rng = random.Random(5)
    with tempfile.TemporaryDirectory() as scratch:
        conn = await connect(Path(scratch) / "bench.sqlite3")
        vault = attach(conn, Vault.generate())
        sample = load(sample_path())
        orgs = [o.id for o in sample.directory.organisations]
        wijken = [(w.code, sample.directory.teams_by_wijk[w.code][0].id) for w in sample.directory.wijken]
        began = time.perf_counter()
        async with transaction(conn):
            await stored_directory.replace(conn, sample.directory, sample.away_given)
            volunteers = [
                (
                    await users.create(
                        conn, channel="telegram", chat_id=str(i), role=Role.VOLUNTEER, org_id=rng.choice(orgs),
                        language="nl", display_name="V", now=START,
                    )
                ).id
                for i in range(300)
            ]
            for n in range(QUESTIONS):
                at = START + SPAN * rng.random()
                wijk, team = rng.choice(wijken)
                org = orgs[n % len(orgs)]
                question = LogQuestion(
                    code=f"Q-{n:06d}", volunteer_id=rng.choice(volunteers), org_id=org, urgent=rng.random() < 0.05,
                    theme=rng.choice(list(THEMES)), age_group=rng.choice(list(AGE_GROUPS)),
                    parent_language=rng.choice(["tr", "ar", "nl", "so", "ti", "pl"]), pc4="3561", wijk=wijk,
                    text="invented", created_at=at,
                )
                await questions.insert(conn, question, vault)
                if n < HANDOVERS:
                    case_id = f"H-{n:06d}"
                    opened = OpenCase(
                        case_id=case_id, case_kind="handover", question_code=f"Q-{n:06d}", org_id=org,
                        volunteer_id=volunteers[0], contact_id="c-overvecht-1", member_id=None, team_id=team,
                        way="parent_calls", previous_id=None, at=at,
                    )
                    await cases.open_case(conn, opened)
                    if rng.random() < 0.8:
                        accepted_at = at + timedelta(hours=rng.randrange(1, 80))
                        change = ChangeCase(case_id=case_id, version=1, status="accepted", at=accepted_at)
                        await cases.change(conn, change, vault)
        filled = time.perf_counter() - began
        clock = lambda: datetime(2026, 11, 25, 12, tzinfo=UTC)
        runner = Runner(conn, Catalogs(), clock, "telegram", vault=vault)
        week = summary.Week(year=2026, number=47)
        timings = []
        for _ in range(7):
            started = time.perf_counter()
            report, _ = await runner.report_for_scope("org:lantaarn", week)
            timings.append(time.perf_counter() - started)
        team_started = time.perf_counter()
        team_report, _ = await runner.report_for_scope("team:bt-overvecht", week)
        team_time = time.perf_counter() - team_started
        await conn.close()
    print(f"database: {QUESTIONS:,} questions and {HANDOVERS:,} handovers over {SPAN.days} days "
          f"(filled in {filled:.0f} s)")
    print(f"summary of one week, one organisation: median {statistics.median(timings) * 1000:.0f} ms, "
          f"max {max(timings) * 1000:.0f} ms ({report.this.questions} questions, "
          f"{report.this.requested} handovers); target < 1 s")
    print(f"summary of one week, one wijkteam: {team_time * 1000:.0f} ms ({team_report.this.questions} questions)")
    from bot import charts

    chart_times = []
    for _ in range(5):  # each in its own short-lived child (bot/charts.py `drawn`), as the bot draws them
        started = time.perf_counter()
        png = await charts.drawn(report, runner.core.catalogs, "ar")
        chart_times.append(time.perf_counter() - started)
        assert png is not None
    print(f"one chart drawn in a child process: median {statistics.median(chart_times) * 1000:.0f} ms, "
          f"max {max(chart_times) * 1000:.0f} ms (5 charts)")


if __name__ == "__main__":
    asyncio.run(main())
