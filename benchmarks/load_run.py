"""One run of one bot in the load benchmark (benchmarks/load.py interleaves the runs and reports).

A run starts the local fake Bot API server and the bot as a child process (benchmarks/baselines.py
says how, per kind), registers everyone (not measured), and then measures three phases of
`seconds` each, driven by benchmarks/load_driver.py:

1. **10 people at the realistic pace** (one message every 2 s each, at random phases): reply time
   p50/p99, and the most messages the bot sent in any one second, overall and to one chat.
2. **All volunteers at the realistic pace**: the same figures, and the bot's CPU share.
3. **Saturation**: everyone sends as soon as their reply came (closed loop): updates per second,
   CPU ms per update (from /proc of the bot, all threads), reply-time p50/p99.
   Skipped for `wijkbrug-paced`, whose output Telegram's limits cap by design.

Start-up is process start to the first getUpdates; peak RSS is VmHWM at the end. With two or more
cores the bot runs on one and the driver with the fake server on another.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from pathlib import Path

from benchmarks.baselines import INTAKE_KINDS, ROOT, TOKEN, bot_command, bot_env
from benchmarks.load_driver import Driver, Json, Watch, baseline_people, next_message, prepare
from tests.fakebotapi import FakeBotApi

TICKS = os.sysconf("SC_CLK_TCK")
FEW = 10  # the people of the first phase
CORES = sorted(os.sched_getaffinity(0))  # read once: pinning this process narrows it


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def memory_mb(pid: int, field: str = "VmHWM") -> float:
    """A memory figure of the process from /proc: VmHWM (peak RSS) or VmRSS (now)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def pin(pid: int, core: int) -> None:
    if len(CORES) >= 2:
        os.sched_setaffinity(pid, {CORES[core]})


def busiest_second(calls: list[Json], since: float, until: float = float("inf")) -> tuple[int, int]:
    """The most messages (sent or edited: what Telegram's limits count; answerCallbackQuery is not
    a message) the bot sent in any one second, overall and to one chat."""
    times: list[float] = []
    per_chat: dict[int, list[float]] = {}
    for call in calls:
        if since <= call["at"] < until and call["method"].startswith(("send", "edit")) and "failed" not in call:
            times.append(call["at"])
            per_chat.setdefault(call["params"].get("chat_id"), []).append(call["at"])

    def most(stamps: list[float]) -> int:
        stamps.sort()
        best, start = 0, 0
        for end, at in enumerate(stamps):
            while at - stamps[start] >= 1.0:
                start += 1
            best = max(best, end - start + 1)
        return best

    return most(times), max((most(s) for s in per_chat.values()), default=0)


async def quiet(api: FakeBotApi, for_seconds: float = 1.0, within: float = 120) -> None:
    """Until the bot has called the server for nothing for `for_seconds` (its outbox is empty)."""
    async with asyncio.timeout(within):
        while True:
            seen = len(api.calls)
            await asyncio.sleep(for_seconds)
            if len(api.calls) == seen:
                return


async def start_bot(kind: str, api: FakeBotApi, folder: Path, log: Path) -> asyncio.subprocess.Process:
    with log.open("wb") as log_file:
        child = await asyncio.create_subprocess_exec(
            *bot_command(kind, api.api_url, folder), cwd=ROOT,
            env=bot_env(api.api_url, api.file_url, folder, paced=kind.endswith("paced")),
            stdout=asyncio.subprocess.DEVNULL, stderr=log_file,
        )
    pin(child.pid, 1)
    return child


async def stop_bot(child: asyncio.subprocess.Process, kind: str, log: Path) -> None:
    """SIGTERM, as systemd would: a clean stop (and the profiler's report). Not SIGINT: a
    benchmark started in the background (`&`) passes SIGINT on as ignored."""
    child.send_signal(15)
    try:
        async with asyncio.timeout(60):
            await child.wait()
    except TimeoutError:
        child.send_signal(6)  # SIGABRT: with PYTHONFAULTHANDLER, every thread's stack goes to the log
        await asyncio.sleep(1)
        child.kill()
        raise RuntimeError(
            f"{kind} did not stop within 60 s of SIGTERM; its log ends:\n" + log.read_text(errors="replace")[-3000:]
        ) from None


async def people(kind: str, folder: Path, chats: list[int]) -> tuple[list[str], list[int], dict[int, str]]:
    """Everyone's start code (volunteers, then members), the members' chats, the volunteers' postcodes."""
    if kind in ("wijkbrug", "wijkbrug-paced"):
        codes, member_codes, postcodes = await prepare(folder / "wijkbrug.sqlite3", chats)
    elif kind == "ptb-intake":
        codes, member_codes, postcodes, places = baseline_people(chats)
        (folder / "directory.json").write_text(json.dumps(places))
    else:
        return [], [], {}
    return codes + member_codes, list(range(20_000, 20_000 + len(member_codes))), postcodes


async def phase(driver: Driver, chats: list[int], seconds: float, paced: bool, rng: random.Random,
                pid: int) -> Json:
    """One phase: its reply times, updates, the bot's CPU seconds, the wall time, the busiest second."""
    driver.latencies.clear()
    driver.updates = driver.accepted = 0
    cpu_before, driver_before, began = cpu_seconds(pid), time.process_time(), time.monotonic()
    await asyncio.gather(*(driver.person(c, began + seconds, paced, rng) for c in chats))
    elapsed = time.monotonic() - began
    driver_busy = (time.process_time() - driver_before) / elapsed
    overall, one_chat = busiest_second(driver.api.calls, began)
    return {"latencies": list(driver.latencies), "updates": driver.updates, "accepted": driver.accepted,
            "cpu": cpu_seconds(pid) - cpu_before, "elapsed": elapsed,
            "driver": driver_busy, "busiest": overall, "busiest chat": one_chat}


