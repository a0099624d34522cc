"""Several instances on one outbox (issue 18, stage 2): a claim per address with a lease, so one
worker at a time sends an address's messages, in order; a dead worker's addresses taken over after
its lease; NOTIFY waking another instance's worker; a bound on the chats sent to at once. Two
"instances" are two delivery workers on two connections of their own. All chats are invented."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot import delivery
from bot.delivery import DeliveryWorker, Pacer
from bot.botapi import BotApi
from bot.telegram import TelegramSender
from db import notify, outbox, vault
from db.connection import Connection, connect, transaction
from db.vault import attach
from tests.conftest import BACKENDS
from tests.conftest import FAKE_TOKEN as TOKEN
from tests.fakebotapi import FakeBotApi

HANG_GUARD = 60  # seconds; only stops a broken test from hanging, asserts nothing about speed
NEVER = 3600.0  # a fallback poll that never comes within a test: only a wake-up can make the worker look
CHATS = [str(5000 + n) for n in range(12)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """This module's tests run on SQLite and on PostgreSQL (tests/conftest.py)."""
    return str(request.param)


@pytest.fixture
async def other(database: str | Path, conn: Connection) -> AsyncIterator[Connection]:
    """A second instance's connection to the same database (and the same key)."""
    second = await connect(database)
    attach(second, vault.of(conn))
    yield second
    await second.close()


def real_clock() -> datetime:
    return datetime.now(UTC)


def telegram(api: FakeBotApi) -> BotApi:
    return BotApi(TOKEN, api.api_url)


def instance(conn: Connection, sender: Any, **options: Any) -> DeliveryWorker:
    return DeliveryWorker(conn, sender, real_clock, "telegram", pacer=Pacer(1e9, 1e9, 1e9, 1e9), **options)


async def queue(conn: Connection, *items: tuple[str, str]) -> None:
    async with transaction(conn):
        for chat, text in items:
            await outbox.enqueue(conn, "telegram", chat, "say", {"text": text}, real_clock())


def texts(api: FakeBotApi, chat: str) -> list[str]:
    return [m["text"] for m in api.messages(int(chat)) if m.get("from", {}).get("is_bot")]


class Together:
    """Lets its holders go once `count` of them have arrived."""

    def __init__(self, count: int) -> None:
        self.waiting: set[int] = set()
        self.count = count
        self.all_here = asyncio.Event()

    async def arrive(self, holder: object) -> None:
        self.waiting.add(id(holder))
        if len(self.waiting) >= self.count:
            self.all_here.set()
        await asyncio.wait_for(self.all_here.wait(), HANG_GUARD)


class Held:
    """A sender whose calls wait until every instance has one to make (`Together`)."""

    def __init__(self, sender: TelegramSender, together: Together) -> None:
        self.sender, self.together = sender, together

    async def send(self, address: str, kind: str, body: dict[str, Any]) -> None:
        await self.together.arrive(self)
        await self.sender.send(address, kind, body)


