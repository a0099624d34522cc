"""Matching a question to the right wijkteam contacts: tables of cases on a small invented directory."""

from __future__ import annotations

from datetime import date

import pytest

from flows.away import parse_day
from flows.directory import Contact, Directory, Service, Team, Wijk
from flows.matching import rank, services_for, shared_language, wijk_for

TODAY = date(2026, 11, 30)

DIRECTORY = Directory.of(
    wijken=[
        Wijk(code="noord", name="Noord", postcodes=("3561", "3562")),
        Wijk(code="zuid", name="Zuid", postcodes=("3521",)),
        Wijk(code="leeg", name="Leeg", postcodes=("3599",)),
    ],
    teams=[
        Team(id="t-noord", name="Buurtteam Noord", wijken=("noord",)),
        Team(id="t-zuid", name="Buurtteam Zuid", wijken=("zuid",)),
    ],
    contacts=[
        Contact(id="anna", name="Anna", team="t-noord", themes=("school",), languages=("nl", "en")),
        Contact(id="bilal", name="Bilal", team="t-noord", themes=("money",), languages=("nl", "ar", "zgh")),
        Contact(id="canan", name="Canan", team="t-noord", themes=("school", "upbringing"), languages=("nl", "tr")),
        Contact(
            id="dina", name="Dina", team="t-noord", themes=("school",), languages=("nl", "ar"),
            away_until=date(2026, 12, 24),
        ),
        Contact(id="emre", name="Emre", team="t-noord", themes=("housing",), languages=("nl", "fa")),
        Contact(id="fleur", name="Fleur", team="t-zuid", themes=("school",), languages=("nl", "tr")),
    ],
    services=[
        Service(id="schuldhulp", name="Schuldhulp", themes=("money",)),
        Service(id="veilig-thuis", name="Veilig Thuis", themes=("safety",)),
        Service(id="cb", name="Consultatiebureau", themes=("health", "upbringing")),
    ],
)


@pytest.mark.parametrize(
    ("theme", "parent_language", "open_handovers", "expected"),
    [
        # a shared language (4) counts for more than the theme (3); both together win
        ("school", "tr", {}, ["canan", "anna", "bilal"]),
        ("school", "ar", {}, ["bilal", "anna", "canan"]),  # Dina speaks Arabic and does school, but is away
        ("money", "ar", {}, ["bilal", "anna", "canan"]),
        # Dutch is no reason: everyone speaks it; then the theme decides, then the directory's order
        ("school", "nl", {}, ["anna", "canan", "bilal"]),
        # with equal scores, whoever has the fewest open handovers comes first
        ("school", "nl", {"anna": 3, "canan": 1}, ["canan", "anna", "bilal"]),
        # Dari and Persian speakers understand each other; Tamazight includes Tarifit
        ("housing", "fa_AF", {}, ["emre", "anna", "bilal"]),
        ("other", "rif", {}, ["bilal", "anna", "canan"]),
        # a language typed by name cannot be matched: no language reason
        ("upbringing", "other:Pashto", {}, ["canan", "anna", "bilal"]),
    ],
)
def test_rank(theme: str, parent_language: str, open_handovers: dict[str, int], expected: list[str]) -> None:
    found = rank(DIRECTORY, "noord", theme, parent_language, TODAY, open_handovers)
    assert [m.contact.id for m in found] == expected


def test_reasons_come_with_the_ranking() -> None:
    best = rank(DIRECTORY, "noord", "school", "tr", TODAY, {})[0]
    assert (best.language, best.theme, best.score) == ("tr", "school", 7)
    other = rank(DIRECTORY, "noord", "school", "tr", TODAY, {})[2]
    assert (other.language, other.theme, other.score) == (None, None, 0)


def test_away_until_includes_the_last_day_and_ends_after_it() -> None:
    on_last_day = rank(DIRECTORY, "noord", "school", "ar", date(2026, 12, 24), {})
    day_after = rank(DIRECTORY, "noord", "school", "ar", date(2026, 12, 25), {})
    assert "dina" not in [m.contact.id for m in on_last_day]
    assert day_after[0].contact.id == "dina"  # Arabic and school: 7 points, before Bilal's 4


def test_only_the_team_of_the_wijk_is_searched() -> None:
    assert [m.contact.id for m in rank(DIRECTORY, "zuid", "school", "tr", TODAY, {})] == ["fleur"]
    assert rank(DIRECTORY, "leeg", "school", "tr", TODAY, {}) == []


@pytest.mark.parametrize(("pc4", "wijk"), [("3561", "noord"), ("3562", "noord"), ("3521", "zuid"), ("9999", None)])
def test_postcode_to_wijk(pc4: str, wijk: str | None) -> None:
    found = wijk_for(DIRECTORY, pc4)
    assert (found.code if found else None) == wijk


@pytest.mark.parametrize(
    ("theme", "urgent", "expected"),
    [
        ("money", False, ["schuldhulp"]),
        ("safety", False, ["veilig-thuis"]),
        ("money", True, ["veilig-thuis", "schuldhulp"]),  # a child in danger: Veilig Thuis first
        ("upbringing", False, ["cb"]),
        ("housing", False, []),
    ],
)
def test_services(theme: str, urgent: bool, expected: list[str]) -> None:
    assert [s.id for s in services_for(DIRECTORY, theme, urgent)] == expected


@pytest.mark.parametrize(
    ("contact_languages", "parent", "shared"),
    [
        (("nl", "tr"), "tr", "tr"), (("nl",), "nl", None), (("nl", "fa"), "fa_AF", "fa"), (("nl", "ar"), "tr", None),
        (("nl",), "", None),
    ],
)
def test_shared_language(contact_languages: tuple[str, ...], parent: str, shared: str | None) -> None:
    assert shared_language(Contact(id="x", name="X", team="t", languages=contact_languages), parent) == shared


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("24-12", date(2026, 12, 24)),
        ("24/12/2026", date(2026, 12, 24)),
        ("2027-01-06", date(2027, 1, 6)),
        ("6.1", date(2027, 1, 6)),  # without a year: the next 6 January
        ("30-11", TODAY),  # today counts
        ("29-11-2026", None),  # past
        ("2028-01-01", None),  # more than a year ahead
        ("31-02", None),
        ("tomorrow", None),
        ("", None),
    ],
)
def test_away_dates(typed: str, expected: date | None) -> None:
    assert parse_day(typed, TODAY) == expected
