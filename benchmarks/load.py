"""Load benchmark: the real `wijkbrug run` process beside a bare python-telegram-bot echo bot and a
bare aiogram echo bot, against the same local fake Bot API server (the one the end-to-end tests
use) and the same driver.

Wijkbrug's people do the whole job: each volunteer goes through the intake (/new, the safety
question, theme, age, language, postcode, question, save), picks the first proposed wijkteam
member, records the parent's consent and details and sends the warm handover request; the
member (every contact of the invented sample directory is registered) accepts it, and the
volunteer hears back before starting again. The echo bots' people send text and wait for the echo.

For each bot it prints: updates per second at saturation (everyone sends as soon as their reply
came), update-to-reply latency p50/p95/p99 at a realistic pace (one message every 2 s each, at
random phases) and at saturation, CPU milliseconds per update (from /proc of the bot process),
peak RSS, start-up time to the first getUpdates; medians of the repetitions; and Wijkbrug's
ratios to each baseline. Nothing here is asserted by a test.

Run:  .venv/bin/python benchmarks/load.py [--volunteers 200] [--seconds 15] [--repeat 3]
The first run makes benchmarks/.venv-aiogram (aiogram pins pydantic below the version Wijkbrug
uses, so it cannot share Wijkbrug's environment); without it the aiogram baseline is skipped.
Wijkbrug's outgoing pace and flood limit are lifted for the measurement: the fake server has no
rate limits, and the benchmark measures the bot, not Telegram's caps. With two or more cores the
bot runs on one core and the driver with the fake server on another.
The simulated people (the intake each volunteer goes through) are in benchmarks/load_driver.py.
`WIJKBRUG_PROFILE=FILE` runs Wijkbrug under pyinstrument and writes its report to FILE.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.load_driver import Driver, Json, Watch, next_message, prepare
from tests.fakebotapi import FakeBotApi

TOKEN = "123:BENCH"
TICKS = os.sysconf("SC_CLK_TCK")
AIOGRAM = "aiogram==3.31.0"
AIOGRAM_VENV = ROOT / "benchmarks" / ".venv-aiogram"


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


def aiogram_python() -> Path | None:
    """The aiogram baseline's interpreter, its environment made on first use (None: not possible)."""
    python = AIOGRAM_VENV / "bin" / "python"
    if not python.exists():
        print(f"making {AIOGRAM_VENV.relative_to(ROOT)} for the aiogram baseline ({AIOGRAM}) ...", flush=True)
        try:
            subprocess.run([sys.executable, "-m", "venv", str(AIOGRAM_VENV)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", AIOGRAM], check=True)
        except (subprocess.CalledProcessError, OSError) as exc:
            print(f"no aiogram baseline: {exc}", flush=True)
            return None
    return python


CORES = sorted(os.sched_getaffinity(0))  # read once: pinning this process narrows it


def pin(pid: int, core: int) -> None:
    if len(CORES) >= 2:
        os.sched_setaffinity(pid, {CORES[core]})


def busiest_second(calls: list[Json], since: float) -> tuple[int, int]:
    """The most messages (sent or edited: what Telegram's limits count) the bot sent in any
    one second, overall and to one chat."""
    times: list[float] = []
    per_chat: dict[int, list[float]] = {}
    for call in calls:
        if call["at"] >= since and call["method"].startswith(("send", "edit")) and "failed" not in call:
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


def bot_env(api: FakeBotApi, folder: Path, limits: bool) -> dict[str, str]:
    env = {
        **os.environ, "WIJKBRUG_TELEGRAM_TOKEN": TOKEN, "WIJKBRUG_TELEGRAM_API_URL": api.api_url,
        "WIJKBRUG_TELEGRAM_FILE_URL": api.file_url, "WIJKBRUG_DATABASE": str(folder / "wijkbrug.sqlite3"),
        "WIJKBRUG_KEY_FILE": str(folder / "wijkbrug.key"), "WIJKBRUG_POLL_TIMEOUT": "10",
        "WIJKBRUG_FLOOD_PER_MINUTE": "100000", "PYTHONFAULTHANDLER": "1",
    }
    if not limits:
        env |= {"WIJKBRUG_SEND_PER_SECOND": "100000", "WIJKBRUG_CHAT_PER_SECOND": "100000"}
    return env


def bot_command(kind: str, api: FakeBotApi) -> list[str]:
    if kind == "wijkbrug":
        if profile := os.environ.get("WIJKBRUG_PROFILE"):  # pyinstrument's report of the bot, written at exit
            return [sys.executable, "-m", "pyinstrument", "--renderer", "text", "-o", profile, "-m", "bot.cli", "run"]
        return [sys.executable, "-m", "bot.cli", "run"]
    if kind == "ptb-echo":
        return [sys.executable, str(ROOT / "benchmarks" / "echo_ptb.py"), TOKEN, api.api_url]
    python = aiogram_python()
    assert python is not None
    return [str(python), str(ROOT / "benchmarks" / "echo_aiogram.py"), TOKEN, api.api_url.removesuffix("/bot")]


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


async def measure(
    kind: str, volunteers: int, seconds: float, folder: Path, seed: int, limits: bool = False
) -> dict[str, float]:
    """One bot through the realistic pace and then saturation; with `limits`, Wijkbrug keeps its
    default pacing (Telegram's limits) and only the realistic pace is run."""
    folder.mkdir(parents=True, exist_ok=True)
    async with FakeBotApi(token=TOKEN) as api:
        chats = list(range(10_000, 10_000 + volunteers))
        members: list[int] = []
        codes: list[str] = []
        postcodes: dict[int, str] = {}
        if kind == "wijkbrug":
            codes, member_codes, postcodes = await prepare(folder / "wijkbrug.sqlite3", chats)
            members = list(range(20_000, 20_000 + len(member_codes)))
            codes += member_codes
        pin(os.getpid(), 0)
        started = time.monotonic()
        log = folder / f"{kind}.log"  # the bot's own log, shown if it does not stop
        with log.open("wb") as log_file:
            child = await asyncio.create_subprocess_exec(
                *bot_command(kind, api), env=bot_env(api, folder, limits), cwd=ROOT,
                stdout=asyncio.subprocess.DEVNULL, stderr=log_file,
            )
        pin(child.pid, 1)
        await api.wait_for(lambda a: a._poll_gen > 0, timeout=30)
        startup = time.monotonic() - started
        await asyncio.sleep(0.5)  # the menus published, start-up done
        startup_rss = memory_mb(child.pid, "VmRSS")
        watch = Watch(api)
        watching = asyncio.create_task(watch.run())
        driver = Driver(api, watch, kind, postcodes)
        try:
            for chat, code in zip(chats + members, codes):  # everyone registers first (not measured)
                api.user_sends(chat, f"/start {code}", language_code="en")
            for chat in chats + members if codes else []:
                await next_message(watch.of(chat), within=120)
            await quiet(api)  # the welcomes' further messages and menus sent: registration is not measured
            stop = asyncio.Event()
            accepting = [asyncio.create_task(driver.member(m, stop)) for m in members]
            rng = random.Random(seed)
            # realistic pace
            driver.latencies.clear()
            cpu_before = cpu_seconds(child.pid)
            began = time.monotonic()
            await asyncio.gather(*(driver.person(c, began + seconds, True, rng) for c in chats))
            paced_cpu = (cpu_seconds(child.pid) - cpu_before) / (time.monotonic() - began)
            paced = list(driver.latencies)
            paced_rss = memory_mb(child.pid, "VmRSS")
            if limits:
                overall, chat = busiest_second(api.calls, began)
                stop.set()
                await asyncio.gather(*accepting)
                return {
                    "paced p50 ms": percentile(paced, 0.5) * 1000, "paced p99 ms": percentile(paced, 0.99) * 1000,
                    "paced bot CPU %": paced_cpu * 100, "messages in the busiest second": overall,
                    "messages to one chat in its busiest second": chat,
                }
            # saturation
            driver.latencies.clear()
            driver.updates = driver.accepted = 0
            cpu_before = cpu_seconds(child.pid)
            driver_before = time.process_time()
            began = time.monotonic()
            await asyncio.gather(*(driver.person(c, began + seconds, False, rng) for c in chats))
            elapsed = time.monotonic() - began
            cpu = cpu_seconds(child.pid) - cpu_before
            driver_busy = (time.process_time() - driver_before) / elapsed
            rss = memory_mb(child.pid)
            stop.set()
            await asyncio.gather(*accepting)
        finally:
            watching.cancel()
            await stop_bot(child, kind, log)
    saturated = driver.latencies
    return {
        "updates/s": driver.updates / elapsed,
        "paced p50 ms": percentile(paced, 0.5) * 1000, "paced p95 ms": percentile(paced, 0.95) * 1000,
        "paced p99 ms": percentile(paced, 0.99) * 1000,
        "saturated p50 ms": percentile(saturated, 0.5) * 1000, "saturated p95 ms": percentile(saturated, 0.95) * 1000,
        "saturated p99 ms": percentile(saturated, 0.99) * 1000,
        "CPU ms/update": cpu / max(driver.updates, 1) * 1000, "peak RSS MB": rss, "RSS after start-up MB": startup_rss,
        "RSS after paced MB": paced_rss, "start-up s": startup,
        "handovers/s": driver.accepted / elapsed,
        "bot CPU %": cpu / elapsed * 100, "driver CPU %": driver_busy * 100, "paced bot CPU %": paced_cpu * 100,
    }


def table(medians: dict[str, dict[str, float]]) -> str:
    kinds = list(medians)
    keys = list(medians[kinds[0]])
    lines = [f"| {'':18} | " + " | ".join(f"{k:>12}" for k in kinds) + " |", "|" + "---|" * (len(kinds) + 1)]
    lines += [f"| {key:18} | " + " | ".join(f"{medians[k][key]:12.1f}" for k in kinds) + " |" for key in keys]
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--volunteers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=["wijkbrug", "ptb-echo", "aiogram-echo", "limits"], action="append")
    args = parser.parse_args()
    if args.only == ["limits"]:
        await limits(args.seconds)
        return
    kinds = [k for k in args.only or ["wijkbrug", "ptb-echo", "aiogram-echo"] if k != "limits"]
    if "aiogram-echo" in kinds and aiogram_python() is None:
        kinds.remove("aiogram-echo")
    results: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
    with tempfile.TemporaryDirectory() as scratch:
        for n in range(args.repeat):
            for kind in kinds:  # interleaved, so a slow moment of the machine hits every bot alike
                folder = Path(scratch) / f"{kind}-{n}"
                results[kind].append(await measure(kind, args.volunteers, args.seconds, folder, seed=n))
                figures = ", ".join(f"{k} {v:.1f}" for k, v in results[kind][-1].items())
                print(f"run {n + 1}/{args.repeat} {kind}: {figures}", flush=True)
    medians = {kind: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
               for kind, runs in results.items()}
    print(f"\n{args.volunteers} simulated volunteers, {args.seconds:.0f} s per phase, median of {args.repeat} runs\n")
    print(table(medians))
    if "wijkbrug" in medians:
        for baseline in (k for k in medians if k != "wijkbrug"):
            ratio = medians["wijkbrug"]["updates/s"] / medians[baseline]["updates/s"]
            cpu = medians["wijkbrug"]["CPU ms/update"] / medians[baseline]["CPU ms/update"]
            print(f"wijkbrug / {baseline}: throughput {ratio:.0%}, CPU per update {cpu:.1f}x")
    print(json.dumps(medians))
    if not args.only or "limits" in args.only:
        await limits(args.seconds)


async def limits(seconds: float) -> None:
    """Wijkbrug at Telegram's limits (its defaults: 25 messages a second overall after a burst of
    five, so no second carries more than Telegram's 30; one a second per chat after a burst of
    three): below them the pacing must add no latency; above them the output must stay within them."""
    print("\nWijkbrug with its default pacing (25 messages/s overall after a burst of 5, 1/s per chat after 3):\n")
    with tempfile.TemporaryDirectory() as scratch:
        rows = {}
        for people in (10, 200):
            folder = Path(scratch)
            unpaced = await measure("wijkbrug", people, seconds, folder / f"free-{people}", seed=people)
            paced = await measure("wijkbrug", people, seconds, folder / f"paced-{people}", seed=people, limits=True)
            rows[f"{people} people, no limits"] = {
                k: unpaced[k] for k in ("paced p50 ms", "paced p99 ms", "paced bot CPU %")
            }
            rows[f"{people} people, limits"] = paced
    for name, row in rows.items():
        print(f"{name:>22}: " + ", ".join(f"{k} {v:.1f}" for k, v in row.items()))


if __name__ == "__main__":
    asyncio.run(main())
