"""The state of one unit of work (one update, one timer, one operator command): made for it,
passed down explicitly, dropped after its transaction. Nothing of it outlives the work."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.core import Core
from db import users
from db.connection import Connection
from db.users import Account


@dataclass
class Work:
    core: Core
    # The accounts this work read (an update often addresses its own sender twice).
    accounts: dict[int, Account] = field(default_factory=dict)
    # Presses to answer once the transaction is committed (channel, address, body): see
    # bot/rendering.py `answer_press`.
    answers: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    # Where the person who sent this update wrote from (channel, address): what is said to them
    # goes there; anyone else is reached at their preferred address.
    here: dict[int, tuple[str, str]] = field(default_factory=dict)

    def address_of(self, account: Account) -> tuple[str, str]:
        return self.here.get(account.id) or (account.channel, account.chat_id)

    @property
    def conn(self) -> Connection:
        return self.core.conn

    async def account(self, user_id: int) -> Account | None:
        account = self.accounts.get(user_id)
        if account is None and (account := await users.get(self.core.conn, user_id)) is not None:
            self.accounts[user_id] = account
        return account

    def remember(self, account: Account) -> None:
        self.accounts[account.id] = account

    def forget(self, user_id: int) -> None:
        """The account changed in this transaction: read it again when it is next needed."""
        self.accounts.pop(user_id, None)

    def flush_answers(self) -> None:
        """After the commit: the presses' answers go out at once (see `answer_press`)."""
        send_now = self.core.send_now
        answers, self.answers = self.answers, []
        if send_now is not None:
            for channel, address, body in answers:
                send_now(channel, address, "answer", body)
