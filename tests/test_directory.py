"""The directory file and its storage: validation that names file, line and problem; imports
that replace the stored directory whole or not at all."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.directory_file import DirectoryError, load, parse, sample_path
from db import directory as stored
from db import invites, users
from db.connection import transaction
from flows.directory import Directory
from flows.model import Role
from tests.conftest import BACKENDS

VALID = """\
organisations:
  - id: lantaarn
    name: De Lantaarn (invented)
wijken:
  - code: noord
    name: Noord
    postcodes: [3561-3563, 3570]
  - code: zuid
    name: Zuid
    postcodes: ["3521"]
teams:
  - id: t-noord
    name: Buurtteam Noord
    wijken: [noord]
  - id: t-zuid
    name: Buurtteam Zuid
    wijken: [zuid]
contacts:
  - id: anna
    name: Anna Invented
    team: t-noord
    themes: [school]
    languages: [nl, tr]
  - id: bram
    name: Bram Invented
    team: t-zuid
    themes: [money]
    languages: [nl]
services:
  - id: veilig-thuis
    name: Veilig Thuis
    themes: [safety]
    phone: 0800-2000
"""


def broken(old: str, new: str) -> str:
    assert old in VALID
    return VALID.replace(old, new)


def test_the_sample_directory_is_utrecht_invented_and_complete() -> None:
    loaded = load(sample_path())
    directory = loaded.directory
    assert {w.name for w in directory.wijken} == {
        "Binnenstad", "Oost", "Noordoost", "Overvecht", "Noordwest", "West", "Zuidwest", "Zuid", "Leidsche Rijn",
        "Vleuten-De Meern",
    }
    assert all(directory.teams_by_wijk.get(w.code) for w in directory.wijken)  # a team per wijk
    assert len(directory.contacts) >= 30
    assert {"tr", "ar", "ti", "so", "fa", "pl", "uk"} <= {code for c in directory.contacts for code in c.languages}
    assert directory.services[0].id == "veilig-thuis"
    assert (
        "invented" in sample_path().read_text("utf-8").splitlines()[0].lower()
        or "INVENTED" in sample_path().read_text()
    )


def test_ranges_become_single_postcodes() -> None:
    directory = parse(VALID, Path("d.yaml")).directory
    assert directory.wijk_by_pc4 == {"3561": "noord", "3562": "noord", "3563": "noord", "3570": "noord", "3521": "zuid"}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("    team: t-zuid\n", "    team: t-west\n", "d.yaml:26: contacts[1].team: unknown team 't-west'"),
        (
            '    postcodes: ["3521"]',
            '    postcodes: ["3521", 3562]',
            "d.yaml:10: wijken[1].postcodes: postcode 3562 is also in wijk 'noord' (line 5)",
        ),
        (
            "    themes: [money]", "    themes: [money, cooking]",
            "d.yaml:27: contacts[1].themes: unknown theme 'cooking'",
        ),
        (
            "    languages: [nl, tr]", "    languages: [nl, turkish]",
            "d.yaml:23: contacts[0].languages: unknown language code 'turkish'",
        ),
        ("  - id: bram\n", "  - id: anna\n", "d.yaml:24: contacts[1]: id 'anna' is already on line 19"),
        (
            "    name: Bram Invented\n    team: t-zuid",
            "    name: anna invented\n    team: t-noord",
            "d.yaml:24: contacts[1]: contact (team, name) ('t-noord', 'anna invented') is already on line 19",
        ),
        ("    wijken: [zuid]", "    wijken: [zuid, oost]", "d.yaml:17: teams[1].wijken[1]: unknown wijk 'oost'"),
        ("[3561-3563, 3570]", "[3563-3561]", "d.yaml:7: wijken[0].postcodes: the range '3563-3561' runs backwards"),
        ("[3561-3563, 3570]", "[356]", "d.yaml:7: wijken[0].postcodes: 356 is not a PC4"),
        (
            "    phone: 0800-2000\n", "    phone: 0800-2000\n    fax: 0800-2001\n",
            "d.yaml:34: services[0].fax: Extra inputs are not permitted",
        ),
    ],
)
def test_a_bad_file_names_file_line_field_and_problem(old: str, new: str, expected: str) -> None:
    with pytest.raises(DirectoryError) as caught:
        parse(broken(old, new), Path("d.yaml"))
    assert any(p.startswith(expected) for p in caught.value.problems), caught.value.problems


def test_every_problem_is_reported_at_once() -> None:
    text = broken("    team: t-zuid\n", "    team: t-west\n").replace("themes: [school]", "themes: [knitting]")
    with pytest.raises(DirectoryError) as caught:
        parse(text, Path("d.yaml"))
    assert len(caught.value.problems) == 2


async def test_an_import_reports_added_changed_and_removed(conn) -> None:
    first = parse(VALID, Path("d.yaml"))
    async with transaction(conn):
        report = await stored.replace(conn, first.directory, first.away_given)
    assert report["contacts"].added == ["anna", "bram"] and report["organisations"].added == []
    assert report["organisations"].removed == ["kompas"]  # the test database had it; nobody uses it
    second = parse(broken("    themes: [money]", "    themes: [money, housing]").replace(
        "  - id: anna\n    name: Anna Invented\n    team: t-noord\n    themes: [school]\n    languages: [nl, tr]\n", ""
    ), Path("d.yaml"))
    async with transaction(conn):
        report = await stored.replace(conn, second.directory, second.away_given)
    assert (report["contacts"].added, report["contacts"].changed, report["contacts"].removed) == (
        [], ["bram"], ["anna"],
    )
    assert await stored.load(conn) == Directory.of(*[getattr(second.directory, k) for k in stored.KINDS])


async def test_a_bad_import_leaves_the_stored_directory_as_it_was(conn, clock) -> None:
    first = parse(VALID, Path("d.yaml"))
    async with transaction(conn):
        await stored.replace(conn, first.directory, first.away_given)
    member = await users.create(
        conn, channel="telegram", chat_id="7", role=Role.MEMBER, org_id=None, language="nl", display_name="",
        now=clock(), contact_id="anna",
    )
    without_anna = parse(
        VALID.replace(
            "  - id: anna\n    name: Anna Invented\n    team: t-noord\n    themes: [school]\n    languages: [nl, tr]\n",
            "",
        ),
        Path("d.yaml"),
    )
    before = await stored.load(conn)
    with pytest.raises(stored.InUse, match="contact 'anna' has a member account"):
        async with transaction(conn):
            await stored.replace(conn, without_anna.directory, without_anna.away_given)
    assert await stored.load(conn) == before
    assert (await users.get(conn, member.id)).contact_id == "anna"


async def test_away_set_by_a_member_survives_an_import_that_does_not_mention_it(conn, clock) -> None:
    loaded = parse(VALID, Path("d.yaml"))
    async with transaction(conn):
        await stored.replace(conn, loaded.directory, loaded.away_given)
        version = await stored.version(conn)
        await stored.set_away(conn, "anna", date(2026, 12, 24))
    assert await stored.version(conn) != version  # a running bot reloads
    async with transaction(conn):
        await stored.replace(conn, loaded.directory, loaded.away_given)
    assert (await stored.load(conn)).contact("anna").away_until == date(2026, 12, 24)
    cleared = parse(broken("    languages: [nl, tr]", "    languages: [nl, tr]\n    away_until: null"), Path("d.yaml"))
    async with transaction(conn):
        await stored.replace(conn, cleared.directory, cleared.away_given)
    assert (await stored.load(conn)).contact("anna").away_until is None


async def test_a_member_invite_carries_the_contact(conn, clock) -> None:
    loaded = parse(VALID, Path("d.yaml"))
    async with transaction(conn):
        await stored.replace(conn, loaded.directory, loaded.away_given)
        made = await invites.create(
            conn, role=Role.MEMBER, org_id=None, contact_id="anna", now=clock(), valid_for=timedelta(days=1)
        )
    found = await invites.find_usable(conn, made.code, clock())
    assert found is not None and found.contact_id == "anna" and found.role is Role.MEMBER


def test_lines_stay_right_when_an_earlier_entry_is_invalid() -> None:
    text = broken("    themes: [school]", "    themes: [knitting]").replace("    team: t-zuid\n", "    team: t-west\n")
    with pytest.raises(DirectoryError) as caught:
        parse(text, Path("d.yaml"))
    assert caught.value.problems == [
        "d.yaml:22: contacts[0].themes: unknown theme 'knitting'",
        "d.yaml:26: contacts[1].team: unknown team 't-west'",
    ]


BILLION_LAUGHS = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
organisations: *e
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (BILLION_LAUGHS, "d.yaml:2: aliases (*a) are not accepted"),  # 9⁵ strings here; each line more multiplies by 9
        ("organisations: &a [*a]\n", "d.yaml:1: aliases (*a) are not accepted"),  # refers to itself
        ("organisations:\n  - &o {id: x, name: X}\n  - <<: *o\n    id: y\n", "d.yaml:3: aliases (*o) are not accepted"),
        ("organisations: " + "[" * 30 + "]" * 30 + "\n", "d.yaml:1: nested more than 20 levels deep"),
    ],
)
def test_aliases_and_deep_nesting_are_refused_by_line_before_anything_is_built(text: str, expected: str) -> None:
    with pytest.raises(DirectoryError) as caught:
        parse(text, Path("d.yaml"))
    assert caught.value.problems == [expected + ("; write the value out in full" if "aliases" in expected else "")]


def test_an_exported_directory_has_no_aliases_even_where_values_repeat() -> None:
    from bot.directory_file import dump

    sample = load(sample_path()).directory
    text = dump(sample)
    assert "&" not in text.replace("& ", "") and "*id" not in text
    assert parse(text, Path("again.yaml")).directory == sample


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """This module's tests run on SQLite and on PostgreSQL (tests/conftest.py)."""
    return str(request.param)
