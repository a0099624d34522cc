"""The Dutch public holidays of a year, for reminders counted in working hours.

Why not the `holidays` package: it imports some 300 modules (every country's calendar machinery)
and costs the bot process 11–17 MB of memory, for 10 or 11 dates a year that follow from a few
fixed days and the date of Easter. This module gives exactly the set that
`holidays.country_holidays("NL", years=[year])` gives (the library stays the oracle in
tests/test_holidays_nl.py, for every year from 2014 to 2060):

- Nieuwjaarsdag (1 January);
- Goede Vrijdag, Eerste and Tweede Paasdag (Easter Sunday and Monday);
- Koningsdag: 27 April, or 26 April when the 27th is a Sunday (since 2014; before, Koninginnedag
  on 30 April, which is not given here);
- Bevrijdingsdag (5 May): only every fifth year (2015, 2020, 2025, …), as the library has it;
- Hemelvaartsdag (Easter + 39 days), Eerste and Tweede Pinksterdag (Easter + 49 and + 50 days);
- Eerste and Tweede Kerstdag (25 and 26 December).

Pure: no clock, no I/O.
"""

from __future__ import annotations

from datetime import date, timedelta


def easter(year: int) -> date:
    """Easter Sunday in the Gregorian calendar (the anonymous Gregorian computus, Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday) // 451
    month, day = divmod(h + weekday - 7 * m + 114, 31)
    return date(year, month, day + 1)


def dutch_holidays(year: int) -> frozenset[date]:
    """The Dutch public holidays of `year` (valid from 2014, the first Koningsdag)."""
    sunday = easter(year)
    kings_day = date(year, 4, 27)
    if kings_day.weekday() == 6:
        kings_day = date(year, 4, 26)
    days = {
        date(year, 1, 1),
        sunday - timedelta(days=2),
        sunday,
        sunday + timedelta(days=1),
        kings_day,
        sunday + timedelta(days=39),
        sunday + timedelta(days=49),
        sunday + timedelta(days=50),
        date(year, 12, 25),
        date(year, 12, 26),
    }
    if year % 5 == 0:
        days.add(date(year, 5, 5))
    return frozenset(days)
