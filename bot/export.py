"""The CSV export of a week: one row per question or case, pseudonymous codes and categories only."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

COLUMNS = ["type", "code", "question", "date", "theme", "wijk", "parent_language", "age_group", "urgent", "status", "team"]


def to_csv(rows: Iterable[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode("utf-8")
