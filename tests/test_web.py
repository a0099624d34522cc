"""The web page over real HTTP (its aiohttp server on 127.0.0.1, an aiohttp client with a cookie
jar): login links, sessions, the page, acting on a request through the core, the coordinator's
summary, and every attack of the trust work on the web — refused, nothing changed, audited."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from bot.i18n import Catalogs
from bot.web import security
from tests.web_world import CASE, NOW, World, link_for, request_waiting, serve_web, telegram_waiting


def rows(database: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(database) as conn:
        return conn.execute(sql).fetchall()


def refusals(world: World) -> list[tuple]:
    return rows(world.database, "SELECT actor, subject FROM audit WHERE action = 'refused' ORDER BY id")


def case_state(world: World) -> list[tuple]:
    return rows(world.database, "SELECT status, version FROM cases") + rows(
        world.database, "SELECT count(*) FROM case_events"
    )


@pytest.fixture
async def world(tmp_path: Path, catalogs: Catalogs) -> World:
    return await request_waiting(tmp_path / "web.sqlite3", catalogs)


def browser() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # unsafe: cookies of 127.0.0.1


@pytest.fixture
async def site(world: World, catalogs: Catalogs) -> AsyncIterator[str]:
    async with serve_web(world, catalogs) as (base, _):
        yield base


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


async def open_button(client: aiohttp.ClientSession, base: str, link: str) -> dict[str, str]:
    """GET a login link: the page with its one button; returns the button's form."""
    async with client.get(f"{base}/login/{link}") as response:
        html = await response.text()
        assert response.status == 200 and f'action="/login/{link}"' in html, html
    return {"csrf": csrf(html)}


async def log_in(client: aiohttp.ClientSession, base: str, world: World, user_id: int) -> str:
    """Open a fresh login link and press its button; returns the page it leads to."""
    link = await link_for(world, user_id)
    async with client.post(f"{base}/login/{link}", data=await open_button(client, base, link)) as response:
        assert response.status == 200 and str(response.url) == f"{base}/"
        return await response.text()


async def test_a_login_link_opens_the_member_s_page_with_the_request_in_dutch(site, world) -> None:
    async with browser() as client:
        link = await link_for(world, world.member)
        button = await open_button(client, site, link)
        async with client.post(f"{site}/login/{link}", data=button, allow_redirects=False) as response:
            assert response.status == 303 and response.headers["Location"] == "/"
            cookie = response.headers["Set-Cookie"]
            assert cookie.startswith(f"{security.SESSION_COOKIE}=") and "HttpOnly" in cookie
            assert "SameSite=Lax" in cookie and "Secure" not in cookie  # the public URL is http here
        async with client.get(f"{site}/") as response:
            html = await response.text()
            for name, value in security.HEADERS.items():
                assert response.headers[name] == value
        for path in ("/static/wijkbrug.css", "/no-such-page"):  # a file and aiohttp's own 404 too
            async with client.get(f"{site}{path}") as response:
                assert response.headers["Content-Security-Policy"] == security.HEADERS["Content-Security-Policy"]
    assert '<html lang="nl" dir="ltr">' in html
    assert f"Verzoek om een warme overdracht {CASE}" in html and ">Aannemen</button>" in html
    assert "<script" not in html and "style=" not in html
    # Every control is a labelled form control: a field has its <label for>, a button its words.
    fields = re.findall(r'<(?:textarea|input) id="([^"]+)"', html)
    assert fields and all(f'<label for="{field}">' in html for field in fields)
    assert not re.search(r"<input(?![^>]*type=\"hidden\")(?![^>]*id=)", html)
    assert all(label.strip() for label in re.findall(r"<button[^>]*>([^<]*)</button>", html))
    # Only the hash of the session is stored; the link is used.
    (stored,), = rows(world.database, "SELECT token_hash FROM web_sessions")
    assert len(stored) == 64 and stored not in cookie
    assert rows(world.database, "SELECT used_at IS NOT NULL FROM login_links") == [(1,)]


async def test_accepting_on_the_page_goes_through_the_core_and_the_volunteer_hears_it(site, world) -> None:
    async with browser() as client:
        html = await log_in(client, site, world, world.member)
        entry, accept = re.search(r'name="entry" value="(\d+)">\s*<button type="submit" name="button" '
                                  r'value="(c:[^"]+:accept:\d+)"', html).groups()  # type: ignore[union-attr]
        form = {"csrf": csrf(html), "entry": entry, "button": accept}
        async with client.post(f"{site}/press", data=form) as response:
            assert response.url.path == "/" and response.history[0].headers["Location"] == "/#newest"
            html = await response.text()
    assert rows(world.database, "SELECT status FROM cases") == [("accepted",)]
    assert "✓ Aannemen" in html and "Fatma" in html  # the parent's details, now that it is accepted
    told = await telegram_waiting(world, world.volunteer_chat)
    assert any(CASE in text and "kabul" in text for text in told), told


