"""Directory benchmark: import of a large directory file, and matching one question.

Targets (issue 4): matching < 5 ms per question with 5,000 contacts and 500 postcodes; import of
that directory < 3 s. Run: .venv/bin/python benchmarks/directory_bench.py
All names in the generated directory are invented ("Contact 17").
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import yaml

from bot.directory_file import load
from db import directory as stored
from db.connection import connect, transaction
from flows.directory import THEME_CODES
from flows.matching import rank, services_for, wijk_for

CONTACTS = 5000
POSTCODES = 500
WIJKEN = 50
LANGUAGES = ["nl", "en", "tr", "ar", "zgh", "pl", "uk", "ti", "so", "fa", "fa_AF", "ps", "fr", "de"]


def generate(seed: int = 7) -> dict:
    rng = random.Random(seed)
    per_wijk = POSTCODES // WIJKEN
    wijken = [
        {"code": f"w{i}", "name": f"Wijk {i}", "postcodes": [str(1000 + i * per_wijk + j) for j in range(per_wijk)]}
        for i in range(WIJKEN)
    ]
    teams = [
        {"id": f"t{i}", "name": f"Buurtteam {i}", "wijken": [f"w{i}"], "phone": "030 999 00 00"} for i in range(WIJKEN)
    ]
    contacts = [
        {
            "id": f"c{i}",
            "name": f"Contact {i}",
            "team": f"t{i % WIJKEN}",
            "role": "gezinscoach",
            "themes": rng.sample(THEME_CODES, rng.randint(1, 3)),
            "languages": ["nl", *rng.sample(LANGUAGES[1:], rng.randint(0, 3))],
            "phone": f"06 9999 {i:04d}",
        }
        for i in range(CONTACTS)
    ]
    services = [{"id": "veilig-thuis", "name": "Veilig Thuis", "themes": ["safety"], "phone": "0800-2000"}]
    return {
        "organisations": [{"id": "org", "name": "Org"}], "wijken": wijken, "teams": teams, "contacts": contacts,
        "services": services,
    }


async def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "directory.yaml"
        path.write_text(yaml.safe_dump(generate(), allow_unicode=True), "utf-8")
        conn = await connect(Path(scratch) / "bench.sqlite3")
        began = time.perf_counter()
        loaded = load(path)
        parsed = time.perf_counter()
        async with transaction(conn):
            await stored.replace(conn, loaded.directory, loaded.away_given)
        stored_at = time.perf_counter()
        directory = await stored.load(conn)
        read_back = time.perf_counter()
        await conn.close()

    rng = random.Random(11)
    pc4s = list(directory.wijk_by_pc4)
    timings = []
    for _ in range(2000):
        started = time.perf_counter()
        wijk = wijk_for(directory, rng.choice(pc4s))
        assert wijk is not None
        theme = rng.choice(THEME_CODES)
        rank(directory, wijk.code, theme, rng.choice(LANGUAGES), date(2026, 11, 30), {})
        services_for(directory, theme, False)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    print(f"directory: {CONTACTS} contacts, {POSTCODES} postcodes, {WIJKEN} wijken/teams")
    print(f"import: {stored_at - began:.2f} s (read + validate {parsed - began:.2f} s, "
          f"store {stored_at - parsed:.2f} s); target < 3 s")
    print(f"load into memory at start-up: {(read_back - stored_at) * 1000:.0f} ms")
    print(f"matching one question: median {statistics.median(timings):.3f} ms, "
          f"p99 {timings[int(len(timings) * 0.99)]:.3f} ms, max {timings[-1]:.3f} ms; target < 5 ms")


if __name__ == "__main__":
    asyncio.run(main())
