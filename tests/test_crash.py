"""Crash test: many volunteers log questions while `wijkbrug run` is killed with SIGKILL at random
moments (20 times) and started again. At the end every update Telegram handed out was processed
exactly once, every question is stored, every reply was delivered (a reply in flight at a kill
may come twice; those are counted), and the outbox is empty. On SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import BACKENDS
from tests.test_e2e_telegram import Wijkbrug, press, stored, texts, wijkbrug  # noqa: F401 - the fixture



@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


VOLUNTEERS = 8
KILLS = 20
STEPS = [
    ("/new", "Is a child in danger right now"),
    ("[No]", "What is the question about?"),
    ("[Housing]", "How old is the child?"),
    ("[0–3 years]", "Which language does the parent speak best?"),
    ("[Arabic]", "postcode"),
    ("3531", "Describe the question"),
    ("An invented question, number {n}.", "Please check the question:"),
    ("[Save]", "Saved. The question code is"),
]


async def volunteer(bot: Wijkbrug, chat: int, code: str, n: int) -> None:
    api = bot.api
    api.user_sends(chat, f"/start {code}", language_code="en")
    await api.wait_for(lambda a: any("Welcome to Wijkbrug" in t for t in texts(a, chat)), timeout=120)
    for action, expect in STEPS:
        seen = sum(expect in t for t in texts(api, chat))
        if action.startswith("["):
            await api.wait_for(lambda a: a.last_keyboard(chat) is not None, timeout=120)
            press(api, chat, action.strip("[]"))
        else:
            api.user_sends(chat, action.format(n=n), language_code="en")
        await api.wait_for(
            lambda a, seen=seen, expect=expect: sum(expect in t for t in texts(a, chat)) > seen, timeout=120
        )


async def test_nothing_is_lost_when_the_bot_is_killed_twenty_times(wijkbrug: Wijkbrug) -> None:  # noqa: F811
    bot = wijkbrug
    codes = await asyncio.gather(
        *(bot.operator("invite", "--role", "volunteer", "--org", "kompas", "--json") for _ in range(VOLUNTEERS))
    )
    await bot.start()
    rng = random.Random(20)
    kills = 0

    async def killer() -> None:
        nonlocal kills
        while kills < KILLS:
            await asyncio.sleep(rng.uniform(0.2, 1.0))
            await bot.kill()
            kills += 1
            await bot.start()

    chaos = asyncio.create_task(killer())
    await asyncio.gather(*(volunteer(bot, 6000 + i, json.loads(code)["code"], i) for i, code in enumerate(codes)))
    await chaos
    await bot.settled()

    handed_out = set(bot.api.handed_out)
    outcomes = dict(stored(bot.database, "SELECT update_id, outcome FROM inbox"))
    assert set(outcomes) == handed_out  # every update stored, none invented
    assert (
        None not in outcomes.values() and "failed" not in outcomes.values()
    )  # each processed, exactly once (primary key)
    questions = stored(bot.database, "SELECT text IS NOT NULL, theme, pc4 FROM questions")
    assert len(questions) == VOLUNTEERS and set(questions) == {(1, "housing", "3531")}
    assert stored(bot.database, "SELECT count(*) FROM outbox") == [(0,)]
    duplicates = 0
    for i in range(VOLUNTEERS):
        said = texts(bot.api, 6000 + i)
        mine = sum(1 for a, b in itertools.pairwise(said) if a == b)
        assert mine <= kills  # per chat, at most the one call in flight at each kill
        duplicates += mine
        assert sum("Saved. The question code is" in t for t in said) >= 1
    redelivered = len(bot.api.handed_out) - len(handed_out)
    print(
        f"\ncrash test: {kills} kills, {len(handed_out)} updates ({redelivered} handed out again after a kill), "
        f"{sum(len(texts(bot.api, 6000 + i)) for i in range(VOLUNTEERS))} "
        f"messages checked, {duplicates} duplicate(s) of a message in flight"
    )
    if isinstance(bot.database, Path):
        with sqlite3.connect(bot.database) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
