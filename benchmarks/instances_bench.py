"""Several instances benchmark: throughput (updates per second at saturation) and update-to-reply
time (p50/p99) of one `wijkbrug run` on SQLite, one on PostgreSQL and two on one PostgreSQL database,
with the same harness: the load benchmark's simulated people (benchmarks/load_driver.py: volunteers
through the whole intake and warm handover, every member accepting), the fake Bot API delivering by
webhook (each instance `--webhook`, the fake acting as Telegram behind a load balancer over them).
Outgoing pace and flood limits are lifted, as in benchmarks/load.py: the fake has no rate limits.

PostgreSQL is the one tests/pg_server.py gives (WIJKBRUG_TEST_POSTGRES, or a throw-away cluster,
tuned for tests: fsync off). The figures are the machine's at the moment: on a shared machine they
are noisy. Nothing here is asserted by a test.

Run:  .venv/bin/python benchmarks/instances_bench.py [--volunteers 40] [--seconds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.baselines import TOKEN, bot_env
from benchmarks.load_run import percentile, quiet, stop_bot
from benchmarks.load_driver import Driver, Watch, next_message, prepare
from tests.fakebotapi import FakeBotApi
from tests.pg_server import postgres_server
from tests.test_webhook import free_port

HOOK = "https://bot.example.org/telegram"
SECRET = "an-invented-benchmark-secret-0123456789"


async def measure(database: str | Path, instances: int, volunteers: int, seconds: float, folder: Path) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    async with FakeBotApi(token=TOKEN) as api:
        chats = list(range(10_000, 10_000 + volunteers))
        codes, member_codes, postcodes = await prepare(database, chats)  # type: ignore[arg-type]
        members = list(range(20_000, 20_000 + len(member_codes)))
        ports = [free_port() for _ in range(instances)]
        api.balance([f"http://127.0.0.1:{port}/telegram" for port in ports])
        children = []
        for n, port in enumerate(ports):
            env = bot_env(api.api_url, api.file_url, folder, paced=False) | {
                "WIJKBRUG_DATABASE": str(database), "WIJKBRUG_WEBHOOK_PORT": str(port),
                "WIJKBRUG_WEBHOOK_SECRET": SECRET,
            }
            log = (folder / f"instance-{n}.log").open("wb")
            children.append(await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "run", "--webhook", HOOK, env=env, cwd=ROOT,
                stdout=asyncio.subprocess.DEVNULL, stderr=log,
            ))
            await api.wait_for(lambda a, n=n: sum(c["method"] == "setWebhook" for c in a.calls) > n, timeout=60)
        watch = Watch(api)
        watching = asyncio.create_task(watch.run())
        driver = Driver(api, watch, "wijkbrug", postcodes)
        try:
            for chat, code in zip(chats + members, codes + member_codes):
                api.user_sends(chat, f"/start {code}", language_code="en")
            for chat in chats + members:
                await next_message(watch.of(chat), within=120)
            await quiet(api)
            for chat in chats + members:  # the welcomes' further messages are not replies to the first step
                while not watch.of(chat).empty():
                    watch.of(chat).get_nowait()
            stop = asyncio.Event()
            accepting = [asyncio.create_task(driver.member(m, stop)) for m in members]
            driver.latencies.clear()
            driver.updates = 0
            began = time.monotonic()
            rng = random.Random(7)
            await asyncio.gather(*(driver.person(c, began + seconds, False, rng) for c in chats))
            elapsed = time.monotonic() - began
            stop.set()
            await asyncio.gather(*accepting)
        finally:
            watching.cancel()
            for n, child in enumerate(children):
                await stop_bot(child, f"instance {n}", folder / f"instance-{n}.log")
    return {
        "updates/s": driver.updates / elapsed,
        "p50 ms": percentile(driver.latencies, 0.5) * 1000,
        "p99 ms": percentile(driver.latencies, 0.99) * 1000,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--volunteers", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp, postgres_server() as pg:
        folder = Path(tmp)
        results["SQLite, 1 instance"] = await measure(
            folder / "s" / "wijkbrug.sqlite3", 1, args.volunteers, args.seconds, folder / "s"
        )
        for n in (1, 2):
            name = f"PostgreSQL, {n} instance{'s' if n > 1 else ''}"
            try:
                results[name] = await measure(pg.fresh(), n, args.volunteers, args.seconds, folder / f"pg{n}")
            except TimeoutError:  # a person waited a minute for a reply: say so, and show the others' figures
                results[name] = {}
    print(
        f"\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()} ({platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}); {args.volunteers} volunteers at saturation for {args.seconds:.0f} s, "
        "webhook deliveries from the fake Bot API"
    )
    print(f"{'':24}{'updates/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    for name, figures in results.items():
        if not figures:
            print(f"{name:24}  failed: a person got no reply within a minute (see the instances' logs)")
            continue
        print(f"{name:24}{figures['updates/s']:10.1f}{figures['p50 ms']:9.0f}{figures['p99 ms']:9.0f}")


if __name__ == "__main__":
    asyncio.run(main())
