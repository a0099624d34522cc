"""Load benchmark: the real `wijkbrug run` process, side by side with a bare PTB echo bot, against
the same local fake Bot API server and the same driver. Prints, for each: updates per second at
saturation, update-to-reply latency (p50/p95/p99) at a realistic pace and at saturation, CPU
seconds per update (from /proc), peak RSS, and start-up time to the first getUpdates.

Run: .venv/bin/python benchmarks/load.py [--volunteers 200] [--seconds 20] [--repeat 3]
Wijkbrug's outgoing pace is lifted for the measurement (WIJKBRUG_SEND_PER_SECOND): the fake server
has no rate limits, and the benchmark measures the bot, not Telegram's caps.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.directory_file import load as load_directory
from bot.directory_file import sample_path
from db import directory as stored_directory
from db import invites
from db.connection import connect, transaction
from flows.model import Role
from tests.fakebotapi import FakeBotApi

TOKEN = "123:BENCH"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


class Driver:
    """Simulated people: each sends a message (or presses a button) and waits for the reply."""

    def __init__(self, api: FakeBotApi, wijkbrug: bool) -> None:
        self.api = api
        self.wijkbrug = wijkbrug
        self.latencies: list[float] = []
        self.updates = 0
        self.steps: dict[int, int] = {}
        self._read = 0
        self._count: dict[int, int] = {}

    def replies(self, chat: int) -> int:
        """Messages sent to `chat` so far (the server's call log is read once, incrementally)."""
        calls = self.api.calls
        while self._read < len(calls):
            call = calls[self._read]
            self._read += 1
            if call["method"] == "sendMessage" and "failed" not in call:
                target = call["params"].get("chat_id")
                self._count[target] = self._count.get(target, 0) + 1
        return self._count.get(chat, 0)

    async def one(self, chat: int, step: int) -> None:
        before = self.replies(chat)
        started = time.monotonic()
        if self.wijkbrug:
            self.wijkbrug_step(chat, step)
        else:
            self.api.user_sends(chat, f"hello {step}")
        self.updates += 1
        await self.api.wait_for(lambda a: self.replies(chat) > before, timeout=60)
        self.latencies.append(time.monotonic() - started)

    def wijkbrug_step(self, chat: int, step: int) -> None:
        """The intake, over and over: /new, four button presses, postcode, question, save."""
        phase = step % 8
        if phase == 0:
            self.api.user_sends(chat, "/new", language_code="en")
        elif phase in (1, 2, 3, 4, 7):
            message_id, rows = self.api.last_keyboard(chat) or (0, [[{"callback_data": "0|x"}]])
            buttons = [b["callback_data"] for row in rows for b in row]
            wanted = next((b for b in buttons if b.endswith("|no")), buttons[0])  # no child in danger
            self.api.user_presses(chat, message_id, wanted, language_code="en", check_button=False)
        elif phase == 5:
            self.api.user_sends(chat, "3561", language_code="en")
        else:
            self.api.user_sends(chat, "An invented question for the benchmark.", language_code="en")

    async def person(self, chat: int, deadline: float, pause: float) -> None:
        """One person until the deadline; their place in the intake carries over between phases."""
        while time.monotonic() < deadline:
            step = self.steps.get(chat, 0)
            await self.one(chat, step)
            self.steps[chat] = step + 1
            if pause:
                await asyncio.sleep(pause)


async def measure(kind: str, volunteers: int, seconds: float, folder: Path) -> dict:
    async with FakeBotApi(token=TOKEN) as api:
        env = {**os.environ, "WIJKBRUG_TELEGRAM_TOKEN": TOKEN, "WIJKBRUG_TELEGRAM_API_URL": api.api_url,
               "WIJKBRUG_TELEGRAM_FILE_URL": api.file_url, "WIJKBRUG_DATABASE": str(folder / f"{kind}.sqlite3"),
               "WIJKBRUG_POLL_TIMEOUT": "10", "WIJKBRUG_SEND_PER_SECOND": "100000", "WIJKBRUG_CHAT_PER_SECOND": "100000",
               "WIJKBRUG_FLOOD_PER_MINUTE": "100000"}
        chats = list(range(10_000, 10_000 + volunteers))
        if kind == "wijkbrug":
            conn = await connect(folder / f"{kind}.sqlite3")
            sample = load_directory(sample_path())
            async with transaction(conn):
                await stored_directory.replace(conn, sample.directory, sample.away_given)
                codes = [(await invites.create(conn, role=Role.VOLUNTEER, org_id="lantaarn", now=datetime.now(UTC), valid_for=timedelta(days=1))).code for _ in chats]
            await conn.close()
            command = [sys.executable, "-m", "bot.cli", "run"]
            if os.environ.get("WIJKBRUG_PROFILE"):  # pyinstrument's report of the bot, written at exit
                command = [sys.executable, "-m", "pyinstrument", "--renderer", "text", "-o", os.environ["WIJKBRUG_PROFILE"], "-m", "bot.cli", "run"]
        else:
            codes = []
            command = [sys.executable, str(ROOT / "benchmarks" / "echo_ptb.py"), TOKEN, api.api_url]
        started = time.monotonic()
        child = await asyncio.create_subprocess_exec(*command, env=env, cwd=ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        await api.wait_for(lambda a: a.handed_out or a._poll_gen > 0, timeout=30)
        startup = time.monotonic() - started
        driver = Driver(api, kind == "wijkbrug")
        if codes:  # register everyone first (not measured)
            for chat, code in zip(chats, codes):
                api.user_sends(chat, f"/start {code}", language_code="en")
            await api.wait_for(lambda a: all(driver.replies(c) for c in chats), timeout=120)
        # realistic pace: one message every 2 s each
        driver.latencies.clear()
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(driver.person(c, deadline, 2.0) for c in chats))
        paced = list(driver.latencies)
        # saturation: everyone as fast as the replies come
        driver.latencies.clear()
        driver.updates = 0
        cpu_before = cpu_seconds(child.pid)
        began = time.monotonic()
        deadline = began + seconds
        await asyncio.gather(*(driver.person(c, deadline, 0.0) for c in chats))
        elapsed = time.monotonic() - began
        cpu = cpu_seconds(child.pid) - cpu_before
        rss = peak_rss_mb(child.pid)
        child.send_signal(2)  # SIGINT: a clean stop (and the profiler's report)
        await child.wait()
    return {
        "updates_per_second": driver.updates / elapsed,
        "paced_p50_ms": percentile(paced, 0.5) * 1000, "paced_p95_ms": percentile(paced, 0.95) * 1000, "paced_p99_ms": percentile(paced, 0.99) * 1000,
        "saturated_p50_ms": percentile(driver.latencies, 0.5) * 1000, "saturated_p99_ms": percentile(driver.latencies, 0.99) * 1000,
        "cpu_ms_per_update": cpu / max(driver.updates, 1) * 1000, "peak_rss_mb": rss, "startup_s": startup,
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--volunteers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[dict]] = {"wijkbrug": [], "ptb-echo": []}
    with tempfile.TemporaryDirectory() as scratch:
        for n in range(args.repeat):
            for kind in results:
                results[kind].append(await measure(kind, args.volunteers, args.seconds, Path(scratch) / f"{kind}-{n}"))
                (Path(scratch) / f"{kind}-{n}").mkdir(exist_ok=True)
    medians = {kind: {key: statistics.median(r[key] for r in runs) for key in runs[0]} for kind, runs in results.items()}
    print(f"{args.volunteers} simulated people, {args.seconds:.0f} s per phase, median of {args.repeat} runs")
    for kind, figures in medians.items():
        print(f"{kind:>10}: " + ", ".join(f"{key} {value:.1f}" for key, value in figures.items()))
    ratio = medians["wijkbrug"]["updates_per_second"] / medians["ptb-echo"]["updates_per_second"]
    print(f"wijkbrug / ptb-echo throughput: {ratio:.0%}")
    print(json.dumps(medians))


if __name__ == "__main__":
    asyncio.run(main())
