"""The city's directory as the flows see it: wijken, wijkteams, their people, other services.

Entries are validated pydantic models; `Directory` holds them with the indexes matching needs
(postcode -> wijk -> teams -> contacts), built once per version of the directory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from pydantic import BaseModel, ConfigDict

from flows.terms import Theme

THEME_CODES: tuple[str, ...] = tuple(str(theme) for theme in Theme)  # the themes are listed once, in flows/terms.py


class Organisation(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    name: str


class Wijk(BaseModel):
    model_config = ConfigDict(frozen=True)
    code: str
    name: str
    postcodes: tuple[str, ...]  # PC4s, each four digits


class Team(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    name: str
    wijken: tuple[str, ...]
    address: str = ""
    phone: str = ""
    email: str = ""
    hours: str = ""


class Contact(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    name: str
    team: str
    role: str = ""  # their job, as the team writes it
    themes: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    phone: str = ""
    email: str = ""
    away_until: date | None = None

    def away_on(self, day: date) -> bool:
        return self.away_until is not None and day <= self.away_until


class Service(BaseModel):
    """Another place a volunteer may need: Veilig Thuis, the consultatiebureau, debt help…"""

    model_config = ConfigDict(frozen=True)
    id: str
    name: str
    themes: tuple[str, ...] = ()
    phone: str = ""
    url: str = ""
    hours: str = ""
    description: str = ""  # as the operator writes it (usually Dutch)


@dataclass(frozen=True)
class Directory:
    organisations: tuple[Organisation, ...] = ()
    wijken: tuple[Wijk, ...] = ()
    teams: tuple[Team, ...] = ()
    contacts: tuple[Contact, ...] = ()
    services: tuple[Service, ...] = ()
    wijk_by_pc4: dict[str, str] = field(default_factory=dict, compare=False)
    teams_by_wijk: dict[str, tuple[Team, ...]] = field(default_factory=dict, compare=False)
    contacts_by_team: dict[str, tuple[Contact, ...]] = field(default_factory=dict, compare=False)
    _by_id: dict[str, Wijk | Team | Contact] = field(default_factory=dict, compare=False)

    @classmethod
    def of(
        cls,
        organisations: Iterable[Organisation] = (),
        wijken: Iterable[Wijk] = (),
        teams: Iterable[Team] = (),
        contacts: Iterable[Contact] = (),
        services: Iterable[Service] = (),
    ) -> Directory:
        wijken, teams, contacts = tuple(wijken), tuple(teams), tuple(contacts)
        by_pc4 = {pc4: w.code for w in wijken for pc4 in w.postcodes}
        by_wijk: dict[str, list[Team]] = {}
        for team in teams:
            for code in team.wijken:
                by_wijk.setdefault(code, []).append(team)
        by_team: dict[str, list[Contact]] = {}
        for contact in contacts:
            by_team.setdefault(contact.team, []).append(contact)
        return cls(
            organisations=tuple(organisations),
            wijken=wijken,
            teams=teams,
            contacts=contacts,
            services=tuple(services),
            wijk_by_pc4=by_pc4,
            teams_by_wijk={k: tuple(v) for k, v in by_wijk.items()},
            contacts_by_team={k: tuple(v) for k, v in by_team.items()},
            _by_id={
                **{f"wijk:{w.code}": w for w in wijken},
                **{f"team:{t.id}": t for t in teams},
                **{f"contact:{c.id}": c for c in contacts},
            },
        )

    def organisation_name(self, org_id: str | None, unknown: str = "") -> str:
        return next((o.name for o in self.organisations if o.id == org_id), unknown)

    def wijk(self, code: str) -> Wijk | None:
        found = self._by_id.get(f"wijk:{code}")
        return found if isinstance(found, Wijk) else None

    def contact(self, contact_id: str) -> Contact | None:
        found = self._by_id.get(f"contact:{contact_id}")
        return found if isinstance(found, Contact) else None

    def team(self, team_id: str) -> Team | None:
        found = self._by_id.get(f"team:{team_id}")
        return found if isinstance(found, Team) else None


class DirectoryError(Exception):
    """A directory file cannot be used; `problems` are lines like `file:12: contacts[2].team: …`.

    Raised by bot.directory_file; defined here, in a light module, so that bot.cli can catch it
    without loading the directory file reader (and the Babel data it needs) for `wijkbrug run`.
    """

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
