"""Working hours: Monday to Friday, 09:00–17:00 in the bot's time zone, without public holidays.

A reminder "after 16 working hours" set on Friday at 15:00 falls due on Tuesday at 15:00: two
hours on Friday, eight on Monday, six on Tuesday. Holidays are passed in (a set of dates), so
this stays pure.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

START = time(9, 0)
END = time(17, 0)


def is_working_day(day: date, holidays: AbstractSet[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_working_hours(start: datetime, hours: float, timezone: str, holidays: AbstractSet[date]) -> datetime:
    """The moment `hours` working hours after `start` (aware); returned in UTC."""
    zone = ZoneInfo(timezone)
    local = start.astimezone(zone)
    left = timedelta(hours=hours)
    day = local.date()
    cursor = local.time()
    while True:
        if is_working_day(day, holidays):
            begin = max(cursor, START)
            if begin < END:
                opened = datetime.combine(day, begin, zone)
                closes = datetime.combine(day, END, zone)
                if opened + left <= closes:
                    return (opened + left).astimezone(ZoneInfo("UTC"))
                left -= closes - opened
        day += timedelta(days=1)
        cursor = START
