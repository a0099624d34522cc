"""The operator's services of the bot's core, called directly: a scope's weekly report
(bot/loading.py), revoking a person's access and erasing a person (bot/departure.py). These three
functions are the command line's only use of the core."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.cli_shared import OperatorError, utc_now

if TYPE_CHECKING:  # the core and what it needs are loaded only by the commands that use them
    from bot.core import Core
    from bot.i18n import Catalogs
    from db.connection import Connection
    from db.privacy import Erased
    from db.vault import Vault
    from flows import summary
    from flows.directory import Directory


def _core(conn: Connection, catalogs: Catalogs, vault: Vault) -> Core:
    from bot.core import Core
    from flows import session

    return Core(conn, catalogs, utc_now, vault, session)  # type: ignore[arg-type]


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
    from bot import loading

    core = _core(conn, catalogs, vault)
    directory = await core.directory()
    if org and org not in {o.id for o in directory.organisations}:
        raise OperatorError(f"unknown organisation {org!r}")
    if team and directory.team(team) is None:
        raise OperatorError(f"unknown team {team!r}")
    scope = f"org:{org}" if org else f"team:{team}"
    report, rows = await loading.report_for_scope(core, scope, week, with_rows=with_rows)
    return directory, report, rows


async def revoke(conn: Connection, catalogs: Catalogs, vault: Vault, user_id: int) -> bool:
    """End a person's access; False when there is no active user `user_id`."""
    from bot import departure

    return await departure.revoke(_core(conn, catalogs, vault), user_id)


async def erase(conn: Connection, catalogs: Catalogs, vault: Vault, user_id: int) -> Erased | None:
    """Erase a person; a member's open requests are handed on first (flows.case_followup.member_left)."""
    from bot import departure

    return await departure.erase(_core(conn, catalogs, vault), user_id)