async def stop(*tasks: asyncio.Task[None]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_two_instances_send_every_message_once_and_each_chats_in_order(
    api: FakeBotApi, conn: Connection, other: Connection
) -> None:
    for chat in CHATS:
        api.user_sends(int(chat), "hello")  # the chats exist
    first, second = telegram(api), telegram(api)
    # Each takes at most half of the chats at once, and sends nothing until both have claimed a chat:
    # otherwise a fast first worker could send all before the second's first look.
    half = len(CHATS) // 2
    both = Together(2)
    workers = [
        instance(db, Held(TelegramSender(app), both), max_chats=half) for db, app in ((conn, first), (other, second))
    ]
    expected = {chat: [f"{chat}-{n}" for n in range(8)] for chat in CHATS}
    # Half stored before the workers start, half while they run, by both instances in turn.
    await queue(conn, *[(chat, text) for n in range(4) for chat, sent in expected.items() for text in sent[n:n + 1]])
    tasks = [asyncio.create_task(w.run()) for w in workers]
    try:
        for n in range(4, 8):
            await queue((conn, other)[n % 2], *[(chat, sent[n]) for chat, sent in expected.items()])
            for w in workers:
                w.wake.set()  # as the processing loop does in-process; on PostgreSQL NOTIFY does too
        await api.wait_for(lambda a: all(len(texts(a, c)) >= 8 for c in CHATS), timeout=HANG_GUARD)
        async with asyncio.timeout(HANG_GUARD):  # and each marked done
            while await outbox.size(conn):
                await asyncio.sleep(0.05)
    finally:
        await stop(*tasks)
        await first.close()
        await second.close()
    assert {chat: texts(api, chat) for chat in CHATS} == expected  # once each, in order
    assert all(w.tried > 0 for w in workers)  # both instances delivered
    async with conn.execute("SELECT count(*) FROM outbox_claims") as cur:
        assert (await cur.fetchone())[0] == 0  # stopped workers leave no claim behind


class Hanging:
    """A sender that delivers, except `text`, on which it hangs (the instance is then killed)."""

    def __init__(self, text: str = "") -> None:
        self.text = text
        self.delivered: list[str] = []
        self.hung = asyncio.Event()

    async def send(self, address: str, kind: str, body: dict[str, Any]) -> None:
        if body["text"] == self.text:
            self.hung.set()
            await asyncio.Event().wait()
        self.delivered.append(body["text"])


async def test_a_killed_instances_chat_is_taken_over_after_its_lease(conn: Connection, other: Connection) -> None:
    await queue(conn, ("7", "a1"), ("7", "a2"), ("7", "a3"), ("8", "b1"))
    dying, taking_over = Hanging("a2"), Hanging()
    a = instance(conn, dying, lease=1.0)
    a_task = asyncio.create_task(a.run())
    await asyncio.wait_for(dying.hung.wait(), HANG_GUARD)
    # The other instance runs beside it; chat 7 is claimed, so it waits, looking only when woken
    # or when that claim would expire (its fallback poll never comes).
    b = instance(other, taking_over, lease=1.0, fallback_poll=NEVER)
    b_task = asyncio.create_task(b.run())
    await conn.close()  # killed: its connection gone, it can neither renew nor give up its claim
    await stop(a_task)
    try:
        async with asyncio.timeout(HANG_GUARD):
            while "a3" not in taking_over.delivered:
                await asyncio.sleep(0.05)
    finally:
        await stop(b_task)
    # a2 was in flight when the instance died, not marked done: it goes again (at least once).
    assert dying.delivered == ["a1"] or dying.delivered == ["a1", "b1"]
    assert [t for t in taking_over.delivered if t.startswith("a")] == ["a2", "a3"]
    assert sorted(dying.delivered + taking_over.delivered) == ["a1", "a2", "a3", "b1"]
    assert await outbox.size(other) == 0


async def test_a_restarted_worker_drops_its_dead_predecessors_claims_at_once(conn: Connection) -> None:
    """Killed and started again on the same host: the old process's claims do not wait for their lease."""
    gone = subprocess.Popen(["true"])  # a process of this host that has ended
    gone.wait()
    dead = f"{outbox.new_holder().rsplit(':', 2)[0]}:{gone.pid}:old"
    await queue(conn, ("9", "c1"), ("9", "c2"))
    far = datetime(2099, 1, 1, tzinfo=UTC)
    assert await outbox.claim(conn, "telegram", "9", dead, real_clock(), far)
    sender = Hanging()
    w = instance(conn, sender, fallback_poll=NEVER)
    task = asyncio.create_task(w.run())
    try:
        async with asyncio.timeout(HANG_GUARD):
            while len(sender.delivered) < 2:
                await asyncio.sleep(0.05)
    finally:
        await stop(task)
    assert sender.delivered == ["c1", "c2"]


def test_a_process_id_is_only_looked_up_in_its_own_process_id_namespace() -> None:
    """Containers sharing a host name (host networking) have their own process ids: a holder of another
    namespace is never taken for dead because its id is free here."""
    gone = subprocess.Popen(["true"])
    gone.wait()
    host = outbox.new_holder().rsplit(":", 2)[0]
    name = host.rsplit("/", 1)[0]
    assert outbox.dead_here(f"{host}:{gone.pid}:old")
    assert not outbox.dead_here(f"{name}/1:{gone.pid}:old")
    assert not outbox.dead_here(f"{name}/?:{gone.pid}:old")
    assert not outbox.dead_here(f"{host}:{os.getpid()}:alive")


async def test_a_live_claim_of_another_instance_is_left_alone(conn: Connection, other: Connection) -> None:
    now = real_clock()
    later = datetime(2099, 1, 1, tzinfo=UTC)
    assert await outbox.claim(conn, "telegram", "1", "host-a:1:x", now, later)
    assert not await outbox.claim(other, "telegram", "1", "host-b:2:y", now, later)
    assert await outbox.claim(conn, "telegram", "1", "host-a:1:x", now, later)  # renewing its own
    assert await outbox.claim(other, "telegram", "1", "host-b:2:y", later, later)  # expired: taken over


async def test_chats_beyond_the_bound_wait_their_turn(conn: Connection) -> None:
    await queue(conn, *[(chat, f"{chat}-{n}") for n in range(3) for chat in CHATS])
    busiest = 0

    class Counting:
        def __init__(self) -> None:
            self.delivered: list[str] = []

        async def send(self, address: str, kind: str, body: dict[str, Any]) -> None:
            nonlocal busiest
            busiest = max(busiest, len(w._chats))
            await asyncio.sleep(0.005)
            self.delivered.append(body["text"])

    sender = Counting()
    w = instance(conn, sender, max_chats=3, fallback_poll=NEVER)
    task = asyncio.create_task(w.run())
    try:
        async with asyncio.timeout(HANG_GUARD):
            while len(sender.delivered) < 3 * len(CHATS):
                await asyncio.sleep(0.05)
    finally:
        await stop(task)
    assert busiest == 3  # the bound was reached and never passed
    for chat in CHATS:
        assert [t for t in sender.delivered if t.startswith(f"{chat}-")] == [f"{chat}-{n}" for n in range(3)]


def test_the_bots_pace_is_shared_out_among_its_instances() -> None:
    one = Pacer.within(delivery.TELEGRAM_PER_SECOND, 25, delivery.TELEGRAM_CHAT_BURST_SECOND, 1)
    each = Pacer.within(delivery.TELEGRAM_PER_SECOND, 25, delivery.TELEGRAM_CHAT_BURST_SECOND, 1, instances=2)
    assert each.per_second == one.per_second / 2 and each.burst == one.burst / 2
    assert 2 * (each.per_second + each.burst) <= delivery.TELEGRAM_PER_SECOND  # together within the limit
    assert (each.chat_per_second, each.chat_burst) == (one.chat_per_second, one.chat_burst)


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_message_stored_by_one_instance_wakes_the_others_worker_by_notify(
    conn: Connection, other: Connection
) -> None:
    sender = Hanging()
    w = instance(other, sender, fallback_poll=NEVER)
    task = asyncio.create_task(w.run())
    try:
        async with asyncio.timeout(HANG_GUARD):  # listening, and done with the look that follows
            while not any(listener.connected for listener in notify.listeners()) or w.wake.is_set():
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)
            await queue(conn, ("11", "from the other instance"))  # nothing in this process wakes w
            while not sender.delivered:
                await asyncio.sleep(0.05)
    finally:
        await stop(task)
    assert sender.delivered == ["from the other instance"]
    assert notify.listeners() == []  # the last worker gone, the listening connection closed


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_message_whose_id_commits_after_a_newer_ones_is_sent_all_the_same(
    conn: Connection, other: Connection
) -> None:
    """Without one writer at a time, a smaller id may commit after a larger one (per-person locks):
    the worker, having sent the larger, still finds the smaller once it is committed (and announced)."""
    sender = Hanging()
    third = await connect(other._url)  # type: ignore[attr-defined]
    attach(third, vault.of(conn))
    w = instance(third, sender, fallback_poll=NEVER)
    task = asyncio.create_task(w.run())
    try:
        await conn.execute("BEGIN")  # a plain BEGIN: no write lock, as with a person's own
        await outbox.enqueue(conn, "telegram", "12", "say", {"text": "older id"}, real_clock())
        await queue(other, ("13", "newer id"))
        async with asyncio.timeout(HANG_GUARD):
            while not sender.delivered:
                await asyncio.sleep(0.05)
            await conn.execute("COMMIT")
            while len(sender.delivered) < 2:
                await asyncio.sleep(0.05)
    finally:
        await stop(task)
        await third.close()
    assert sender.delivered == ["newer id", "older id"]  # in the order they were committed


