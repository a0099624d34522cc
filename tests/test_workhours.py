"""Working hours for reminders: Monday to Friday, 09:00–17:00 Amsterdam time, no public holidays."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import holidays
import pytest

from flows.workhours import add_working_hours

AMS = ZoneInfo("Europe/Amsterdam")
NL = frozenset(holidays.country_holidays("NL", years=[2026, 2027]))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=AMS)


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        ("2026-11-30 10:00", 16, "2026-12-02 10:00"),  # Mon 7 h + Tue 8 h + Wed 1 h
        ("2026-11-27 15:00", 16, "2026-12-01 15:00"),  # Friday: 2 h, then Monday 8 h, Tuesday 6 h
        ("2026-11-28 12:00", 8, "2026-11-30 17:00"),  # on a Saturday the clock starts on Monday 09:00
        ("2026-11-30 07:00", 1, "2026-11-30 10:00"),  # before opening
        ("2026-11-30 18:30", 1, "2026-12-01 10:00"),  # after closing
        ("2026-12-24 15:00", 16, "2026-12-29 15:00"),  # Christmas Day and Boxing Day are holidays
        ("2027-04-26 16:00", 2, "2027-04-28 10:00"),  # King's Day (27 April) does not count
        ("2026-03-27 16:00", 8, "2026-03-30 16:00"),  # across the clock change, still 8 working hours
    ],
)
def test_add_working_hours(start: str, hours: float, due: str) -> None:
    assert add_working_hours(at(start), hours, "Europe/Amsterdam", NL) == at(due)


def test_the_dutch_holidays_come_from_the_holidays_library() -> None:
    assert {date(2026, 12, 25), date(2026, 12, 26), date(2027, 4, 27), date(2027, 1, 1)} <= NL
