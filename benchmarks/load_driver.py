"""The load benchmark's simulated people (benchmarks/load.py runs the phases and prints the figures).

`Watch` reads the fake Bot API server's call log and hands each chat what the bot sent it; `Driver`
plays the people: volunteers going through the whole intake and handover (`INTAKE`), wijkteam
members accepting every request that reaches them, or, against the echo bots, people sending text.
`prepare` stores the invented sample directory and an invite for everyone before the bot starts.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.directory_file import load as load_directory
from bot.directory_file import sample_path
from db import directory as stored_directory
from db import invites
from db.connection import connect, transaction
from flows.model import Role
from tests.fakebotapi import FakeBotApi

PERIOD = 2.0  # the realistic pace: one message every 2 s each
REPLY_WITHIN = 60.0  # seconds a person waits for the bot before the run fails
Json = dict[str, Any]


class Watch:
    """Reads the fake server's call log once, incrementally, and hands each chat its messages."""

    def __init__(self, api: FakeBotApi) -> None:
        self.api = api
        self.inbox: dict[int, asyncio.Queue[Json]] = {}
        self._read = 0

    def of(self, chat: int) -> asyncio.Queue[Json]:
        return self.inbox.setdefault(chat, asyncio.Queue())

    async def run(self) -> None:
        calls = self.api.calls
        while True:
            while self._read < len(calls):
                call = calls[self._read]
                self._read += 1
                if call["method"] == "sendMessage" and "failed" not in call:
                    self.of(int(call["params"]["chat_id"])).put_nowait(call)
            await self.api._wait(0.05)


async def next_message(queue: asyncio.Queue[Json], within: float = REPLY_WITHIN) -> Json:
    async with asyncio.timeout(within):
        return await queue.get()


def keyboard(api: FakeBotApi, chat: int) -> tuple[int, list[Json]]:
    """The newest message in `chat` with buttons, and its buttons (no copies: the driver is hot)."""
    for message in reversed(api._msgs.get(chat, {}).values()):
        if rows := message.get("reply_markup", {}).get("inline_keyboard"):
            return message["message_id"], [button for row in rows for button in row]
    return 0, []


def press(api: FakeBotApi, chat: int, choose: Callable[[list[Json]], Json | None] = lambda b: b[0]) -> None:
    message_id, buttons = keyboard(api, chat)
    chosen = choose(buttons) if buttons else None
    data = chosen["callback_data"] if chosen else "0|none"  # an unexpected screen: the bot answers "expired"
    api.user_presses(chat, message_id, data, language_code="en", check_button=False)


def accept_button(message: Json) -> str | None:
    rows = message["params"].get("reply_markup", {}).get("inline_keyboard", [])
    return next((b["callback_data"] for row in rows for b in row if b["text"] == "Accept"), None)


def short_version_asked(message: Json) -> bool:
    """The request asks for a short version of the question (the member does not read its language)."""
    rows = message["params"].get("reply_markup", {}).get("inline_keyboard", [])
    return any(b["text"].startswith("Send the question only in") for row in rows for b in row)


def labelled(prefix: str) -> Callable[[list[Json]], Json | None]:
    return lambda buttons: next((b for b in buttons if b["text"].startswith(prefix)), buttons[0])


class Driver:
    """Simulated people (of an echo bot: text and its echo; of Wijkbrug or the PTB intake bot: the
    intake); `volunteer_step` sends a person's next update and waits for the reply to them."""

    def __init__(self, api: FakeBotApi, watch: Watch, kind: str, postcodes: dict[int, str]) -> None:
        self.api = api
        self.watch = watch
        self.kind = kind
        self.postcodes = postcodes
        self.latencies: list[float] = []
        self.updates = 0
        self.steps: dict[int, int] = {}
        self.accepted = 0

    async def reply(self, chat: int, started: float) -> Json:
        message = await next_message(self.watch.of(chat))
        self.latencies.append(time.monotonic() - started)
        self.updates += 1
        return message

    async def volunteer_step(self, chat: int) -> None:
        step = self.steps.get(chat, 0)
        self.steps[chat] = (step + 1) % len(INTAKE)
        started = time.monotonic()
        if "echo" in self.kind:
            self.api.user_sends(chat, f"hello {step}", language_code="en")
            await self.reply(chat, started)
            return
        INTAKE[step](self, chat)
        message = await self.reply(chat, started)
        if step == PICK_MEMBER and short_version_asked(message):
            # The member does not read the volunteer's language (English): the volunteer types a
            # short version in one they do, as a person would (one more update of the cycle).
            started = time.monotonic()
            self.api.user_sends(chat, "Een korte, verzonnen vraag voor de benchmark.", language_code="en")
            await self.reply(chat, started)
        if step == len(INTAKE) - 1:  # the request went out: hear back from the member (not a step of theirs)
            await next_message(self.watch.of(chat))

    async def member(self, chat: int, stop: asyncio.Event) -> None:
        """A wijkteam member accepting every request that reaches them; their press is an update."""
        waiting = self.watch.of(chat)
        requests: list[Json] = []
        while not stop.is_set():
            if not requests:
                try:
                    message = await next_message(waiting, within=0.2)
                except TimeoutError:
                    continue
                if accept_button(message) is not None:
                    requests.append(message)
                continue
            request = requests.pop(0)
            started = time.monotonic()
            shown = reversed(self.api._msgs[chat].values())
            message_id = next(m["message_id"] for m in shown if m.get("text") == request["params"]["text"])
            self.api.user_presses(chat, message_id, accept_button(request) or "", language_code="en",
                                  check_button=False)
            while accept_button(reply := await next_message(waiting)) is not None:  # another request came first
                requests.append(reply)
            self.latencies.append(time.monotonic() - started)
            self.updates += 1
            self.accepted += 1

    async def person(self, chat: int, deadline: float, paced: bool, rng: random.Random) -> None:
        if paced:  # one message every PERIOD seconds, at a random phase
            await asyncio.sleep(rng.uniform(0, PERIOD))
        next_at = time.monotonic()
        while time.monotonic() < deadline:
            await self.volunteer_step(chat)
            if paced:
                next_at += PERIOD
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))


