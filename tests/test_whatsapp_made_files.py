"""A file the bot made (a summary's chart, an export's CSV: bot/outgoing.File) reaches a WhatsApp person
(issue 17), against the fake Graph API on 127.0.0.1 (tests/fakegraphapi.py, which checks an upload's type and
size as Meta does):

- the sender uploads it (`POST /{number id}/media`) only when its message goes, a chart as an image, a CSV as
  a document named as on Telegram (as text/plain: Meta takes no text/csv), with the message's text as its
  caption; a retry reuses the upload, a message held outside the
  24-hour window uploads nothing, and a crash between the text and the file sends only the file;
- the real `wijkbrug run` (WhatsApp only): a coordinator's /summary is the text, then the chart, byte for
  byte what `wijkbrug summary --format png` draws; /export the CSV; the Monday push carries its chart, and
  outside the window the template goes first and the summary with its chart after the coordinator's reply.

Every person, number, file and text here is invented."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot import delivery, schedules
from bot.i18n import Catalogs
from bot.whatsapp_render import TEMPLATE_NAME
from bot.whatsapp_send import WhatsAppSender
from db import users, whatsapp
from db.connection import Connection, transaction
from flows.model import Role
from tests.conftest import FakeClock
from tests.fakegraphapi import FakeGraphApi, WaUser
from tests.test_run_channels import WhatsAppOnly, change, hears, stored, utc

PNG = b"\x89PNG\r\n\x1a\n" + b"an invented chart " * 40
CSV = "\ufeffweek,code,theme\r\n2026-W45,Q-AB12,school\r\n".encode()  # invented rows
CAPTION = "Vragen per thema, en de overdrachten van week 2026-W45. (invented)"
WEEK = "2026-W45"


def made(kind: str, name: str, data: bytes, text: str = CAPTION) -> dict[str, Any]:
    return {"text": text, "file": {"kind": kind, "name": name, "data": base64.b64encode(data).decode()}}


def media_of(graph: FakeGraphApi, message: dict[str, Any]) -> dict[str, Any]:
    kind = message["type"]
    return graph.media[message["payload"][kind]["id"]]


@pytest.fixture
async def sara(conn: Connection, clock: FakeClock) -> AsyncIterator[tuple[FakeGraphApi, WaUser]]:
    """A coordinator on WhatsApp who wrote two days ago (her window closed) and the fake Meta."""
    async with FakeGraphApi(clock=clock) as graph:
        graph.register_template(TEMPLATE_NAME, "nl", 0)
        user = graph.add_user("Sara")
        async with transaction(conn):
            await users.create(conn, channel="whatsapp", chat_id=user.bsuid, role=Role.COORDINATOR,
                               org_id="lantaarn", language="nl", display_name="Sara", now=clock() - timedelta(days=2))
        yield graph, user


def sender_for(conn: Connection, catalogs: Catalogs, clock: FakeClock, graph: FakeGraphApi) -> WhatsAppSender:
    return WhatsAppSender(conn, catalogs, clock, token=graph.token, number_id=graph.phone_number_id,
                          api_url=graph.api_url)


async def writes(conn: Connection, clock: FakeClock, graph: FakeGraphApi, user: WaUser) -> None:
    user.last_inbound = graph.now()
    await whatsapp.wrote(conn, user.bsuid, clock())


async def test_a_chart_is_held_outside_the_window_then_one_image_with_its_caption_uploaded_once(
    conn: Connection, catalogs: Catalogs, clock: FakeClock, sara: tuple[FakeGraphApi, WaUser]
) -> None:
    graph, user = sara
    sender = sender_for(conn, catalogs, clock, graph)
    body = made("photo", "summary.png", PNG)
    try:
        for _ in range(2):  # outside the window: the template once, the chart held; nothing uploaded
            with pytest.raises(delivery.RetryAfter):
                await sender.send(user.bsuid, "say", body)
        assert graph.texts(user) == [f"template:{TEMPLATE_NAME}"] and graph.uploads == 0

        await writes(conn, clock, graph, user)
        await sender.send(user.bsuid, "say", body)
        image = graph.sent_to(user)[-1]
        assert image["type"] == "image" and image["payload"]["image"]["caption"] == CAPTION
        assert media_of(graph, image)["data"] == PNG and media_of(graph, image)["mime_type"] == "image/png"
        await sender.send(user.bsuid, "say", body)  # a retry, or a late 131047 put back: the same upload
        assert graph.uploads == 1 and len({m["payload"]["image"]["id"] for m in graph.sent_to(user)[1:]}) == 1

        graph.expire_media(image["payload"]["image"]["id"])  # Meta forgot it: refused once, uploaded again
        await sender.send(user.bsuid, "say", body)
        assert graph.uploads == 2 and [c["code"] for c in graph.refused()] == [100]
        assert media_of(graph, graph.sent_to(user)[-1])["data"] == PNG
    finally:
        await sender.close()


async def test_an_export_is_a_csv_document_and_the_fake_refuses_what_meta_refuses(
    conn: Connection, catalogs: Catalogs, clock: FakeClock, sara: tuple[FakeGraphApi, WaUser]
) -> None:
    graph, user = sara
    await writes(conn, clock, graph, user)
    sender = sender_for(conn, catalogs, clock, graph)
    try:
        await sender.send(user.bsuid, "say", made("document", f"wijkbrug-{WEEK}.csv", CSV, "Week 2026-W45 (invented)"))
        document = graph.sent_to(user)[-1]
        assert document["type"] == "document"
        assert document["payload"]["document"]["filename"] == f"wijkbrug-{WEEK}.csv"
        assert document["payload"]["document"]["caption"] == "Week 2026-W45 (invented)"
        assert media_of(graph, document)["data"] == CSV and media_of(graph, document)["mime_type"] == "text/plain"

        assert graph.refused() == []

        # What the fake refuses, as Meta does: a type Meta does not take, an image over 5 MB, bytes of another type.
        big = PNG + b"\0" * 5 * 2**20
        for data, name, mime, code in ((CSV, "x.csv", "text/csv", "100"), (big, "x.png", "image/png", "131053"),
                                       (CSV, "x.png", "image/png", "131053")):
            with pytest.raises(delivery.Permanent, match=code):
                await sender.upload(data, name, mime)
    finally:
        await sender.close()


async def test_a_crash_between_the_text_and_the_file_sends_only_the_file_with_the_same_upload(
    conn: Connection, catalogs: Catalogs, clock: FakeClock, sara: tuple[FakeGraphApi, WaUser]
) -> None:
    graph, user = sara
    await writes(conn, clock, graph, user)
    words = " ".join(f"woord{n}" for n in range(150))  # over a caption's 1024 characters: text, then the file
    body = made("document", f"wijkbrug-{WEEK}.csv", CSV, words)
    crashed = sender_for(conn, catalogs, clock, graph)
    release = graph.stall_after(1)
    task = asyncio.create_task(crashed.send(user.bsuid, "say", body))
    await graph.wait_for(lambda g: g.stalled)  # the text confirmed, the document in flight
    task.cancel()  # the bot stops here
    await asyncio.gather(task, return_exceptions=True)
    release.set()
    await crashed.close()
    assert [m["type"] for m in graph.sent_to(user)] == ["text"] and graph.uploads == 1
    again = sender_for(conn, catalogs, clock, graph)
    try:
        await again.send(user.bsuid, "say", body)  # the outbox row, sent again after the restart
        sent = graph.sent_to(user)
        assert [m["type"] for m in sent] == ["text", "document"] and graph.uploads == 1
        assert sent[0]["payload"]["text"]["body"] + " " + sent[1]["payload"]["document"]["caption"] == words
        assert media_of(graph, sent[1])["data"] == CSV
    finally:
        await again.close()


# --- the real `wijkbrug run` -----------------------------------------------------------------------------------


async def drawn(bot: WhatsAppOnly, week: str, form: str) -> bytes:
    """What `wijkbrug summary` makes of the organisation's week: the chart or the CSV the bot makes too."""
    out = bot.folder / f"{week}.{form}"
    await bot.operator("summary", "--org", "lantaarn", "--week", week, "--format", form, "--language", "nl",
                       "-o", str(out))
    return out.read_bytes()


