"""The web page in a real browser: Playwright driving Debian's chromium (`apt-get install -y
chromium`; Playwright's own browser download is not used), against the real `wijkbrug run`
process serving Telegram (the local fake Bot API, tests/fakebotapi.py) and the web page at once.

Screenshots of the member's page in Dutch and in Arabic are saved under tests/artifacts/ (not
kept in git) for a person to look at.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot import export
from bot.i18n import Catalogs
from tests.fakebotapi import FakeBotApi
from tests.smtp_server import smtp_server  # noqa: F401 - a fixture
from tests.test_trust import story_db  # noqa: F401 - a fixture
from tests.web_world import CASE, World, free_port, link_for, request_waiting

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
TOKEN = "123:TEST"
WEEK = "2026-W49"  # the week of the story's request (30 November 2026)


@pytest.fixture
async def chromium() -> AsyncIterator[object]:
    if not CHROMIUM.exists():
        missing = "the browser tests need Debian's chromium: run `apt-get install -y chromium` as root"
        pytest.fail(missing, pytrace=False)
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            yield browser
        finally:
            await browser.close()


class Running:
    """`wijkbrug run` as its own process: Telegram (the fake Bot API) and the web page."""

    def __init__(self, world: World, api: FakeBotApi, folder: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.folder = folder
        self.env = {
            **os.environ, "WIJKBRUG_TELEGRAM_TOKEN": TOKEN, "WIJKBRUG_TELEGRAM_API_URL": api.api_url,
            "WIJKBRUG_TELEGRAM_FILE_URL": api.file_url, "WIJKBRUG_DATABASE": str(world.database),
            "WIJKBRUG_POLL_TIMEOUT": "2", "WIJKBRUG_WEB_LISTEN": f"127.0.0.1:{self.port}",
            "WIJKBRUG_PUBLIC_URL": self.base,
        }
        self.env.pop("WIJKBRUG_SECRET_KEY", None)

    async def __aenter__(self) -> Running:
        from bot.web.app import ready

        self.log = (self.folder / "run.log").open("wb")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", env=self.env, cwd=self.folder, stdout=self.log, stderr=self.log
        )
        async with asyncio.timeout(30):
            await ready("127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            async with asyncio.timeout(15):
                await self.process.wait()
        self.log.close()


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(token=TOKEN) as server:
        yield server


async def test_the_member_accepts_in_chromium_and_the_volunteer_hears_it_on_telegram(
    tmp_path, catalogs: Catalogs, api: FakeBotApi, chromium
) -> None:
    world = await request_waiting(tmp_path / "web.sqlite3", catalogs, with_key_file=True)
    link = await link_for(world, world.member, now=datetime.now(UTC))
    async with Running(world, api, tmp_path) as bot:
        page = await chromium.new_page(locale="nl-NL")
        await page.goto(f"{bot.base}/login/{link}")
        assert await page.locator("html").get_attribute("lang") == "nl"
        await page.get_by_role("button", name="Wijkbrug openen").click()  # the GET used nothing; this does
        feed = page.locator("ol.feed")
        await feed.get_by_text(f"Verzoek om een warme overdracht {CASE}").first.wait_for()
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "member-nl.png"), full_page=True)
        # By keyboard, as anyone who cannot use a mouse would: focus the button, press Enter.
        await feed.get_by_role("button", name="Aannemen").first.focus()
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{bot.base}/#newest")
        await feed.get_by_text("✓ Aannemen").first.wait_for()

        def told(server: FakeBotApi) -> bool:
            texts = [m.get("text", "") for m in server.messages(world.volunteer_chat)]
            return any(CASE in text and "kabul" in text for text in texts)

        await api.wait_for(told, timeout=20)


async def test_the_member_s_page_in_arabic_reads_right_to_left(tmp_path, catalogs: Catalogs, api, chromium) -> None:
    world = await request_waiting(tmp_path / "web.sqlite3", catalogs, with_key_file=True, member_language="ar")
    link = await link_for(world, world.member, now=datetime.now(UTC))
    async with Running(world, api, tmp_path) as bot:
        page = await chromium.new_page(locale="ar", viewport={"width": 390, "height": 844})  # a phone's screen
        await page.goto(f"{bot.base}/login/{link}")
        await page.get_by_role("button", name="افتح Wijkbrug").click()
        html = page.locator("html")
        assert (await html.get_attribute("lang"), await html.get_attribute("dir")) == ("ar", "rtl")
        await page.locator("ol.feed").get_by_text(CASE).first.wait_for()
        assert await page.get_by_label("إجابتك أو سبب أو سؤال").is_visible()  # the text box is labelled
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "member-ar.png"), full_page=True)


SMALL = re.compile(r"(?<![\d<≥\w.,/-])[1-4](?![\d.,:/-])")  # a count from 1 to 4 standing alone


async def test_the_coordinator_s_summary_shows_no_cell_below_5_in_page_chart_or_csv(
    tmp_path, catalogs: Catalogs, api, chromium
) -> None:
    world = await request_waiting(tmp_path / "web.sqlite3", catalogs, with_key_file=True)
    link = await link_for(world, world.coordinator, now=datetime.now(UTC))
    async with Running(world, api, tmp_path) as bot:
        page = await chromium.new_page(locale="nl-NL")
        await page.goto(f"{bot.base}/login/{link}")
        await page.get_by_role("button", name="Wijkbrug openen").click()
        await page.get_by_role("link", name="Weekoverzicht").click()
        await page.wait_for_url(f"{bot.base}/summary")
        # The week of the story's request (the bot's clock is the machine's: it may be later now).
        await page.goto(f"{bot.base}/summary?week={WEEK}")
        report = await page.locator(".report").inner_text()
        await page.screenshot(path=str(ARTIFACTS / "summary-nl.png"), full_page=True)
        chart = await page.request.get(f"{bot.base}/summary/chart.png?week={WEEK}")
        assert chart.ok and (await chart.body()).startswith(b"\x89PNG")
        assert await page.locator("img.chart").get_attribute("alt")
        async with page.expect_download() as downloading:
            await page.get_by_role("link", name=re.compile("CSV")).click()
        rows = (await (await downloading.value).path()).read_text("utf-8-sig")
    # The page: totals are exact, every other count is one the rule lets show (never 1 to 4).
    paragraphs = report.split("\n\n")
    assert "<5" in report
    for paragraph in paragraphs[1:]:  # after the heading (its dates)
        if "vastgelegd" in paragraph or CASE in paragraph:
            continue  # the exact totals; a request waiting past the reminder time, with its days
        assert not SMALL.search(paragraph), paragraph
    # The chart: drawn from the same suppressed report (bot/charts.py); no bar of 1 to 4.
    from bot import loading
    from bot.charts import chart_data
    from bot.runner import Runner
    from db.connection import connect
    from flows import summary

    conn = await connect(world.database)
    try:
        core = Runner(conn, catalogs, lambda: datetime.now(UTC), vault=world.vault).core
        week = summary.read_week(WEEK, datetime.now(UTC).date())
        assert isinstance(week, summary.Week)
        shown, _ = await loading.report_for_scope(core, "team:bt-overvecht", week)
    finally:
        await conn.close()
    bars = [bar for panel in chart_data(shown, catalogs, "nl").panels for _, series in panel.series for bar in series]
    assert all(not 1 <= bar.value <= 4 for bar in bars)
    # The CSV: one row per question or request, codes and categories only; no count in it at all.
    table = list(csv.DictReader(io.StringIO(rows)))
    assert len(table) == 2  # the question and the request
    assert rows.splitlines()[0].split(",") == export.COLUMNS
    for row in table:
        assert row["urgent"] in ("0", "1")
        assert all(not SMALL.fullmatch(value) for key, value in row.items() if key != "urgent")


async def test_the_whole_story_telegram_request_e_mail_link_chromium_accept_telegram(
    story_db, catalogs: Catalogs, api: FakeBotApi, chromium, smtp_server, tmp_path  # noqa: F811 - fixtures
) -> None:
    """A volunteer's handover request (her Telegram press, handled by the runner) goes to a member
    who has no chat app; `wijkbrug run` (fake Bot API, a real SMTP server, the web page) e-mails
    him, he opens the mail's link in Chromium and accepts, and the volunteer hears it on Telegram."""
    from tests.test_email import request_to_email_member

    vault, emre, _ = await request_to_email_member(story_db, catalogs, tmp_path)
    world = World(story_db, vault, 0, emre, 0, 0, 7000)
    bot = Running(world, api, tmp_path)
    bot.env |= {"WIJKBRUG_SMTP_HOST": smtp_server.host, "WIJKBRUG_SMTP_PORT": str(smtp_server.port),
                "WIJKBRUG_SMTP_FROM": "Wijkbrug <wijkbrug@example.org>"}
    async with bot:
        async with asyncio.timeout(30):
            while not smtp_server.received:
                await asyncio.sleep(0.1)
        (mail,) = smtp_server.received
        link = mail.link()
        assert link.startswith(f"{bot.base}/login/")
        page = await chromium.new_page(locale="nl-NL")
        await page.goto(link)
        await page.get_by_role("button", name="Wijkbrug openen").click()
        feed = page.locator("ol.feed")
        await feed.get_by_role("button", name="Aannemen").first.click()
        await page.wait_for_url(f"{bot.base}/#newest")
        await feed.get_by_text("✓ Aannemen").first.wait_for()

        def accepted(server: FakeBotApi) -> bool:
            return any("accepted" in m.get("text", "") for m in server.messages(7000))

        await api.wait_for(accepted, timeout=20)
