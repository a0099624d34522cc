"""The operator's services that go through the bot's `Runner`: a scope's weekly report, revoking a
person's access, erasing a person. These three functions are the command line's only use of the
runner, so that the runner's façade is all the command line depends on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.cli_shared import OperatorError, utc_now

if TYPE_CHECKING:  # the runner and what it needs are loaded only by the commands that use them
    from bot.i18n import Catalogs
    from db.connection import Connection
    from db.privacy import Erased
    from db.vault import Vault
    from flows import summary
    from flows.directory import Directory


async def scope_report(
    conn: Connection,
    catalogs: Catalogs,
    vault: Vault,
    org: str | None,
    team: str | None,
    week: summary.Week,
    with_rows: bool,
) -> tuple[Directory, summary.Report, list[dict]]:
    """The directory and one week's report of an organisation or a team (and its rows, for CSV)."""
    from bot.runner import Runner

    runner = Runner(conn, catalogs, utc_now, vault=vault)
    directory = await runner.directory()
    if org and org not in {o.id for o in directory.organisations}:
        raise OperatorError(f"unknown organisation {org!r}")
    if team and directory.team(team) is None:
        raise OperatorError(f"unknown team {team!r}")
    scope = f"org:{org}" if org else f"team:{team}"
    report, rows = await runner.report_for_scope(scope, week, with_rows=with_rows)
    return directory, report, rows


async def revoke(conn: Connection, catalogs: Catalogs, vault: Vault, user_id: int) -> bool:
    """End a person's access; False when there is no active user `user_id`."""
    from bot.runner import Runner

    return await Runner(conn, catalogs, utc_now, vault=vault).revoke(user_id)


async def erase(conn: Connection, catalogs: Catalogs, vault: Vault, user_id: int) -> Erased | None:
    """Erase a person; a member's open requests are handed on first (flows.cases.member_left)."""
    from bot import departure
    from bot.runner import Runner

    return await departure.erase(Runner(conn, catalogs, utc_now, vault=vault), user_id)
