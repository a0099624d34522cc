"""Where the bot's CPU goes, by part: a py-spy profile (`--format raw`, collapsed stacks) summed
into the parts issue 19 names (Bot API HTTP, outbox, SQLite, flows and rendering, the vault,
pydantic, …). Each sample counts once, for the part of the innermost frame that belongs to one
(a pydantic model built by a flow counts as pydantic; the flow's own code as the flow).

Record the bot under load, then read the profile:

    .venv/bin/python benchmarks/load.py --only wijkbrug --repeat 1 &
    py-spy record -p PID_OF_THE_BOT -r 250 --format raw -o profile.txt --nonblocking
    .venv/bin/python benchmarks/profile_breakdown.py profile.txt [--updates N]

`--updates N` (how many updates the profile covers) adds the samples per update.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# Innermost match wins; the first pattern that matches a frame's file names its part.
PARTS: list[tuple[str, str]] = [
    ("vault (Fernet)", r"cryptography/|db/vault\.py"),
    ("pydantic", r"pydantic(_core)?/"),
    ("SQLite", r"db/backend_sqlite\.py|sqlite3/|aiosqlite/"),
    ("json", r"^json/|/json/"),
    ("Bot API HTTP", r"aiohttp/|yarl/|multidict/|bot/botapi\.py|bot/keepalive\.py|httptools/|"
                     r"bot/telegram_send\.py|telegram/|h11/|ssl\.py"),
    ("outbox + delivery", r"db/outbox\.py|bot/delivery\.py"),
    ("inbox + poller", r"db/inbox\.py|bot/telegram\.py"),
    ("rendering + i18n", r"bot/rendering\.py|bot/outgoing\.py|bot/i18n\.py|babel/"),
    ("flows", r"flows/"),
    ("processing, gate, loading, effects", r"bot/processing\.py|bot/gate\.py|bot/loading\.py|bot/effects\.py|"
                                             r"bot/updates\.py|bot/context\.py|bot/runner\.py|db/"),
    ("asyncio", r"asyncio/|selectors\.py"),
]
FRAME = re.compile(r"\((.*?):\d+\)$")


def part_of(stack: list[str]) -> str:
    for frame in reversed(stack):
        match = FRAME.search(frame)
        where = match.group(1) if match else frame
        for part, pattern in PARTS:
            if re.search(pattern, where):
                return part
    return "other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--updates", type=int, default=0)
    parser.add_argument("--top", type=int, default=25, help="also the innermost frames with the most samples")
    args = parser.parse_args()
    parts: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in args.profile.read_text().splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        if not stack_text:
            continue
        count = int(count_text)
        stack = stack_text.split(";")
        total += count
        parts[part_of(stack)] += count
        leaves[stack[-1]] += count
    print(f"{total} samples" + (f", {total / args.updates:.3f} per update" if args.updates else ""))
    for part, count in parts.most_common():
        print(f"{count / total:6.1%}  {part}")
    print()
    for leaf, count in leaves.most_common(args.top):
        print(f"{count / total:6.1%}  {leaf}")


if __name__ == "__main__":
    main()
