"""`wijkbrug run` starts the channels that are set up and fires the timers once, whatever they are.

The end-to-end test runs the real `wijkbrug run` process with WhatsApp settings only (no Telegram token)
against the fake Graph API (tests/fakegraphapi.py): a volunteer and a wijkteam member on WhatsApp, a
handover, the member's reminder, the Monday push and the nightly retention. Nothing moves the process's
clock: the test makes a timer due by its stored due time (as if the hours had passed), and the push and
the retention by their stored next times. Every person, id and number here is invented.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot import cli, directory_file, schedules
from bot.tasks import until_one_ends
from bot.whatsapp_render import ELLIPSIS
from db.connection import Patience
from tests.fakegraphapi import FakeGraphApi, WaUser

VERIFY = "invented-verify-token"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stored(database: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(database) as conn:
        return conn.execute(sql, args).fetchall()


def change(database: Path, sql: str, *args: object) -> None:
    """A change made from outside, as an operator's tool would (the bot holds no lock between statements)."""
    with sqlite3.connect(database, timeout=10) as conn:
        conn.execute(sql, args)


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()  # as db/timers.py and the schedules store times


class WhatsAppOnly:
    """Starts, kills and restarts `wijkbrug run` with WhatsApp settings and no Telegram token."""

    def __init__(self, graph: FakeGraphApi, folder: Path) -> None:
        self.graph = graph
        self.folder = folder
        self.database = folder / "wijkbrug.sqlite3"
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0
        port = free_port()
        graph.webhook_url = f"http://127.0.0.1:{port}/whatsapp"
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("WIJKBRUG_")}
        self.env.update({
            "WIJKBRUG_DATABASE": str(self.database),
            "WIJKBRUG_WHATSAPP_TOKEN": graph.token, "WIJKBRUG_WHATSAPP_PHONE_NUMBER_ID": graph.phone_number_id,
            "WIJKBRUG_WHATSAPP_APP_SECRET": graph.app_secret, "WIJKBRUG_WHATSAPP_VERIFY_TOKEN": VERIFY,
            "WIJKBRUG_WHATSAPP_API_URL": graph.api_url, "WIJKBRUG_WHATSAPP_LISTEN": f"127.0.0.1:{port}",
            "WIJKBRUG_WHATSAPP_NUMBER": graph.metadata["display_phone_number"],
        })

    async def operator(self, *args: str) -> str:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", *args, env=self.env, cwd=self.folder,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(30):
            out, err = await child.communicate()
        assert child.returncode == 0, err.decode()
        return out.decode()

    async def invite(self, *args: str) -> str:
        made = json.loads(await self.operator("invite", *args, "--channel", "whatsapp", "--json"))
        return str(made["code"])

    async def start(self) -> None:
        self.starts += 1
        log = (self.folder / f"run-{self.starts}.log").open("wb")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", env=self.env, cwd=self.folder, stdout=log, stderr=log
        )

    async def writes(self, user: WaUser, text: str) -> None:
        """`user` writes `text`; sent again while the webhook does not listen yet (the bot is starting)."""
        for _ in range(200):
            if (await self.graph.deliver_message(user, text)).answers == [200]:
                return
            assert self.process is not None and self.process.returncode is None, self.logs()
            await asyncio.sleep(0.1)
        raise AssertionError("the webhook never answered")

    async def join(self, name: str, code: str) -> WaUser:
        user = self.graph.add_user(name)
        await self.writes(user, f"START {code}")
        await hears(self.graph, user, name)
        return user

    async def settled(self) -> None:
        """Every webhook handled and every message delivered (or held for a closed window)."""
        def idle() -> bool:
            waiting = stored(
                self.database,
                "SELECT (SELECT count(*) FROM outbox WHERE next_attempt_at <= ?)"
                " + (SELECT count(*) FROM inbox WHERE processed_at IS NULL)",
                utc(datetime.now(UTC)),
            )
            return waiting == [(0,)]

        await self.graph.wait_for(lambda _: idle(), timeout=20)

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        async with asyncio.timeout(10):
            await self.process.wait()

    async def stop(self) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(10):
                await self.process.wait()
        return self.process.returncode or 0

    def logs(self) -> str:
        return "\n".join((self.folder / f"run-{i}.log").read_text(errors="replace") for i in range(1, self.starts + 1))


