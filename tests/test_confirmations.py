"""Sent rows deleted by the processing loop's transactions while it works (bot/confirmations.py), and
on their own otherwise; a chat's next call never goes out before its previous row's delete is
committed, so a crash still repeats at most the one call in flight per chat."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.confirmations import Confirmations
from db import outbox
from db.connection import transaction
from tests.test_delivery import HANG_GUARD, ScriptedSender, drain, queue, worker


@pytest.fixture
def backend(both_backends: str) -> str:
    return both_backends


async def waiting_ids(conn, clock) -> list[int]:
    return [item.id for item in await outbox.due(conn, "telegram", clock())]


async def test_while_processing_is_idle_a_sent_row_is_deleted_at_once(conn, clock) -> None:
    await queue(conn, clock, ("1", "a"))
    [row] = await waiting_ids(conn, clock)
    confirmations = Confirmations(conn)
    await confirmations.done(row)
    assert await outbox.size(conn) == 0
    assert confirmations.rode == 0


async def test_while_processing_works_the_delete_waits_for_its_next_commit(conn, clock) -> None:
    await queue(conn, clock, ("1", "a"), ("2", "b"))
    rows = await waiting_ids(conn, clock)
    confirmations = Confirmations(conn, wait=3600)  # never on their own: only the transaction deletes them
    with confirmations.busy():
        waiting = [asyncio.create_task(confirmations.done(row)) for row in rows]
        await asyncio.sleep(0)
        assert await outbox.size(conn) == 2 and not any(task.done() for task in waiting)
        async with transaction(conn):
            deleted = await confirmations.ride(conn)
            await asyncio.sleep(0)
            assert not any(task.done() for task in waiting)  # not before the COMMIT
        confirmations.landed(deleted)
        await asyncio.wait_for(asyncio.gather(*waiting), HANG_GUARD)
    assert sorted(deleted) == sorted(rows)
    assert await outbox.size(conn) == 0
    assert confirmations.rode == 2


async def test_a_rolled_back_transaction_leaves_its_rows_to_be_deleted_on_their_own(conn, clock) -> None:
    await queue(conn, clock, ("1", "a"))
    [row] = await waiting_ids(conn, clock)
    confirmations = Confirmations(conn, wait=3600)
    with confirmations.busy():
        waiting = asyncio.create_task(confirmations.done(row))
        await asyncio.sleep(0)
        with pytest.raises(RuntimeError):
            async with transaction(conn):
                await confirmations.ride(conn)
                raise RuntimeError("a bug in the update")
        await asyncio.sleep(0)
        assert not waiting.done()
        assert await outbox.size(conn) == 1
    # The processing loop stopped: what waits is deleted on its own.
    await asyncio.wait_for(waiting, HANG_GUARD)
    assert await outbox.size(conn) == 0
    assert confirmations.rode == 0


async def test_rows_no_transaction_takes_are_deleted_on_their_own_after_a_moment(conn, clock) -> None:
    await queue(conn, clock, ("1", "a"))
    [row] = await waiting_ids(conn, clock)
    confirmations = Confirmations(conn, wait=0.01)
    with confirmations.busy():  # busy, but passing over updates it holds: no commit comes
        await asyncio.wait_for(confirmations.done(row), HANG_GUARD)
        assert await outbox.size(conn) == 0
    assert confirmations.rode == 0


async def test_stopping_deletes_what_still_waits(conn, clock) -> None:
    await queue(conn, clock, ("1", "a"))
    [row] = await waiting_ids(conn, clock)
    confirmations = Confirmations(conn, wait=3600)
    confirmations._busy = 1  # a processing loop that never commits nor ends
    waiting = asyncio.create_task(confirmations.done(row))
    await asyncio.sleep(0)
    await confirmations.close()
    await asyncio.wait_for(waiting, HANG_GUARD)
    assert await outbox.size(conn) == 0


class Watching(ScriptedSender):
    """Checks, at every call, that no earlier call to the same chat is still in the outbox: what a
    crash at that moment would send again is only the call in flight."""

    def __init__(self, conn: Any) -> None:
        super().__init__()
        self.conn = conn
        self.sent: dict[str, list[str]] = {}

    async def send(self, address: str, kind: str, body: dict[str, Any]) -> None:
        waiting = {item.body["text"] for item in await outbox.waiting(self.conn, "telegram") if item.address == address}
        assert not waiting & set(self.sent.get(address, [])), f"chat {address}: an earlier call is still waiting"
        await asyncio.sleep(0)  # the network
        await super().send(address, kind, body)
        self.sent.setdefault(address, []).append(body["text"])


async def test_a_worker_beside_a_busy_processing_loop_keeps_one_call_in_flight_per_chat(conn, clock) -> None:
    texts = [(str(chat), f"{chat}-{n}") for n in range(4) for chat in range(6)]
    await queue(conn, clock, *texts)
    confirmations = Confirmations(conn, wait=3600)  # every delete rides in a "processing" transaction
    sender = Watching(conn)
    stop = asyncio.Event()

    async def processing() -> None:
        with confirmations.busy():
            while not stop.is_set():
                async with transaction(conn):
                    deleted = await confirmations.ride(conn)
                confirmations.landed(deleted)
                await asyncio.sleep(0)

    loop = asyncio.create_task(processing())
    await asyncio.wait_for(drain(worker(conn, clock, sender, confirmations=confirmations)), HANG_GUARD)
    stop.set()
    await loop
    for chat in range(6):
        assert sender.sent[str(chat)] == [f"{chat}-{n}" for n in range(4)]
    assert await outbox.size(conn) == 0
    assert confirmations.rode == len(texts)
