"""The open handovers per contact rank the contacts a volunteer is offered (flows/matching.py: the less busy
first). They are read in each update's own transaction (bot/core.py, `Core.open_counts`), never kept between
updates: the timers fire on a connection of their own (bot/service.py), and each channel's runner has its own,
so a runner that kept the counts would rank by a case another connection has closed since.

Every person, case and text here is invented (the story of tests/web_world.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.i18n import Catalogs
from bot.runner import Runner
from db.connection import connect, transaction
from db.vault import attach
from flows import matching, session
from flows.cases import Case
from flows.model import Env, Input, Transition, User
from flows.state import Conversation
from tests import updates
from tests.conftest import FakeClock
from tests.driver import feed
from tests.web_world import request_waiting

EMRE = "c-overvecht-2"  # the member the waiting request went to


class Watching:
    """The bot's flow, noting the ranking each step of a volunteer would offer for a school question in the
    wijk of Emre's team."""

    def __init__(self) -> None:
        self.rankings: list[list[tuple[str, int]]] = []

    def step(self, state: Conversation, user: User, event: Input, env: Env) -> Transition:
        wijk = next(code for code, teams in env.directory.teams_by_wijk.items()
                    if any(c.id == EMRE for team in teams for c in env.directory.contacts_by_team.get(team.id, ())))
        found = matching.rank(env.directory, wijk, "school", "tr", env.today, env.open_handovers)
        self.rankings.append([(m.contact.id, m.open_handovers) for m in found])
        return session.step(state, user, event, env)

    def case_action(self, state: Conversation, user: User, case: Case, action: str, version: int,
                    env: Env) -> Transition:
        return session.case_action(state, user, case, action, version, env)

    on_timer = staticmethod(session.on_timer)


def help_from(chat: int, number: int) -> dict[str, object]:
    """The volunteer sends /help: an update numbered past those of the story."""
    return {**updates.message(chat, "/help"), "update_id": 100_000 + number}


def busy(ranking: list[tuple[str, int]], contact: str) -> int:
    return dict(ranking)[contact]


async def test_a_case_a_timer_closes_on_its_own_connection_changes_the_next_ranking(
    tmp_path: Path, catalogs: Catalogs
) -> None:
    world = await request_waiting(tmp_path / "counts.sqlite3", catalogs)
    clock = FakeClock(datetime(2026, 12, 3, 12, 0, tzinfo=UTC))  # days later: the request's timers are due
    channel, timers = await connect(world.database), await connect(world.database)
    for conn in (channel, timers):
        attach(conn, world.vault)
    watching = Watching()
    runner = Runner(channel, catalogs, clock, "telegram", flow=watching, vault=world.vault)
    timer_runner = Runner(timers, catalogs, clock, "telegram", vault=world.vault)  # as bot/service.py has it
    try:
        await feed(runner, help_from(world.volunteer_chat, 1))
        before = watching.rankings[-1]
        assert busy(before, EMRE) == 1  # the request waits for Emre

        # Emre left in an older database, before his cases were handed on: his request's timer hands it on
        # now (flows.case_followup.member_left), on the timers' connection.
        async with transaction(timers):
            await timers.execute("UPDATE users SET revoked_at = ? WHERE id = ?",
                                 ((clock() - timedelta(days=1)).isoformat(), world.member))
        assert await timer_runner.fire_timers() >= 1
        async with timers.execute("SELECT status FROM cases") as cur:
            assert [row[0] for row in await cur.fetchall()] == ["member_left"]

        await feed(runner, help_from(world.volunteer_chat, 2))
        after = watching.rankings[-1]
        assert busy(after, EMRE) == 0 and after != before  # the channel's next update sees it
    finally:
        await channel.close()
        await timers.close()
