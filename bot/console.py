"""The console channel: the demo's people, through the same inbox, runner, timers and outbox as Telegram.

What a person does becomes a channel-neutral input in the inbox (channel `console`, one address per
person); the runner handles it exactly as it would a Telegram update; the outbox is drained into
this terminal by the console's own sender (bot/outgoing.py's messages as lines of text), each
message labelled with its recipient, in the recipient's language, the way the stories read:

    → Emre: 🤝 Verzoek om een warme overdracht H-100001     a message (further lines indented)
        [1] Aannemen  [2] Afwijzen                          its buttons, numbered
    ✓ Emre: Aannemen                                        a pressed prompt now shows the choice
    ! Emre: …                                               the short notice a press is answered with
    📎 Petra: photo “…”                                     a file; one the bot made is saved, its path shown

The demo's e-mail people (✉) and WhatsApp people (📱) are reached through those channels' real senders
(bot/console_mail.py, bot/console_whatsapp.py); what a WhatsApp person does goes in as Meta's webhook.

Each person keeps their own messages and buttons. Time is the demo's own clock (`DemoClock`), the
one the runner, its timers and the delivery worker read: moving it on (`advance`) fires what falls
due in its turn, as a running bot would.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from bot import console_whatsapp, mention
from bot.console_mail import ConsoleMail
from bot.console_whatsapp import ConsoleWhatsApp
from bot.delivery import DeliveryWorker, Pacer
from bot.email_people import CHANNEL as EMAIL
from bot.email_people import Joined, register_email_person
from bot.email_send import EmailSender
from bot.i18n import Catalogs
from bot.runner import Runner, new_case_id, new_question_code
from bot.updates import Inbound, PressedMessage, text_input
from bot.whatsapp_send import WhatsAppSender
from db import inbox, invites, users, whatsapp
from db import settings as stored
from db.connection import Connection, Patience, connect, keep_trying, transaction
from db.inbox import Incoming
from db.vault import Vault, attach
from flows.model import Attachment, Choice, Input, Role

CHANNEL = "console"
WHATSAPP = whatsapp.CHANNEL


def wide() -> Pacer:
    """The console has no rate limits: a wide pacer keeps the demo instant."""
    return Pacer(per_second=1e9, burst=1e9, chat_per_second=1e9, chat_burst=1e9)


FIRST_ADDRESS = 1001
# What `(photo)` and `(document)` send: an invented file, as a channel hands one over.
MEDIA = {
    "photo": Attachment(media="photo", file_id="invented-photo-id", size=80_000),
    "document": Attachment(
        media="document", file_id="invented-doc-id", file_name="letter.pdf", mime_type="application/pdf", size=80_000
    ),
}


@dataclass
class DemoClock:
    """The demo's time: it stands still until moved on."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now.astimezone(UTC)


@dataclass
class ConsolePerson:
    name: str
    address: str
    role: Role
    language: str
    channel: str = CHANNEL  # or "email" (the address: their e-mail address) or "whatsapp" (a business-scoped id)
    messages: dict[int, str] = field(default_factory=dict)  # message id -> its text now
    buttons: dict[int, list[list[tuple[str, str]]]] = field(default_factory=dict)  # message id -> rows (label, id)

    def newest_buttons(self) -> tuple[int, list[tuple[str, str]]] | None:
        """The newest message that still has buttons, and its buttons in the order they are numbered."""
        if not self.buttons:
            return None
        newest = max(self.buttons)
        return newest, [button for row in self.buttons[newest] for button in row]

    def button(self, which: str) -> tuple[int, str, str] | None:
        """A button (message id, label, id) by its label (the newest message that has it), or by
        its number on the newest message with buttons."""
        for message_id in sorted(self.buttons, reverse=True):
            for label, data in itertools.chain(*self.buttons[message_id]):
                if label == which:
                    return message_id, label, data
        newest = self.newest_buttons()
        if newest is not None and which.isdigit() and 1 <= int(which) <= len(newest[1]):
            label, data = newest[1][int(which) - 1]
            return newest[0], label, data
        return None