async def test_asking_a_question_with_the_text_box_reaches_the_volunteer(site, world) -> None:
    async with browser() as client:
        html = await log_in(client, site, world, world.member)
        ask = re.search(r'value="(c:[^"]+:note:\d+)">Vraag stellen', html).group(1)  # type: ignore[union-attr]
        async with client.post(f"{site}/press", data={"csrf": csrf(html), "button": ask}) as response:
            html = await response.text()
        assert "Typ je bericht over" in html
        question = "Is de brief van de school? (verzonnen)"
        async with client.post(f"{site}/say", data={"csrf": csrf(html), "text": question}) as response:
            html = await response.text()
        assert "Doorgegeven." in html
    assert any(question in text for text in await telegram_waiting(world, world.volunteer_chat))


async def test_away_and_back_on_the_page(site, world) -> None:
    async with browser() as client:
        html = await log_in(client, site, world, world.member)
        async with client.post(f"{site}/away", data={"csrf": csrf(html), "day": "24-12"}) as response:
            html = await response.text()
        assert "afwezig tot" in html
        async with client.post(f"{site}/away", data={"csrf": csrf(html), "back": "1"}) as response:
            assert "Welkom terug" in await response.text()


async def test_a_replayed_link_and_an_unknown_one_are_refused_in_the_person_s_language_and_audited(site, world) -> None:
    link = await link_for(world, world.member)
    async with browser() as client:
        async with client.post(f"{site}/login/{link}", data=await open_button(client, site, link)) as response:
            assert response.status == 200 and str(response.url) == f"{site}/"
        async with client.get(f"{site}/login/{link}") as response:  # opened again by its person: their page
            assert response.status == 200 and str(response.url) == f"{site}/"
    async with browser() as client:
        async with client.get(f"{site}/login/{link}") as response:
            assert response.status == 403 and "al gebruikt" in await response.text()
        async with client.get(f"{site}/login/made-up", headers={"Accept-Language": "ar"}) as response:
            html = await response.text()
            assert response.status == 403 and '<html lang="ar" dir="rtl">' in html
        async with client.get(f"{site}/") as response:
            assert response.status == 401  # no session came of either
    assert refusals(world) == [(f"user:{world.member}", "web:login-link:used"), ("web", "web:login-link:unknown")]
    assert rows(world.database, "SELECT count(*) FROM web_sessions") == [(1,)]


async def test_a_page_view_in_a_session_is_recorded_for_the_e_mail_quiet_rule(world, catalogs) -> None:
    """bot/email_send.py holds back a second e-mail about a case until the person read the first:
    a page viewed by a logged-in person counts (db/web_sessions.seen_since), not only a link used."""
    from datetime import timedelta

    from db import web_sessions
    from db.connection import connect

    now = [NOW]
    async with serve_web(world, catalogs, clock=lambda: now[0]) as (base, _):
        async with browser() as client:
            await log_in(client, base, world, world.member)
            conn = await connect(world.database)
            try:
                assert not await web_sessions.seen_since(conn, world.member, NOW + timedelta(minutes=5))
                now[0] = NOW + timedelta(minutes=10)
                async with client.get(f"{base}/") as response:  # a view, ten minutes later
                    assert response.status == 200
                assert await web_sessions.seen_since(conn, world.member, NOW + timedelta(minutes=5))
                assert not await web_sessions.seen_since(conn, world.colleague, NOW)
            finally:
                await conn.close()


async def test_a_mail_scanner_opening_the_link_first_uses_up_nothing(site, world) -> None:
    """A corporate mail scanner (Safe Links and the like) GETs every link before its reader does:
    that shows the page with the button and changes nothing; the button (a POST) uses the link."""
    link = await link_for(world, world.member)
    links = "SELECT used_at FROM login_links"
    async with browser() as scanner, browser() as other:
        for _ in range(2):
            async with scanner.get(f"{site}/login/{link}") as response:
                html = await response.text()
                assert response.status == 200 and '<html lang="nl"' in html and ">Wijkbrug openen</button>" in html
        late = await open_button(other, site, link)  # a second window, opened before the link is used
        assert rows(world.database, links) == [(None,)] and rows(world.database, "SELECT * FROM web_sessions") == []
        async with browser() as client:
            button = await open_button(client, site, link)
            async with client.post(f"{site}/login/{link}", data=button) as response:
                assert response.status == 200 and str(response.url) == f"{site}/"  # logged in
            async with client.post(f"{site}/login/{link}", data=button) as response:  # pressed twice
                assert response.status == 200 and str(response.url) == f"{site}/"  # their page, no new session
        async with other.post(f"{site}/login/{link}", data=late) as response:  # anyone else: used
            assert response.status == 403 and "al gebruikt" in await response.text()
        async with other.get(f"{site}/") as response:
            assert response.status == 401
    assert rows(world.database, "SELECT count(*) FROM web_sessions") == [(1,)]
    assert refusals(world) == [(f"user:{world.member}", "web:login-link:used")]