def test_whatsapp_keeps_to_its_share_of_the_numbers_limit_too() -> None:
    from bot.whatsapp_channel import meta_pace

    one, each = meta_pace(), meta_pace(instances=2)
    assert each.per_second == one.per_second / 2 and each.burst <= one.burst / 2 + 1
    assert each.chat_per_second == one.chat_per_second  # one instance at a time sends to a person


async def test_a_look_at_what_was_stored_since_the_last_is_taken_only_where_ids_commit_in_order(
    conn: Connection, backend: str
) -> None:
    """SQLite's one writer commits ids in order: a look may read only the ids after the newest it saw.
    On PostgreSQL an older id may commit after a newer one was seen, so every look reads everything."""
    await queue(conn, ("21", "a"), ("22", "b"), ("21", "c"))
    newer = await outbox.newer_addresses(conn, "telegram", real_clock(), 0, 10)
    if backend == "postgresql":
        assert newer is None
        return
    assert newer is not None
    addresses, newest = newer
    assert addresses == ["21", "22"]  # the longest waiting first
    ids = [m.id for m in await outbox.waiting(conn, "telegram")]
    assert newest == max(ids)
    assert await outbox.newer_addresses(conn, "telegram", real_clock(), newest, 10) == ([], newest)
    await queue(conn, ("22", "d"))
    assert await outbox.newer_addresses(conn, "telegram", real_clock(), newest, 10) == (["22"], newest + 1)
    # A look that found as many addresses as it may does not move past the ones it left out.
    assert await outbox.newer_addresses(conn, "telegram", real_clock(), 0, 1) == (["21"], 0)


