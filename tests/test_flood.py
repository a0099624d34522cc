"""One fast sender slows only themself: every other chat is handled as if nobody flooded.

Time is counted, never measured: the flood limit runs on an injected clock, and a reply's delay
is the number of processing rounds between a message and its answer. (Chats are invented.)"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.flood import Flood
from bot.runner import Runner
from db import inbox, invites, users
from db.connection import transaction
from db.inbox import Incoming
from flows.model import Role
from tests import updates
from tests.driver import sent as drain
from tests.conftest import BACKENDS

NORMAL = [2000 + i for i in range(20)]
FLOODER = 6666


async def store(runner: Runner, *batch: dict) -> None:
    async with transaction(runner.conn):
        incoming = [Incoming(update_id=u["update_id"], payload=updates.payload(u)) for u in batch]
        await inbox.receive(runner.conn, "telegram", incoming, runner.clock())


async def register(runner: Runner, chat: int) -> None:
    async with transaction(runner.conn):
        made = await invites.create(
            runner.conn, role=Role.VOLUNTEER, org_id="lantaarn", now=runner.clock(), valid_for=timedelta(days=1)
        )
    await store(runner, updates.message(chat, f"/start {made.code}", language_code="en"))
    await runner.process_pending()


def flooding(conn, catalogs, clock) -> Runner:
    """A runner whose flood limit counts the test's seconds (`runner.seconds[0]`)."""
    seconds = [0.0]
    runner = Runner(conn, catalogs, clock, "telegram", flood=Flood(per_minute=30, burst=10, clock=lambda: seconds[0]))
    runner.seconds = seconds  # type: ignore[attr-defined]
    return runner


async def one_minute(runner: Runner, flooder: str | None) -> dict:
    """Sixty rounds of one second: the flooder (if any) sends five messages a second, older in the
    inbox than anyone else's; each normal chat sends one message in its own second (one of them
    answers "a child is in danger"). A round stores what arrived and processes the inbox once."""
    seconds = runner.seconds  # type: ignore[attr-defined]
    for chat in NORMAL:
        await register(runner, chat)
    if flooder == "registered":
        await register(runner, FLOODER)
    await store(runner, updates.message(NORMAL[0], "/new", language_code="en"))
    await runner.process_pending()
    await drain(runner)

    order: list[int] = []  # update ids in the order they were handled
    asked: dict[str, int] = {}
    answered: dict[str, int] = {}
    to_flooder = 0
    danger_told: list[int] = []
    flood_ids: list[int] = []
    for second in range(60):
        seconds[0] = float(second)
        arriving = []
        if flooder:
            arriving += [updates.message(FLOODER, f"spam {second}.{n}", language_code="en") for n in range(5)]
            flood_ids += [u["update_id"] for u in arriving]
        for i, chat in enumerate(NORMAL):
            if second == 2 * i + 1:
                text = "/help"
                if i == 0:  # mid-intake: the safety question
                    arriving.append(updates.press(chat, 1, "1|yes", language_code="en"))
                else:
                    arriving.append(updates.message(chat, text, language_code="en"))
                asked[str(chat)] = second
        await store(runner, *arriving)
        await runner.process_pending(committed=order.append)
        for chat, method, payload in await drain(runner):
            if chat == str(NORMAL[0]) and "112" in payload.get("text", ""):
                danger_told.append(second)
            if chat == str(FLOODER):
                to_flooder += method == "sendMessage"
            elif chat in asked and chat not in answered:
                answered[chat] = second
    return {
        "delay": {chat: answered.get(chat, 999) - asked[chat] for chat in asked},
        "order": order, "flood_ids": flood_ids, "to_flooder": to_flooder, "seconds": seconds,
        "danger_told": danger_told,
    }


@pytest.fixture
def runner(conn, catalogs, clock) -> Runner:
    return flooding(conn, catalogs, clock)


@pytest.fixture
async def calm(db_path, tmp_path, catalogs, clock) -> dict:
    """The same minute without a flooder, on a database of its own."""
    from db import directory
    from db.connection import connect
    from db.vault import Vault, attach
    from flows.directory import Directory, Organisation

    connection = await connect(tmp_path / "calm.sqlite3")
    attach(connection, Vault.generate())
    async with transaction(connection):
        await directory.replace(
            connection,
            Directory.of(organisations=[Organisation(id="lantaarn", name="De Lantaarn (invented)")]),
            frozenset(),
        )
    try:
        yield await one_minute(flooding(connection, catalogs, clock), None)
    finally:
        await connection.close()


