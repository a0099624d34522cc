"""Telegram's faults, from the fake Bot API: 429 with retry_after, 500s and dropped connections on
a fifth of all sending calls. Everything arrives, in order within each chat, within Telegram's
rate limits; a 403 (a person blocked the bot) is not retried, and their coordinator is told."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import directory_file
from tests.fakebotapi import FakeBotApi
from tests.test_crash import STEPS, volunteer
from tests.test_e2e_telegram import TOKEN, Wijkbrug, reply_containing, stored, texts

VOLUNTEERS = 4


@pytest.fixture
async def flaky(tmp_path: Path) -> AsyncIterator[Wijkbrug]:
    async with FakeBotApi(token=TOKEN, fault_rate=0.2, seed=11) as api:
        bot = Wijkbrug(api, tmp_path)
        await bot.operator("directory", "import", str(directory_file.sample_path()))
        yield bot
        if bot.process is not None and bot.process.returncode is None:
            await bot.kill()


async def test_a_fifth_of_all_calls_failing_delays_but_loses_and_reorders_nothing(flaky: Wijkbrug) -> None:
    bot = flaky
    codes = await asyncio.gather(
        *(bot.operator("invite", "--role", "volunteer", "--org", "zeef", "--json") for _ in range(VOLUNTEERS))
    )
    await bot.start()
    await asyncio.gather(*(volunteer(bot, 6100 + i, json.loads(code)["code"], i) for i, code in enumerate(codes)))
    await bot.settled()
    api = bot.api
    assert sum(api.injected.values()) >= 10 and set(api.injected) == {"429", "500", "reset"}
    for i in range(VOLUNTEERS):
        chat = 6100 + i
        said = texts(api, chat)
        order = [next(n for n, text in enumerate(said) if expect in text) for _, expect in STEPS]
        assert order == sorted(order), f"chat {chat}: replies out of order"
        sends = [
            c["at"] for c in api.sent(chat) if c["method"] in ("sendMessage", "editMessageText") and "failed" not in c
        ]
        for n, at in enumerate(sends):  # one per second per chat, after a burst of three
            in_window = [t for t in sends[n:] if t - at < 2.0]
            assert len(in_window) <= 5, f"chat {chat}: {len(in_window)} messages within 2 s"
    everything = sorted(
        c["at"] for c in api.calls if c["method"] in ("sendMessage", "editMessageText") and "failed" not in c
    )
    assert all(len([t for t in everything[n:] if t - at < 1.0]) <= 50 for n, at in enumerate(everything))
    assert stored(bot.database, "SELECT count(*) FROM outbox") == [(0,)]
    assert len(stored(bot.database, "SELECT code FROM questions")) == VOLUNTEERS
    print(f"\nfaults injected: {dict(api.injected)}; {len(everything)} messages delivered in order")


async def test_a_person_who_blocked_the_bot_is_not_retried_and_their_coordinator_hears_it(tmp_path: Path) -> None:
    async with FakeBotApi(token=TOKEN) as api:
        bot = Wijkbrug(api, tmp_path)
        await bot.operator("directory", "import", str(directory_file.sample_path()))
        coordinator = json.loads(await bot.operator("invite", "--role", "coordinator", "--org", "zeef", "--json"))
        person = json.loads(await bot.operator("invite", "--role", "volunteer", "--org", "zeef", "--json"))
        await bot.start()
        try:
            api.user_sends(6201, f"/start {coordinator['code']}", language_code="en")
            await reply_containing(api, 6201, "Welcome")
            api.user_sends(6202, f"/start {person['code']}", first_name="Noor", language_code="en")
            await reply_containing(api, 6202, "Welcome")
            api.fail_next("sendMessage", status=403, times=1)
            api.user_sends(6202, "/help", language_code="en")
            await reply_containing(api, 6201, "Noor can no longer be reached through Wijkbrug")
            blocked = [c for c in api.calls if c.get("failed") == 403]
            assert len(blocked) == 1  # refused once, never retried
            unreachable = "SELECT unreachable_at IS NOT NULL FROM addresses WHERE address = '6202'"
            assert stored(bot.database, unreachable) == [(1,)]
        finally:
            await bot.stop()