async def test_a_retry_falling_due_behind_newer_messages_is_sent_by_a_running_worker(conn: Connection) -> None:
    """The message tried again has an older id than those the worker looked at since: it is found all
    the same (the look at everything), and its chat's later message waits behind it."""

    class FailingOnce:
        def __init__(self) -> None:
            self.delivered: list[str] = []
            self.failed = False

        async def send(self, address: str, kind: str, body: dict[str, Any]) -> None:
            if body["text"] == "first" and not self.failed:
                self.failed = True
                raise delivery.Transient("the network, once")
            self.delivered.append(body["text"])

    sender = FailingOnce()
    w = instance(conn, sender, fallback_poll=NEVER)
    task = asyncio.create_task(w.run())
    try:
        await queue(conn, ("31", "first"))
        async with asyncio.timeout(HANG_GUARD):
            while not sender.failed:
                await asyncio.sleep(0.01)
            for n in range(5):  # newer messages, to other chats and to the same, while the first waits
                await queue(conn, (str(32 + n), f"other {n}"), ("31", f"later {n}"))
                w.wake.set()
                await asyncio.sleep(0.02)
            while len(sender.delivered) < 11:
                await asyncio.sleep(0.05)
    finally:
        await stop(task)
    assert [t for t in sender.delivered if t == "first" or t.startswith("later")] == [
        "first", *[f"later {n}" for n in range(5)]
    ]
