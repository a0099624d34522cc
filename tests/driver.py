"""The one test driver for the whole bot (runner, SQLite, outbox): feed a channel's update, see what
was sent, press a button by its label.

What was sent is read from the outbox and shown as the Telegram channel sends it (bot/telegram_send.py
turns each stored, channel-neutral message into its Bot API call), so a test sees what a person on
Telegram would get: `Sent(chat_id, method, payload)`. Reading it clears it, as delivery would.
Used by the runner, trust, flood and story tests (tests/story.py builds its people on it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, NamedTuple

from bot.runner import Runner
from bot.telegram_send import calls
from db import inbox, outbox
from db.connection import Connection, transaction
from db.inbox import Incoming


class Sent(NamedTuple):
    chat_id: str
    method: str
    payload: dict[str, Any]

    @property
    def text(self) -> str:
        return str(self.payload.get("text") or self.payload.get("caption") or "")


async def store(runner: Runner, updates: Iterable[dict[str, Any]], channel: str = "telegram") -> None:
    """Updates into the inbox, as a channel's receiver stores them (not yet processed)."""
    incoming = [Incoming(update_id=u["update_id"], payload=json.dumps(u, ensure_ascii=False)) for u in updates]
    async with transaction(runner.conn):
        await inbox.receive(runner.conn, channel, incoming, runner.clock())


async def feed(runner: Runner, update: dict[str, Any], channel: str = "telegram") -> None:
    """One update stored and processed, as the bot does."""
    await store(runner, [update], channel)
    await runner.process_pending()


async def waiting(conn: Connection, channel: str = "telegram") -> list[Sent]:
    """What waits in the outbox, as the channel's calls; left there."""
    return [
        Sent(item.address, *calls(item.address, item.kind, item.body)) for item in await outbox.waiting(conn, channel)
    ]


async def sent(runner: Runner | Connection, channel: str = "telegram") -> list[Sent]:
    """Everything waiting in the outbox, as the channel's calls; cleared, as delivery would."""
    conn = runner.conn if isinstance(runner, Runner) else runner
    items = await outbox.waiting(conn, channel)
    for item in items:
        await outbox.done(conn, item.id)
    return [Sent(item.address, *calls(item.address, item.kind, item.body)) for item in items]


async def said(runner: Runner | Connection, chat: str | None = None) -> list[str]:
    """The texts of the messages sent (to `chat`, or to anyone); cleared."""
    return [
        s.payload.get("text", "") for s in await sent(runner) if s.method == "sendMessage" and chat in (None, s.chat_id)
    ]


def button(sent_calls: Iterable[Sent], label: str) -> str:
    """The callback data of the newest button with this label among `sent_calls`."""
    for call in reversed(list(sent_calls)):
        for row in (call.payload.get("reply_markup") or {}).get("inline_keyboard", []):
            for key in row:
                if key["text"] == label:
                    return str(key["callback_data"])
    raise AssertionError(f"no button {label!r} was sent")
