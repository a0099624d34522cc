"""Storage trouble with the real process: `wijkbrug run` (its own Bot API client, bot/botapi.py) against the
fake Bot API while another program holds the write lock for 10 s, while the disk is full, and
while `wijkbrug rotate-key` re-seals 150,000 values. Each time the bot keeps running, and
afterwards every update was handled once and answered once: nothing lost, nothing repeated.
(All names and texts are invented.)"""

from __future__ import annotations

import asyncio
import errno
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot import directory_file
from db.connection import connect
from db.vault import Vault, load_keys, open_vault
from tests.fakebotapi import FakeBotApi
from tests.storage_fill import fill_questions
from tests.test_e2e_telegram import TOKEN, Wijkbrug, stored, texts, wijkbrug  # noqa: F401 - the fixture

HELP = "What you can do:"  # in the answer to /help, once per answer
CHATS = (7101, 7102, 7103)


async def register(bot: Wijkbrug, chats: tuple[int, ...] = CHATS) -> None:
    """Volunteers join with an invite each (the operator made them before the bot started)."""
    for chat, code in zip(chats, bot.codes, strict=True):
        bot.api.user_sends(chat, f"/start {code}", language_code="en")
    welcomed = lambda a: all(any("Welcome to Wijkbrug" in t for t in texts(a, c)) for c in chats)  # noqa: E731
    await bot.api.wait_for(welcomed, timeout=30)
    await bot.settled()


async def invites(bot: Wijkbrug, count: int = len(CHATS)) -> None:
    invite = ("invite", "--role", "volunteer", "--org", "kompas", "--json")
    made = await asyncio.gather(*(bot.operator(*invite) for _ in range(count)))
    bot.codes = [json.loads(m)["code"] for m in made]  # type: ignore[attr-defined]


def helps(bot: Wijkbrug) -> dict[int, int]:
    return {chat: sum(HELP in t for t in texts(bot.api, chat)) for chat in CHATS}


async def ask_for_help(bot: Wijkbrug, until: Callable[[int], bool], every: float = 1.0) -> dict[int, int]:
    """Each volunteer sends /help every `every` seconds until `until(rounds sent)` is true.
    Returns how many each sent."""
    sent = dict.fromkeys(CHATS, 0)
    rounds = 0
    while not until(rounds):
        for chat in CHATS:
            bot.api.user_sends(chat, "/help", language_code="en")
            sent[chat] += 1
        rounds += 1
        await asyncio.sleep(every)
    return sent


async def all_answered_once(bot: Wijkbrug, before: dict[int, int], sent: dict[int, int]) -> None:
    await bot.api.wait_for(lambda _: all(helps(bot)[c] - before[c] >= sent[c] for c in CHATS), timeout=60)
    await bot.settled()
    assert bot.process is not None and bot.process.returncode is None, bot.logs()[-3000:]  # still running
    assert {c: helps(bot)[c] - before[c] for c in CHATS} == sent  # each answered, none twice
    outcomes = dict(await query(bot, "SELECT update_id, outcome FROM inbox"))
    assert set(outcomes) == set(bot.api.handed_out)  # every update stored, none invented
    assert set(outcomes.values()) <= {"handled", "registered"}  # each handled once, none failed
    assert "Traceback" not in bot.logs()


async def query(bot: Wijkbrug, sql: str) -> list[tuple]:
    return await bot.query(sql) if isinstance(bot, OnASmallDisk) else stored(bot.database, sql)


@pytest.fixture
async def bot(wijkbrug: Wijkbrug) -> Wijkbrug:  # noqa: F811
    # No flood limit in the way: these tests are about the database.
    wijkbrug.env["WIJKBRUG_FLOOD_PER_MINUTE"] = "6000"
    await invites(wijkbrug)
    return wijkbrug


