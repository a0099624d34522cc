"""The demo's WhatsApp person (issue 17): Yusuf, an invented volunteer of the invented Het Kompas, joins
by `START <code>` with an invite in Turkish; what the bot tells him goes through the real WhatsApp
sender (bot/whatsapp_send.py: the renderer, the 24-hour window of db/whatsapp.py on the demo's clock)
and is printed as his phone shows it (`📱 Yusuf:`); what he does goes in as Meta's webhook body,
parsed by bot/whatsapp_updates.py and stored by the webhook's intake.

The golden transcript is tests/demo/by-whatsapp.txt; `WIJKBRUG_UPDATE_GOLDEN=1` rewrites it.
"""

from __future__ import annotations

import io
import os
import sqlite3
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import cli_demo, demo_script
from bot.cli_demo import Folder
from bot.console import WHATSAPP, Console, ConsoleSender, DemoClock
from bot.console_whatsapp import ConsoleWhatsApp
from bot.demo_session import Demo
from bot.settings import load
from db import conversations, outbox, users
from db.connection import transaction
from tests.test_demo import fixed_codes

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "examples" / "by-whatsapp.txt"
GOLDEN = Path(__file__).parent / "demo" / "by-whatsapp.txt"
UPDATE = os.environ.get("WIJKBRUG_UPDATE_GOLDEN") == "1"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
START = datetime(2026, 11, 30, 10, 0, tzinfo=AMSTERDAM)
CAST = "Yusuf: volunteer kompas tr by whatsapp\nEmre: member c-overvecht-2 nl\n"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WIJKBRUG_DATABASE", str(tmp_path / "unused.sqlite3"))
    monkeypatch.delenv("WIJKBRUG_TELEGRAM_TOKEN", raising=False)
    return tmp_path


async def replay(env: Path, database: Path | None = None) -> str:
    out = io.StringIO()
    stdin, sys.stdin = sys.stdin, io.StringIO("")
    try:
        assert await cli_demo.demo(load(), EXAMPLE, None, database, env / "out", out=out, codes=fixed_codes()) == 0
    finally:
        sys.stdin = stdin
    return out.getvalue()


async def test_the_example_replays_to_its_golden_transcript(env: Path) -> None:
    actual = await replay(env)
    if UPDATE:
        GOLDEN.write_text(actual, "utf-8")
    assert actual == GOLDEN.read_text("utf-8"), "the demo's transcript differs; rerun with WIJKBRUG_UPDATE_GOLDEN=1"


async def test_the_template_comes_first_and_the_held_message_once_yusuf_replies(env: Path) -> None:
    text = await replay(env)
    accepted = text.index("Emre > [Aannemen]")
    replied = text.index("Yusuf > Teşekkürler!")
    between, after = text[accepted:replied], text[replied:]
    # the window closed on Tuesday morning: only the template, in Turkish, reaches Yusuf
    assert "📱 Yusuf: ▣ template wijkbrug_new_message (tr): Wijkbrug'da yeni bir mesajınız var." in between
    assert "kabul etti" not in between
    # his reply opens the window: the held acceptance first, then the answer to what he wrote
    news, answer = after.index("📱 Yusuf: ✅ Emre Kocabaş"), after.index("📱 Yusuf: Bir anne veya babanın")
    assert "H-100001 kodlu talebinizi kabul etti" in after and news < answer
    assert after.count("▣ template") == 0


async def test_buttons_and_lists_are_shown_as_whatsapp_shortens_them(env: Path) -> None:
    text = await replay(env)
    assert "    [1] Evet, bir çocuk teh…  [2] Hayır\n" in text  # a reply button's title: 20 characters
    assert "    ☰ Seçin\n    [1] Çocuk yetiştirme\n" in text  # more than three options: a list
    assert "    [2] Gönüllü, anne veya baba… — Gönüllü, anne veya babayla birlikte arar\n" in text
    assert "Yusuf > [2] Gönüllü, anne veya baba…\n" in text  # a press by number shows the title he saw
    assert "📱 Yusuf: (2/2)\n    ☰ Seçin\n    [1] İngilizce\n" in text  # eleven languages: two pages


async def test_yusuf_joined_by_start_code_in_the_invite_s_language(env: Path) -> None:
    database = env / "demo.sqlite3"
    await replay(env, database)
    with sqlite3.connect(database) as conn:
        row = conn.execute(
            "SELECT u.language, a.channel, a.address, a.last_inbound_at IS NOT NULL FROM users u "
            "JOIN addresses a ON a.user_id = u.id WHERE u.org_id = 'kompas'"
        ).fetchone()
        assert row == ("tr", "whatsapp", "NL.0000000000001001", 1)  # WhatsApp gave no language: the invite's
        assert conn.execute("SELECT language FROM invites WHERE used_at IS NOT NULL AND org_id = 'kompas'").fetchone() \
            == ("tr",)
        # his input went through the WhatsApp inbox, each message under its wamid
        wamids = conn.execute("SELECT external_id FROM inbox WHERE channel = 'whatsapp'").fetchall()
        assert wamids and all(w.startswith("wamid.") for (w,) in wamids)
        # his phone reported each message delivered (a status webhook): no copy is kept for a late failure
        assert conn.execute("SELECT count(*) FROM whatsapp_sent").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM whatsapp_statuses WHERE status = 'delivered'").fetchone()[0] > 20