async def measure(kind: str, volunteers: int, seconds: float, folder: Path, seed: int) -> dict[str, float]:
    """One bot through the three phases (see the module's docstring); its figures by name."""
    folder.mkdir(parents=True, exist_ok=True)
    async with FakeBotApi(token=TOKEN) as api:
        chats = list(range(10_000, 10_000 + volunteers))
        codes, members, postcodes = await people(kind, folder, chats)
        pin(os.getpid(), 0)
        started = time.monotonic()
        log = folder / f"{kind}.log"  # the bot's own log, shown if it does not stop
        child = await start_bot(kind, api, folder, log)
        try:
            await api.wait_for(lambda a: a._poll_gen > 0, timeout=60)
        except TimeoutError:
            child.kill()
            raise RuntimeError(f"{kind} never polled; its log ends:\n" + log.read_text(errors="replace")[-3000:])
        startup = time.monotonic() - started
        await asyncio.sleep(0.5)  # the menus published, start-up done
        startup_rss = memory_mb(child.pid, "VmRSS")
        watch = Watch(api)
        watching = asyncio.create_task(watch.run())
        driver = Driver(api, watch, kind, postcodes)
        figures: dict[str, float] = {"start-up s": startup, "RSS after start-up MB": startup_rss}
        try:
            for chat, code in zip(chats + members, codes):  # everyone registers first (not measured)
                api.user_sends(chat, f"/start {code}", language_code="en")
            for chat in chats + members if codes else []:
                await next_message(watch.of(chat), within=120)
            await quiet(api)  # the welcomes' further messages and menus sent: registration is not measured
            stop = asyncio.Event()
            accepting = [asyncio.create_task(driver.member(m, stop)) for m in members]
            rng = random.Random(seed)
            few = await phase(driver, chats[:FEW], seconds, True, rng, child.pid)
            await quiet(api)
            paced = await phase(driver, chats, seconds, True, rng, child.pid)
            figures |= {
                "few p50 ms": percentile(few["latencies"], 0.5) * 1000,
                "few p99 ms": percentile(few["latencies"], 0.99) * 1000,
                "few busiest second": few["busiest"], "few busiest second, one chat": few["busiest chat"],
                "paced p50 ms": percentile(paced["latencies"], 0.5) * 1000,
                "paced p99 ms": percentile(paced["latencies"], 0.99) * 1000,
                "paced busiest second": paced["busiest"], "paced busiest second, one chat": paced["busiest chat"],
                "paced bot CPU %": paced["cpu"] / paced["elapsed"] * 100,
                "RSS after paced MB": memory_mb(child.pid, "VmRSS"),
            }
            if kind != "wijkbrug-paced":
                await quiet(api)
                full = await phase(driver, chats, seconds, False, rng, child.pid)
                figures |= {
                    "updates/s": full["updates"] / full["elapsed"],
                    "CPU ms/update": full["cpu"] / max(full["updates"], 1) * 1000,
                    "saturated p50 ms": percentile(full["latencies"], 0.5) * 1000,
                    "saturated p99 ms": percentile(full["latencies"], 0.99) * 1000,
                    "bot CPU %": full["cpu"] / full["elapsed"] * 100,
                    "driver CPU %": full["driver"] * 100,  # near 100: the driver, not the bot, set the pace
                }
                if kind in INTAKE_KINDS:
                    figures["handovers/s"] = full["accepted"] / full["elapsed"]
            figures["peak RSS MB"] = memory_mb(child.pid)
            stop.set()
            await asyncio.gather(*accepting)
        finally:
            watching.cancel()
            await stop_bot(child, kind, log)
    return figures


async def backlog(people_waiting: int, folder: Path) -> dict[str, float]:
    """Wijkbrug started with `people_waiting` registrations (`/start CODE`, each answered with a
    welcome and a command menu) already waiting at the Bot API, as after a night's outage: its
    start-up on that existing database, the time until everyone has their welcome, and the peak
    RSS on the way; then, for comparison, the start-up on a database that does not exist yet."""
    folder.mkdir(parents=True, exist_ok=True)
    async with FakeBotApi(token=TOKEN) as api:
        chats = list(range(10_000, 10_000 + people_waiting))
        codes, _, _ = await prepare(folder / "wijkbrug.sqlite3", chats)
        for chat, code in zip(chats, codes):
            api.user_sends(chat, f"/start {code}", language_code="en")
        pin(os.getpid(), 0)
        watch = Watch(api)
        watching = asyncio.create_task(watch.run())
        started = time.monotonic()
        log = folder / "backlog.log"
        child = await start_bot("wijkbrug", api, folder, log)
        try:
            await api.wait_for(lambda a: a._poll_gen > 0, timeout=30)
            startup = time.monotonic() - started
            for chat in chats:
                await next_message(watch.of(chat), within=300)
            drained = time.monotonic() - started
            await quiet(api)
            peak = memory_mb(child.pid)
        finally:
            watching.cancel()
            await stop_bot(child, "wijkbrug", log)
    new = folder / "new"
    new.mkdir()
    async with FakeBotApi(token=TOKEN) as api:
        started = time.monotonic()
        child = await start_bot("wijkbrug", api, new, new / "bot.log")
        try:
            await api.wait_for(lambda a: a._poll_gen > 0, timeout=30)
            fresh = time.monotonic() - started
        finally:
            await stop_bot(child, "wijkbrug", new / "bot.log")
    return {"start-up s": startup, "answered s": drained, "peak RSS MB": peak, "new database start-up s": fresh}
