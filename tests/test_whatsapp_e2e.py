"""WhatsApp end to end against the fake Graph API (tests/fakegraphapi.py): the bot's WhatsApp channel
(webhook, inbox, runner, outbox, sender) on 127.0.0.1, the fake playing Meta and the people. Every
person, id and number here is invented."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot import delivery
from bot.i18n import Catalogs
from bot.whatsapp_channel import WhatsAppChannel
from bot.whatsapp_render import TEMPLATE_NAME
from bot.whatsapp_webhook import PATH, make_app
from db import invites, outbox, users
from db.connection import Connection, transaction
from flows.model import Role
from tests.conftest import FakeClock
from tests.fakegraphapi import FakeGraphApi, WaUser

VERIFY = "invented-verify-token"


@dataclass
class Bot:
    channel: WhatsAppChannel
    graph: FakeGraphApi
    conn: Connection
    clock: FakeClock

    async def invite(self) -> str:
        async with transaction(self.conn):
            made = await invites.create(
                self.conn, role=Role.VOLUNTEER, org_id="lantaarn", now=self.clock(), valid_for=timedelta(days=14)
            )
        return made.code

    async def join(self, name: str) -> WaUser:
        user = self.graph.add_user(name)  # known by a business-scoped id only, no phone number
        await self.graph.deliver_message(user, f"START {await self.invite()}")
        await self.graph.wait_for(lambda g: g.sent_to(user))
        return user

    async def said(self, user: WaUser, count: int) -> list[dict[str, Any]]:
        """Wait until `user` has been sent `count` messages; all of them."""
        await self.graph.wait_for(lambda g: len(g.sent_to(user)) >= count)
        await asyncio.sleep(0.05)
        return self.graph.sent_to(user)


def words(message: dict[str, Any]) -> str:
    payload = message["payload"]
    if message["type"] == "text":
        return str(payload["text"]["body"])
    if message["type"] == "interactive":
        return str(payload["interactive"]["body"]["text"])
    return ""


def options(message: dict[str, Any]) -> list[tuple[str, str]]:
    action = message["payload"]["interactive"]["action"]
    if "buttons" in action:
        return [(b["reply"]["id"], b["reply"]["title"]) for b in action["buttons"]]
    return [(r["id"], r["title"]) for s in action["sections"] for r in s["rows"]]


@pytest.fixture
async def bot(conn: Connection, db_path: Path, catalogs: Catalogs, clock: FakeClock) -> AsyncIterator[Bot]:
    from db.vault import of as vault_of

    async with FakeGraphApi(clock=clock) as graph:
        channel = WhatsAppChannel(
            db_path, catalogs, clock, vault_of(conn), token=graph.token, number_id=graph.phone_number_id,
            app_secret=graph.app_secret, verify_token=VERIFY, api_url=graph.api_url,
            pacer=delivery.Pacer(per_second=1000, burst=1000, chat_per_second=1000, chat_burst=1000),
        )
        await channel.open()
        runner = web.AppRunner(make_app(channel.intake), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        graph.webhook_url = f"http://127.0.0.1:{runner.addresses[0][1]}{PATH}"
        task = asyncio.create_task(channel.run())
        try:
            yield Bot(channel, graph, conn, clock)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await runner.cleanup()
            await channel.close()


async def test_meta_s_verification_and_unsigned_webhooks(bot: Bot) -> None:
    assert await bot.graph.verify_webhook(VERIFY) == (200, "1158201444")
    assert (await bot.graph.verify_webhook("a guess"))[0] == 403
    user = bot.graph.add_user("Invented")
    wrong = await bot.graph.deliver_message(user, "hallo", signature="wrong")
    missing = await bot.graph.deliver_message(user, "hallo", signature="missing")
    assert wrong.answers == [403] and missing.answers == [403]
    async with bot.conn.execute("SELECT count(*) FROM inbox WHERE channel = 'whatsapp'") as cur:
        assert (await cur.fetchone())[0] == 0


async def test_a_username_user_joins_with_the_start_code_once_and_is_keyed_on_their_bsuid(bot: Bot) -> None:
    user = bot.graph.add_user("Ayşe (invented)")
    code = await bot.invite()
    delivered = await bot.graph.deliver_message(user, f"START {code}", duplicate=True)
    assert delivered.answers == [200, 200]
    welcome = await bot.said(user, 1)
    account = await users.by_address(bot.conn, "whatsapp", user.bsuid)
    assert account is not None and account.role == Role.VOLUNTEER and account.display_name == "Ayşe (invented)"
    assert "Welkom" in words(welcome[0]) or "welkom" in words(welcome[0]).lower()
    async with bot.conn.execute("SELECT count(*) FROM inbox WHERE channel = 'whatsapp'") as cur:
        assert (await cur.fetchone())[0] == 1


async def test_a_question_s_prompts_within_meta_s_limits_and_a_stale_press(bot: Bot) -> None:
    user = await bot.join("Sara (invented)")
    before = len(bot.graph.sent_to(user))
    await bot.graph.deliver_message(user, "/new")
    safety = (await bot.said(user, before + 1))[-1]
    assert safety["type"] == "interactive" and len(options(safety)) == 2
    no = options(safety)[1][0]
    await bot.graph.deliver_message(user, button_reply=no)
    theme = (await bot.said(user, before + 2))[-1]
    assert theme["payload"]["interactive"]["type"] == "list" and len(options(theme)) == 8
    school = options(theme)[1][0]
    await bot.graph.deliver_message(user, list_reply=school)
    age = (await bot.said(user, before + 3))[-1]
    await bot.graph.deliver_message(user, list_reply=options(age)[1][0])
    sent = await bot.said(user, before + 5)  # eleven languages: two pages of a list
    pages = [m for m in sent[before + 3:] if m["type"] == "interactive"]
    assert [len(options(p)) for p in pages] == [10, 1]
    assert bot.graph.refused() == []  # every payload passed the fake's checks
    await bot.graph.deliver_message(user, button_reply=no, check_reply=False)  # the old safety prompt
    stale = (await bot.said(user, len(sent) + 1))[-1]
    assert stale["type"] == "text" and "verlopen" in words(stale).lower()


async def test_outside_the_window_one_template_and_the_message_waits_for_the_reply(bot: Bot) -> None:
    user = await bot.join("Ayşe (invented)")
    bot.graph.register_template(TEMPLATE_NAME, "nl", 0)
    start = len(bot.graph.sent_to(user))
    bot.clock.advance(hours=25)
    # Something for the person while their window is closed: the answer to a (simulated) timer.
    account = await users.by_address(bot.conn, "whatsapp", user.bsuid)
    assert account is not None
    async with transaction(bot.conn):
        await outbox.enqueue(bot.conn, "whatsapp", user.bsuid, "say", {"text": "Eerste"}, bot.clock())
        await outbox.enqueue(bot.conn, "whatsapp", user.bsuid, "say", {"text": "Tweede"}, bot.clock())
    bot.channel.worker.wake.set()
    sent = await bot.said(user, start + 1)
    assert [m["type"] for m in sent[start:]] == ["template"]
    assert sent[start]["payload"]["template"]["language"]["code"] == "nl"
    await asyncio.sleep(0.2)
    assert len(bot.graph.sent_to(user)) == start + 1  # held, and the template went once
    await bot.graph.deliver_message(user, "ok")
    sent = await bot.said(user, start + 3)
    assert [words(m) for m in sent[start + 1:start + 3]] == ["Eerste", "Tweede"]


async def queue(bot: Bot, user: WaUser, *texts: str) -> None:
    async with transaction(bot.conn):
        for text in texts:
            await outbox.enqueue(bot.conn, "whatsapp", user.bsuid, "say", {"text": text}, bot.clock())
    bot.channel.worker.wake.set()


async def believe_open(bot: Bot, user: WaUser) -> None:
    """The bot's record says the person wrote just now; Meta's does not (so Meta answers 131047)."""
    async with transaction(bot.conn):
        await bot.conn.execute(
            "UPDATE addresses SET last_inbound_at = ? WHERE address = ?", (bot.clock().isoformat(), user.bsuid)
        )


@pytest.mark.parametrize("failure", ["now", "late"])
async def test_131047_at_once_or_as_a_late_status_sends_the_template_and_holds_the_message(
    bot: Bot, failure: str
) -> None:
    user = await bot.join("Ayşe (invented)")
    bot.graph.register_template(TEMPLATE_NAME, "nl", 0)
    bot.graph.window_failure = failure  # type: ignore[assignment]
    start = len(bot.graph.sent_to(user))
    bot.clock.advance(hours=30)
    await believe_open(bot, user)
    await queue(bot, user, "Eerste")
    if failure == "late":
        await bot.said(user, start + 1)  # accepted, then reported failed
        await bot.graph.flush_statuses()
        bot.channel.worker.wake.set()
    sent = await bot.said(user, start + (2 if failure == "late" else 1))
    assert sent[-1]["type"] == "template"
    bot.clock.advance(minutes=3)
    await bot.graph.deliver_message(user, "hier ben ik")
    await bot.graph.wait_for(lambda g: any(words(m) == "Eerste" and m["late_error"] is None for m in g.sent_to(user)))


@pytest.mark.parametrize("code", [130429, 131056])
async def test_throttled_sends_wait_and_go_again(bot: Bot, code: int) -> None:
    user = await bot.join("Sara (invented)")
    start = len(bot.graph.sent_to(user))
    bot.graph.fail_next(code, recipient=user if code == 131056 else None)
    await queue(bot, user, "Na een pauze")
    await bot.graph.wait_for(lambda g: [c for c in g.refused() if c["code"] == code])
    await asyncio.sleep(0.1)
    assert len(bot.graph.sent_to(user)) == start  # waiting, not dropped
    bot.clock.advance(seconds=10)
    bot.channel.worker.wake.set()
    sent = await bot.said(user, start + 1)
    assert words(sent[-1]) == "Na een pauze"


async def test_an_undeliverable_address_is_marked_unreachable_for_the_coordinator(bot: Bot) -> None:
    user = await bot.join("Sara (invented)")
    account = await users.by_address(bot.conn, "whatsapp", user.bsuid)
    assert account is not None
    bot.graph.undeliverable(user)
    await queue(bot, user, "Komt niet aan")
    await bot.graph.wait_for(lambda g: [c for c in g.refused() if c["code"] == 131026])
    for _ in range(100):
        if [a.id for a in await users.newly_unreachable(bot.conn)] == [account.id]:
            break
        await asyncio.sleep(0.02)
    assert [a.id for a in await users.newly_unreachable(bot.conn)] == [account.id]
