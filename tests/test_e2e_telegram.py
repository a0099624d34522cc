"""End to end over HTTP: the real `wijkbrug run` process (its own Bot API client, bot/botapi.py) against the
local fake Bot API server, driven the way a volunteer would — and killed with SIGKILL midway."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import directory_file
from tests.conftest import BACKENDS
from tests.fakebotapi import FakeBotApi

TOKEN = "123:TEST"
VOLUNTEER = 5001
STRANGER = 5002


class Wijkbrug:
    """Starts, kills and restarts `wijkbrug run` as a separate process."""

    def __init__(self, api: FakeBotApi, folder: Path, database: str | Path | None = None) -> None:
        self.api = api
        self.folder = folder
        self.database = database or folder / "wijkbrug.sqlite3"
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0
        self.env = {
            **os.environ,
            "WIJKBRUG_TELEGRAM_TOKEN": TOKEN,
            "WIJKBRUG_TELEGRAM_API_URL": api.api_url,
            "WIJKBRUG_TELEGRAM_FILE_URL": api.file_url,
            "WIJKBRUG_DATABASE": str(self.database),
            "WIJKBRUG_POLL_TIMEOUT": "2",
        }
        if isinstance(self.database, str):  # PostgreSQL: the key in a file of its own, as the settings ask
            self.env["WIJKBRUG_KEY_FILE"] = str(folder / "wijkbrug.key")
            self.env["WIJKBRUG_ONLY_INSTANCE"] = "1"  # one process polls (tests/test_two_instances.py: two)

    async def operator(self, *args: str) -> str:
        """An operator command, as a process of its own; returns what it printed."""
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", *args, env=self.env, cwd=self.folder,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(child.communicate(), 30)
        assert child.returncode == 0, err.decode()
        return out.decode()

    async def start(self, *extra: str) -> None:
        self.starts += 1
        log = (self.folder / f"run-{self.starts}.log").open("wb")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", *extra, env=self.env, cwd=self.folder, stdout=log, stderr=log
        )

    async def settled(self) -> None:
        """Wait until the bot has handled every update and delivered every call: a kill now cuts
        no call in flight (those may be sent twice, by design; the crash tests count them)."""
        def idle() -> bool:
            waiting = stored(
                self.database,
                "SELECT (SELECT count(*) FROM outbox) + (SELECT count(*) FROM inbox WHERE processed_at IS NULL)",
            )
            return waiting == [(0,)] and self.api.pending_updates == 0

        await self.api.wait_for(lambda _: idle(), timeout=20)

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(self.process.wait(), 10)

    async def stop(self) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), 10)
        return self.process.returncode or 0

    def logs(self) -> str:
        return "\n".join((self.folder / f"run-{i}.log").read_text(errors="replace") for i in range(1, self.starts + 1))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """`wijkbrug run` as a process on SQLite and on PostgreSQL."""
    return str(request.param)


@pytest.fixture
async def wijkbrug(tmp_path: Path, database: str | Path) -> AsyncIterator[Wijkbrug]:
    """`wijkbrug run` on the test's database (SQLite unless the module asks for both backends)."""
    async with FakeBotApi(token=TOKEN) as api:
        bot = Wijkbrug(api, tmp_path, database)
        await bot.operator("directory", "import", str(directory_file.sample_path()))
        yield bot
        if bot.process is not None and bot.process.returncode is None:
            await bot.kill()


def texts(api: FakeBotApi, chat: int) -> list[str]:
    return [m.get("text", "") for m in api.messages(chat)]


async def reply_containing(api: FakeBotApi, chat: int, fragment: str, count: int = 1) -> None:
    await api.wait_for(lambda a: sum(fragment in t for t in texts(a, chat)) >= count, timeout=20)


def press(api: FakeBotApi, chat: int, label: str) -> dict:
    keyboard = api.last_keyboard(chat)
    assert keyboard is not None, "no message with buttons"
    message_id, rows = keyboard
    for row in rows:
        for button in row:
            if button["text"] == label:
                return api.user_presses(chat, message_id, button["callback_data"], language_code="en")
    raise AssertionError(f"no button {label!r}: {[b['text'] for row in rows for b in row]}")


def stored(database: str | Path, sql: str) -> list[tuple]:
    """What `sql` reads, through the backend's own driver, beside the bot."""
    if isinstance(database, str):
        import psycopg

        with psycopg.connect(database) as pg:
            return [tuple(row) for row in pg.execute(sql).fetchall()]
    with sqlite3.connect(database) as conn:
        return conn.execute(sql).fetchall()