async def test_a_lock_held_for_ten_seconds_delays_the_bot_but_it_loses_and_repeats_nothing(bot: Wijkbrug) -> None:
    await bot.start()
    await register(bot)
    before = helps(bot)
    # The first answer is refused with "retry after 1 s": its row is still in the outbox when…
    bot.api.fail_next("sendMessage", status=429, retry_after=1)
    sending = asyncio.ensure_future(ask_for_help(bot, until=lambda rounds: rounds == 10))  # (for 10 s)
    await asyncio.sleep(0.05)
    other = sqlite3.connect(bot.database, timeout=0, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # …another program takes the write lock, for 10 s
    try:
        await asyncio.sleep(10)
    finally:
        other.rollback()
        other.close()
    sent = await sending
    await all_answered_once(bot, before, sent)
    # The poller waited with its batch, and the delivery worker with the answer Telegram had
    # refused for a second (it stays in the outbox until it is sent once, and deleted).
    assert "poller: the database cannot be written now (SQLITE_BUSY)" in bot.logs()
    assert "delivery: the database cannot be written now (SQLITE_BUSY)" in bot.logs()
    assert await bot.stop() == 0


def small_disks() -> bool:
    """Can this machine give a process a tmpfs of its own (a user and mount namespace)?"""
    if shutil.which("unshare") is None or shutil.which("nsenter") is None:
        return False
    with tempfile.TemporaryDirectory() as folder:
        mount = f"mount -t tmpfs -o size=1m tmpfs '{folder}'"
        probe = subprocess.run(["unshare", "-rm", "sh", "-c", mount], capture_output=True)
    return probe.returncode == 0


# Run inside the bot's namespace: SQLite resolves /proc/<pid>/root to "/", so the test cannot
# open the database through it, and reads it from in there instead. Prints rows as JSON.
INSIDE = """
import json, sqlite3, sys
with sqlite3.connect(sys.argv[1]) as conn:
    print(json.dumps(conn.execute(sys.argv[2]).fetchall()))
"""


class OnASmallDisk(Wijkbrug):
    """`wijkbrug run` with its database on a tmpfs of 8 MB of its own, mounted in a user and
    mount namespace of the process (no privileges needed where such namespaces are allowed).
    The test fills that disk through /proc/<pid>/root and queries the database from inside."""

    async def start(self, *extra: str) -> None:
        self.starts += 1
        log = (self.folder / f"run-{self.starts}.log").open("wb")
        self.disk = self.folder / "disk"
        self.disk.mkdir(exist_ok=True)
        script = 'mount -t tmpfs -o size=8m tmpfs "$1" && cp "$2"/wijkbrug.* "$1"/ && shift 2 && exec "$@"'
        env = {**self.env, "WIJKBRUG_DATABASE": str(self.disk / "wijkbrug.sqlite3")}
        self.process = await asyncio.create_subprocess_exec(
            "unshare", "-rm", "sh", "-c", script, "sh", str(self.disk), str(self.folder),
            sys.executable, "-m", "bot.cli", "run", *extra, env=env, cwd=self.folder, stdout=log, stderr=log,
        )

    @property
    def seen_from_here(self) -> Path:
        assert self.process is not None
        return Path(f"/proc/{self.process.pid}/root") / self.disk.relative_to("/")

    async def query(self, sql: str) -> list[tuple]:
        assert self.process is not None
        child = await asyncio.create_subprocess_exec(
            "nsenter", "-t", str(self.process.pid), "-U", "-m", "--preserve-credentials",
            sys.executable, "-c", INSIDE, str(self.disk / "wijkbrug.sqlite3"), sql, stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(child.communicate(), 30)
        assert child.returncode == 0
        return [tuple(row) for row in json.loads(out)]

    async def settled(self) -> None:
        for _ in range(100):
            waiting = await self.query(
                "SELECT (SELECT count(*) FROM outbox) + (SELECT count(*) FROM inbox WHERE processed_at IS NULL)"
            )
            if waiting == [(0,)] and self.api.pending_updates == 0:
                return
            await asyncio.sleep(0.2)
        raise TimeoutError("the bot did not settle")


@pytest.fixture
async def small(tmp_path: Path) -> AsyncIterator[OnASmallDisk]:
    async with FakeBotApi(token=TOKEN) as api:
        bot = OnASmallDisk(api, tmp_path)
        bot.env["WIJKBRUG_FLOOD_PER_MINUTE"] = "6000"
        await bot.operator("directory", "import", str(directory_file.sample_path()))
        await invites(bot)
        yield bot
        if bot.process is not None and bot.process.returncode is None:
            await bot.kill()


async def test_a_full_disk_delays_the_bot_but_it_loses_and_repeats_nothing(small: OnASmallDisk) -> None:
    if not small_disks():  # a failure that says what is missing, never a silent skip
        pytest.fail(
            "this test needs a tmpfs of its own in a user and mount namespace: unshare and nsenter "
            "(Debian: apt-get install util-linux) and user namespaces allowed (as root, or sysctl "
            "kernel.unprivileged_userns_clone=1)", pytrace=False,
        )
    bot = small
    await bot.start()
    await register(bot)
    before = helps(bot)
    # One answer is refused with "retry after 3 s": it waits in the outbox, to be sent while
    # the disk is full (and then deleted, or it would be sent twice).
    bot.api.fail_next("sendMessage", status=429, retry_after=3)
    for chat in CHATS:
        bot.api.user_sends(chat, "/help", language_code="en")
    await bot.api.wait_for(lambda a: any(c.get("failed") == 429 for c in a.calls), timeout=20)
    await bot.api.wait_for(lambda _: sum(helps(bot)[c] - before[c] for c in CHATS) == len(CHATS) - 1, timeout=20)
    # The log starts over empty, so the bot's next writes must grow it; then the disk is filled
    # to the last byte.
    assert (await bot.query("PRAGMA wal_checkpoint(TRUNCATE)"))[0][0] == 0
    filler = bot.seen_from_here / "filler"
    with filler.open("wb", buffering=0) as handle:
        with pytest.raises(OSError) as full:
            while True:
                handle.write(b"\0" * 65536)
    assert full.value.errno == errno.ENOSPC
    room = asyncio.Event()
    sending = asyncio.ensure_future(ask_for_help(bot, until=lambda _: room.is_set()))
    try:
        # The poller and the delivery worker meet the full disk (before, the bot stopped there)…
        met = [f"{loop}: the database cannot be written now (SQLITE_FULL)" for loop in ("poller", "delivery")]
        stopped = lambda: bot.process is not None and bot.process.returncode is not None  # noqa: E731
        await bot.api.wait_for(lambda _: all(m in bot.logs() for m in met) or stopped(), timeout=30)
        await asyncio.sleep(2)  # …and for a while longer
    finally:
        filler.unlink()  # room again
        room.set()
    sent = {chat: n + 1 for chat, n in (await sending).items()}
    await all_answered_once(bot, before, sent)
    assert await bot.stop() == 0


async def test_rotate_key_over_150000_values_while_updates_flow_loses_and_repeats_nothing(bot: Wijkbrug) -> None:
    conn = await connect(bot.database)
    vault = await open_vault(conn, None, bot.database.with_suffix(".key"))
    await fill_questions(conn, vault, 150_000)
    await conn.close()
    await bot.start()
    await register(bot)
    before = helps(bot)
    rotation = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "rotate-key", env=bot.env, cwd=bot.folder,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    finished = asyncio.ensure_future(rotation.communicate())
    # Every 1.5 s: within Telegram's pace of one message a second per chat, so the answers keep up.
    sent = await ask_for_help(bot, until=lambda _: finished.done(), every=1.5)
    out, err = await finished
    assert rotation.returncode == 0, err.decode()
    said = out.decode().split()
    assert int(said[0]) >= 150_000  # every value re-sealed…
    assert int(said[said.index("in") + 1]) >= 150_000 // 500  # …in short transactions (the bot's turn between them)
    await all_answered_once(bot, before, sent)
    assert sum(sent.values()) >= 3 * len(CHATS)  # updates did flow during the rotation
    newest = Vault(load_keys(None, bot.database.with_suffix(".key"), create=False)[:1])
    texts_now = [row[0] for row in stored(bot.database, "SELECT text FROM questions WHERE code LIKE 'B-%'")]
    assert len(texts_now) == 150_000 and all(newest.is_newest(text) for text in texts_now)
    assert await bot.stop() == 0
