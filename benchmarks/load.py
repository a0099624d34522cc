"""Load benchmark: the real `wijkbrug run` process beside its baselines, against the same local
fake Bot API server (the one the end-to-end tests use) and the same driver, in one window.

The bots (benchmarks/baselines.py): Wijkbrug with its pacing lifted and with its default pacing;
the intake a team would build with PTB's ConversationHandler and PicklePersistence; a plain PTB
echo bot as a user installs it (defaults, sequential); a PTB echo bot configured as Wijkbrug
configures PTB; a bare aiogram echo bot. Wijkbrug's people and the PTB intake bot's go through the
same intake and handover (benchmarks/load_driver.py); the echo bots' people send text and wait for
the echo. Each run measures three phases (benchmarks/load_run.py): 10 people at the realistic pace
(one message every 2 s each), everyone at that pace, and saturation.

The runs are interleaved (A, B, C, …, A, B, C, …), so a busy moment of the machine hits every bot
alike; the result (every run's figures, and where they were measured) is written as JSON, and the
medians with their spread are printed, or written into docs/performance.md's generated block
(benchmarks/report.py). Nothing here is asserted by a test.

Run:  .venv/bin/python benchmarks/load.py [--volunteers 200] [--seconds 15] [--repeat 3] [--only KIND ...]
          [--backlog 2000] [--doc docs/performance.md] [--note TEXT] [--quick]
`--quick` checks the harness in about two minutes (40 volunteers, 4 s phases, one run of each).
`--backlog N` adds, to each round, Wijkbrug started with N people's registrations already waiting
(start-up, the time until all are answered, peak RSS) and once on a database that does not exist yet.
`WIJKBRUG_PROFILE=FILE` runs Wijkbrug under pyinstrument and writes its report to FILE.
`BENCH_VENVS=DIR` keeps the baselines' own environments there (default .bench-venvs).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import report
from benchmarks.baselines import KINDS, environment
from benchmarks.load_run import backlog, measure

RESULTS = ROOT / "benchmarks" / ".results"


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def load_average() -> str:
    return " / ".join(f"{v:.1f}" for v in os.getloadavg())


def commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    return (done.stdout.strip() or "unknown") + (" with local changes" if dirty else "")


def command(args: argparse.Namespace) -> str:
    """The run's settings as a command line (without the note and the doc it writes to)."""
    only = "".join(f" --only {kind}" for kind in args.only or ())
    backlog = f" --backlog {args.backlog}" if args.backlog else ""
    return (f"benchmarks/load.py --volunteers {args.volunteers} --seconds {args.seconds:g} --repeat {args.repeat}"
            f"{only}{backlog}")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--volunteers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=KINDS, action="append", help="these bots only (repeat the option)")
    parser.add_argument("--backlog", type=int, default=0, metavar="PEOPLE",
                        help="also start Wijkbrug with PEOPLE registrations waiting (and once on a new database)")
    parser.add_argument("--quick", action="store_true", help="check the harness: 40 volunteers, 4 s, one run")
    parser.add_argument("--out", type=Path, help="the JSON result (default benchmarks/.results/load-TIME.json)")
    parser.add_argument("--doc", type=Path, help="regenerate this file's generated block from this run")
    parser.add_argument("--note", default="", help="a note for the generated block (e.g. the machine was shared)")
    args = parser.parse_args()
    if args.quick:
        args.volunteers, args.seconds, args.repeat, args.backlog = 40, 4, 1, min(args.backlog, 200)
    return args


async def main() -> None:
    args = arguments()
    kinds = list(args.only or KINDS)
    for name, users in (("ptb", ("ptb-echo", "ptb-intake")), ("aiogram", ("aiogram-echo",))):
        if set(users) & set(kinds):
            environment(name)  # made before any timing starts
    rounds = kinds + (["backlog"] if args.backlog else [])
    stamp = datetime.now(UTC)
    meta = {
        "date": stamp.strftime("%Y-%m-%d %H:%M UTC"), "cores": os.cpu_count(), "cpu": cpu_model(),
        "python": platform.python_version(), "commit": commit(), "load before": load_average(),
        "command": command(args), "volunteers": args.volunteers,
        "seconds": args.seconds, "backlog": args.backlog, "note": args.note,
    }
    runs: dict[str, list[dict[str, float]]] = {kind: [] for kind in rounds}
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        for n in range(args.repeat):
            for kind in rounds:  # interleaved, so a slow moment of the machine hits every bot alike
                folder = Path(scratch) / f"{kind}-{n}"
                if kind == "backlog":
                    runs[kind].append(await backlog(args.backlog, folder))
                else:
                    runs[kind].append(await measure(kind, args.volunteers, args.seconds, folder, seed=n))
                figures = ", ".join(f"{k} {v:.1f}" for k, v in runs[kind][-1].items())
                print(f"run {n + 1}/{args.repeat} {kind}: {figures}", flush=True)
    meta |= {"load after": load_average(), "minutes": round((time.monotonic() - began) / 60, 1)}
    result = {"meta": meta, "runs": runs}
    out = args.out or RESULTS / f"load-{stamp:%Y%m%dT%H%M}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1), "utf-8")
    print(f"\n{report.block(result)}\n\nresult: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    if args.doc:
        report.regenerate(args.doc, report.block(result))
        print(f"regenerated the figures of {args.doc}")


if __name__ == "__main__":
    asyncio.run(main())
