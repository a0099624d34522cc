"""Invites carry a language (issue 17): WhatsApp tells the bot no language for its users, so the
operator may give the one a person starts in (`wijkbrug invite … --language tr`, migration 020). A
language Wijkbrug does not ship is an operator's error naming the option and the allowed values."""

from __future__ import annotations

import io
import json
import os
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import cli, cli_demo, directory_file
from bot.cli_demo import Folder
from bot.console import Console, ConsolePerson, ConsoleSender, DemoClock
from bot.settings import load
from db import invites, users
from db.connection import transaction
from flows.model import Role


@pytest.fixture
def operator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.upper().startswith("WIJKBRUG_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("WIJKBRUG_DATABASE", str(tmp_path / "data" / "test.sqlite3"))
    monkeypatch.setenv("WIJKBRUG_WHATSAPP_NUMBER", "+31600000099")
    assert cli.main(["directory", "import", str(directory_file.sample_path())]) == 0
    return tmp_path


def stored_languages(operator: Path) -> list[str | None]:
    with sqlite3.connect(operator / "data" / "test.sqlite3") as conn:
        return [row[0] for row in conn.execute("SELECT language FROM invites ORDER BY created_at")]


def test_a_whatsapp_invite_stores_its_language(operator: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["invite", "--role", "volunteer", "--org", "kompas", "--channel", "whatsapp", "--language", "tr", "--json"]
    assert cli.main(argv) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["link"].startswith("https://wa.me/31600000099?text=START%20")
    assert cli.main(["invite", "--role", "volunteer", "--org", "kompas", "--json"]) == 0  # none given: none stored
    assert stored_languages(operator) == ["tr", None]


@pytest.mark.parametrize("wrong", ["xx", "TR", "tr-TR", "turks"])
def test_a_language_not_shipped_is_an_operator_error_naming_the_option(
    operator: Path, capsys: pytest.CaptureFixture[str], wrong: str
) -> None:
    argv = ["invite", "--role", "volunteer", "--org", "kompas", "--channel", "whatsapp", "--language", wrong]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert f"--language {wrong!r} is not a language Wijkbrug writes; use one of: nl, " in err
    assert all(code in err for code in ("tr", "ar", "pl", "uk", "ti", "so", "fa", "en"))
    assert stored_languages(operator) == []  # nothing made


def test_by_e_mail_the_page_asks_the_language(operator: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["invite", "--role", "member", "--contact", "c-overvecht-1", "--email", "--language", "tr"]
    assert cli.main(argv) == 2
    assert "--language is for a chat invite" in capsys.readouterr().err
    assert stored_languages(operator) == []


async def test_the_invite_s_language_wins_over_the_app_s(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Registered through the gate: the invite says Turkish, the app says Dutch; Turkish it is, and the
    welcome says so without calling the app's language one the bot does not write."""
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    clock = DemoClock(datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo("Europe/Amsterdam")))
    console = Console(tmp_path / "demo.sqlite3", load().catalogs(), clock, ConsoleSender(out, {}, Folder(None)))
    await console.open()
    try:
        await cli_demo.seed_sample(console.runner.conn)
        conn = console.conn
        assert conn is not None
        async with transaction(conn):
            made = await invites.create(
                conn, role=Role.VOLUNTEER, org_id="kompas", now=clock(), valid_for=timedelta(days=1), language="tr"
            )
        person = ConsolePerson("Deniz", "1001", Role.VOLUNTEER, "nl")  # the app reports nl
        console.sender.people[person.address] = person
        await console.type(person, f"/start {made.code}")
        account = await users.by_chat(conn, "console", "1001")
        assert account is not None and account.language == "tr"
        welcome = out.getvalue()
        assert welcome.startswith("→ Deniz: Hoş geldiniz, Deniz! Burası Wijkbrug.")
        assert "Size şu dilde yazıyorum: Türkçe." in welcome  # not "your phone's language (Dutch) is not one…"
        assert "telefon" not in welcome.lower()
    finally:
        await console.close()