async def test_the_link_s_button_without_its_visitor_cookie_s_token_logs_nobody_in(site, world) -> None:
    """Login CSRF: another site cannot post the button for a link of its own (the form's token is
    tied to the visitor cookie the link's page set), so nobody is logged in to someone else's page."""
    link = await link_for(world, world.member)
    async with browser() as client:
        for form in ({}, {"csrf": "0" * 64}):
            async with client.post(f"{site}/login/{link}", data=form) as response:
                assert response.status == 403
    assert rows(world.database, "SELECT used_at FROM login_links") == [(None,)]
    assert rows(world.database, "SELECT count(*) FROM web_sessions") == [(0,)]
    assert refusals(world) == [("web", "web:csrf")]


async def test_an_expired_link_offers_a_fresh_one_by_a_protected_form(world, catalogs) -> None:
    sent_to: list[int] = []

    async def fresh_link(conn, user_id, now) -> None:  # noqa: ANN001 - the e-mail channel's part
        sent_to.append(user_id)

    link = await link_for(world, world.member, now=NOW.replace(hour=1), hours=1)
    async with serve_web(world, catalogs, fresh_link=fresh_link) as (base, _), browser() as client:
        async with client.get(f"{base}/login/{link}") as response:
            html = await response.text()
            assert response.status == 410 and "verlopen" in html and f'action="/login/{link}/fresh"' in html
        async with client.post(f"{base}/login/{link}/fresh", data={"csrf": "forged"}) as response:
            assert response.status == 403
        assert sent_to == []
        async with client.post(f"{base}/login/{link}/fresh", data={"csrf": csrf(html)}) as response:
            assert response.status == 200 and "nieuwe link" in (await response.text()).lower()
        assert sent_to == [world.member]
    assert ("web", "web:csrf") in refusals(world)


async def test_link_use_is_rate_limited_per_client(world, catalogs) -> None:
    async with serve_web(world, catalogs, links=security.LinkLimit(per_minute=0.001, burst=3)) as (base, _):
        async with browser() as client:
            statuses = []
            for _ in range(5):
                async with client.get(f"{base}/login/made-up") as response:
                    statuses.append(response.status)
    assert statuses == [403, 403, 403, 429, 429]
    assert ("web", "web:rate-limit") in refusals(world)


async def test_a_form_without_its_csrf_token_changes_nothing_and_is_audited(site, world) -> None:
    before = case_state(world)
    async with browser() as client:
        html = await log_in(client, site, world, world.member)
        accept = re.search(r'value="(c:[^"]+:accept:\d+)"', html).group(1)  # type: ignore[union-attr]
        for form in ({"button": accept}, {"button": accept, "csrf": "0" * 64}):
            async with client.post(f"{site}/press", data=form) as response:
                assert response.status == 403
    assert case_state(world) == before
    assert refusals(world) == [(f"user:{world.member}", "web:csrf")]


async def test_a_logged_out_session_is_refused_and_changes_nothing(site, world) -> None:
    before = case_state(world)
    async with browser() as client:
        html = await log_in(client, site, world, world.member)
        token = client.cookie_jar.filter_cookies(URL(site))[security.SESSION_COOKIE].value
        accept = re.search(r'value="(c:[^"]+:accept:\d+)"', html).group(1)  # type: ignore[union-attr]
        async with client.post(f"{site}/logout", data={"csrf": csrf(html)}) as response:
            assert response.status == 200 and "uitgelogd" in await response.text()
    assert rows(world.database, "SELECT count(*) FROM web_sessions") == [(0,)]
    async with browser() as client:  # the old cookie, kept by someone
        client.cookie_jar.update_cookies({security.SESSION_COOKIE: token})
        async with client.post(f"{site}/press", data={"csrf": csrf(html), "button": accept}) as response:
            assert response.status == 401
        async with client.get(f"{site}/") as response:
            assert response.status == 401
    assert case_state(world) == before
    assert ("web", "web:no-session") in refusals(world)


