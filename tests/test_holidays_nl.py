"""Dutch public holidays without the `holidays` package: the package stays the oracle here."""

from __future__ import annotations

from datetime import date

import holidays
import pytest

from flows.holidays_nl import dutch_holidays, easter


@pytest.mark.parametrize("year", range(2014, 2061))
def test_the_holidays_are_those_of_the_holidays_library(year: int) -> None:
    assert dutch_holidays(year) == frozenset(holidays.country_holidays("NL", years=[year]))


@pytest.mark.parametrize(
    ("year", "sunday"),
    [(1818, date(1818, 3, 22)), (1943, date(1943, 4, 25)), (2000, date(2000, 4, 23)), (2026, date(2026, 4, 5)),
     (2038, date(2038, 4, 25)), (2285, date(2285, 3, 22))],
)
def test_easter_falls_on_the_known_dates_including_the_earliest_and_latest(year: int, sunday: date) -> None:
    assert easter(year) == sunday


def test_kings_day_moves_to_saturday_when_the_27th_is_a_sunday_and_liberation_day_every_fifth_year() -> None:
    assert date(2025, 4, 26) in dutch_holidays(2025) and date(2025, 4, 27) not in dutch_holidays(2025)
    assert date(2025, 5, 5) in dutch_holidays(2025) and date(2026, 5, 5) not in dutch_holidays(2026)
