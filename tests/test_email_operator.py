"""The operator's side of e-mail: `wijkbrug invite --email` through a real SMTP server, the SMTP
settings named when wrong, the delivery workers `wijkbrug run` starts, and a fresh link after an
expired one. All people and addresses are invented."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot import cli
from bot.email_people import Joined, register_email_person, send_fresh_link
from bot.email_send import email_worker, side_channels
from bot.settings import Settings, SettingsProblem, load
from db import invites, login_links, users
from db import vault as sealing
from db.connection import Connection, Patience, connect, transaction
from db.login_links import Opened
from db.vault import Vault
from tests.conftest import FakeClock
from tests.smtp_server import LOGIN, SmtpServer, smtp_server, smtp_tls_server  # noqa: F401 - fixtures
from tests.test_email import PUBLIC, drain, smtp_of, token_of
from tests.test_email_people import _directory, _invite

OVERVECHT_2 = "emre.kocabas@buurtteam.example"  # c-overvecht-2 in the sample directory (invented)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in list(__import__("os").environ):
        if name.upper().startswith("WIJKBRUG_"):
            monkeypatch.delenv(name)
    database = tmp_path / "data" / "test.sqlite3"
    monkeypatch.setenv("WIJKBRUG_DATABASE", str(database))
    return database


def mail_settings(monkeypatch: pytest.MonkeyPatch, server: SmtpServer) -> None:
    monkeypatch.setenv("WIJKBRUG_SMTP_HOST", server.host)
    monkeypatch.setenv("WIJKBRUG_SMTP_PORT", str(server.port))
    monkeypatch.setenv("WIJKBRUG_SMTP_FROM", "Wijkbrug <wijkbrug@example.org>")
    monkeypatch.setenv("WIJKBRUG_PUBLIC_URL", PUBLIC + "/")


async def test_invite_by_email_sends_the_join_link_to_the_directory_address(
    env, monkeypatch, capsys, smtp_server, clock  # noqa: F811 - fixtures
) -> None:
    from bot import directory_file

    assert await asyncio.to_thread(cli.main, ["directory", "import", str(directory_file.sample_path())]) == 0
    mail_settings(monkeypatch, smtp_server)
    capsys.readouterr()
    argv = ["invite", "--role", "member", "--contact", "c-overvecht-2", "--email"]
    assert await asyncio.to_thread(cli.main, argv) == 0
    out = capsys.readouterr().out
    assert "sent by e-mail to e…@buurtteam.example" in out and OVERVECHT_2 not in out
    (mail,) = smtp_server.received
    assert mail.recipients == [OVERVECHT_2] and mail.message["Auto-Submitted"] == "auto-generated"
    assert str(mail.message["Subject"]) == "Uitnodiging voor Wijkbrug"
    link = mail.link()
    assert link.startswith(f"{PUBLIC}/join/")
    code = link.rsplit("/", 1)[1]
    conn = await connect(env)
    try:
        assert await invites.find_usable(conn, code, clock.now + timedelta(days=1)) is not None
        async with transaction(conn):
            joined = await register_email_person(conn, code, None, clock.now + timedelta(days=1))
        assert isinstance(joined, Joined)
    finally:
        await conn.close()
    # Nobody to send it to: refused, named, nothing sent.
    assert await asyncio.to_thread(cli.main, ["invite", "--role", "volunteer", "--org", "lantaarn", "--email"]) == 2
    assert "--email is for a wijkteam member" in capsys.readouterr().err
    smtp_server.refuse(OVERVECHT_2, "550 5.1.1 no such mailbox")
    assert await asyncio.to_thread(cli.main, argv) == 2
    assert "could not be sent" in capsys.readouterr().err
    assert len(smtp_server.received) == 1


def test_invite_by_email_without_smtp_says_what_to_set(env, capsys) -> None:
    from bot import directory_file

    assert cli.main(["directory", "import", str(directory_file.sample_path())]) == 0
    assert cli.main(["invite", "--role", "member", "--contact", "c-overvecht-2", "--email"]) == 2
    err = capsys.readouterr().err
    assert "WIJKBRUG_SMTP_HOST" in err and "WIJKBRUG_PUBLIC_URL" in err


@pytest.mark.parametrize(
    ("lines", "named"),
    [
        ("WIJKBRUG_SMTP_HOST=smtp.example.org\nWIJKBRUG_SMTP_PORT=submission\n", ".env, line 2: WIJKBRUG_SMTP_PORT: "),
        ("WIJKBRUG_SMTP_HOST=smtp://smtp.example.org\n", ".env, line 1: WIJKBRUG_SMTP_HOST: not a host name"),
        ("WIJKBRUG_SMTP_FROM=wijkbrug\n", ".env, line 1: WIJKBRUG_SMTP_FROM: not an e-mail address"),
        ("WIJKBRUG_PUBLIC_URL=wijkbrug.example.org\n", ".env, line 1: WIJKBRUG_PUBLIC_URL: not a web address"),
        ("WIJKBRUG_SMTP_USER=wijkbrug\n", "WIJKBRUG_SMTP_PASSWORD: WIJKBRUG_SMTP_USER and WIJKBRUG_SMTP_PASSWORD go"),
        ("WIJKBRUG_SMTP_HOST=smtp.example.org\nWIJKBRUG_PUBLIC_URL=https://w.example.org\n",
         "WIJKBRUG_SMTP_FROM: needed when WIJKBRUG_SMTP_HOST is set"),
    ],
)
def test_bad_smtp_settings_are_named(env, lines: str, named: str) -> None:
    Path(".env").write_text(lines, "utf-8")
    with pytest.raises(SettingsProblem) as caught:
        load()
    assert named in str(caught.value)
    assert "submission" not in str(caught.value).split(named)[0]  # the value itself is never shown


async def test_run_starts_the_web_and_email_workers_when_set_up(env, catalogs, clock) -> None:
    vault = Vault.generate()
    plain = Settings(database=env)
    assert await side_channels(plain, catalogs, clock, vault, Patience()) == ([], [])
    web_only = Settings(database=env, public_url=PUBLIC)
    workers, conns = await side_channels(web_only, catalogs, clock, vault, Patience())
    assert [w.channel for w in workers] == ["web"]
    for conn in conns:
        await conn.close()
    both = Settings(database=env, public_url=PUBLIC, smtp_host="127.0.0.1", smtp_from="wijkbrug@example.org")
    workers, conns = await side_channels(both, catalogs, clock, vault, Patience())
    assert [w.channel for w in workers] == ["web", "email"] and len(conns) == 4
    for conn in conns:
        await conn.close()


async def test_an_expired_link_brings_a_fresh_one_to_the_same_address(
    conn: Connection, db_path, clock: FakeClock, catalogs, smtp_server  # noqa: F811
) -> None:
    await _directory(conn)
    code = await _invite(conn, clock, contact_id="c-overvecht-2")
    async with transaction(conn):
        joined = await register_email_person(conn, code, None, clock(), language="pl")
        assert isinstance(joined, Joined)
        old = await login_links.create(conn, joined.user_id, clock(), valid_for=timedelta(hours=1))
    clock.advance(hours=2)
    async with transaction(conn):
        refused = await login_links.use(conn, old, clock())
        assert refused.user_id == joined.user_id  # type: ignore[union-attr]
        assert await send_fresh_link(conn, joined.user_id, clock())
    sender_conn = await connect(db_path)
    sealing_vault = sealing.of(conn)
    sealing.attach(sender_conn, sealing_vault)
    worker = email_worker(conn, sender_conn, catalogs, clock, smtp_of(smtp_server), timedelta(minutes=15), Patience())
    try:
        await drain(worker)
    finally:
        await sender_conn.close()
    (mail,) = smtp_server.received
    assert mail.recipients == [OVERVECHT_2] and str(mail.message["Subject"]) == "Twój nowy link do Wijkbrug"
    async with transaction(conn):
        assert await login_links.use(conn, token_of(mail), clock()) == Opened(joined.user_id)
    account = await users.get(conn, joined.user_id)
    assert account is not None and account.chat_id == OVERVECHT_2


async def test_with_a_login_the_connection_is_encrypted_first(
    conn: Connection, db_path, clock: FakeClock, catalogs, smtp_tls_server  # noqa: F811
) -> None:
    await _directory(conn)
    code = await _invite(conn, clock, contact_id="c-overvecht-2")
    async with transaction(conn):
        joined = await register_email_person(conn, code, None, clock())
        assert isinstance(joined, Joined) and await send_fresh_link(conn, joined.user_id, clock())
    user, password = LOGIN
    good = replace(smtp_of(smtp_tls_server), user=user, password=password, tls_context=smtp_tls_server.client_tls)
    sender_conn = await connect(db_path)
    sealing.attach(sender_conn, sealing.of(conn))
    try:
        wrong = email_worker(
            conn, sender_conn, catalogs, clock, replace(good, password="wrong"), timedelta(minutes=15), Patience()
        )
        await drain(wrong)  # a refused login: the outbox waits for the operator to fix it
        assert smtp_tls_server.received == [] and smtp_tls_server.logins == []
        clock.advance(minutes=5)
        await drain(email_worker(conn, sender_conn, catalogs, clock, good, timedelta(minutes=15), Patience()))
    finally:
        await sender_conn.close()
    assert smtp_tls_server.logins == [user] and [m.recipients for m in smtp_tls_server.received] == [[OVERVECHT_2]]


async def test_alerts_held_for_a_team_reach_its_coordinator_who_joins_by_email(
    conn: Connection, clock: FakeClock, catalogs
) -> None:
    from bot.runner import Runner
    from db import alerts, outbox
    from flows.model import Message, Notice, ToCoordinators
    from flows.text import plain

    await _directory(conn)
    held = Message(
        to=ToCoordinators(team_id="bt-overvecht"), parts=(plain("Invented alert"),),
        notice=Notice(kind="alert", org="De Lantaarn"),
    )
    async with transaction(conn):
        await alerts.hold(conn, "team:bt-overvecht", held, clock())
    runner = Runner(conn, catalogs, clock, "telegram", vault=sealing.of(conn))
    await runner.fire_timers()
    assert await alerts.count(conn, "team:bt-overvecht") == 1  # nobody to read it yet: still held
    code = await _invite(conn, clock, team_id="bt-overvecht")
    async with transaction(conn):
        assert isinstance(await register_email_person(conn, code, None, clock()), Joined)
    await runner.fire_timers()
    assert await alerts.count(conn, "team:bt-overvecht") == 0
    (mailed,) = await outbox.waiting(conn, "email")
    assert mailed.address == "overvecht@buurtteam.example" and mailed.body["notice"]["kind"] == "alert"
    assert mailed.body["text"] == "Invented alert"