async def test_another_member_s_case_by_url_or_by_press_is_refused_and_audited(site, world) -> None:
    before = case_state(world)
    async with browser() as client:
        html = await log_in(client, site, world, world.colleague)
        async with client.get(f"{site}/case/{CASE}") as response:
            text = await response.text()
            assert response.status == 404 and "Fatma" not in text and CASE not in text
        async with client.get(f"{site}/file/1") as response:
            assert response.status == 404
        async with client.get(f"{site}/summary") as response:
            assert response.status == 404  # a member is no coordinator
        forged = f"c:{CASE}:accept:1"
        async with client.post(f"{site}/press", data={"csrf": csrf(html), "button": forged}) as response:
            html = await response.text()
        assert "Fatma" not in html
    assert case_state(world) == before
    assert refusals(world) == [
        (f"user:{world.colleague}", f"web:case:{CASE}"), (f"user:{world.colleague}", "web:file"),
        (f"user:{world.colleague}", "web:summary"), (f"user:{world.colleague}", CASE),
    ]


async def test_the_member_s_own_case_page(site, world) -> None:
    async with browser() as client:
        await log_in(client, site, world, world.member)
        async with client.get(f"{site}/case/{CASE}") as response:
            html = await response.text()
    assert response.status == 200 and CASE in html and ">Aannemen</button>" in html


async def test_the_coordinator_s_summary_chart_and_csv_are_of_their_scope(site, world) -> None:
    async with browser() as client:
        await log_in(client, site, world, world.coordinator)
        async with client.get(f"{site}/summary") as response:
            html = await response.text()
            assert response.status == 200 and "Overvecht" in html
        async with client.get(f"{site}/summary/chart.png") as response:
            assert response.content_type == "image/png" and (await response.read()).startswith(b"\x89PNG")
        async with client.get(f"{site}/summary.csv?week=last") as response:
            assert response.content_type == "text/csv" and (await response.read()).startswith(b"\xef\xbb\xbf")
    assert rows(world.database, "SELECT actor, action FROM audit WHERE action = 'export'") == [
        (f"user:{world.coordinator}", "export")
    ]


async def test_a_revoked_person_s_session_ends(site, world) -> None:
    async with browser() as client:
        await log_in(client, site, world, world.member)
        with sqlite3.connect(world.database) as conn:
            conn.execute("UPDATE users SET revoked_at = '2026-11-30T11:00:00+00:00' WHERE id = ?", (world.member,))
        async with client.get(f"{site}/") as response:
            assert response.status == 401
    assert rows(world.database, "SELECT count(*) FROM web_sessions") == [(0,)]
    assert (f"user:{world.member}", "web:revoked") in refusals(world)


async def test_an_e_mail_invitation_joins_and_logs_in_and_a_bad_one_is_refused(world, catalogs) -> None:
    from datetime import timedelta

    from bot.web.app import email_parts
    from db import invites
    from db.connection import connect, transaction
    from flows.model import Role

    conn = await connect(world.database)
    try:
        async with transaction(conn):
            made = await invites.create(
                conn, role=Role.COORDINATOR, org_id=None, team_id="bt-west", now=NOW, valid_for=timedelta(days=14)
            )
    finally:
        await conn.close()
    fresh_link, register = email_parts()
    async with serve_web(world, catalogs, fresh_link=fresh_link, register=register) as (base, _), browser() as client:
        turkish = {"Accept-Language": "tr-TR,tr;q=0.9"}
        async with client.get(f"{base}/join/{made.code}", headers=turkish) as response:
            html = await response.text()
            assert response.status == 200 and '<html lang="tr" dir="ltr">' in html
        async with client.post(f"{base}/join/{made.code}", data={"csrf": csrf(html)}, headers=turkish) as response:
            assert str(response.url) == f"{base}/" and "Haftalık özet" in await response.text()
    async with serve_web(world, catalogs, fresh_link=fresh_link, register=register) as (base, _), browser() as client:
        async with client.get(f"{base}/join/{made.code}") as response:
            html = await response.text()
        async with client.post(f"{base}/join/{made.code}", data={"csrf": csrf(html)}) as response:
            assert response.status == 403  # an invitation is used once
    assert rows(world.database, "SELECT role, language FROM users WHERE team_id = 'bt-west'") == [("coordinator", "tr")]
    assert ("web", "web:invite") in refusals(world)


