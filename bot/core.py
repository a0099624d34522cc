"""What every part of the bot's core shares: the database, the catalogs, the clock, the flow and the
settings, and the few things worth keeping between updates (the directory, read again when its stored
version changed, and the holidays). Per-update state is not here: it lives in a `Work` (bot/context.py)
made for one update and passed down.

The core is split by job, each module taking a `Core`:
    bot/processing.py   the loop: flood control, one transaction per update, failures parked
    bot/gate.py         who gets in: strangers and invites, revoked people, who may press a case's buttons
    bot/loading.py      what a step needs (flows.needs says what), read into `Env`; case views
    bot/effects.py      a registry from effect type to the handler that stores it
    bot/rendering.py    flows' messages rendered for each recipient, channel-neutral, into the outbox
    bot/schedules.py    timers, the Monday push, the nightly retention, unreachable people
    bot/operator.py     what the command line does: revoke, erase, a scope's report
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any, Protocol

from bot.confirmations import Confirmations
from bot.flood import Flood
from bot.i18n import Catalogs
from db import cases as stored_cases
from db import directory as stored_directory
from db.connection import Connection, StorageTrouble
from db.vault import Vault
from flows import summary
from flows.cases import Case, Moved
from flows.directory import Directory
from flows.holidays_nl import dutch_holidays
from flows.model import Env, Input, Transition, User
from flows.state import Conversation


class Flow(Protocol):
    """The conversation (flows.session by default; a test may pass its own)."""

    def step(self, state: Conversation, user: User, event: Input, env: Env) -> Transition: ...

    def case_action(
        self, state: Conversation, user: User, case: Case, action: str, version: int, env: Env
    ) -> Transition: ...

    def on_timer(
        self, case: Case, kind: str, hours: float, now: datetime, member_gone: bool = False
    ) -> Moved: ...


class StorageProblem(StorageTrouble):
    """The database cannot be written now (locked, or the disk is full); try again later
    (the loops do, through `db.connection.keep_trying`)."""


@dataclass(frozen=True)
class Config:
    reminder_hours: float = 16
    summary_threshold: int = summary.THRESHOLD
    push_at: time = time(9, 0)  # Mondays, in the bot's time zone
    retention_days: int = 90  # a closed handover's personal data
    text_retention_days: int = 180  # a question's free text


# Sends a message at once, beside the outbox (channel, address, kind, body): a press's answer.
SendNow = Callable[[str, str, str, dict[str, Any]], object]


@dataclass
class Core:
    conn: Connection
    catalogs: Catalogs
    clock: Callable[[], datetime]
    vault: Vault
    flow: Flow
    channel: str = "telegram"  # the channel whose inbox this core processes
    config: Config = field(default_factory=Config)
    new_code: Callable[[], str] = lambda: ""
    new_case: Callable[[], str] = lambda: ""
    # No limit unless the channel sets one (the Telegram bot does, from the settings).
    flood: Flood = field(default_factory=Flood.unlimited)
    send_now: SendNow | None = None
    confirmations: Confirmations | None = None  # the delivery worker's sent rows, deleted by our transactions
    _directory: Directory = field(default_factory=Directory)
    _directory_version: str | None = None
    _holidays: dict[int, frozenset[Any]] = field(default_factory=dict)

    def holidays(self, year: int) -> frozenset[Any]:
        """Dutch public holidays of this year and the next (reminders may run over New Year)."""
        if year not in self._holidays:
            self._holidays[year] = dutch_holidays(year) | dutch_holidays(year + 1)
        return self._holidays[year]

    async def directory(self) -> Directory:
        """The directory in memory, read again when an import or /away changed it."""
        version = await stored_directory.version(self.conn)
        if version != self._directory_version:
            self._directory = await stored_directory.load(self.conn)
            self._directory_version = version
        return self._directory

    async def open_counts(self) -> dict[str, int]:
        """The open handovers per contact (matching prefers the less busy), read in the update's own transaction.
        Not kept between updates: the timers' connection and every other channel's change cases too, and the
        count is cheap (a search of the covering index `cases_status_contact`; benchmarks/load.py showed no cost)."""
        return await stored_cases.open_counts(self.conn)