@pytest.fixture
async def whatsapp_only(tmp_path: Path) -> AsyncIterator[WhatsAppOnly]:
    async with FakeGraphApi() as graph:
        bot = WhatsAppOnly(graph, tmp_path)
        await bot.operator("directory", "import", str(directory_file.sample_path()))
        yield bot
        if bot.process is not None and bot.process.returncode is None:
            await bot.kill()


async def hears(graph: FakeGraphApi, user: WaUser, fragment: str, count: int = 1) -> None:
    try:
        await graph.wait_for(
            lambda g: g.refused() or sum(fragment in text for text in g.texts(user)) >= count, timeout=20
        )
    except TimeoutError:
        raise AssertionError(f"not heard {fragment!r}; the last: {graph.texts(user)[-2:]}") from None
    # Every payload the bot sent passed the fake's checks.
    assert not graph.refused(), json.dumps(graph.refused(), ensure_ascii=False)


async def press(graph: FakeGraphApi, user: WaUser, label: str) -> None:
    """Press the option `label` of the last interactive message (its title may be shortened with …)."""
    await graph.wait_for(lambda g: any(m["type"] == "interactive" for m in g.sent_to(user)))
    last: dict[str, Any] = next(m for m in reversed(graph.sent_to(user)) if m["type"] == "interactive")
    action = last["payload"]["interactive"]["action"]
    kind = "button_reply" if "buttons" in action else "list_reply"
    options = [b["reply"] for b in action["buttons"]] if "buttons" in action else [
        row for section in action["sections"] for row in section["rows"]
    ]
    for option in options:
        title = option["title"]
        if title == label or (title.endswith(ELLIPSIS) and label.startswith(title[:-1])):
            for _ in range(200):  # again while the webhook does not listen yet (the bot is starting)
                if (await graph.deliver_message(user, **{kind: option["id"]})).answers == [200]:
                    return
                await asyncio.sleep(0.1)
            raise AssertionError("the webhook never answered")
    raise AssertionError(f"no option {label!r}: {[o['title'] for o in options]}")


async def ask_for_a_handover(graph: FakeGraphApi, volunteer: WaUser) -> None:
    """The volunteer (in English) logs a question and asks Emre Kocabaş (c-overvecht-2) for a warm handover."""
    await graph.deliver_message(volunteer, "/language en")
    await hears(graph, volunteer, "From now on I will write to you in this language")
    steps: list[tuple[str, str, bool]] = [  # (what the bot asks, the answer, pressed or typed)
        ("/new", "First, a safety question", False), ("No", "What is the question about?", True),
        ("School and education", "How old is the child?", True),
        ("4–11 years", "Which language does the parent speak best?", True),
        ("Turkish", "What is the parent's postcode?", True), ("3561 AB", "in your own words", False),
        ("The mother has a letter from school (invented).", "Please check the question", False),
        ("Save", "Do you want to ask one of them for a warm handover?", True),
        ("🤝 Emre Kocabaş", "How will the family meet", True),
        ("The volunteer and the parent call together", "Please read this to the parent", True),
        ("The parent agrees", "What is the parent's first name?", True),
        ("Fatma", "What is the parent's phone number?", False), ("06 12345678", "When can", False),
        ("afternoons", "Do you want to add a photo or a document", False),
        ("No attachment", "Please check the request", True), ("Send the request", "Sent to Emre Kocabaş", True),
    ]
    for answer, then, pressed in steps:
        if pressed:
            await press(graph, volunteer, answer)
        else:
            await graph.deliver_message(volunteer, answer)
        await hears(graph, volunteer, then)