def files(graph: FakeGraphApi, user: WaUser) -> list[dict[str, Any]]:
    return [m for m in graph.sent_to(user) if m["type"] in ("image", "document")]


async def test_a_coordinator_on_whatsapp_gets_the_summary_s_chart_and_the_export(whatsapp_only) -> None:  # noqa: ANN001
    bot, _ = whatsapp_only
    graph = bot.graph
    code = await bot.invite("--role", "coordinator", "--org", "lantaarn")
    await bot.start()
    noor = await bot.join("Noor", code)
    start = len(graph.sent_to(noor))
    await bot.writes(noor, f"/summary {WEEK}")
    await graph.wait_for(lambda g: files(g, noor), timeout=30)
    assert [m["type"] for m in graph.sent_to(noor)[start:]] == ["text", "image"]  # the text, then the chart
    chart = graph.sent_to(noor)[-1]
    assert media_of(graph, chart)["data"] == await drawn(bot, WEEK, "png")  # byte for byte what was drawn
    assert chart["payload"]["image"]["caption"].startswith("Vragen per onderwerp")

    await bot.writes(noor, f"/export {WEEK}")
    await graph.wait_for(lambda g: len(files(g, noor)) == 2, timeout=30)
    export = files(graph, noor)[-1]
    assert export["type"] == "document" and export["payload"]["document"]["filename"] == f"wijkbrug-{WEEK}.csv"
    assert media_of(graph, export)["data"] == await drawn(bot, WEEK, "csv")
    assert media_of(graph, export)["mime_type"] == "text/plain"
    assert graph.refused() == [] and graph.uploads == 2
    assert await bot.stop() == 0, bot.logs()[-3000:]


