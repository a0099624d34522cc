"""The chart is drawn in a short-lived child process (bot/charts.py `drawn`), so matplotlib never
stays in the bot; a child that fails or hangs costs the chart, never the summary's text."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime

import pytest

from bot import charts
from bot.runner import Runner
from flows import summary
from flows.model import Role
from tests import driver
from tests.test_summary import WEEK, make_user


@pytest.fixture
def runner(conn, catalogs, clock) -> Runner:
    return Runner(conn, catalogs, clock, "telegram")


def _data(catalogs) -> bytes:
    report = summary.build("Demo (invented)", WEEK, ([], []), ([], []), [], date(2026, 11, 25))
    return charts.chart_data(report, catalogs, "ar").model_dump_json().encode("utf-8")


async def test_the_child_draws_the_chart_from_its_data(catalogs) -> None:
    png = await charts.in_child(_data(catalogs))
    assert png is not None and png.startswith(b"\x89PNG")


async def test_a_child_that_fails_gives_no_chart(catalogs) -> None:
    assert await charts.in_child(b"not a chart") is None
    assert await charts.in_child(_data(catalogs), command=(sys.executable, "-c", "print('no png')")) is None


async def test_a_child_that_hangs_is_stopped_and_gives_no_chart(catalogs) -> None:
    hang = (sys.executable, "-c", "import time; time.sleep(600)")
    assert await charts.in_child(_data(catalogs), within=0.5, command=hang) is None


async def test_without_its_chart_the_summary_still_goes_and_says_the_chart_is_missing(
    runner, clock, conn, monkeypatch
) -> None:
    monkeypatch.setattr(charts, "CHILD", (sys.executable, "-c", "import sys; sys.exit(3)"))
    coordinator = await make_user(conn, clock, "c9", Role.COORDINATOR, team="bt-overvecht")
    clock.now = datetime(2026, 11, 27, 12, tzinfo=UTC)
    assert await runner.push_summaries() == 0  # the first start plans the push
    clock.now = datetime(2026, 11, 30, 13, 0, tzinfo=UTC)
    assert await runner.push_summaries() == 1
    sent = await driver.waiting(conn)
    assert [c.method for c in sent] == ["sendMessage", "sendMessage"]
    assert all(c.chat_id == coordinator.chat_id for c in sent)
    assert "2026-W48" in sent[0].payload["text"]
    missing = "De grafiek kon deze keer niet worden getekend; het overzicht hierboven heeft alle cijfers."
    assert sent[1].payload["text"] == missing  # in the coordinator's language (Dutch)
