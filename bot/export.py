"""The CSV export of a week: one row per question or case, pseudonymous codes and categories only.

Every export starts with a UTF-8 byte order mark, so that Excel reads "Kürtçe" as written
instead of guessing a Windows code page. The standard export is comma-separated with times in
UTC (ISO 8601), for any program. `excel=True` is for a spreadsheet in a Dutch (or other
continental) Excel, whose list separator is ";": semicolons, and times as local
"YYYY-MM-DD HH:MM" in the bot's time zone, so that a double-click opens it in columns.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

COLUMNS = [
    "type", "code", "question", "date", "theme", "wijk", "parent_language", "age_group", "urgent", "status", "team",
]
BOM = "\ufeff"


def _local(value: str, zone: ZoneInfo) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment.tzinfo else value


def to_csv(rows: Iterable[dict], excel: bool = False, timezone: ZoneInfo | None = None) -> bytes:
    out = io.StringIO()
    out.write(BOM)
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", delimiter=";" if excel else ",")
    writer.writeheader()
    zone = timezone or ZoneInfo("Europe/Amsterdam")
    for row in rows:
        if excel and row.get("date"):
            row = {**row, "date": _local(str(row["date"]), zone)}
        writer.writerow(row)
    return out.getvalue().encode("utf-8")