@dataclass
class ConsoleSender:
    """The console's delivery: prints what the bot sends to each person; a file the bot made is saved."""

    out: TextIO
    people: dict[str, ConsolePerson]  # by address
    folder: Callable[[], Path]  # where files are saved (made when the first one is)
    quiet: bool = False  # while the demo's people register: remembered, not printed
    heading: str | None = None  # printed before the next line (the time, after the clock moved)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def send(self, address: str, kind: str, body: dict[str, Any]) -> None:
        person = self.people.get(address) or ConsolePerson(f"({address})", address, Role.VOLUNTEER, "")
        if kind == "say":
            self._say(person, body)
        elif kind == "chosen":
            ref = int(body["ref"])
            person.messages[ref] = body["text"]
            person.buttons.pop(ref, None)
            self._write(f"✓ {person.name}: {body['text'].rsplit('✓ ', 1)[-1]}")
        elif kind == "answer" and body.get("notice"):
            self._write(f"! {person.name}: {body['notice']}")
        # a menu: the console has none; /help lists the commands

    def _say(self, person: ConsolePerson, body: dict[str, Any]) -> None:
        text = body["text"]
        if (made := body.get("file")) is not None:
            self._write(f"📎 {person.name}: {made['kind']} “{text}”")
            self._write(f"    saved: {self._save(person, made)}")
            return
        if (forwarded := body.get("forwarded")) is not None:
            self._write(f"📎 {person.name}: {forwarded['media']} “{text}”")
            return
        reach = body.get("person")
        if reach is not None:
            text, _ = mention.add(text, reach["name"], reach["address"], CHANNEL)
        message_id = next(self._ids)
        person.messages[message_id] = text
        first, *rest = text.split("\n")
        self._write(f"→ {person.name}: {first}", *(f"  {line}".rstrip() for line in rest))
        if reach is not None and (other := self.people.get(reach["address"])) is not None:
            self._write(f"    ⇢ {other.name}: /as {other.name.lower()}")
        rows = [[(b["label"], b["id"]) for b in row] for row in body.get("buttons") or []]
        if rows:
            person.buttons[message_id] = rows
            self._write(*buttons_lines(rows))

    def _save(self, person: ConsolePerson, made: dict[str, Any]) -> Path:
        folder = self.folder()
        stem, dot, suffix = made["name"].rpartition(".")
        path = folder / f"{person.name.lower()}-{made['name']}"
        for n in itertools.count(2):
            if not path.exists():
                break
            path = folder / f"{person.name.lower()}-{stem}-{n}{dot}{suffix}"
        path.write_bytes(base64.b64decode(made["data"]))
        return path

    def _write(self, *lines: str) -> None:
        if self.quiet:
            return
        if self.heading is not None:
            self.out.write(f"{self.heading}\n")
            self.heading = None
        self.out.write("".join(f"{line}\n" for line in lines))


def buttons_lines(rows: list[list[tuple[str, str]]]) -> list[str]:
    """Buttons as the keyboard lays them out, numbered across: `    [1] Aannemen  [2] Afwijzen`."""
    numbers = itertools.count(1)
    return ["    " + "  ".join(f"[{next(numbers)}] {label}" for label, _ in row) for row in rows]