async def test_a_volunteer_logs_a_question_across_a_crash_and_nothing_is_lost(wijkbrug: Wijkbrug) -> None:
    api = wijkbrug.api
    invite = json.loads(await wijkbrug.operator("invite", "--role", "volunteer", "--org", "lantaarn", "--json"))
    await wijkbrug.start()

    api.user_sends(STRANGER, "/start made-up-code", language_code="en")
    api.user_sends(VOLUNTEER, f"/start {invite['code']}", first_name="Fatima", language_code="en")
    await reply_containing(api, VOLUNTEER, "Welcome to Wijkbrug, Fatima!")
    await reply_containing(api, STRANGER, "does not work")
    # Before the bot first met Telegram its username was unknown; now invite links carry it.
    assert invite["link"] == f"https://t.me/<bot username>?start={invite['code']}"
    later = json.loads(await wijkbrug.operator("invite", "--role", "coordinator", "--org", "lantaarn", "--json"))
    assert later["link"] == f"https://t.me/wijkbrug_test_bot?start={later['code']}"

    # The command menu is published in every shipped language (and as the default).
    await api.wait_for(lambda a: sum(c["method"] == "setMyCommands" for c in a.calls) >= 10, timeout=20)
    menus = {
        c["params"].get("language_code"): c["params"]["commands"] for c in api.calls if c["method"] == "setMyCommands"
    }
    assert {None, "nl", "en", "tr", "ar"} <= set(menus)
    assert [c["command"] for c in menus["tr"]] == ["new", "cases", "contacts", "cancel", "language", "help"]
    await api.wait_for(lambda a: sum(c["method"] == "setMyShortDescription" for c in a.calls) >= 10, timeout=20)
    descriptions = {
        c["params"].get("language_code"): c["params"]["description"]
        for c in api.calls
        if c["method"] == "setMyDescription"
    }
    assert "wijkteam" in descriptions["ar"] and descriptions["nl"].startswith("Wijkbrug verbindt")

    api.user_sends(VOLUNTEER, "/new", language_code="en")
    await reply_containing(api, VOLUNTEER, "Is a child in danger right now")
    press(api, VOLUNTEER, "No")
    await reply_containing(api, VOLUNTEER, "What is the question about?")
    # the pressed prompt now shows the choice, without buttons
    danger_prompt = next(m for m in api.messages(VOLUNTEER) if "Is a child in danger" in m.get("text", ""))
    assert danger_prompt["text"].endswith("✓ No") and "reply_markup" not in danger_prompt
    press(api, VOLUNTEER, "School and education")
    await reply_containing(api, VOLUNTEER, "How old is the child?")

    # The bot dies hard. Meanwhile the volunteer carries on; Telegram keeps the updates.
    await wijkbrug.settled()
    await wijkbrug.kill()
    press(api, VOLUNTEER, "4–11 years")
    await asyncio.sleep(0.3)
    await wijkbrug.start()
    await reply_containing(api, VOLUNTEER, "Which language does the parent speak best?")
    press(api, VOLUNTEER, "Turkish")
    await reply_containing(api, VOLUNTEER, "postcode")
    api.user_sends(VOLUNTEER, "35611", language_code="en")
    await reply_containing(api, VOLUNTEER, "That is not a Dutch postcode")

    await wijkbrug.settled()
    await wijkbrug.kill()  # and once more, with updates waiting
    api.user_sends(VOLUNTEER, "3561 AB", language_code="en")
    api.user_sends(VOLUNTEER, "An invented question about a letter from school.", language_code="en")
    await wijkbrug.start()
    await reply_containing(api, VOLUNTEER, "Please check the question:")
    press(api, VOLUNTEER, "Save")
    await reply_containing(api, VOLUNTEER, "Saved. The question code is")
    # …with the people of Overvecht's wijkteam who fit it best, and why
    assert "The family lives in Overvecht." in texts(api, VOLUNTEER)[-1]
    assert "✓ speaks Turkish · handles questions about school" in texts(api, VOLUNTEER)[-1]

    rows = stored(wijkbrug.database, "SELECT code, theme, age_group, parent_language, pc4, wijk, urgent FROM questions")
    assert len(rows) == 1 and rows[0][1:] == ("school", "4-12", "tr", "3561", "overvecht", 0)
    assert rows[0][0] in texts(api, VOLUNTEER)[-1]

    # Every update Telegram handed out was processed exactly once, and the inbox keeps no content.
    outcomes = dict(stored(wijkbrug.database, "SELECT update_id, outcome FROM inbox"))
    assert set(outcomes) == set(api.handed_out) and None not in outcomes.values()
    assert stored(wijkbrug.database, "SELECT count(*) FROM inbox WHERE payload IS NOT NULL") == [(0,)]
    prompts = [t for t in texts(api, VOLUNTEER) if "How old is the child?" in t or "Which language" in t]
    assert len(prompts) == 2, prompts  # no step was answered twice
    assert stored(wijkbrug.database, "SELECT count(*) FROM users") == [(1,)]  # the stranger left no trace
    assert await wijkbrug.stop() == 0
    assert "An invented question" not in wijkbrug.logs() and "Fatima" not in wijkbrug.logs()


