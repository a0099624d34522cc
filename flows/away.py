"""Reading the date a wijkteam member will be back (`/away 24-12`, `/away 2027-01-06`)."""

from __future__ import annotations

import re
from datetime import date, timedelta

MAX_AHEAD = timedelta(days=366)
_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})[-/.](\d{1,2})(?:[-/.](\d{4}))?$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def parse_day(text: str, today: date) -> date | None:
    """A date from today up to a year ahead, or None. Without a year: the next such day."""
    text = text.strip()
    try:
        if found := _ISO.match(text):
            return _within(date(int(found.group(1)), int(found.group(2)), int(found.group(3))), today)
        if found := _DAY_MONTH_YEAR.match(text):
            day, month, year = int(found.group(1)), int(found.group(2)), found.group(3)
            if year:
                return _within(date(int(year), month, day), today)
            candidate = date(today.year, month, day)
            if candidate < today:
                candidate = date(today.year + 1, month, day)
            return _within(candidate, today)
    except ValueError:
        return None
    return None


def _within(day: date, today: date) -> date | None:
    return day if today <= day <= today + MAX_AHEAD else None
