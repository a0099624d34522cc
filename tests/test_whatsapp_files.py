"""Files across WhatsApp (issue 17), against the fake Graph API on 127.0.0.1 (tests/fakegraphapi.py):

- a letter a volunteer sent on WhatsApp is a download on the member's web page (the real `wijkbrug run`), byte
  for byte, fetched from Meta when asked and kept nowhere; once Meta has forgotten it, the page says so in the
  member's language; the same on an e-mail person's page;
- a Telegram file for a WhatsApp reader is uploaded to Meta once: a message held by the 24-hour window uploads
  nothing, a retry reuses the upload, and only a media id Meta refuses (or one 29 days old) is uploaded again;
  the media ids go with the question's erasure and with its consent.

Every person, number, file and text here is invented."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from bot import delivery, feed_send
from bot import whatsapp_render as render
from bot.i18n import Catalogs
from bot.web.files import by_channel, telegram_fetch, whatsapp_fetch
from bot.whatsapp_render import TEMPLATE_NAME
from bot.whatsapp_send import WhatsAppSender
from db import cases, login_links, privacy, questions, users, whatsapp
from db.connection import Connection, connect, transaction
from db.vault import Vault, attach, load_keys
from flows.model import AddAttachment, LogQuestion, Role
from tests.conftest import FakeClock
from tests.fakegraphapi import MEDIA_TTL, FakeGraphApi
from tests.test_e2e_telegram import reply_containing
from tests.test_web import csrf, open_button
from tests.test_whatsapp_handover import EMRE, LETTER, ask_for_a_handover, hears
from tests.test_whatsapp_handover import both as both  # noqa: F401 - a fixture: `wijkbrug run`, fake Bot and Graph APIs
from tests.web_world import CASE, free_port, request_waiting, serve_web

GONE_NL = "Dit bestand is niet meer beschikbaar"


def browser() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # unsafe: cookies of 127.0.0.1


async def log_in(client: aiohttp.ClientSession, base: str, link: str) -> str:
    async with client.post(f"{base}/login/{link}", data=await open_button(client, base, link)) as response:
        assert response.status == 200 and str(response.url) == f"{base}/", await response.text()
        return await response.text()


async def test_a_letter_sent_on_whatsapp_is_a_download_on_the_member_s_page_until_meta_forgets_it(both) -> None:  # noqa: ANN001
    bot, graph = both
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    bot.env.update({"WIJKBRUG_WEB_LISTEN": f"127.0.0.1:{port}", "WIJKBRUG_PUBLIC_URL": base})
    volunteer = json.loads(await bot.operator(
        "invite", "--role", "volunteer", "--org", "lantaarn", "--channel", "whatsapp", "--json"))
    member = json.loads(await bot.operator("invite", "--role", "member", "--contact", "c-overvecht-2", "--json"))
    await bot.start()
    ayse = graph.add_user("Ayşe")
    for _ in range(100):  # until the webhook listens
        if (await graph.deliver_message(ayse, f"START {volunteer['code']}")).answers == [200]:
            break
        await asyncio.sleep(0.1)
    await hears(graph, ayse, "Ayşe")
    bot.api.user_sends(EMRE, f"/start {member['code']}", first_name="Emre", language_code="nl")
    await reply_containing(bot.api, EMRE, "Emre")
    # Emre reads the web page from now on (his preferred address), as tests/web_world.py has it.
    conn = await connect(bot.database)
    attach(conn, Vault(load_keys(None, bot.database.with_suffix(".key"), create=False)))
    try:
        account = await users.by_chat(conn, "telegram", str(EMRE))
        assert account is not None
        async with transaction(conn):
            await users.add_address(conn, account.id, "web", str(account.id), datetime.now(UTC), preferred=True)
            link = await login_links.create(conn, account.id, datetime.now(UTC))
    finally:
        await conn.close()

    await ask_for_a_handover(graph, ayse, LETTER)
    async with browser() as client:
        html = await log_in(client, base, link)
        for _ in range(100):  # until the request is in his feed
            if "accept" in html:
                break
            await asyncio.sleep(0.1)
            async with client.get(f"{base}/") as response:
                html = await response.text()
        assert "/file/" not in html  # nothing forwarded before the member accepts
        accept = re.search(r'value="(c:[^"]+:accept:\d+)"', html).group(1)  # type: ignore[union-attr]
        async with client.post(f"{base}/press", data={"csrf": csrf(html), "button": accept}) as response:
            html = await response.text()
        (entry,) = re.findall(r'href="/file/(\d+)"', html)
        async with client.get(f"{base}/file/{entry}") as response:
            assert response.status == 200
            assert await response.read() == LETTER  # byte for byte, from Meta with the token
            assert response.headers["Content-Disposition"] == "attachment; filename=wijkbrug-file.pdf"
            assert response.content_type == "application/octet-stream"
        await hears(graph, ayse, "talebinizi kabul etti")
        (media_id,) = [key for key, media in graph.media.items() if media["data"] == LETTER]
        graph.expire_media(media_id)  # Meta forgets a person's media after 30 days
        async with client.get(f"{base}/file/{entry}") as response:
            assert response.status == 410 and GONE_NL in await response.text()
    # Meta refused one call: the page's GET of the media it had forgotten.
    assert [(c["method"], c["path"]) for c in graph.refused()] == [("GET", f"/{graph.version}/{media_id}")]
    assert await bot.stop() == 0
    assert not list(bot.folder.rglob("*.pdf"))  # the letter was kept nowhere
    logs = bot.logs()
    assert "Fatma" not in logs and media_id not in logs


async def test_on_an_e_mail_person_s_page_and_in_their_language(tmp_path: Path, catalogs: Catalogs, api) -> None:  # noqa: ANN001
    """An e-mail person reads the same page: their messages go into the same feed (bot/email_send.py)."""
    from tests.conftest import FAKE_TOKEN

    world = await request_waiting(tmp_path / "web.sqlite3", catalogs, member_language="ar")
    async with FakeGraphApi() as graph:
        media_id = graph.add_media(LETTER, "application/pdf")
        conn = await connect(world.database)
        attach(conn, world.vault)
        now = datetime.now(UTC)
        try:
            async with transaction(conn):
                await users.add_address(conn, world.member, "email", "emre@example.invalid", now, preferred=True)
                forwarded = {"media": "document", "ref": media_id, "channel": "whatsapp"}
                body = {"text": f"{CASE} (invented)", "forwarded": forwarded}
                await feed_send.store(conn, world.member, "say", body, now)  # as the e-mail sender stores it
                link = await login_links.create(conn, world.member, now)
        finally:
            await conn.close()
        telegram = telegram_fetch(api.api_url, api.file_url, FAKE_TOKEN)
        fetch = by_channel(telegram, whatsapp_fetch(graph.api_url, graph.token))
        async with serve_web(world, catalogs, clock=lambda: now, fetch=fetch) as (base, _), browser() as client:
            html = await log_in(client, base, link)
            entry = re.findall(r'href="/file/(\d+)"', html)[-1]
            async with client.get(f"{base}/file/{entry}") as response:
                assert response.status == 200 and await response.read() == LETTER
            graph.expire_media(media_id)
            async with client.get(f"{base}/file/{entry}") as response:
                assert response.status == 410
                assert "لم يعد متاحًا" in await response.text()  # Arabic: "no longer available"
        assert graph.media_downloads == 1


# --- a Telegram file for a WhatsApp reader: uploaded once ------------------------------------------------------

TELEGRAM_REF = "invented-telegram-file-id"
PDF = b"%PDF-1.4 an invented school letter, sent on Telegram"


class Fetches:
    def __init__(self) -> None:
        self.count = 0

    async def __call__(self, ref: str) -> bytes:
        assert ref == TELEGRAM_REF
        self.count += 1
        return PDF


def documents(graph: FakeGraphApi, bsuid: str) -> list[str]:
    return [m["payload"]["document"]["id"] for m in graph.sent_to(bsuid) if m["type"] == "document"]


async def test_a_held_or_retried_message_uploads_its_telegram_file_once(
    conn: Connection, catalogs: Catalogs, clock: FakeClock
) -> None:
    async with FakeGraphApi(clock=clock) as graph:
        graph.register_template(TEMPLATE_NAME, "nl", 0)
        sara = graph.add_user("Sara")
        async with transaction(conn):
            await users.create(conn, channel="whatsapp", chat_id=sara.bsuid, role=Role.MEMBER, org_id=None,
                               language="nl", display_name="Sara", now=clock() - timedelta(days=2))
        fetches = Fetches()
        sender = WhatsAppSender(conn, catalogs, clock, token=graph.token, number_id=graph.phone_number_id,
                                api_url=graph.api_url, fetch_telegram=fetches)
        body = {"text": "De brief (invented)", "forwarded": {"media": "document", "ref": TELEGRAM_REF,
                                                              "channel": "telegram"}}
        try:
            for _ in range(2):  # outside the window: held, twice; nothing fetched, nothing uploaded
                with pytest.raises(delivery.RetryAfter):
                    await sender.send(sara.bsuid, "say", body)
            assert (fetches.count, graph.uploads) == (0, 0)

            async def writes() -> None:
                sara.last_inbound = graph.now()
                await whatsapp.wrote(conn, sara.bsuid, clock())

            await writes()
            await sender.send(sara.bsuid, "say", body)
            await sender.send(sara.bsuid, "say", body)  # a retry, or a late 131047 put back: the same upload
            first = documents(graph, sara.bsuid)
            assert len(set(first)) == 1 and (fetches.count, graph.uploads) == (1, 1)

            graph.expire_media(first[0])  # Meta no longer has it: refused once, then uploaded again
            await sender.send(sara.bsuid, "say", body)
            assert (fetches.count, graph.uploads) == (2, 2) and documents(graph, sara.bsuid)[-1] != first[0]
            assert [c["code"] for c in graph.calls if c.get("status") == 400] == [100]

            clock.advance(days=29)  # older than Meta keeps an upload (30 days, with a day to spare)
            await writes()
            await sender.send(sara.bsuid, "say", body)
            assert (fetches.count, graph.uploads) == (3, 3)
            assert [c["code"] for c in graph.calls if c.get("status") == 400] == [100]  # no refusal needed
            assert MEDIA_TTL > 29 * 24 * 3600
        finally:
            await sender.close()
        stored = await whatsapp.uploaded(conn, TELEGRAM_REF, clock())
        assert stored is not None and stored.encode() not in await raw(conn, "SELECT media_id FROM whatsapp_media")


async def raw(conn: Connection, sql: str) -> bytes:
    async with conn.execute(sql) as cur:
        return b"".join(str(value).encode() for row in await cur.fetchall() for value in row)


async def uploaded_for_a_question(conn: Connection, clock: FakeClock, code: str) -> None:
    from db.vault import of

    async with transaction(conn):
        volunteer = await users.create(conn, channel="telegram", chat_id=f"70{code[-2:]}", role=Role.VOLUNTEER,
                                       org_id="lantaarn", language="nl", display_name="", now=clock())
        await questions.insert(conn, LogQuestion(
            code=code, volunteer_id=volunteer.id, org_id="lantaarn", urgent=False, theme="school",
            age_group="4-11", parent_language="tr", pc4="3561", text="invented text", created_at=clock(),
        ), of(conn))
        ref = f"{TELEGRAM_REF}-{code}"
        await cases.add_attachment(conn, AddAttachment(question_code=code, org_id="lantaarn", media="document",
                                                       file_id=ref, at=clock()), of(conn))
        await whatsapp.remember_upload(conn, ref, f"9000{code[-2:]}", clock())


async def test_the_media_ids_go_with_the_question_s_erasure_its_consent_and_their_age(
    conn: Connection, clock: FakeClock
) -> None:
    for code in ("Q-AB21", "Q-AB22", "Q-AB23"):
        await uploaded_for_a_question(conn, clock, code)
    async with transaction(conn):
        erased = await privacy.erase_question(conn, "Q-AB21", clock())
    assert erased is not None and any("WhatsApp" in item for item in erased.items)
    assert await whatsapp.uploaded(conn, f"{TELEGRAM_REF}-Q-AB21", clock()) is None
    async with transaction(conn):
        await cases.erase_parent(conn, "lantaarn", "Q-AB22", clock())  # consent withdrawn
    assert await whatsapp.uploaded(conn, f"{TELEGRAM_REF}-Q-AB22", clock()) is None
    assert await whatsapp.uploaded(conn, f"{TELEGRAM_REF}-Q-AB23", clock()) == "900023"
    clock.advance(days=30)
    async with transaction(conn):
        await privacy.apply_retention(conn, clock(), handover_days=180, text_days=365)
    assert await raw(conn, "SELECT count(*) FROM whatsapp_media") == b"0"


async def test_a_message_in_several_calls_sends_only_the_rest_after_a_crash_between_them(
    conn: Connection, catalogs: Catalogs, clock: FakeClock
) -> None:
    async with FakeGraphApi(clock=clock) as graph:
        sara = graph.add_user("Sara")
        sara.last_inbound = graph.now()
        async with transaction(conn):
            await users.create(conn, channel="whatsapp", chat_id=sara.bsuid, role=Role.MEMBER, org_id=None,
                               language="nl", display_name="Sara", now=clock())
        body = {"text": " ".join(f"woord{n}" for n in range(1500))}  # four messages of at most 4096 characters
        options = {"token": graph.token, "number_id": graph.phone_number_id, "api_url": graph.api_url}
        crashed = WhatsAppSender(conn, catalogs, clock, **options)  # type: ignore[arg-type]
        release = graph.stall_after(1)
        task = asyncio.create_task(crashed.send(sara.bsuid, "say", body))
        await graph.wait_for(lambda g: g.stalled)  # the first call confirmed, the second in flight
        task.cancel()  # the bot stops here
        await asyncio.gather(task, return_exceptions=True)
        release.set()
        await crashed.close()
        assert len(graph.sent_to(sara)) == 1
        again = WhatsAppSender(conn, catalogs, clock, **options)  # type: ignore[arg-type]
        try:
            await again.send(sara.bsuid, "say", body)  # the outbox row, sent again after the restart
            texts = [m["payload"]["text"]["body"] for m in graph.sent_to(sara)]
            pages = [p["text"]["body"] for p in render.messages(sara.bsuid, "say", body, "Kies")]
            assert len(pages) == 4 and texts == pages  # each part once, in order
            assert await whatsapp.parts_sent(conn, sara.bsuid, whatsapp.message_key("say", body)) == 0
            await again.send(sara.bsuid, "say", body)  # the same words later: a new message, sent whole
            assert len(graph.sent_to(sara)) == 8
        finally:
            await again.close()
