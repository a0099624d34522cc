"""The console channel: the demo chat, through the same inbox, runner and outbox as Telegram.

What the person types becomes a channel-neutral input in the inbox (channel `console`); the
runner handles it exactly as it would a Telegram update; the outbox is drained into this
terminal by the console's own sender (bot/outgoing.py's messages as lines of text). Buttons are
shown numbered: typing the number presses the button, as long as the newest message has buttons.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

from bot.delivery import DeliveryWorker, Pacer
from bot.i18n import Catalogs
from bot.runner import Runner, new_question_code
from bot.updates import Inbound, PressedMessage, text_input
from db import inbox
from db import settings as stored
from db.connection import Connection, Patience, keep_trying, transaction
from db.inbox import Incoming
from db.vault import Vault, attach
from flows.model import Choice

CHANNEL = "console"
DEMO_CHAT = "1001"


@dataclass
class Keyboard:
    message_id: int
    text: str
    buttons: list[tuple[str, str]]  # (label, id)


@dataclass
class ConsoleSender:
    """The console's delivery: prints what the bot sends; remembers the newest message's buttons."""

    out: TextIO
    messages: dict[int, str] = field(default_factory=dict)
    keyboard: Keyboard | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def send(self, address: str, kind: str, body: dict[str, Any]) -> None:
        if kind == "say":
            self._say(body)
        elif kind == "chosen":
            self.messages[int(body["ref"])] = body["text"]
        elif kind == "answer" and body.get("notice"):
            self.out.write(f"  bot | ({body['notice']})\n")
        # a menu: the console has none; /help lists the commands

    def _say(self, body: dict[str, Any]) -> None:
        message_id = next(self._ids)
        text = body["text"]
        attached = body.get("file") or body.get("forwarded")
        if attached is not None:
            what = attached.get("name") or attached.get("ref") or "file"
            self.out.write(f"  bot | [{what}] {text}\n")
            return
        if (person := body.get("person")) is not None:
            text = f"{text}\n\n👤 {person['name'].strip() or '…'}"
        self.messages[message_id] = text
        self.out.write("\n".join(f"  bot | {line}" if line else "  bot |" for line in text.split("\n")) + "\n")
        buttons = [(b["label"], b["id"]) for row in body.get("buttons") or [] for b in row]
        for number, (label, _) in enumerate(buttons, 1):
            self.out.write(f"  bot |   [{number}] {label}\n")
        self.keyboard = Keyboard(message_id, text, buttons) if buttons else None


@dataclass
class ConsoleChat:
    conn: Connection
    catalogs: Catalogs
    clock: Callable[[], datetime]
    out: TextIO
    first_name: str = "Demo"
    language_code: str | None = None
    new_code: Callable[[], str] = new_question_code
    chat_id: str = DEMO_CHAT
    vault: Vault = field(default_factory=Vault.generate)
    patience: Patience = field(default_factory=Patience)  # while the database cannot be written

    def __post_init__(self) -> None:
        self.sender = ConsoleSender(self.out)
        vault = attach(self.conn, self.vault)
        self.runner = Runner(self.conn, self.catalogs, self.clock, CHANNEL, new_code=self.new_code, vault=vault)
        # The console has no rate limits: a wide pacer keeps the demo instant.
        self.worker = DeliveryWorker(
            self.conn, self.sender, self.clock, CHANNEL,
            pacer=Pacer(per_second=1e9, burst=1e9, chat_per_second=1e9, chat_burst=1e9), patience=self.patience,
        )

    async def type(self, line: str) -> None:
        """Send one line as the person would: a number presses a button of the newest message."""
        inbound = self._inbound(line.rstrip("\n"))

        async def receive() -> None:
            async with transaction(self.conn):
                update_id = int(await stored.get(self.conn, "console.update_id") or 0) + 1
                await stored.put(self.conn, "console.update_id", str(update_id))
                row = {"inbound": inbound.model_dump(mode="json")}
                incoming = Incoming(update_id=update_id, payload=json.dumps(row, ensure_ascii=False))
                await inbox.receive(self.conn, CHANNEL, [incoming], self.clock())

        async def handle() -> None:
            await self.runner.process_pending()
            await self.runner.fire_timers()

        # The same patience as the Telegram bot's loops: a locked database or a full disk waits.
        await keep_trying("console", receive, self.patience)
        await keep_trying("console", handle, self.patience)
        while await self.worker.drain_once():
            pass

    def _inbound(self, line: str) -> Inbound:
        """What the person did, as the channel-neutral input the core takes."""
        keyboard = self.sender.keyboard
        who = {"chat_id": self.chat_id, "first_name": self.first_name, "language_code": self.language_code}
        pick = line.strip()
        if keyboard and pick.isdigit() and 1 <= int(pick) <= len(keyboard.buttons):
            _, data = keyboard.buttons[int(pick) - 1]
            pressed = PressedMessage(
                callback_id=f"cb{keyboard.message_id}-{pick}", message_id=keyboard.message_id,
                text=self.sender.messages[keyboard.message_id],
            )
            return Inbound(**who, event=Choice(data=data), pressed=pressed)
        return Inbound(**who, event=text_input(line))
