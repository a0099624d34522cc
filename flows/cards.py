"""Contact, team and service cards: how a person or place is shown to a volunteer.

Names, job titles, addresses and opening hours are directory data, shown as the operator wrote
them; the reasons and labels around them are translated.
"""

from __future__ import annotations

from datetime import date

from flows.directory import Contact, Service, Team
from flows.intake import THEMES
from flows.matching import Match
from flows.text import Day, Text, lang, layout, listing, ltr, plain, t, tp

# TRANSLATORS: why a person is suggested for a question, shown under their name.
THEME_REASONS: dict[str, Text] = {
    "upbringing": tp("reason", "handles questions about upbringing"),
    "school": tp("reason", "handles questions about school"),
    "health": tp("reason", "handles questions about health and development"),
    "money": tp("reason", "handles questions about money and debts"),
    "housing": tp("reason", "handles questions about housing"),
    "language": tp("reason", "handles questions about language and integration"),
    "safety": tp("reason", "handles questions about safety at home"),
    "other": tp("reason", "handles all kinds of questions"),
}


def joined(parts: list[Text], separator: str = " · ") -> Text:
    names = {f"p{i}": part for i, part in enumerate(parts)}
    return layout(separator.join("{" + name + "}" for name in names), **names)


def _who(contact: Contact) -> Text:
    if contact.role:
        return layout("👤 {name} – {role}", name=contact.name, role=contact.role)
    return layout("👤 {name}", name=contact.name)


def _reach(*pieces: Text | None) -> Text | None:
    present = [p for p in pieces if p is not None]
    return layout("   {reach}", reach=joined(present)) if present else None


def _phone(number: str) -> Text | None:
    return layout("☎ {phone}", phone=ltr(number)) if number else None


def _email(address: str) -> Text | None:
    return layout("✉ {email}", email=ltr(address)) if address else None


def match_card(match: Match) -> tuple[Text, ...]:
    """A suggested contact, with the reasons they fit the question."""
    lines = [_who(match.contact), layout("   {team}", team=match.team.name)]
    reasons = []
    if match.language:
        reasons.append(t("speaks {language}", language=lang(match.language)))
    if match.theme:
        reasons.append(THEME_REASONS[match.theme])
    if reasons:
        lines.append(layout("   ✓ {reasons}", reasons=joined(reasons)))
    reach = _reach(_phone(match.contact.phone), _email(match.contact.email))
    return tuple(lines + ([reach] if reach else []))


def person_card(contact: Contact, today: date) -> tuple[Text, ...]:
    """A colleague in the /contacts list: what they handle, which languages they speak."""
    lines = [_who(contact)]
    if contact.themes:
        lines.append(layout("   {themes}", themes=joined([THEMES[th] for th in contact.themes])))
    if contact.languages:
        names = listing([plain(lang(code)) for code in contact.languages])
        lines.append(layout("   🗣 {languages}", languages=names))
    if contact.away_on(today) and contact.away_until is not None:
        lines.append(layout("   ⏸ {away}", away=t("away until {day}", day=Day(on=contact.away_until))))
    reach = _reach(_phone(contact.phone), _email(contact.email))
    return tuple(lines + ([reach] if reach else []))


def team_card(team: Team) -> tuple[Text, ...]:
    lines = [layout("🏠 {name}", name=team.name)]
    if team.address:
        lines.append(layout("   {address}", address=team.address))
    reach = _reach(_phone(team.phone), _email(team.email))
    if reach:
        lines.append(reach)
    if team.hours:
        lines.append(layout("   🕘 {hours}", hours=team.hours))
    return tuple(lines)


def service_card(service: Service) -> tuple[Text, ...]:
    lines = [layout("ℹ️ {name}", name=service.name)]
    if service.description:
        lines.append(layout("   {description}", description=service.description))
    url = layout("{url}", url=ltr(service.url)) if service.url else None
    hours = layout("🕘 {hours}", hours=service.hours) if service.hours else None
    reach = _reach(_phone(service.phone), url, hours)
    return tuple(lines + ([reach] if reach else []))
