"""What the delivery worker's look before each send costs (`db.outbox.still_mine`: is the
message's row still in the outbox, or did revoking its person delete it, and is its address still
this worker's claim?).

Prints, on a SQLite file like the bot's: the lookup alone (µs per message, over an outbox of
--rows messages), and the delivery worker draining --rows messages to a sender that does nothing, with
the look and with it replaced by a stub that says yes (µs per message, median of --repeat runs).
Nothing here is asserted by a test (tests/test_delivery.py shows what the look is for).

Run:  .venv/bin/python benchmarks/outbox_check_bench.py [--rows 20000] [--chats 200] [--repeat 5]
All chats are invented.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import delivery, outgoing
from db import outbox
from db.connection import Connection, connect, transaction
from db.vault import Vault, attach

NOW = datetime(2026, 11, 17, 9, 30, tzinfo=UTC)


class Nothing:
    """A channel's sender (bot.delivery.Sender) that delivers nowhere."""

    async def send(self, address: str, kind: str, body: dict[str, Any]) -> None:
        return None


async def fill(conn: Connection, rows: int, chats: int) -> list[int]:
    """`rows` channel-neutral messages (bot/outgoing.py: a text to say) for `chats` invented chats."""
    async with transaction(conn):
        for i in range(rows):
            await outbox.enqueue(conn, "telegram", str(7000 + i % chats), "say", outgoing.say(f"bench {i}"), NOW)
    return [item.id for item in await outbox.waiting(conn, "telegram")]


async def drain(conn: Connection) -> float:
    """Seconds to send everything waiting, without pacing."""
    pacer = delivery.Pacer(1e9, 1e9, 1e9, 1e9)
    worker = delivery.DeliveryWorker(conn, Nothing(), lambda: NOW, "telegram", pacer=pacer, monotonic=time.monotonic)
    start = time.perf_counter()
    while await worker.drain_once():
        pass
    return time.perf_counter() - start


async def main(rows: int, chats: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        conn = await connect(Path(scratch) / "bench.sqlite3")
        attach(conn, Vault.generate())
        ids = await fill(conn, rows, chats)
        lookups = []
        for _ in range(repeat):
            start = time.perf_counter()
            for outgoing_id in ids:
                await outbox.still_mine(conn, outgoing_id, "bench", NOW)
            lookups.append((time.perf_counter() - start) / rows * 1e6)
        print(f"still_mine alone, outbox of {rows} messages: {statistics.median(lookups):.1f} µs per message")

        await drain(conn)  # empty again: each run below starts from the same outbox
        real = outbox.still_mine

        async def yes(conn: Connection, outgoing_id: int, holder: str, now: datetime) -> bool:
            return True

        with_look, without = [], []
        for _ in range(repeat):
            for figures, look in ((with_look, real), (without, yes)):
                await fill(conn, rows, chats)
                outbox.still_mine = look  # type: ignore[assignment]
                try:
                    figures.append(await drain(conn) / rows * 1e6)
                finally:
                    outbox.still_mine = real
                assert await outbox.size(conn) == 0
        a, b = statistics.median(with_look), statistics.median(without)
        print(f"delivery worker, {rows} messages to {chats} chats, sender doing nothing (median of {repeat}):")
        difference = f"{a - b:+.1f} µs ({(a - b) / b:+.1%})"
        print(f"  with the look {a:.1f} µs per message, without {b:.1f} µs per message: {difference}")
        await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.chats, args.repeat))
