"""The delivery worker: in order per chat, retried until delivered, paced to the channel's limits."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot import delivery
from bot.delivery import DeliveryWorker, Pacer, Permanent, RetryAfter, Transient
from db import outbox
from db.connection import transaction
from tests.conftest import BACKENDS

HANG_GUARD = 20  # seconds; only stops a broken test from hanging, asserts nothing about speed


class ScriptedSender:
    """Fails the calls it is told to, in order; records every attempt."""

    def __init__(self, failures: dict[str, list[Exception]] | None = None) -> None:
        self.failures = failures or {}
        self.attempts: list[str] = []
        self.delivered: list[str] = []

    async def send(self, address: str, kind: str, body: dict[str, Any]) -> None:
        text = body.get("text", kind)
        self.attempts.append(text)
        queue = self.failures.get(text)
        if queue:
            raise queue.pop(0)
        self.delivered.append(text)


async def queue(conn, clock, *items: tuple[str, str]) -> None:
    async with transaction(conn):
        for chat, text in items:
            await outbox.enqueue(conn, "telegram", chat, "say", {"text": text}, clock())


def worker(conn, clock, sender, pacer: Pacer | None = None, **options: Any) -> DeliveryWorker:
    ticks = iter(range(10**6))
    return DeliveryWorker(conn, sender, clock, "telegram", pacer=pacer or Pacer(1e9, 1e9, 1e9, 1e9),
                          monotonic=lambda: float(next(ticks)), **options)


async def drain(w: DeliveryWorker) -> None:
    while await w.drain_once():
        pass


async def test_each_chat_gets_its_messages_in_order(conn, clock) -> None:
    await queue(conn, clock, ("1", "a1"), ("2", "b1"), ("1", "a2"), ("2", "b2"), ("1", "a3"))
    sender = ScriptedSender()
    await drain(worker(conn, clock, sender))
    assert [t for t in sender.delivered if t.startswith("a")] == ["a1", "a2", "a3"]
    assert [t for t in sender.delivered if t.startswith("b")] == ["b1", "b2"]
    assert await outbox.size(conn) == 0


async def test_retry_after_waits_exactly_as_long_as_asked_and_holds_the_chat(conn, clock) -> None:
    await queue(conn, clock, ("1", "first"), ("1", "second"), ("2", "other"))
    sender = ScriptedSender({"first": [RetryAfter(7)]})
    w = worker(conn, clock, sender)
    await drain(w)
    assert sender.delivered == ["other"]  # chat 1 waits; its second message does not overtake
    clock.advance(seconds=6.9)
    await drain(w)
    assert sender.delivered == ["other"]
    clock.advance(seconds=0.1)
    await drain(w)
    assert sender.delivered == ["other", "first", "second"]


async def test_network_trouble_is_retried_with_growing_pauses(conn, clock) -> None:
    await queue(conn, clock, ("1", "hello"))
    sender = ScriptedSender({"hello": [Transient("TimedOut"), Transient("NetworkError"), Transient("TimedOut")]})
    w = worker(conn, clock, sender)
    pauses = []
    for _ in range(3):
        await drain(w)
        due = await outbox.next_due_at(conn, "telegram")
        pauses.append((due - clock()).total_seconds())
        clock.now = due
    await drain(w)
    assert sender.delivered == ["hello"]
    assert pauses == [0.5, 1.0, 2.0]


async def test_a_refused_call_is_dropped_and_reported_without_blocking_the_chat(conn, clock) -> None:
    await queue(conn, clock, ("1", "bad"), ("1", "good"))
    refused = []

    async def report(item, exc) -> None:
        refused.append((item.address, exc.args[0]))

    sender = ScriptedSender({"bad": [Permanent("Forbidden")]})
    w = worker(conn, clock, sender, on_permanent=report)
    await drain(w)
    assert sender.delivered == ["good"] and refused == [("1", "Forbidden")]


@pytest.mark.parametrize(
    ("sent_before", "chat", "expected"),
    [
        (0, "1", 0.0),  # nothing sent: go now
        (3, "1", 1.0),  # the chat's burst of 3 is used: one per second after that
        (3, "2", 0.0),  # another chat is not held back by chat 1
    ],
)
def test_pacer_lets_bursts_through_and_holds_what_exceeds_the_limits(
    sent_before: int, chat: str, expected: float
) -> None:
    pacer = Pacer(per_second=25, burst=25, chat_per_second=1, chat_burst=3)
    for _ in range(sent_before):
        pacer.take("1", 100.0)
    assert pacer.wait(chat, 100.0) == pytest.approx(expected)


def test_pacer_holds_the_whole_bot_to_its_overall_rate() -> None:
    pacer = Pacer(per_second=25, burst=25, chat_per_second=1, chat_burst=3)
    for chat in range(25):
        pacer.take(str(chat), 0.0)
    assert pacer.wait("new-chat", 0.0) == pytest.approx(1 / 25)
    assert pacer.wait("new-chat", 1 / 25) == pytest.approx(0.0)


async def test_a_chat_waiting_for_its_pace_holds_up_no_other_chat(conn, clock) -> None:
    """Chat 1 has used its burst and must wait half a second; a message for chat 2, stored while
    it waits, goes out before that wait is over and without a wait of its own (no batch waits for
    its slowest chat). The pause is the injected sleep's, held until the test lets it end."""
    import asyncio

    sender = ScriptedSender()
    delivered = asyncio.Event()
    send = sender.send

    async def noted(address: str, kind: str, body: dict[str, Any]) -> None:
        await send(address, kind, body)
        delivered.set()

    sender.send = noted  # type: ignore[method-assign]
    pauses: list[float] = []
    pausing, paused = asyncio.Event(), asyncio.Event()

    async def pacing(seconds: float) -> None:  # time stands still until the test ends the pause
        pauses.append(seconds)
        pausing.set()
        await paused.wait()
        now[0] += seconds

    now = [0.0]
    pace = Pacer(per_second=1000, burst=1000, chat_per_second=2, chat_burst=1)
    w = DeliveryWorker(conn, sender, clock, "telegram", pacer=pace, monotonic=lambda: now[0], sleep=pacing)

    async def until(event: asyncio.Event, what: str) -> None:
        try:
            async with asyncio.timeout(HANG_GUARD):
                await event.wait()
        except TimeoutError:
            raise AssertionError(f"{what}; sent: {sender.delivered}, pauses: {pauses}") from None
        event.clear()

    await queue(conn, clock, ("1", "a1"), ("1", "a2"))
    running = asyncio.create_task(w.run())
    try:
        await until(pausing, "chat 1 never waited for its pace")
        assert sender.delivered == ["a1"] and pauses == [0.5]  # a2 waits for chat 1's pace: 2 a second
        delivered.clear()
        await queue(conn, clock, ("2", "b1"))
        w.wake.set()
        await until(delivered, "b1 waited behind chat 1's pace")
        assert sender.delivered == ["a1", "b1"] and pauses == [0.5]  # during a1's pause, with none of its own
        paused.set()
        await until(delivered, "a2 was not sent once its pause was over")
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert sender.delivered == ["a1", "b1", "a2"] and pauses == [0.5] and now == [0.5]  # chat 1 kept its pace