async def test_a_whatsapp_only_install_runs_its_reminders_monday_push_and_retention(
    whatsapp_only: WhatsAppOnly,
) -> None:
    bot, graph = whatsapp_only, whatsapp_only.graph
    codes = [
        await bot.invite("--role", "volunteer", "--org", "lantaarn"),
        await bot.invite("--role", "member", "--contact", "c-overvecht-2"),
        await bot.invite("--role", "coordinator", "--org", "lantaarn"),
    ]
    await bot.start()
    ayse = await bot.join("Ayşe", codes[0])
    emre = await bot.join("Emre", codes[1])
    noor = await bot.join("Noor", codes[2])
    await ask_for_a_handover(graph, ayse)
    await hears(graph, emre, "Verzoek om een warme overdracht")

    # The member does not answer; the working hours pass (the reminder's stored due time, not a clock).
    [(case_id, due)] = stored(bot.database, "SELECT case_id, due_at FROM timers WHERE kind = 'remind'")
    assert datetime.fromisoformat(due) > datetime.now(UTC)  # it was not due
    change(bot.database, "UPDATE timers SET due_at = ? WHERE kind = 'remind'", utc(datetime.now(UTC)))
    await hears(graph, emre, "⏰ Herinnering")
    assert stored(bot.database, "SELECT fired_at IS NOT NULL FROM timers WHERE kind = 'remind'") == [(1,)]

    # Monday 09:00 comes (the stored time of the next push), and the night (the next retention run).
    pushes = stored(bot.database, "SELECT value FROM settings WHERE key = ?", schedules.PUSH_KEY)
    assert pushes and datetime.fromisoformat(pushes[0][0]) > datetime.now(UTC)  # set on the first round
    change(bot.database, "UPDATE settings SET value = ? WHERE key = ?", utc(datetime.now(UTC)), schedules.PUSH_KEY)
    await hears(graph, noor, "Goedemorgen! Hier is het overzicht van vorige week.")
    retention = stored(bot.database, "SELECT value FROM settings WHERE key = ?", schedules.RETENTION_KEY)
    assert retention and datetime.fromisoformat(retention[0][0]) > datetime.now(UTC)
    past = utc(datetime.now(UTC) - timedelta(minutes=1))
    change(bot.database, "UPDATE settings SET value = ? WHERE key = ?", past, schedules.RETENTION_KEY)
    await graph.wait_for(lambda _: stored(
        bot.database, "SELECT value FROM settings WHERE key = ?", schedules.RETENTION_KEY) != [(past,)])
    [(next_run,)] = stored(bot.database, "SELECT value FROM settings WHERE key = ?", schedules.RETENTION_KEY)
    assert timedelta(0) < datetime.fromisoformat(next_run) - datetime.now(UTC) <= timedelta(days=1, hours=3)
    [(next_push,)] = stored(bot.database, "SELECT value FROM settings WHERE key = ?", schedules.PUSH_KEY)
    monday = datetime.fromisoformat(next_push).astimezone(ZoneInfo("Europe/Amsterdam"))
    assert monday > datetime.now(UTC) and (monday.weekday(), monday.hour, monday.minute) == (0, 9, 0)

    # Once each: a restart does not send them again.
    await bot.settled()
    assert await bot.stop() == 0, bot.logs()[-3000:]
    await bot.start()
    before = len(graph.sent_to(noor)), len(graph.sent_to(emre))
    await bot.writes(noor, "/help")
    await bot.writes(emre, "/help")
    await graph.wait_for(lambda g: len(g.sent_to(noor)) > before[0] and len(g.sent_to(emre)) > before[1])
    await bot.settled()
    assert sum("⏰ Herinnering" in text for text in graph.texts(emre)) == 1
    assert sum("Goedemorgen!" in text for text in graph.texts(noor)) == 1
    assert stored(bot.database, "SELECT status FROM cases WHERE id = ?", case_id) == [("requested",)]  # unanswered
    assert graph.refused() == []
    assert await bot.stop() == 0, bot.logs()[-3000:]
    logs = bot.logs()
    assert "running: whatsapp" in logs
    assert "Fatma" not in logs and "Ayşe" not in logs and ayse.bsuid not in logs


# --- the parts, in-process -------------------------------------------------------------------------------------