class Played:
    """The demo with Yusuf and Emre, played step by step (a test's own hands on the console)."""

    def __init__(self, env: Path) -> None:
        self.out = io.StringIO()
        settings = load()
        self.catalogs = settings.catalogs()
        self.clock = DemoClock(START)
        sender = ConsoleSender(self.out, {}, Folder(env / "out"))
        self.phones = ConsoleWhatsApp(sender._write, self.catalogs)
        questions, cases = fixed_codes()
        self.console = Console(
            env / "demo.sqlite3", self.catalogs, self.clock, sender, whatsapp=self.phones, new_code=questions,
            new_case=cases,
        )
        self.script = demo_script.parse(CAST, "<test>")

    async def __aenter__(self) -> Played:
        await self.console.open()
        await cli_demo.seed_sample(self.console.runner.conn)
        self.demo = Demo(self.console, self.script, self.out, AMSTERDAM)
        await self.demo.setup()
        self.yusuf, self.emre = self.demo.people
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.console.close()

    def said(self) -> str:
        text = self.out.getvalue()
        self.out.seek(0)
        self.out.truncate()
        return text


async def test_a_press_goes_in_by_the_button_s_id_as_a_whatsapp_reply(env: Path) -> None:
    async with Played(env) as played:
        await played.console.type(played.yusuf, "/new")
        assert "[1] Evet, bir çocuk teh…  [2] Hayır" in played.said()
        message_id, rows = played.yusuf.newest_buttons() or (0, [])
        assert message_id not in played.phones.lists  # reply buttons, not a list
        title, data = rows[1]
        assert (title, data.rpartition("|")[2]) == ("Hayır", "no")  # the core's `<token>|<value>` id
        assert await played.console.press(played.yusuf, "Hayır") == "Hayır"
        assert "📱 Yusuf: Soru hangi konuyla ilgili?\n    ☰ Seçin\n" in played.said()
        # the list's rows carry their ids too: a row pressed is a list_reply
        newest, rows = played.yusuf.newest_buttons() or (0, [])
        assert newest in played.phones.lists
        assert await played.console.press(played.yusuf, "Okul ve eğitim") == "Okul ve eğitim"
        assert "📱 Yusuf: Çocuk kaç yaşında?" in played.said()


async def test_bad_input_is_answered_in_turkish_and_changes_nothing(env: Path) -> None:
    async with Played(env) as played:
        await played.console.type(played.yusuf, "/new")
        played.said()
        conn = played.console.conn
        assert conn is not None
        account = await users.by_address(conn, WHATSAPP, played.yusuf.address)
        assert account is not None
        before = await conversations.load(conn, account.id)
        await played.console.type(played.yusuf, "belki")  # neither yes nor no
        answer = played.said()
        assert answer.startswith("📱 Yusuf: Lütfen düğmelerden birini seçin.")  # in Turkish: please choose a button
        assert "[1] Evet, bir çocuk teh…  [2] Hayır" in answer  # and the question again, with its buttons
        after = await conversations.load(conn, account.id)
        assert after.model_copy(update={"token": before.token}) == before  # the question asked again, anew
        # a stale press (the safety question's buttons after it was answered) changes nothing either
        stale = played.yusuf.button("Hayır")
        assert stale is not None
        await played.console.press(played.yusuf, "Hayır")
        played.said()
        after_first = await conversations.load(conn, account.id)
        await played.console._from_phone(played.yusuf, {"type": "interactive", "content": {"interactive": {
            "type": "button_reply", "button_reply": {"id": stale[2], "title": "Hayır"}}}})
        # told on WhatsApp, as a new message (WhatsApp cannot edit one): this choice has expired
        assert played.said() == "📱 Yusuf: Bu seçimin süresi doldu. Lütfen en son mesajı kullanın.\n"
        again = await conversations.load(conn, account.id)
        assert (again.step, again.draft) == (after_first.step, after_first.draft)


async def test_held_messages_are_released_in_order_when_he_writes_again(env: Path) -> None:
    async with Played(env) as played:
        await played.console.type(played.yusuf, "/help")
        played.said()
        await played.console.advance(played.clock() + timedelta(hours=25), lambda at: "⏱")
        for text in ("/cases", "/help"):  # two things for Yusuf while his window is closed
            conn = played.console.conn
            assert conn is not None
            async with transaction(conn):
                await outbox.enqueue(conn, WHATSAPP, played.yusuf.address, "say", {"text": f"held {text}"},
                                     played.clock())
        await played.console.advance(played.clock() + timedelta(minutes=1), lambda at: "⏱")
        shown = played.said()
        assert shown.count("▣ template") == 1 and "held" not in shown  # the template once, nothing else
        await played.console.advance(played.clock() + timedelta(hours=7), lambda at: "⏱")
        assert "📱" not in played.said()  # still held: no second template
        await played.console.type(played.yusuf, "merhaba")
        shown = played.said()
        first, second = shown.index("📱 Yusuf: held /cases"), shown.index("📱 Yusuf: held /help")
        assert first < second < shown.index("📱 Yusuf: Bir anne veya babanın")  # in order, before the answer


async def test_at_the_keyboard_yusuf_is_played_like_anyone_else(env: Path) -> None:
    from tests.test_demo import play

    out = await play(None, env / "out", "/as yusuf\n/new\n2\n", START)
    assert "  (demo) you are Yusuf now, volunteer, reading tr on WhatsApp (📱)\n" in out
    assert "  you | [2] Hayır\n📱 Yusuf: Soru hangi konuyla ilgili?\n    ☰ Seçin\n    [1] Çocuk yetiştirme\n" in out
    assert " 8. Yusuf  volunteer at Demo-vereniging Het Kompas (invented) · reads tr · on WhatsApp" in out