async def test_the_monday_push_carries_its_chart_after_the_template_outside_the_window(whatsapp_only) -> None:  # noqa: ANN001
    bot, moved = whatsapp_only
    graph = bot.graph
    graph.register_template(TEMPLATE_NAME, "nl", 0)
    code = await bot.invite("--role", "coordinator", "--org", "lantaarn")
    await bot.start()
    noor = await bot.join("Noor", code)
    await graph.wait_for(lambda _: bool(stored_push(bot)), timeout=20)  # the timers' first round set it
    await bot.settled()
    assert await bot.stop() == 0, bot.logs()[-3000:]

    # A day and an hour pass without a word from Noor: her window has closed, on both sides.
    day_ago = utc(datetime.now(UTC) - timedelta(hours=25))
    change(bot.database, "UPDATE addresses SET last_inbound_at = ? WHERE channel = 'whatsapp' AND address = ?",
           day_ago, noor.bsuid)
    moved[0] = timedelta(hours=25).total_seconds()
    start = len(graph.sent_to(noor))
    await bot.start()
    change(bot.database, "UPDATE settings SET value = ? WHERE key = ?", utc(datetime.now(UTC)), schedules.PUSH_KEY)
    await graph.wait_for(lambda g: g.texts(noor)[start:] == [f"template:{TEMPLATE_NAME}"], timeout=30)
    await graph.wait_for(lambda _: held(bot, noor) == 2, timeout=20)  # the summary, its chart behind it
    assert graph.uploads == 0  # the chart waits, not uploaded while it is held

    await bot.writes(noor, "ok")  # she answers the template: the summary, its chart, then the answer to "ok"
    await hears(graph, noor, "Goedemorgen! Hier is het overzicht van vorige week.")
    await graph.wait_for(lambda g: files(g, noor), timeout=30)
    await bot.settled()
    kinds = [m["type"] for m in graph.sent_to(noor)[start:]]
    assert kinds[:3] == ["template", "text", "image"] and len(kinds) > 3, kinds
    assert "Goedemorgen!" in graph.texts(noor)[start + 1]
    assert media_of(graph, files(graph, noor)[0])["data"] == await drawn(bot, "last", "png")
    assert graph.refused() == [] and graph.uploads == 1
    assert await bot.stop() == 0, bot.logs()[-3000:]
    assert noor.bsuid not in bot.logs()


def stored_push(bot: WhatsAppOnly) -> list[tuple[Any, ...]]:
    return stored(bot.database, "SELECT value FROM settings WHERE key = ?", schedules.PUSH_KEY)


def held(bot: WhatsAppOnly, user: WaUser) -> int:
    """How many messages wait in the outbox for `user`."""
    [(count,)] = stored(bot.database, "SELECT count(*) FROM outbox WHERE channel = 'whatsapp' AND address = ?",
                        user.bsuid)
    return int(count)
