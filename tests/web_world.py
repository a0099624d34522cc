"""A world for the web page's tests: a volunteer on Telegram has sent a warm handover request to a
wijkteam member who reads the web page, through the whole bot (tests/story.py's people, the
Turkish story's steps); a colleague of the member and the team's coordinator read the web page too.
Everyone and everything in it is invented.

`serve_web` starts the page's aiohttp server on 127.0.0.1 (a free port) with its channel: the
real thing, as `wijkbrug run` starts it, on the same database.
"""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from bot import demo_script
from bot.i18n import Catalogs
from bot.web.app import make_app
from bot.web.channel import WebChannel
from bot.web.files import Fetch
from bot.web.security import LinkLimit
from bot.web.site import FreshLink, Register
from db import login_links, outbox, users
from db import settings as stored
from db.connection import connect, transaction
from db.vault import CHECK_KEY, CHECK_TEXT, Vault, attach, load_keys
from flows.model import Role
from tests.story import AMSTERDAM, MEDIA, Clock, Person, Story

STORY = Path(__file__).parent / "stories" / "warm_handover_tr_nl.txt"
SEND = "Ayşe > [Talebi gönder]"
NOW = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)  # after the story's request (10:00 Amsterdam)
CASE = "H-100001"


@dataclass
class World:
    database: Path
    vault: Vault
    volunteer: int  # account ids
    member: int
    colleague: int
    coordinator: int
    volunteer_chat: int  # the volunteer's Telegram chat


async def request_waiting(
    database: Path, catalogs: Catalogs, with_key_file: bool = False, member_language: str = "nl"
) -> World:
    """Replay the story's steps up to the request; the member reads the web page (their preferred
    address is `web`) before it is sent, so the request goes into their feed."""
    vault = Vault(load_keys(None, database.with_suffix(".key"), create=True)) if with_key_file else Vault.generate()
    story = Story(STORY, catalogs, database, vault=vault)
    clock = Clock(datetime(2026, 11, 30, 10, 0, tzinfo=AMSTERDAM))
    for name, role, bound, language in (
        ("Ayşe", "volunteer", "lantaarn", "tr"), ("Emre", "member", "c-overvecht-2", member_language),
        ("Joost", "member", "c-overvecht-3", "nl"), ("Petra", "coordinator", "team:bt-overvecht", "nl"),
    ):
        declared = demo_script.Person(name, Role(role), bound, language)
        story.people[name] = Person(name, 7000 + len(story.people), declared)
    await story.setup(clock)
    assert story.conn is not None
    ids = {}
    for name, person in story.people.items():
        account = await users.by_chat(story.conn, "telegram", str(person.chat))
        assert account is not None
        ids[name] = account.id
    try:
        for line in STORY.read_text("utf-8").splitlines():
            if " > " not in line:
                continue
            if line == SEND:
                async with transaction(story.conn):
                    for name in ("Emre", "Joost", "Petra"):
                        await users.add_address(story.conn, ids[name], "web", str(ids[name]), clock(), preferred=True)
            name, _, action = line.partition(" > ")
            person = story.people[name]
            if found := re.fullmatch(r"\[(.+)\]", action):
                await story.send(person, story.press(person, found.group(1)))
            elif action == "(document)":
                await story.send(person, MEDIA["document"])
            else:
                await story.send(person, {"text": action})
            await story.drain(quiet=True)
            if line == SEND:
                break
        async with transaction(story.conn):
            await stored.put(story.conn, CHECK_KEY, vault.seal(CHECK_TEXT) or "")
    finally:
        await story.stop()
    return World(database, vault, ids["Ayşe"], ids["Emre"], ids["Joost"], ids["Petra"], story.people["Ayşe"].chat)


async def link_for(world: World, user_id: int, now: datetime = NOW, **valid: float) -> str:
    from datetime import timedelta

    conn = await connect(world.database)
    try:
        async with transaction(conn):
            return await login_links.create(conn, user_id, now, timedelta(**valid) if valid else login_links.VALID_FOR)
    finally:
        await conn.close()


async def telegram_waiting(world: World, chat: int) -> list[str]:
    """The texts waiting in the Telegram outbox for `chat`."""
    conn = await connect(world.database)
    attach(conn, world.vault)
    try:
        return [str(i.body.get("text", "")) for i in await outbox.waiting(conn, "telegram") if i.address == str(chat)]
    finally:
        await conn.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def serve_web(
    world: World, catalogs: Catalogs, clock=lambda: NOW, fresh_link: FreshLink | None = None,  # noqa: ANN001
    register: Register | None = None, links: LinkLimit | None = None, port: int | None = None,
    fetch: Fetch | None = None,
) -> AsyncIterator[tuple[str, WebChannel]]:
    """The page's server on 127.0.0.1 with its channel running; yields its base URL."""
    import asyncio

    channel = WebChannel(world.database, catalogs, clock, world.vault)
    await channel.open()
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    runner = web.AppRunner(make_app(channel, base, fresh_link, register, links, fetch), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    task = asyncio.create_task(channel.run())
    try:
        yield base, channel
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await runner.cleanup()
        await channel.close()
