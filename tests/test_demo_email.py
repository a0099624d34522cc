"""The demo's e-mail people (issue 16): Nadia, of the invented wijkteam Overvecht, has no chat app.
Registered the web page's way, she gets what the bot says through the real e-mail sender: stored
on her page, and a notice printed as it would be mailed (`✉ Nadia:`). With the page served on
127.0.0.1, the printed link opens it: she accepts there, and the volunteer hears it in the console."""

from __future__ import annotations

import asyncio
import io
import os
import re
import sqlite3
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from bot import cli_demo
from bot.console_mail import NO_PAGE
from bot.settings import load
from tests.test_demo import fixed_codes

EXAMPLE = Path(__file__).parent.parent / "examples" / "by-e-mail.txt"
START = datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WIJKBRUG_DATABASE", str(tmp_path / "unused.sqlite3"))
    monkeypatch.delenv("WIJKBRUG_TELEGRAM_TOKEN", raising=False)
    return tmp_path


async def test_nadia_s_request_is_on_her_page_and_its_notice_is_printed_as_mailed(env: Path) -> None:
    out, database = io.StringIO(), env / "demo.sqlite3"
    stdin, sys.stdin = sys.stdin, io.StringIO("")
    try:
        assert await cli_demo.demo(load(), EXAMPLE, None, database, env / "out", out=out, codes=fixed_codes()) == 0
    finally:
        sys.stdin = stdin
    text = out.getvalue()
    assert " 2. Nadia  wijkteam member: Nadia El Khattabi, Buurtteam Overvecht · reads nl · by e-mail" in text
    notice = text.split("✉ Nadia: ", 1)[1].splitlines()
    assert notice[0] == "Verzoek om een warme overdracht H-100001 van Demo-stichting De Lantaarn (invented)"
    assert notice[1:3] == ["    Open Wijkbrug om het te lezen en te beantwoorden:", f"    {NO_PAGE}"]  # no page served
    assert "Fatma" not in "\n".join(notice[:6]) and "/login/" not in text
    with sqlite3.connect(database) as conn:  # registered the web page's way, her request in her feed
        (channels,) = conn.execute(
            "SELECT group_concat(channel) FROM (SELECT channel FROM addresses a JOIN users u ON u.id = a.user_id "
            "WHERE u.contact_id = 'c-overvecht-1' ORDER BY channel)"
        ).fetchone()
        assert channels == "email,web"
        assert conn.execute("SELECT count(*) FROM web_feed").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM login_links WHERE used_at IS NULL").fetchone() == (1,)


async def test_the_served_page_opens_from_the_printed_link_and_her_answer_reaches_the_volunteer(env: Path) -> None:
    out = io.StringIO()
    read_end, write_end = os.pipe()
    stdin, sys.stdin = sys.stdin, os.fdopen(read_end, "r", encoding="utf-8")
    demo = asyncio.create_task(
        cli_demo.demo(load(), EXAMPLE, None, None, env / "out", out=out, codes=fixed_codes(), serve=True)
    )
    try:
        async with asyncio.timeout(30):
            while "the web page is at" not in out.getvalue():
                await asyncio.sleep(0.05)
        link = re.search(r"http://127\.0\.0\.1:\d+/login/\S+", out.getvalue())
        assert link, out.getvalue()[-2000:]
        base = link.group(0).split("/login/")[0]
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
            async with browser.get(link.group(0)) as response:
                html = await response.text()
            csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)  # type: ignore[union-attr]
            async with browser.post(link.group(0), data={"csrf": csrf}) as response:
                assert str(response.url) == f"{base}/"
                html = await response.text()
            assert "Verzoek om een warme overdracht H-100001" in html
            entry, accept = re.search(  # type: ignore[union-attr]
                r'name="entry" value="(\d+)">\s*<button type="submit" name="button" value="(c:[^"]+:accept:\d+)"', html
            ).groups()
            csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)  # type: ignore[union-attr]
            async with browser.post(f"{base}/press", data={"csrf": csrf, "entry": entry, "button": accept}) as response:
                assert "✓ Aannemen" in await response.text()
        async with asyncio.timeout(30):  # the console's pulse delivers what followed to Ayşe
            while not re.search(r"→ Ayşe: .*H-100001.*kabul", out.getvalue()):
                await asyncio.sleep(0.1)
    finally:
        os.close(write_end)  # the keyboard ends: the demo stops its page and ends
        async with asyncio.timeout(30):
            code = await demo
        sys.stdin.close()
        sys.stdin = stdin
    assert code == 0