async def test_telegram_faults_delay_but_lose_nothing(wijkbrug: Wijkbrug) -> None:
    api = wijkbrug.api
    invite = json.loads(await wijkbrug.operator("invite", "--role", "volunteer", "--org", "kompas", "--json"))
    api.fail_next("getUpdates", status=500)
    api.fail_next("sendMessage", status=429, retry_after=1)
    api.fail_next("sendMessage", status=500)
    await wijkbrug.start()
    api.user_sends(VOLUNTEER, f"/start {invite['code']}", language_code="ar")
    await reply_containing(api, VOLUNTEER, "Wijkbrug")
    failed = [c["failed"] for c in api.calls if c["method"] == "sendMessage" and "failed" in c]
    assert failed == [429, 500]
    welcome = texts(api, VOLUNTEER)[0]
    assert "\u2066/new\u2069" in welcome  # Arabic: the commands stay left-to-right
    assert await wijkbrug.stop() == 0


async def test_a_wrong_token_stops_the_bot_with_a_clear_message(wijkbrug: Wijkbrug) -> None:
    wijkbrug.env["WIJKBRUG_TELEGRAM_TOKEN"] = "999:WRONG"
    await wijkbrug.start()
    assert wijkbrug.process is not None
    assert await asyncio.wait_for(wijkbrug.process.wait(), 20) == 2
    assert "Telegram refused the token in WIJKBRUG_TELEGRAM_TOKEN" in wijkbrug.logs()
    assert "Traceback" not in wijkbrug.logs()


MEMBER = 5003


async def test_a_member_accepts_a_warm_handover_by_pressing_the_button(wijkbrug: Wijkbrug) -> None:
    api = wijkbrug.api
    volunteer = json.loads(await wijkbrug.operator("invite", "--role", "volunteer", "--org", "lantaarn", "--json"))
    member = json.loads(await wijkbrug.operator("invite", "--role", "member", "--contact", "c-overvecht-2", "--json"))
    await wijkbrug.start()
    api.user_sends(VOLUNTEER, f"/start {volunteer['code']}", first_name="Fatima", language_code="en")
    api.user_sends(MEMBER, f"/start {member['code']}", first_name="Emre", language_code="nl")
    await reply_containing(api, MEMBER, "Emre Kocabaş van Buurtteam Overvecht")

    api.user_sends(VOLUNTEER, "/new", language_code="en")
    await reply_containing(api, VOLUNTEER, "Is a child in danger right now")
    for label, expect in [
        ("No", "What is the question about?"),
        ("School and education", "How old is the child?"),
        ("4–11 years", "Which language does the parent speak best?"),
        ("Turkish", "postcode"),
    ]:
        press(api, VOLUNTEER, label)
        await reply_containing(api, VOLUNTEER, expect)
    api.user_sends(VOLUNTEER, "3561", language_code="en")
    await reply_containing(api, VOLUNTEER, "Describe the question")
    api.user_sends(VOLUNTEER, "An invented question about a school letter.", language_code="en")
    await reply_containing(api, VOLUNTEER, "Please check the question:")
    press(api, VOLUNTEER, "Save")
    await reply_containing(api, VOLUNTEER, "warm handover?")
    press(api, VOLUNTEER, "🤝 Emre Kocabaş")
    await reply_containing(api, VOLUNTEER, "How will the family meet")
    press(api, VOLUNTEER, "The parent calls the professional")
    await reply_containing(api, VOLUNTEER, "Please read this to the parent")
    press(api, VOLUNTEER, "The parent agrees")
    await reply_containing(api, VOLUNTEER, "first name")
    api.user_sends(VOLUNTEER, "Invented", language_code="en")
    await reply_containing(api, VOLUNTEER, "phone number")
    api.user_sends(VOLUNTEER, "06 12345678", language_code="en")
    await reply_containing(api, VOLUNTEER, "best call the parent")
    press(api, VOLUNTEER, "No preference")
    await reply_containing(api, VOLUNTEER, "photo or a document")
    api.user_sends_photo(VOLUNTEER, language_code="en")
    await reply_containing(api, VOLUNTEER, "Please check the request")
    press(api, VOLUNTEER, "Send the request")

    # The member reads the request in Dutch, without the parent's identity, and accepts.
    await reply_containing(api, MEMBER, "H-")
    request = texts(api, MEMBER)[-1]
    assert "Invented" not in request and "12345678" not in request
    keyboard = api.last_keyboard(MEMBER)
    assert keyboard is not None
    accept = next(b for row in keyboard[1] for b in row if b["callback_data"].endswith(":accept:1"))
    api.user_presses(MEMBER, keyboard[0], accept["callback_data"], language_code="nl")
    await reply_containing(api, VOLUNTEER, "accepted your request")
    await api.wait_for(lambda a: any(c["method"] == "sendPhoto" for c in a.sent(MEMBER)), timeout=20)
    assert "Invented" in "\n".join(texts(api, MEMBER)) and "+31612345678" in "\n".join(texts(api, MEMBER))
    assert "Please ask the parent to call Emre Kocabaş on 06 9999 0402." in texts(api, VOLUNTEER)[-1]
    assert await wijkbrug.stop() == 0
