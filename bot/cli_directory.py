"""`wijkbrug directory import|export`: the directory file in, the stored directory out."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.cli_shared import OperatorError, utc_now
from bot.settings import Settings
from db import directory as stored_directory
from db.connection import connect, transaction
from flows.directory import Directory


def counts(directory: Directory) -> str:
    return ", ".join(f"{len(getattr(directory, kind))} {kind}" for kind in stored_directory.KINDS)


async def import_file(settings: Settings, file: Path, check: bool) -> int:
    from bot import directory_file

    loaded = directory_file.load(file)
    if check:
        print(f"{file}: valid ({counts(loaded.directory)})")
        return 0
    conn = await connect(settings.database)
    try:
        async with transaction(conn):
            report = await stored_directory.replace(conn, loaded.directory, loaded.away_given)
    except stored_directory.InUse as exc:
        raise OperatorError(f"{file}: nothing imported: {exc}") from None
    finally:
        await conn.close()
    print(f"{file}: imported ({counts(loaded.directory)})")
    for kind, change in report.items():
        for what in ("added", "changed", "removed"):
            ids = getattr(change, what)
            if ids:
                shown = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
                print(f"  {kind} {what} ({len(ids)}): {shown}")
    if not any(c.added or c.changed or c.removed for c in report.values()):
        print("  nothing changed")
    return 0


async def export(settings: Settings, output: Path | None) -> int:
    from bot import directory_file

    conn = await connect(settings.database)
    try:
        stored = await stored_directory.load(conn)
    finally:
        await conn.close()
    heading = (
        f"# Wijkbrug directory, exported {utc_now():%Y-%m-%d %H:%M} UTC. "
        "Import it with `wijkbrug directory import`."
    )
    text = directory_file.dump(stored, heading)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, "utf-8")
        print(f"{output}: written ({counts(stored)})", file=sys.stderr)
    return 0
