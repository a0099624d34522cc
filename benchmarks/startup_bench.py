"""Start-up of `wijkbrug run` (issue 19, items 2 and 3): the time from the process's start to its
first getUpdates, and its RSS then and after one volunteer's first update, on a new database and
again on the same database (a restart, the usual case), against the local fake Bot API (Telegram
alone). The load benchmark (benchmarks/load.py) measures every bot's first start on a database;
this shows the restarts beside it.

    python benchmarks/startup_bench.py [--starts 5]

Prints each start and the medians (lowest–highest) of the restarts. Invented data only.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.baselines import TOKEN, bot_command, bot_env  # noqa: E402
from benchmarks.load_driver import prepare  # noqa: E402
from benchmarks.load_run import memory_mb, stop_bot  # noqa: E402
from tests.fakebotapi import FakeBotApi  # noqa: E402

CHAT = 10_000


async def start(api: FakeBotApi, folder: Path, code: str, chat: int, number: int) -> dict[str, float]:
    """One start: seconds to the first getUpdates; RSS 0.5 s later, and its peak after a first update is answered."""
    log = folder / f"start-{number}.log"
    before = api._poll_gen
    started = time.monotonic()
    with log.open("wb") as log_file:
        child = await asyncio.create_subprocess_exec(
            *bot_command("wijkbrug", api.api_url, folder), cwd=ROOT, stdout=asyncio.subprocess.DEVNULL,
            stderr=log_file, env=bot_env(api.api_url, api.file_url, folder, paced=False),
        )
    try:
        await api.wait_for(lambda a: a._poll_gen > before, timeout=60)
        seconds = time.monotonic() - started
        await asyncio.sleep(0.5)
        rss = memory_mb(child.pid, "VmRSS")
        sent = len(api.messages(chat))
        api.user_sends(chat, f"/start {code}", language_code="en")
        await api.wait_for(lambda a: len(a.messages(chat)) > sent, timeout=60)
        await asyncio.sleep(0.5)
        peak = memory_mb(child.pid)
        return {"start-up s": seconds, "RSS after start-up MB": rss, "peak RSS after a first update MB": peak}
    finally:
        await stop_bot(child, "wijkbrug", log)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5, help="starts on the same database (the first on a new one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wijkbrug-startup-") as tmp:
        folder = Path(tmp)
        chats = [CHAT + n for n in range(args.starts)]
        codes, _, _ = await prepare(folder / "wijkbrug.sqlite3", chats)
        runs = []
        async with FakeBotApi(token=TOKEN) as api:
            for number, (chat, code) in enumerate(zip(chats, codes), start=1):
                figures = await start(api, folder, code, chat, number)
                runs.append(figures)
                shown = ", ".join(f"{name} {value:.2f}" for name, value in figures.items())
                print(f"start {number} ({'first on this database' if number == 1 else 'restart'}): {shown}")
        print("restarts, median (lowest–highest):")
        for name in runs[0]:
            values = [run[name] for run in runs[1:]]
            if values:
                print(f"  {name}: {statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})")


if __name__ == "__main__":
    asyncio.run(main())