async def test_calls_already_loaded_for_a_chat_are_not_sent_once_its_rows_are_deleted(conn, clock) -> None:
    """Revoking a person deletes what waited in the outbox for them (bot/departure.py); calls the
    worker had loaded for that chat and is pacing must not go out after that either."""
    await queue(conn, clock, ("1", "a1"), ("1", "a2"), ("1", "a3"), ("1", "a4"), ("2", "b1"))
    sender = ScriptedSender()
    now = [0.0]
    revoked = []

    async def pacing(seconds: float) -> None:  # chat 1 waits for its pace: the operator revokes meanwhile
        if not revoked:
            async with transaction(conn):
                revoked.append(await outbox.drop_address(conn, "telegram", "1"))
        now[0] += seconds

    pacer = Pacer(per_second=1e9, burst=1e9, chat_per_second=1, chat_burst=1)  # chat 1: one call a second
    w = DeliveryWorker(conn, sender, clock, "telegram", pacer=pacer, monotonic=lambda: now[0], sleep=pacing)
    await drain(w)
    assert revoked == [3]  # a2, a3 and a4 were waiting (and loaded by the worker) when the rows went
    assert sorted(sender.attempts) == ["a1", "b1"]  # none of them was even tried; chat 2 is unaffected
    assert await outbox.size(conn) == 0