async def test_the_danger_button_data_is_what_the_intake_sends(runner) -> None:
    """The scenario presses the safety question's "yes" by its callback data: make sure it is that."""
    await register(runner, NORMAL[0])
    await store(runner, updates.message(NORMAL[0], "/new", language_code="en"))
    await runner.process_pending()
    keyboard = [c for c in await drain(runner) if c[1] == "sendMessage"][-1][2]["reply_markup"]["inline_keyboard"]
    assert keyboard[0][0]["callback_data"] == "1|yes"


@pytest.mark.parametrize("flooder", ["stranger", "registered"])
async def test_one_chat_sending_300_a_minute_delays_no_other_chat(runner, conn, calm, flooder) -> None:
    assert set(calm["delay"].values()) == {0}  # without a flooder every message is answered in its round
    flooded = await one_minute(runner, flooder)
    assert flooded["delay"] == calm["delay"]  # twenty chats beside the flooder: not one round later
    assert flooded["danger_told"] == calm["danger_told"] == [1]  # 112 and Veilig Thuis at once
    # ...and not one update more handled before theirs than the flooder's allowance: the updates
    # handled in the minute are everyone's, plus at most the flooder's burst and refill.
    others = [u for u in flooded["order"] if u not in set(flooded["flood_ids"])]
    assert len(others) == len(calm["order"])
    assert len(flooded["order"]) - len(others) <= 10 + 30


async def test_a_stranger_s_flood_costs_one_refusal_a_minute_and_keeps_nothing(runner, conn) -> None:
    flooded = await one_minute(runner, "stranger")
    assert flooded["to_flooder"] == 1  # one cheap refusal in the minute, however many they sent
    assert await users.by_chat(conn, "telegram", str(FLOODER)) is None
    assert await inbox.pending(conn, "telegram") == []  # nothing of theirs held
    async with conn.execute("SELECT count(*) FROM inbox WHERE payload IS NOT NULL") as cur:
        assert (await cur.fetchone())[0] == 0  # and nothing of what they wrote kept
    outcomes = await inbox.outcomes(conn, "telegram")
    assert {outcomes[u] for u in flooded["flood_ids"]} == {"refused", "ignored"}


async def test_a_registered_person_s_flood_is_slowed_and_nothing_of_it_is_lost(runner, conn) -> None:
    flooded = await one_minute(runner, "registered")
    assert flooded["to_flooder"] >= 1  # their allowance answered, and told once to slow down
    handled = [u for u in flooded["order"] if u in set(flooded["flood_ids"])]
    assert handled == sorted(handled)  # in the order sent
    waiting = await inbox.pending(conn, "telegram", limit=1000)
    assert len(waiting) == 300 - len(handled) > 0  # the rest waits, not lost
    rounds = 0
    while await inbox.pending(conn, "telegram"):  # then it is handled as the limit allows
        flooded["seconds"][0] += 2
        assert await runner.process_pending(committed=flooded["order"].append) == 1
        rounds += 1
    assert rounds == len(waiting)
    rest = [u for u in flooded["order"] if u in set(flooded["flood_ids"])]
    assert rest == sorted(flooded["flood_ids"])


def test_stranger_buckets_are_bounded_by_configuration_not_by_load() -> None:
    flood = Flood(per_minute=30, burst=10, max_chats=500, clock=lambda: 0.0)
    for chat in range(10_000):
        assert flood.allow(str(9_000_000 + chat), chat / 100)
        flood.may_refuse(str(9_000_000 + chat), chat / 100)
    assert len(flood) <= 500
    # A chat still flooding is the one seen last, so it is kept while others are forgotten.
    for _ in range(10):
        flood.allow("flooder", 200.0)
    assert not flood.allow("flooder", 200.0)
    for chat in range(499):
        flood.allow(str(8_000_000 + chat), 200.0)
    assert not flood.allow("flooder", 200.0)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """This module's tests run on SQLite and on PostgreSQL (tests/conftest.py)."""
    return str(request.param)