# The volunteer's cycle: each entry sends one update.
INTAKE: list[Callable[[Driver, int], None]] = [
    lambda d, c: d.api.user_sends(c, "/new", language_code="en"),
    lambda d, c: press(d.api, c, labelled("No")),  # no child in danger
    lambda d, c: press(d.api, c),  # theme
    lambda d, c: press(d.api, c),  # age
    lambda d, c: press(d.api, c),  # the parent's language
    lambda d, c: d.api.user_sends(c, d.postcodes[c], language_code="en"),
    lambda d, c: d.api.user_sends(c, "An invented question for the benchmark.", language_code="en"),
    lambda d, c: press(d.api, c, labelled("Save")),
    lambda d, c: press(d.api, c, labelled("🤝")),  # the best-matching member
    lambda d, c: press(d.api, c),  # the way the family meets them (after a short version, if one was asked)
    lambda d, c: press(d.api, c, labelled("The parent agrees")),
    lambda d, c: d.api.user_sends(c, "Invented", language_code="en"),
    lambda d, c: d.api.user_sends(c, "06 12345678", language_code="en"),
    lambda d, c: press(d.api, c, labelled("No preference")),
    lambda d, c: press(d.api, c, labelled("No attachment")),
    lambda d, c: press(d.api, c, labelled("Send the request")),
]


PICK_MEMBER = 8  # the step of INTAKE that picks the member


async def prepare(database: Path, volunteers: list[int]) -> tuple[list[str], list[str], dict[int, str]]:
    """The sample directory, an invite for every volunteer and for every contact (as a member),
    and each volunteer's postcode (spread over the wijken, so requests reach every team)."""
    sample = load_directory(sample_path())
    conn = await connect(database)
    now = datetime.now(UTC)
    day = timedelta(days=1)
    async with transaction(conn):
        await stored_directory.replace(conn, sample.directory, sample.away_given)
        volunteer_codes = [
            (await invites.create(conn, role=Role.VOLUNTEER, org_id="lantaarn", now=now, valid_for=day)).code
            for _ in volunteers
        ]
        member_codes = [
            (await invites.create(conn, role=Role.MEMBER, org_id=None, contact_id=c.id, now=now, valid_for=day)).code
            for c in sample.directory.contacts
        ]
    await conn.close()
    postcodes = [wijk.postcodes[0] for wijk in sample.directory.wijken]
    return volunteer_codes, member_codes, {chat: postcodes[i % len(postcodes)] for i, chat in enumerate(volunteers)}


def baseline_people(volunteers: list[int]) -> tuple[list[str], list[str], dict[int, str], dict[str, list[list[str]]]]:
    """For the PTB intake bot (benchmarks/intake_ptb.py), what `prepare` gives Wijkbrug: volunteers'
    and members' start codes (a member's names their contact), postcodes spread alike, and the
    directory it matches with (each wijk's postcodes -> its teams' contacts)."""
    sample = load_directory(sample_path()).directory
    places: dict[str, list[list[str]]] = {}
    for wijk in sample.wijken:
        contacts = [[c.id, c.name] for team in sample.teams_by_wijk.get(wijk.code, ())
                    for c in sample.contacts_by_team.get(team.id, ())]
        places.update(dict.fromkeys(wijk.postcodes, contacts))
    postcodes = [wijk.postcodes[0] for wijk in sample.wijken]
    return ([f"v{i}" for i in range(len(volunteers))], [f"member-{c.id}" for c in sample.contacts],
            {chat: postcodes[i % len(postcodes)] for i, chat in enumerate(volunteers)}, places)