@dataclass
class Console:
    """The bot with the console as its channel: a runner and a delivery worker on one database."""

    database: Path
    catalogs: Catalogs
    clock: DemoClock
    sender: ConsoleSender
    vault: Vault = field(default_factory=Vault.generate)
    new_code: Callable[[], str] = new_question_code  # the bot's random codes; fixed ones in tests
    new_case: Callable[[], str] = new_case_id
    settings: dict[str, float] = field(default_factory=dict)  # the operator's: reminder_hours, retention_days, …
    patience: Patience = field(default_factory=Patience)  # while the database cannot be written
    mail: ConsoleMail | None = None  # the e-mail people's mail, printed (bot/console_mail.py)
    conn: Connection | None = None
    mail_conn: Connection | None = None  # the e-mail sender's own (its transactions meet no worker's)
    whatsapp: ConsoleWhatsApp | None = None  # the WhatsApp people's phones, printed (bot/console_whatsapp.py)
    wa_conn: Connection | None = None  # the WhatsApp sender's and its worker's, as `wijkbrug run` gives them one

    async def open(self) -> None:
        self.conn = await connect(self.database)
        attach(self.conn, self.vault)
        self.runner = Runner(
            self.conn, self.catalogs, self.clock, CHANNEL,
            vault=self.vault, new_code=self.new_code, new_case=self.new_case, **self.settings,  # type: ignore[arg-type]
        )
        self.worker = DeliveryWorker(
            self.conn, self.sender, self.clock, CHANNEL, pacer=wide(), patience=self.patience,
        )
        self.workers = [self.worker]
        if self.mail is not None:  # e-mail people: the real e-mail sender, its mail printed here
            self.mail_conn = await connect(self.database)
            attach(self.mail_conn, self.vault)
            mailer = EmailSender(self.mail_conn, self.catalogs, self.clock, self.mail)
            self.workers.append(
                DeliveryWorker(self.conn, mailer, self.clock, EMAIL, patience=self.patience, pacer=wide())
            )
        self.wa_runner: Runner | None = None
        if self.whatsapp is not None:  # WhatsApp people: their inbox, its runner, the real sender and its window
            self.wa_conn = await connect(self.database)
            attach(self.wa_conn, self.vault)
            self.wa_runner = Runner(
                self.conn, self.catalogs, self.clock, WHATSAPP, vault=self.vault, new_code=self.new_code,
                new_case=self.new_case, **self.settings,  # type: ignore[arg-type]
            )
            self.wa_sender = WhatsAppSender(
                self.wa_conn, self.catalogs, self.clock, token="demo", number_id="demo", api_url="http://127.0.0.1",
                post=self.whatsapp.post,
            )
            self.workers.append(
                DeliveryWorker(self.wa_conn, self.wa_sender, self.clock, WHATSAPP, patience=self.patience,
                               pacer=wide())
            )
        self.lock = asyncio.Lock()  # the keyboard and the web page's pulse take turns (bot/cli_demo.py)
        await self._handle()  # what fell due meanwhile; the first time, the Monday push is scheduled

    async def close(self) -> None:
        if self.wa_conn is not None:
            await self.wa_sender.close()
        for conn in (self.conn, self.mail_conn, self.wa_conn):
            if conn is not None:
                await conn.close()
        self.conn = self.mail_conn = self.wa_conn = None

    async def restart(self) -> None:
        """The bot stops and starts again on the same database, as after a crash."""
        await self.close()
        await self.open()

    async def join(self, person: ConsolePerson, **bound: str | None) -> None:
        """Register `person` the bot's way: an invite of their role, and `/start CODE` from them."""
        assert self.conn is not None
        async with transaction(self.conn):
            made = await invites.create(
                self.conn, role=person.role, now=self.clock(), valid_for=timedelta(days=1), **bound
            )
        self.sender.people[person.address] = person
        self.sender.quiet = True
        try:
            await self.type(person, f"/start {made.code}")
        finally:
            self.sender.quiet = False

    async def join_by_whatsapp(self, person: ConsolePerson, **bound: str | None) -> None:
        """Register a WhatsApp person as the wa.me link of `wijkbrug invite --channel whatsapp --language`
        does: an invite of their role and language, and `START <code>` as their first message."""
        assert self.conn is not None and self.whatsapp is not None
        async with transaction(self.conn):
            made = await invites.create(
                self.conn, role=person.role, now=self.clock(), valid_for=timedelta(days=1), language=person.language,
                **bound,
            )
        self.sender.people[person.address] = self.whatsapp.people[person.address] = person
        self.sender.quiet = True
        try:
            await self.type(person, f"START {made.code}")
        finally:
            self.sender.quiet = False

    async def join_by_email(self, person: ConsolePerson, **bound: str | None) -> None:
        """Register an e-mail person the web page's way (bot/email_people.register_email_person): an
        invite of their role, redeemed for the address the directory holds for it (`person.address`)."""
        assert self.conn is not None and self.mail is not None
        async with transaction(self.conn):
            made = await invites.create(
                self.conn, role=person.role, now=self.clock(), valid_for=timedelta(days=1), **bound
            )
            joined = await register_email_person(self.conn, made.code, person.address, self.clock(), person.language)
        if not isinstance(joined, Joined):
            raise ValueError(f"{person.name} cannot join by e-mail: {joined.reason.value}")
        self.mail.names[person.address] = person.name

    async def pulse(self) -> None:
        """What the web page's people did meanwhile, handled and delivered (at the keyboard, each second)."""
        async with self.lock:
            await self._handle()

    async def type(self, person: ConsolePerson, line: str) -> None:
        """Text as the person would type it (a command or a message)."""
        if person.channel == WHATSAPP:
            return await self._from_phone(person, console_whatsapp.typed(line))
        await self._input(person, text_input(line))

    async def send_file(self, person: ConsolePerson, media: str) -> None:
        if person.channel == WHATSAPP:
            return await self._from_phone(person, console_whatsapp.sent_file(media))
        await self._input(person, MEDIA[media])

    async def press(self, person: ConsolePerson, which: str) -> str | None:
        """Press one of the person's buttons (by label, or by number on their newest buttons); the
        label pressed, or None when they have no such button (then nothing happens)."""
        found = person.button(which)
        if found is None:
            return None
        message_id, label, data = found
        if person.channel == WHATSAPP and self.whatsapp is not None:
            await self._from_phone(person, console_whatsapp.pressed(message_id, self.whatsapp.lists, label, data))
            return label
        pressed = PressedMessage(
            callback_id=f"cb{message_id}-{label}"[:64], message_id=message_id, text=person.messages[message_id]
        )
        await self._input(person, Choice(data=data), pressed)
        return label

    async def operator(self, command: str, person: ConsolePerson) -> bool:
        """`wijkbrug users revoke` or `erase --user` for this person, through the runner's services."""
        assert self.conn is not None
        account = await users.by_chat(self.conn, person.channel, person.address)
        if account is None:
            return False
        done = await self.runner.revoke(account.id) if command == "revoke" else await self.runner.erase(account.id)
        await self._drain()
        return bool(done)

    async def advance(self, to: datetime, heading: Callable[[datetime], str]) -> None:
        """Move the clock on to `to`, firing each timer, Monday push and retention run at the moment
        it falls due (what is sent then is shown under `heading(moment)`)."""
        for _ in range(10_000):  # a bound, in case something scheduled never moved on
            due = await self.runner.next_due()
            if due is None or due > to.astimezone(UTC):
                break
            self.clock.now = max(self.clock(), due)
            self.sender.heading = heading(self.clock())
            await self._handle()
        if to.astimezone(UTC) > self.clock():
            self.clock.now = to
        self.sender.heading = heading(self.clock())
        await self._handle()
        self.sender.heading = None

    async def _input(self, person: ConsolePerson, event: Input, pressed: PressedMessage | None = None) -> None:
        assert self.conn is not None
        conn = self.conn
        inbound = Inbound(
            chat_id=person.address, first_name=person.name, language_code=person.language, event=event, pressed=pressed
        )

        async def receive() -> None:
            async with transaction(conn):
                update_id = int(await stored.get(conn, "console.update_id") or 0) + 1
                await stored.put(conn, "console.update_id", str(update_id))
                row = {"inbound": inbound.model_dump(mode="json")}
                incoming = Incoming(update_id=update_id, payload=json.dumps(row, ensure_ascii=False))
                await inbox.receive(conn, CHANNEL, [incoming], self.clock())

        # The same patience as the Telegram bot's loops: a locked database or a full disk waits.
        await keep_trying("console", receive, self.patience)
        await self._handle()

    async def _from_phone(self, person: ConsolePerson, message: dict[str, Any]) -> None:
        """A WhatsApp person's message, as Meta's webhook brings it (bot/console_whatsapp.py)."""
        assert self.conn is not None
        await console_whatsapp.receive(self.conn, self.clock, self.patience, person.address, person.name, message)
        await self._handle()

    async def _handle(self) -> None:
        async def handle() -> None:
            await self.runner.process_pending()
            if self.wa_runner is not None:
                await self.wa_runner.process_pending()
            await self.runner.fire_timers()

        await keep_trying("console", handle, self.patience)
        await self._drain()

    async def _drain(self) -> None:
        while any([await worker.drain_once() for worker in self.workers]):  # a feed entry may queue an e-mail
            pass
        if self.whatsapp is not None and self.conn is not None:
            await self.whatsapp.report(self.conn, self.clock, self.patience)
