"""Flood benchmark: twenty volunteers send /help every 2 s (at random phases) while one chat sends
300 messages a minute, in real time, through the real runner and flood limit (30 a minute after a
burst of 10) on a SQLite file. A second connection stores arrivals as the poller would.

For each run (no flooder, a stranger flooding, a registered volunteer flooding) it prints the
normal chats' update-to-commit latency (p50/p95/max; the reply is in the outbox at commit), how
many of their updates were handled, and what became of the flooder's: handled, closed unanswered,
still waiting, and how many messages the flooder was sent. Nothing here is asserted by a test
(tests/test_flood.py counts the same thing in processing rounds).

Run:  .venv/bin/python benchmarks/flood_bench.py [--seconds 20]
All chats are invented.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.flood import Flood
from bot.i18n import Catalogs
from bot.runner import Runner
from db import directory, inbox, invites, outbox
from db.connection import connect, transaction
from db.inbox import Incoming
from db.vault import Vault, attach
from flows.directory import Directory, Organisation
from flows.model import Role

NORMAL = [5000 + i for i in range(20)]
FLOODER = 9999
ids = itertools.count(1)


def message(chat: int, text: str) -> Incoming:
    update_id = next(ids)
    person = {"id": chat, "is_bot": False, "first_name": "Bench", "language_code": "en"}
    update = {
        "update_id": update_id,
        "message": {
            "message_id": update_id, "from": person, "chat": {"id": chat, "type": "private"}, "date": 0, "text": text,
        },
    }
    return Incoming(update_id=update_id, payload=json.dumps(update))


async def run(flooder: str | None, seconds: float, catalogs: Catalogs) -> dict:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "bench.sqlite3"
        work, poll = await connect(path), await connect(path)
        vault = Vault.generate()
        attach(work, vault)
        attach(poll, vault)
        clock = lambda: datetime.now(UTC)  # noqa: E731
        runner = Runner(work, catalogs, clock, "telegram", vault=vault, flood=Flood(per_minute=30))
        async with transaction(work):
            organisations = [Organisation(id="org", name="Org (invented)")]
            await directory.replace(work, Directory.of(organisations=organisations), frozenset())
        members = NORMAL + ([FLOODER] if flooder == "registered" else [])
        for chat in members:
            async with transaction(work):
                made = await invites.create(
                    work, role=Role.VOLUNTEER, org_id="org", now=clock(), valid_for=timedelta(days=1)
                )
                await inbox.receive(work, "telegram", [message(chat, f"/start {made.code}")], clock())
        runner.flood = Flood(per_minute=float("inf"), burst=float("inf"))
        await runner.process_pending()
        runner.flood = Flood(per_minute=30)  # registered; now the limit counts

        arrived: dict[int, tuple[int, float]] = {}
        committed: dict[int, float] = {}

        def handled(update_id: int) -> None:
            committed[update_id] = time.perf_counter()

        received = asyncio.Event()
        began = time.perf_counter()
        phases = {chat: rng.random() * 2 for chat in NORMAL}

        async def produce() -> None:
            tick = 0
            while (now := time.perf_counter() - began) < seconds:
                batch = []
                if flooder:
                    batch.append((FLOODER, message(FLOODER, f"spam {tick}")))
                for chat in NORMAL:
                    if (now - phases[chat]) % 2 < 0.2 and now >= phases[chat]:
                        batch.append((chat, message(chat, "/help")))
                at = time.perf_counter()
                async with transaction(poll):
                    await inbox.receive(poll, "telegram", [m for _, m in batch], clock())
                for chat, m in batch:
                    arrived[m.update_id] = (chat, at)
                received.set()
                tick += 1
                await asyncio.sleep(0.2)

        async def consume() -> None:
            while True:
                received.clear()
                if not await runner.process_pending(committed=handled):
                    try:
                        async with asyncio.timeout(0.05):
                            await received.wait()
                    except TimeoutError:
                        pass

        consumer = asyncio.create_task(consume())
        await produce()
        await asyncio.sleep(0.5)
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)
        latencies = [
            (committed[u] - at) * 1000 for u, (chat, at) in arrived.items() if chat != FLOODER and u in committed
        ]
        normal = [u for u, (chat, _) in arrived.items() if chat != FLOODER]
        flood = [u for u, (chat, _) in arrived.items() if chat == FLOODER]
        outcomes = await inbox.outcomes(work, "telegram")
        # Messages said to the flooder (bot/outgoing.py), not answers to presses nor menus.
        said = await outbox.waiting(work, "telegram")
        to_flooder = sum(1 for m in said if m.address == str(FLOODER) and m.kind == "say")
        await work.close()
        await poll.close()
    latencies.sort()
    return {
        "normal": f"{sum(u in committed for u in normal)}/{len(normal)}",
        "p50": statistics.median(latencies),
        "p95": latencies[int(len(latencies) * 0.95)],
        "max": latencies[-1],
        "flood": len(flood),
        "handled": sum(u in committed for u in flood),
        "closed": sum(outcomes.get(u) == "ignored" for u in flood if u not in committed),
        "waiting": sum(outcomes.get(u) is None for u in flood),
        "to_flooder": to_flooder,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    options = parser.parse_args()
    catalogs = Catalogs()
    print(f"{options.seconds:.0f} s, 20 chats sending /help every 2 s; flooder: 300 a minute")
    print(
        f"{'flooder':<11} {'normal handled':>14} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}"
        "   flooder: sent handled closed waiting  sent to"
    )
    for flooder in (None, "stranger", "registered"):
        r = await run(flooder, options.seconds, catalogs)
        print(
            f"{flooder or 'none':<11} {r['normal']:>14} {r['p50']:>7.1f} {r['p95']:>7.1f} {r['max']:>7.1f}"
            f"            {r['flood']:>4} {r['handled']:>7} {r['closed']:>6} {r['waiting']:>7} {r['to_flooder']:>5}"
        )


if __name__ == "__main__":
    asyncio.run(main())