async def test_declining_with_a_typed_reason_on_the_page(site, world) -> None:
    async with browser() as client:
        html = await log_in(client, site, world, world.member)
        decline = re.search(r'value="(c:[^"]+:decline:\d+)"', html).group(1)  # type: ignore[union-attr]
        async with client.post(f"{site}/press", data={"csrf": csrf(html), "button": decline}) as response:
            html = await response.text()
        entry, other = re.findall(r'name="entry" value="(\d+)">\s*<button type="submit" name="button" '
                                  r'value="([^"]+)">Andere reden', html)[-1]
        async with client.post(f"{site}/press", data={"csrf": csrf(html), "entry": entry, "button": other}) as response:
            html = await response.text()
        reason = "Wij hebben deze maand geen plek (verzonnen)"
        async with client.post(f"{site}/say", data={"csrf": csrf(html), "text": reason}) as response:
            assert response.status == 200
    assert rows(world.database, "SELECT status FROM cases") == [("declined",)]
    assert any(reason in text for text in await telegram_waiting(world, world.volunteer_chat))


async def test_a_session_ends_after_its_time_and_with_the_person_s_erasure(world, catalogs) -> None:
    from datetime import timedelta

    from bot.cli_services import erase
    from db.connection import connect
    from db.vault import attach

    now = [NOW]
    async with serve_web(world, catalogs, clock=lambda: now[0]) as (base, _), browser() as client:
        await log_in(client, base, world, world.member)
        now[0] = NOW + timedelta(hours=12, seconds=1)
        async with client.get(f"{base}/") as response:
            assert response.status == 401
        now[0] = NOW
        await log_in(client, base, world, world.colleague)
    assert rows(world.database, "SELECT user_id FROM web_sessions ORDER BY id") == [(world.member,), (world.colleague,)]
    conn = await connect(world.database)
    attach(conn, world.vault)
    try:
        assert await erase(conn, catalogs, world.vault, world.colleague) is not None
    finally:
        await conn.close()
    assert rows(world.database, "SELECT user_id FROM web_sessions") == [(world.member,)]  # ended; it goes at next login


async def test_a_message_for_a_web_address_nobody_has_is_dropped_not_fatal(world, catalogs) -> None:
    from db import outbox
    from db.connection import connect, transaction
    from db.vault import attach

    conn = await connect(world.database)
    attach(conn, world.vault)
    try:
        async with transaction(conn):
            await outbox.enqueue(conn, "web", "999999", "say", {"text": "for nobody (invented)"}, NOW)
    finally:
        await conn.close()
    async with serve_web(world, catalogs) as (_, channel):
        while await channel.worker.drain_once():
            pass
    assert rows(world.database, "SELECT count(*) FROM outbox WHERE channel = 'web'") == [(0,)]
    assert rows(world.database, "SELECT count(*) FROM web_feed WHERE user_id = 999999") == [(0,)]


async def test_the_parent_s_letter_is_a_download_once_accepted_fetched_from_telegram(world, catalogs, api) -> None:
    from bot.web.files import telegram_fetch
    from tests.conftest import FAKE_TOKEN

    letter = b"%PDF-1.4 an invented letter from school"
    api.add_file("invented-doc-id", letter)  # the story's document, as Telegram holds it
    fetch = telegram_fetch(api.api_url, api.file_url, FAKE_TOKEN)
    async with serve_web(world, catalogs, fetch=fetch) as (base, _), browser() as client:
        html = await log_in(client, base, world, world.member)
        assert "/file/" not in html  # nothing forwarded before the member accepts
        accept = re.search(r'value="(c:[^"]+:accept:\d+)"', html).group(1)  # type: ignore[union-attr]
        async with client.post(f"{base}/press", data={"csrf": csrf(html), "button": accept}) as response:
            html = await response.text()
        (entry,) = re.findall(r'href="/file/(\d+)"', html)
        async with client.get(f"{base}/file/{entry}") as response:
            assert await response.read() == letter
            assert response.headers["Content-Disposition"].startswith("attachment;")
            assert response.content_type == "application/octet-stream"
    async with serve_web(world, catalogs) as (base, _), browser() as client:  # no Telegram to fetch from
        await log_in(client, base, world, world.member)
        async with client.get(f"{base}/file/{entry}") as response:
            assert response.status == 502 and "opgehaald" in await response.text()
    async with serve_web(world, catalogs, fetch=fetch) as (base, _), browser() as client:
        await log_in(client, base, world, world.colleague)
        async with client.get(f"{base}/file/{entry}") as response:
            assert response.status == 404  # another member's file, by its address
    assert (f"user:{world.colleague}", "web:file") in refusals(world)
