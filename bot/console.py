"""The console channel: the demo chat, through the same inbox, runner and outbox as Telegram.

What the person types becomes a Telegram-shaped update in the inbox (channel `console`); the
runner handles it exactly as it would a Telegram update; the outbox is drained into this
terminal. Buttons are shown numbered: typing the number presses the button, as long as the
newest message has buttons.
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
from db import inbox
from db import settings as stored
from db.connection import Connection, Patience, keep_trying, transaction
from db.inbox import Incoming
from db.vault import Vault, attach

CHANNEL = "console"
DEMO_CHAT = "1001"


@dataclass
class Keyboard:
    message_id: int
    text: str
    buttons: list[tuple[str, str]]  # (label, callback data)


@dataclass
class ConsoleSender:
    """Prints what the bot sends; remembers the newest message's buttons."""

    out: TextIO
    messages: dict[int, str] = field(default_factory=dict)
    keyboard: Keyboard | None = None
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    async def call(self, method: str, payload: dict[str, Any]) -> Any:
        if method == "sendMessage":
            message_id = next(self._ids)
            text = payload["text"]
            self.messages[message_id] = text
            self.out.write("\n".join(f"  bot | {line}" if line else "  bot |" for line in text.split("\n")) + "\n")
            rows = (payload.get("reply_markup") or {}).get("inline_keyboard") or []
            buttons = [(b["text"], b["callback_data"]) for row in rows for b in row]
            for number, (label, _) in enumerate(buttons, 1):
                self.out.write(f"  bot |   [{number}] {label}\n")
            self.keyboard = Keyboard(message_id, text, buttons) if buttons else None
            return {"message_id": message_id}
        if method == "editMessageText":
            self.messages[int(payload["message_id"])] = payload["text"]
            return True
        if method in ("sendPhoto", "sendDocument"):
            upload = payload.get("_upload") or {}
            what = upload.get("filename") or payload.get("photo") or payload.get("document") or "file"
            self.out.write(f"  bot | [{what}] {payload.get('caption', '')}\n")
            return {"message_id": next(self._ids)}
        if method == "answerCallbackQuery":
            if payload.get("text"):
                self.out.write(f"  bot | ({payload['text']})\n")
            return True
        return True


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
        self.runner = Runner(self.conn, self.catalogs, self.clock, CHANNEL, new_code=self.new_code, vault=attach(self.conn, self.vault))
        # The console has no rate limits: a wide pacer keeps the demo instant.
        self.worker = DeliveryWorker(
            self.conn, self.sender, self.clock, CHANNEL,
            pacer=Pacer(per_second=1e9, burst=1e9, chat_per_second=1e9, chat_burst=1e9), patience=self.patience,
        )

    async def type(self, line: str) -> None:
        """Send one line as the person would: a number presses a button of the newest message."""
        update = self._update(line.rstrip("\n"))

        async def receive() -> None:
            async with transaction(self.conn):
                update_id = int(await stored.get(self.conn, "console.update_id") or 0) + 1
                await stored.put(self.conn, "console.update_id", str(update_id))
                update["update_id"] = update_id
                incoming = Incoming(update_id=update_id, payload=json.dumps(update, ensure_ascii=False))
                await inbox.receive(self.conn, CHANNEL, [incoming], self.clock())

        async def handle() -> None:
            await self.runner.process_pending()
            await self.runner.fire_timers()

        # The same patience as the Telegram bot's loops: a locked database or a full disk waits.
        await keep_trying("console", receive, self.patience)
        await keep_trying("console", handle, self.patience)
        while await self.worker.drain_once():
            pass

    def _update(self, line: str) -> dict[str, Any]:
        person = {"id": int(self.chat_id), "is_bot": False, "first_name": self.first_name}
        if self.language_code:
            person["language_code"] = self.language_code
        chat = {"id": int(self.chat_id), "type": "private"}
        keyboard = self.sender.keyboard
        if keyboard and line.strip().isdigit() and 1 <= int(line.strip()) <= len(keyboard.buttons):
            _, data = keyboard.buttons[int(line.strip()) - 1]
            message = {"message_id": keyboard.message_id, "chat": chat, "date": 0, "text": self.sender.messages[keyboard.message_id]}
            return {"callback_query": {"id": f"cb{keyboard.message_id}-{line.strip()}", "from": person, "message": message, "data": data, "chat_instance": "demo"}}
        return {"message": {"message_id": 0, "from": person, "chat": chat, "date": 0, "text": line}}
