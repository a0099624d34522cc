"""Finding the right wijkteam contact for a question.

Theory of operation: the postcode's PC4 gives the wijk, the wijk its team(s); every contact of
those teams who is not away is a candidate. A candidate scores for handling the question's
theme and, more strongly, for speaking the parent's language (a warm handover works best when
the professional and the parent can talk without an interpreter). Ties go to whoever has the
fewest open handovers, then to the order of the directory. The reasons are kept with the score,
so the volunteer sees *why* a person is suggested.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from flows.directory import Contact, Directory, Service, Team, Wijk

THEME_WEIGHT = 3
LANGUAGE_WEIGHT = 4  # a shared language counts for more than expertise in the theme
TOP = 3

# Languages close enough that a speaker of one serves a speaker of the other.
KIN: dict[str, frozenset[str]] = {
    "fa": frozenset({"fa_AF"}),
    "fa_AF": frozenset({"fa"}),
    "zgh": frozenset({"rif", "tzm", "shi"}),
    "rif": frozenset({"zgh"}),
}


@dataclass(frozen=True)
class Match:
    contact: Contact
    team: Team
    score: int
    language: str | None  # the parent's language the contact speaks, if any
    theme: str | None  # the question's theme, if the contact handles it
    open_handovers: int


def wijk_for(directory: Directory, pc4: str) -> Wijk | None:
    code = directory.wijk_by_pc4.get(pc4)
    return directory.wijk(code) if code else None


def shared_language(contact: Contact, parent_language: str) -> str | None:
    """The language the contact shares with the parent; Dutch does not count (everyone speaks it)."""
    if not parent_language or parent_language == "nl" or parent_language.startswith("other:"):
        return None
    if parent_language in contact.languages:
        return parent_language
    kin = KIN.get(parent_language, frozenset())
    return next((code for code in contact.languages if code in kin), None)


def rank(
    directory: Directory,
    wijk_code: str,
    theme: str,
    parent_language: str,
    today: date,
    open_handovers: Mapping[str, int],
    limit: int = TOP,
) -> list[Match]:
    """The best `limit` contacts of the teams serving `wijk_code` for this question."""
    found = []
    order = 0
    for team in directory.teams_by_wijk.get(wijk_code, ()):
        for contact in directory.contacts_by_team.get(team.id, ()):
            order += 1
            if contact.away_on(today):
                continue
            language = shared_language(contact, parent_language)
            handles = theme in contact.themes
            score = (THEME_WEIGHT if handles else 0) + (LANGUAGE_WEIGHT if language else 0)
            busy = open_handovers.get(contact.id, 0)
            found.append((-score, busy, order, Match(contact, team, score, language, theme if handles else None, busy)))
    found.sort(key=lambda item: item[:3])
    return [item[3] for item in found[:limit]]


def services_for(directory: Directory, theme: str, urgent: bool, limit: int = TOP) -> list[Service]:
    """Other services for this theme; with a child in danger or a safety question, safety first."""
    relevant = [s for s in directory.services if theme in s.themes]
    if urgent or theme == "safety":
        safety = [s for s in directory.services if "safety" in s.themes]
        relevant = safety + [s for s in relevant if s not in safety]
    return relevant[:limit]