async def test_a_call_takes_its_pace_only_when_it_may_go_out(conn, clock) -> None:
    """Calls that took the pace and then waited for a sending slot would all go out together once slots
    came free: more in one second than the pace allows (35 in one second, in one run of the load
    benchmark at Telegram's 30). So while the one slot is busy, the bucket keeps the waiting calls' share."""
    await queue(conn, clock, *[(str(n), f"m{n}") for n in range(6)])
    release = asyncio.Event()
    in_flight: list[str] = []

    class Slow(ScriptedSender):
        async def send(self, address: str, kind: str, body: dict[str, Any]) -> None:
            in_flight.append(address)
            await release.wait()
            await super().send(address, kind, body)

    pacer = Pacer(per_second=1.0, burst=6.0, chat_per_second=1e9, chat_burst=1e9)
    w = DeliveryWorker(conn, Slow(), clock, "telegram", pacer=pacer, monotonic=lambda: 0.0, concurrency=1)
    draining = asyncio.create_task(w.drain_once())
    async with asyncio.timeout(HANG_GUARD):
        while not in_flight:
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)  # meanwhile every other chat reaches the slot, where they wait
    assert len(in_flight) == 1
    assert Pacer._level(pacer._global, pacer.per_second, pacer.burst, 0.0) == 5.0  # only the call in flight took
    release.set()
    assert await asyncio.wait_for(draining, HANG_GUARD) == 6
    assert await outbox.size(conn) == 0


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """This module's tests run on SQLite and on PostgreSQL (tests/conftest.py)."""
    return str(request.param)


def busiest_second(stamps: list[float]) -> int:
    stamps = sorted(stamps)
    best = start = 0
    for end, at in enumerate(stamps):
        while at - stamps[start] >= 1.0 - 1e-9:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.mark.parametrize("chats", [1, 3, 200])
def test_the_telegram_pace_keeps_every_second_within_telegrams_limits(chats: int) -> None:
    """Everything wanted at once (a full bucket first, the worst case): no second carries more than
    Telegram allows overall (30) or to one chat (a step's burst of 4), on a simulated clock."""
    pacer = Pacer.within(delivery.TELEGRAM_PER_SECOND, 25, delivery.TELEGRAM_CHAT_BURST_SECOND, 1)
    sent: dict[str, list[float]] = {str(chat): [] for chat in range(chats)}
    now = 0.0
    while now < 10.0:  # each chat sends whenever its wait is over, the earliest first
        chat, wait = min(((chat, pacer.wait(chat, now)) for chat in sent), key=lambda pair: pair[1])
        now += wait
        pacer.take(chat, now)
        sent[chat].append(now)
    everything = [at for stamps in sent.values() for at in stamps]
    assert busiest_second(everything) <= delivery.TELEGRAM_PER_SECOND
    assert max(busiest_second(stamps) for stamps in sent.values()) <= delivery.TELEGRAM_CHAT_BURST_SECOND
    # and the limits are used, not undershot: a step's replies go out together, the bot at its rate
    if chats == 1:
        assert sent["0"][:3] == [0.0] * 3 and sent["0"][3] == pytest.approx(1.0)  # a step's replies at once
    if chats == 200:
        assert len(everything) >= 25 * 10


def test_a_rate_at_or_above_the_ceiling_lifts_the_limit() -> None:
    pacer = Pacer.within(30, 100_000, 4, 100_000)
    assert (pacer.burst, pacer.chat_burst) == (100_000, 100_000)


def test_a_sender_says_which_of_its_kinds_are_not_paced() -> None:
    from bot import outgoing
    from bot.telegram_send import TelegramSender

    assert delivery.unpaced(ScriptedSender()) == outgoing.UNPACED == frozenset({"answer"})
    # A press's answer in Telegram's rows from before migration 014 carries its Bot API method.
    assert TelegramSender.unpaced == {"answer", "answerCallbackQuery"}
