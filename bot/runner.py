"""The core assembled for one channel's inbox: a `Core` (bot/core.py) and the jobs that take it.

`Runner` only wires: processing the inbox is bot/processing.py, the gate bot/gate.py, loading
bot/loading.py, storing effects bot/effects.py, rendering bot/rendering.py, time bot/schedules.py,
and what an operator does bot/departure.py. The flow is a constructor argument (flows.session by
default), like the clock and the code generators, so a test replaces any of them without patching.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, time
from typing import Any

from bot import departure, loading, processing, schedules
from bot.confirmations import Confirmations
from bot.context import Work
from bot.core import Config, Core, Flow, SendNow, StorageProblem
from bot.flood import Flood
from bot.i18n import Catalogs
from bot.updates import Inbound
from db import privacy
from db.connection import Connection
from db.users import Account
from db.vault import Vault, attach
from db.vault import of as vault_of
from flows import cases, session, summary
from flows.directory import Directory

__all__ = ["Runner", "StorageProblem", "Flood", "new_question_code", "new_case_id"]

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud over the phone


def new_question_code() -> str:
    return "Q-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(4))


def new_case_id() -> str:
    return "H-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))


class Runner:
    def __init__(
        self,
        conn: Connection,
        catalogs: Catalogs,
        clock: Callable[[], datetime],
        channel: str = "telegram",
        *,
        flow: Flow = session,
        new_code: Callable[[], str] = new_question_code,
        new_case: Callable[[], str] = new_case_id,
        vault: Vault | None = None,
        reminder_hours: float = 16,
        summary_threshold: int = summary.THRESHOLD,
        push_at: time = time(9, 0),
        retention_days: int = 90,
        text_retention_days: int = 180,
        flood: Flood | None = None,
        send_now: SendNow | None = None,
        confirmations: Confirmations | None = None,
    ) -> None:
        vault = vault or vault_of(conn)
        attach(conn, vault)
        config = Config(reminder_hours, summary_threshold, push_at, retention_days, text_retention_days)
        self.core = Core(
            conn,
            catalogs,
            clock,
            vault,
            flow,
            channel,
            config,
            new_code=new_code,
            new_case=new_case,
            flood=flood if flood is not None else Flood.unlimited(),
            send_now=send_now,
            confirmations=confirmations,
        )

    # What the core is made of, for those that need a part of it.
    @property
    def conn(self) -> Connection:
        return self.core.conn

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.core.clock

    @property
    def vault(self) -> Vault:
        return self.core.vault

    @property
    def flood(self) -> Flood:
        return self.core.flood

    @flood.setter
    def flood(self, flood: Flood) -> None:  # a new limit, from the next update on
        self.core.flood = flood

    async def directory(self) -> Directory:
        return await self.core.directory()

    # Processing.
    async def process_pending(self, limit: int = 25, committed: Callable[[int], object] | None = None) -> int:
        return await processing.process_pending(self.core, limit, committed)

    async def process(self, update_id: int, inbound: Inbound | None) -> None:
        await processing.process(self.core, update_id, inbound)

    # Time.
    async def fire_timers(self) -> int:
        return await schedules.fire_timers(self.core)

    async def push_summaries(self) -> int:
        return await schedules.push_summaries(self.core)

    async def next_due(self) -> datetime | None:
        return await schedules.next_due(self.core)

    async def retention(self) -> int:
        return await schedules.retention(self.core)

    # Operator services.
    async def revoke(self, user_id: int) -> bool:
        """Revoke an account: their open cases go back to their team's coordinator and nothing more
        is delivered to them (see bot/departure.py)."""
        return await departure.revoke(self.core, user_id)

    async def erase(self, user_id: int) -> privacy.Erased | None:
        return await departure.erase(self.core, user_id)

    async def case(self, case_id: str) -> cases.Case | None:
        return await loading.case_view(self.core, Work(self.core), case_id)

    async def report(
        self, account: Account, week: summary.Week, with_rows: bool = False
    ) -> tuple[summary.Report, list[dict[str, Any]]]:
        return await loading.report_for_scope(self.core, loading.scope_of(account), week, with_rows)

    async def report_for_scope(
        self, scope: str, week: summary.Week, with_rows: bool = False
    ) -> tuple[summary.Report, list[dict[str, Any]]]:
        return await loading.report_for_scope(self.core, scope, week, with_rows)