@pytest.fixture
def no_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for key in [key for key in os.environ if key.startswith("WIJKBRUG_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("WIJKBRUG_DATABASE", str(tmp_path / "wijkbrug.sqlite3"))
    return tmp_path


def test_run_without_any_channel_names_the_settings_on_one_line(no_settings: Path, capsys) -> None:  # noqa: ANN001
    assert cli.main(["run"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("wijkbrug run: no channel is set up")
    for name in ("WIJKBRUG_TELEGRAM_TOKEN", "WIJKBRUG_WHATSAPP_TOKEN", "WIJKBRUG_WEB_LISTEN", "wijkbrug demo"):
        assert name in err


def test_a_telegram_webhook_without_telegram_is_refused(no_settings: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    monkeypatch.setenv("WIJKBRUG_WEB_LISTEN", "127.0.0.1:8080")
    monkeypatch.setenv("WIJKBRUG_PUBLIC_URL", "https://wijkbrug.example.nl")
    assert cli.main(["run", "--webhook", "https://wijkbrug.example.nl/telegram"]) == 2
    assert "--webhook is Telegram's" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("settings", "command"),
    [
        ({}, "demo"),
        ({"WIJKBRUG_TELEGRAM_TOKEN": "123:INVENTED"}, "run"),
        ({"WIJKBRUG_WEB_LISTEN": "127.0.0.1:8080", "WIJKBRUG_PUBLIC_URL": "https://wijkbrug.example.nl"}, "run"),
        ({
            "WIJKBRUG_WHATSAPP_TOKEN": "invented", "WIJKBRUG_WHATSAPP_PHONE_NUMBER_ID": "100000000000001",
            "WIJKBRUG_WHATSAPP_APP_SECRET": "invented", "WIJKBRUG_WHATSAPP_VERIFY_TOKEN": "invented",
            "WIJKBRUG_WHATSAPP_LISTEN": "127.0.0.1:8081",
        }, "run"),
    ],
)
def test_wijkbrug_alone_runs_when_a_channel_is_set_up_else_the_demo(
    no_settings: Path, monkeypatch: pytest.MonkeyPatch, settings: dict[str, str], command: str
) -> None:
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    chosen: list[str] = []

    async def demo(*args: object, **kwargs: object) -> int:
        chosen.append("demo")
        return 0

    monkeypatch.setattr("bot.cli_run.run", lambda settings, webhook=None: chosen.append("run") or 0)
    monkeypatch.setattr("bot.cli_demo.demo", demo)
    assert cli.main([]) == 0
    assert chosen == [command]


async def test_until_one_ends_stops_the_rest_when_one_fails_or_returns() -> None:
    stopped: list[str] = []

    async def forever(name: str) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            stopped.append(name)

    async def fails() -> None:
        await asyncio.sleep(0)
        raise LookupError("a bug")

    with pytest.raises(LookupError):
        await until_one_ends({"a": forever("a"), "fails": fails()}, {"helper": forever("helper")})
    assert sorted(stopped) == ["a", "helper"]
    stopped.clear()
    await until_one_ends({"b": forever("b"), "returns": asyncio.sleep(0)})
    assert stopped == ["b"]


async def test_the_timers_loop_waits_out_storage_trouble_and_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk or a lock in a timer's round is rolled back and tried again; the loop does not end."""
    from bot.core import StorageProblem

    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode, full.sqlite_errorname = 13, "SQLITE_FULL"  # as SQLite sets them
    troubles: list[Exception] = [full, StorageProblem("database is locked")]
    rounds: list[int] = []
    pauses: list[float] = []
    done = asyncio.Event()

    async def fire(core: object) -> int:
        rounds.append(1)
        if troubles:
            raise troubles.pop()
        if len(rounds) > 4:
            done.set()
        return 1 if len(rounds) == 3 else 0  # a busy round looks again at once

    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    monkeypatch.setattr(schedules, "fire_timers", fire)
    loop = asyncio.create_task(schedules.keep_firing(None, Patience(sleep=pause), look_every=0))  # type: ignore[arg-type]
    async with asyncio.timeout(5):
        await done.wait()
    assert not loop.done()  # still firing after both
    loop.cancel()
    await asyncio.gather(loop, return_exceptions=True)
    assert pauses == [0.1, 0.2]
