"""How long `wijkbrug rotate-key` holds the write lock: the longest a running bot can wait for it.

Fills a fresh database with N sealed question texts (invented), then re-seals them under a new
key with `db.privacy.rotate`, timing every transaction. Prints the total time, the number of
transactions and the longest and median lock hold.

    .venv/bin/python benchmarks/rotate_bench.py [--values 150000] [--batch 500]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.fernet import Fernet  # noqa: E402

from db import connection, privacy  # noqa: E402
from db.connection import connect, transaction  # noqa: E402
from db.vault import Vault, attach  # noqa: E402
from tests.storage_fill import fill_questions  # noqa: E402


async def main(values: int, batch: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        conn = await connect(Path(folder) / "bench.sqlite3")
        old_key = Fernet.generate_key()
        old = Vault([old_key])
        attach(conn, old)
        await fill_questions(conn, old, values)
        holds: list[float] = []
        plain = connection.transaction

        @asynccontextmanager
        async def timed(conn):  # the same transaction, with its lock hold measured
            started = time.perf_counter()
            async with plain(conn) as inside:
                yield inside
            holds.append(time.perf_counter() - started)

        privacy.transaction = timed
        new = Vault([Fernet.generate_key(), old_key])
        started = time.perf_counter()
        changed = (await privacy.rotate(conn, new, datetime.now(UTC), batch=batch)).values
        total = time.perf_counter() - started
        privacy.transaction = transaction
        await conn.close()
    print(f"rotate-key: {changed:,} values re-sealed in {total:.1f} s, "
          f"{len(holds)} transactions of at most {batch} values")
    print(f"write lock held: longest {max(holds) * 1000:.0f} ms, median {statistics.median(holds) * 1000:.0f} ms "
          f"(pauses of {privacy.ROTATE_PAUSE * 1000:.0f} ms between batches)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=150_000)
    parser.add_argument("--batch", type=int, default=privacy.ROTATE_BATCH)
    args = parser.parse_args()
    asyncio.run(main(args.values, args.batch))
