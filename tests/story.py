"""Stories: conversations between several people through the whole bot (runner, SQLite, outbox),
as golden files a domain expert can read. Replayed by tests/test_stories.py; rewrite the answers
with WIJKBRUG_UPDATE_GOLDEN=1.

The input (who is in the story, what each does, time passing) is the format of bot/demo_script.py,
read by its parser: the demo replays the same scripts (`wijkbrug demo --script FILE`).

What Wijkbrug did:
    → Joost: text…                       a message (further lines indented, buttons in [ ])
    ✓ Joost: Accept                      a pressed button's message now shows the choice
    ! Joost: …                           the short notice a press is answered with
    📎 Joost: photo                      a file forwarded
    ⇢ Sara: tg://user?id=7000            the name above is a one-tap link to that person's chat
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot import demo_script
from bot.directory_file import load, sample_path
from bot.i18n import Catalogs
from bot.runner import Runner
from bot.telegram_send import calls
from db import directory, inbox, invites, outbox
from db.connection import Connection, connect, transaction
from db.inbox import Incoming
from db.vault import Vault, attach

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


MEDIA = {  # what `(photo)` and `(document)` send, as Telegram hands them over
    "photo": {"photo": [{"file_id": "invented-photo-id", "width": 1, "height": 1, "file_unique_id": "u"}]},
    "document": {
        "document": {
            "file_id": "invented-doc-id", "file_unique_id": "u", "file_name": "letter.pdf",
            "mime_type": "application/pdf", "file_size": 80_000,
        }
    },
}


@dataclass
class Person:
    name: str
    chat: int
    declared: demo_script.Person
    messages: dict[int, tuple[str, list[list[dict]]]] = field(default_factory=dict)


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now.astimezone(ZoneInfo("UTC"))  # the bot's clock runs in UTC


@dataclass
class Story:
    path: Path
    catalogs: Catalogs
    database: Path
    people: dict[str, Person] = field(default_factory=dict)
    out: list[str] = field(default_factory=list)
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    conn: Connection | None = None
    runner: Runner | None = None
    vault: Vault = field(default_factory=Vault.generate)

    async def start(self, clock: Clock) -> None:
        self.conn = await connect(self.database)
        attach(self.conn, self.vault)
        codes = (f"Q-{n:04d}" for n in itertools.count(1001))
        cases = (f"H-{n:06d}" for n in itertools.count(100001))
        self.runner = Runner(
            self.conn, self.catalogs, clock,
            "telegram",
            new_code=lambda: next(codes), vault=self.vault, new_case=lambda: next(cases),
        )

    async def stop(self) -> None:
        if self.conn is not None:
            await self.conn.close()

    async def setup(self, clock: Clock) -> None:
        await self.start(clock)
        assert self.conn is not None
        sample = load(sample_path())
        async with transaction(self.conn):
            await directory.replace(self.conn, sample.directory, sample.away_given)
        for person in self.people.values():
            async with transaction(self.conn):
                made = await invites.create(
                    self.conn, role=person.declared.role, **person.declared.invite(), now=clock(),
                    valid_for=timedelta(days=1),
                )
            await self.send(person, {"text": f"/start {made.code}"})
        await self.drain(quiet=True)

    async def send(self, person: Person, content: dict) -> None:
        assert self.conn is not None and self.runner is not None
        language = person.declared.language
        sender = {"id": person.chat, "is_bot": False, "first_name": person.name, "language_code": language}
        chat = {"id": person.chat, "type": "private"}
        update_id = next(self.ids)
        if "data" in content:
            message_id, text = content["message_id"], content["message_text"]
            update = {
                "update_id": update_id,
                "callback_query": {
                    "id": f"cb{update_id}",
                    "from": sender,
                    "data": content["data"],
                    "chat_instance": "s",
                    "message": {"message_id": message_id, "chat": chat, "date": 0, "text": text},
                },
            }
        else:
            update = {
                "update_id": update_id,
                "message": {"message_id": 0, "from": sender, "chat": chat, "date": 0, **content},
            }
        async with transaction(self.conn):
            await inbox.receive(
                self.conn, "telegram", [Incoming(update_id=update_id, payload=json.dumps(update))], self.runner.clock()
            )
        await self.runner.process_pending()
        await self.runner.fire_timers()

    async def operator(self, command: str, name: str) -> None:
        """What the operator's `users revoke` or `erase --user` does (bot/cli.py), on the bot's database."""
        from db import users

        assert self.conn is not None and self.runner is not None
        account = await users.by_chat(self.conn, "telegram", str(self.people[name].chat))
        assert account is not None, f"{name} has no account"
        if command == "revoke":
            assert await self.runner.revoke(account.id)
        elif command == "erase":
            assert await self.runner.erase(account.id) is not None
        else:
            raise AssertionError(f"unknown operator command {command!r}")

    async def drain(self, quiet: bool = False) -> None:
        assert self.conn is not None
        by_chat = {p.chat: p for p in self.people.values()}
        for item in await outbox.waiting(self.conn, "telegram"):
            await outbox.done(self.conn, item.id)
            person = by_chat.get(int(item.address))
            method, payload = calls(item.address, item.kind, item.body)  # as the Telegram channel sends it
            if person is None or quiet and method != "sendMessage":
                continue
            self._show(person, method, payload, quiet)

    def _show(self, person: Person, method: str, payload: dict, quiet: bool) -> None:
        if method == "sendMessage":
            message_id = next(self.ids)
            rows = (payload.get("reply_markup") or {}).get("inline_keyboard", [])
            person.messages[message_id] = (payload["text"], rows)
            if quiet:
                return
            first, *rest = payload["text"].split("\n")
            self.out.append(f"→ {person.name}: {first}")
            self.out.extend(f"  {line}".rstrip() for line in rest)
            self.out.extend("    " + " ".join(f"[{b['text']}]" for b in row) for row in rows)
            units = payload["text"].encode("utf-16-le")  # Telegram counts offsets in UTF-16 units
            for entity in payload.get("entities", ()):  # a one-tap link to a person's chat
                linked = units[2 * entity["offset"]:2 * (entity["offset"] + entity["length"])].decode("utf-16-le")
                self.out.append(f"    ⇢ {linked}: {entity.get('url') or 'tg://user?id=' + str(entity['user']['id'])}")
        elif method == "editMessageText":
            text = payload["text"]
            self.out.append(f"✓ {person.name}: {text.rsplit('✓ ', 1)[-1]}")
            person.messages[int(payload["message_id"])] = (text, [])
        elif method == "answerCallbackQuery" and payload.get("text"):
            self.out.append(f"! {person.name}: {payload['text']}")
        elif method in ("sendPhoto", "sendDocument"):
            self.out.append(f"📎 {person.name}: {method.removeprefix('send').lower()} “{payload.get('caption', '')}”")

    def press(self, person: Person, label: str) -> dict:
        for message_id in sorted(person.messages, reverse=True):
            text, rows = person.messages[message_id]
            for row in rows:
                for button in row:
                    if button["text"] == label:
                        return {"data": button["callback_data"], "message_id": message_id, "message_text": text}
        raise AssertionError(f"{person.name} has no button {label!r}")


async def replay(path: Path, catalogs: Catalogs, database: str | Path, vault: Vault | None = None) -> str:
    script = demo_script.read(path)  # the parser the demo uses (bot/demo_script.py)
    story = Story(path, catalogs, database, vault=vault or Vault.generate())
    clock = Clock(datetime(2026, 11, 30, 9, 0, tzinfo=AMSTERDAM))
    for declared in script.people.values():
        story.people[declared.name] = Person(declared.name, 7000 + len(story.people), declared)
    if script.start is not None:
        clock.now = script.start.replace(tzinfo=AMSTERDAM)
    await story.setup(clock)
    try:
        for line, action in script.actions:
            story.out += ["", line]
            if isinstance(action, demo_script.ClockTo):
                clock.now = action.at.replace(tzinfo=AMSTERDAM)
                assert story.runner is not None
                await story.runner.fire_timers()
            elif isinstance(action, demo_script.Operator):
                await story.operator(action.command, action.name)
            elif isinstance(action, demo_script.Restart):
                await story.stop()
                await story.start(clock)
                assert story.runner is not None
                await story.runner.fire_timers()
            else:
                person = story.people[action.name]
                if action.press is not None:
                    await story.send(person, story.press(person, action.press))
                elif action.media is not None:
                    await story.send(person, MEDIA[action.media])
                else:
                    await story.send(person, {"text": action.text})
            await story.drain()
    finally:
        await story.stop()
    return "\n".join([*script.header, *story.out]) + "\n"
