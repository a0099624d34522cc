"""After a question is saved: the best contacts for it, and other services that can help."""

from __future__ import annotations

from flows import cards, matching
from flows.directory import Wijk
from flows.model import Env
from flows.state import Saved
from flows.text import Text, plain, t


def wijk_options(env: Env) -> list[tuple[str, Text]]:
    return [(w.code, plain(w.name)) for w in env.directory.wijken]


def suggestions(saved: Saved, wijk: Wijk, env: Env) -> list[Text | tuple[Text, ...]]:
    """Contact cards with their reasons, then services; what a volunteer needs to hand over warmly."""
    found = matching.rank(env.directory, wijk.code, saved.theme, saved.parent_language, env.today, env.open_handovers)
    parts: list[Text | tuple[Text, ...]] = []
    if found:
        parts.append(
            t(
                "The family lives in {wijk}. These people of the wijkteam fit this question best:",
                wijk=wijk.name,
            )
        )
        parts.extend(cards.match_card(m) for m in found)
    else:
        parts.append(
            t("The family lives in {wijk}, but I know nobody of its wijkteam who is available now.", wijk=wijk.name)
        )
        parts.extend(cards.team_card(team) for team in env.directory.teams_by_wijk.get(wijk.code, ()))
    parts.extend(services(saved, env))
    return parts


def services(saved: Saved, env: Env) -> list[Text | tuple[Text, ...]]:
    found = matching.services_for(env.directory, saved.theme, saved.urgent)
    if not found:
        return []
    return [t("Other places that can help:"), *(cards.service_card(s) for s in found)]
