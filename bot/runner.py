"""The runner: one stored update in, one transaction out.

For each update in the inbox it finds the user (or decides about a stranger: the one place where
access is granted), loads the conversation, calls the pure flow, and then, in **one SQLite
transaction**, applies the effects, stores the new state, renders every message for its
recipient into the outbox and marks the update processed. A crash before the commit leaves the
update in the inbox to be processed again; after it, everything the update caused is stored.
"""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiosqlite

from bot.i18n import Catalogs
from bot.updates import Inbound, parse
from db import alerts, conversations, inbox, invites, outbox, questions, users
from db import directory as stored_directory
from db.connection import transaction
from db.users import Account
from flows import access, session
from flows.directory import Directory
from flows.model import (
    Command,
    Effect,
    Env,
    LogQuestion,
    Message,
    SetAway,
    SetLanguage,
    SetQuestionWijk,
    ToCoordinators,
    ToUser,
    Transition,
)
from flows.text import t

log = logging.getLogger(__name__)

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud over the phone
CODE_ATTEMPTS = 8
MAX_TEXT = 4096  # Telegram's limit for one message


def new_question_code() -> str:
    return "Q-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(4))


class _CodeTaken(Exception):
    pass


@dataclass
class Runner:
    conn: aiosqlite.Connection
    catalogs: Catalogs
    clock: Callable[[], datetime]
    channel: str = "telegram"
    new_code: Callable[[], str] = new_question_code
    _directory: Directory = field(default_factory=Directory)
    _directory_version: str | None = None

    async def directory(self) -> Directory:
        """The directory in memory, read again when an import or /away changed it."""
        version = await stored_directory.version(self.conn)
        if version != self._directory_version:
            self._directory = await stored_directory.load(self.conn)
            self._directory_version = version
        return self._directory

    async def process_pending(self, limit: int = 100) -> int:
        """Process what waits in this channel's inbox, oldest first. Returns how many."""
        done = 0
        while batch := await inbox.pending(self.conn, self.channel, limit):
            for item in batch:
                await self.process(item.update_id, item.payload)
                done += 1
        return done

    async def process(self, update_id: int, payload: str) -> None:
        for _ in range(CODE_ATTEMPTS):
            try:
                async with transaction(self.conn):
                    outcome = await self._handle(payload)
                    await inbox.mark_processed(self.conn, self.channel, update_id, outcome, self.clock())
                return
            except _CodeTaken:
                continue
            except Exception as exc:  # noqa: BLE001 - a bug must not stop every later update: park this one
                # The type and where, never the message: it may hold what the user typed.
                where = "".join(traceback.format_tb(exc.__traceback__)[-4:])
                log.error("update %s failed with %s\n%s", update_id, type(exc).__name__, where)
                await self._fail(update_id, payload)
                return

    async def _fail(self, update_id: int, payload: str) -> None:
        async with transaction(self.conn):
            inbound = _parse(payload)
            if inbound is not None:
                account = await users.by_chat(self.conn, self.channel, inbound.chat_id)
                language = account.language if account else self.catalogs.pick(inbound.language_code)
                sorry = t("Sorry, something went wrong on my side, and your last message was not handled. Please try again.")
                await self._send(inbound.chat_id, self.catalogs.render(sorry, language), ())
                if inbound.pressed is not None:
                    await self._answer_callback(inbound.pressed.callback_id, None, inbound.chat_id)
            await inbox.mark_processed(self.conn, self.channel, update_id, "failed", self.clock())

    async def _handle(self, payload: str) -> str:
        inbound = _parse(payload)
        if inbound is None:
            return "ignored"
        account = await users.by_chat(self.conn, self.channel, inbound.chat_id)
        if account is None:
            return await self._stranger(inbound)
        state = await conversations.load(self.conn, account.id)
        code = self.new_code()
        for _ in range(CODE_ATTEMPTS * 8):
            if not await questions.code_taken(self.conn, code):
                break
            code = self.new_code()
        else:
            raise RuntimeError("no free question code found")  # ~900,000 codes: only if nearly all are used
        now = self.clock()
        env = Env(
            now=now,
            today=now.astimezone(self.catalogs.timezone).date(),
            new_code=code,
            languages=self.catalogs.languages,
            directory=await self.directory(),
        )
        moved = session.step(state, account.as_user(), inbound.event, env)
        await self._apply(moved.effects)
        await conversations.save(self.conn, account.id, moved.state, self.clock())
        await self._answer(inbound, moved, account)
        return "handled"

    async def _stranger(self, inbound: Inbound) -> str:
        """Let someone in with a usable invite; otherwise answer politely and store nothing of them."""
        event = inbound.event
        code = event.args if isinstance(event, Command) and event.name == "start" else ""
        invite = await invites.find_usable(self.conn, code, self.clock()) if code else None
        if invite is None:
            language = self.catalogs.pick(inbound.language_code)
            await self._send(inbound.chat_id, self.catalogs.render(access.refuse_stranger(bool(code)), language), ())
            if inbound.pressed is not None:
                await self._answer_callback(inbound.pressed.callback_id, None, inbound.chat_id)
            return "refused"
        account = await users.create(
            self.conn,
            channel=self.channel,
            chat_id=inbound.chat_id,
            role=invite.role,
            org_id=invite.org_id,
            language=self.catalogs.pick(inbound.language_code),
            display_name=inbound.first_name[:64],
            now=self.clock(),
            contact_id=invite.contact_id,
        )
        await invites.mark_used(self.conn, invite.code_hash, account.id, self.clock())
        await self._deliver(access.welcome(account.as_user(), await self.directory()))
        await self._publish_menu(account)
        if account.role == "coordinator" and account.org_id:
            for held in await alerts.take(self.conn, account.org_id):
                await self._deliver(held)
        return "registered"

    async def _apply(self, effects: tuple[Effect, ...]) -> None:
        for effect in effects:
            if isinstance(effect, SetLanguage):
                await users.set_language(self.conn, effect.user_id, effect.language)
                fresh = await users.get(self.conn, effect.user_id)
                if fresh is not None:
                    await self._publish_menu(fresh)
            elif isinstance(effect, SetQuestionWijk):
                await questions.set_wijk(self.conn, effect.org_id, effect.code, effect.wijk)
            elif isinstance(effect, SetAway):
                await stored_directory.set_away(self.conn, effect.contact_id, effect.until)
            elif isinstance(effect, LogQuestion):
                try:
                    await questions.insert(self.conn, effect)
                except sqlite3.IntegrityError as exc:
                    if "questions.code" in str(exc):
                        raise _CodeTaken from None
                    raise

    async def _answer(self, inbound: Inbound, moved: Transition, account: Account) -> None:
        pressed = inbound.pressed
        if pressed is not None:
            notice = self.catalogs.render(moved.notice, account.language) if moved.notice else None
            await self._answer_callback(pressed.callback_id, notice, account.chat_id)
            # Show the choice under its prompt and drop the buttons, so the chat reads as a record.
            if moved.chosen is not None and pressed.message_id is not None:
                fresh = await users.get(self.conn, account.id) or account
                chosen = self.catalogs.render(moved.chosen, fresh.language)
                await outbox.enqueue(
                    self.conn, self.channel, account.chat_id, "editMessageText",
                    {"chat_id": account.chat_id, "message_id": pressed.message_id, "text": f"{pressed.text}\n\n✓ {chosen}"},
                    self.clock(),
                )
        for message in moved.messages:
            await self._deliver(message)

    async def _deliver(self, message: Message) -> None:
        """Render a message for each of its recipients, in their own language, into the outbox."""
        if isinstance(message.to, ToUser):
            recipients = [a for a in [await users.get(self.conn, message.to.user_id)] if a is not None]
        else:
            assert isinstance(message.to, ToCoordinators)
            recipients = await users.coordinators(self.conn, message.to.org_id)
            if not recipients:
                await alerts.hold(self.conn, message.to.org_id, message, self.clock())
                return
        for account in recipients:
            text = self.catalogs.render_parts(message.parts, account.language)
            keyboard = [
                [{"text": self.catalogs.render(b.label, account.language), "callback_data": b.data} for b in row]
                for row in message.buttons
            ]
            await self._send(account.chat_id, text, keyboard, channel=account.channel)

    async def _send(self, chat_id: str, text: str, keyboard: Any, channel: str | None = None) -> None:
        """One message, or several when the text is longer than a message may be (the buttons go
        with the last one)."""
        pieces = split_text(text)
        for i, piece in enumerate(pieces):
            payload: dict[str, Any] = {"chat_id": chat_id, "text": piece}
            if keyboard and i == len(pieces) - 1:
                payload["reply_markup"] = {"inline_keyboard": keyboard}
            await outbox.enqueue(self.conn, channel or self.channel, chat_id, "sendMessage", payload, self.clock())

    async def _publish_menu(self, account: Account) -> None:
        """The command menu of this person's role, in their language, for their chat only."""
        commands = [
            {"command": name, "description": self.catalogs.render(session.COMMAND_HELP[name], account.language)[:256]}
            for name in session.COMMANDS[account.role]
        ]
        payload = {"commands": commands, "scope": {"type": "chat", "chat_id": account.chat_id}}
        await outbox.enqueue(self.conn, account.channel, account.chat_id, "setMyCommands", payload, self.clock())

    async def _answer_callback(self, callback_id: str, notice: str | None, chat_id: str) -> None:
        payload: dict[str, Any] = {"callback_query_id": callback_id}
        if notice:
            payload["text"] = notice
        # Keyed to the chat so it keeps its place among that chat's other calls.
        await outbox.enqueue(self.conn, self.channel, chat_id, "answerCallbackQuery", payload, self.clock())


def _parse(payload: str) -> Inbound | None:
    try:
        return parse(json.loads(payload))
    except ValueError:
        return None



def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Cut a long text at paragraph (else line, else any) boundaries into pieces within `limit`."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n\n", 0, limit)
        if cut <= 0:
            cut = text.rfind("\n", 0, limit)
        if cut <= 0:
            cut = limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip("\n")
    pieces.append(text)
    return pieces
