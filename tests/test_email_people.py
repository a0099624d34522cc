"""E-mail people: an invite sent by e-mail registers the directory's address (bound to it), and a
fresh link goes to the person's own address only."""

from __future__ import annotations

from datetime import timedelta

from bot.directory_file import load, sample_path
from bot.email_people import Joined, JoinRefusal, NotJoined, register_email_person, send_fresh_link
from db import directory as stored_directory
from db import invites, outbox, users
from db.connection import Connection, transaction
from flows.model import Role
from tests.conftest import FakeClock


async def _directory(conn: Connection) -> None:
    sample = load(sample_path())
    async with transaction(conn):
        await stored_directory.replace(conn, sample.directory, sample.away_given)


async def _invite(conn: Connection, clock: FakeClock, **bound: str) -> str:
    role = Role.MEMBER if "contact_id" in bound else Role.COORDINATOR
    async with transaction(conn):
        made = await invites.create(conn, role=role, org_id=None, now=clock(), valid_for=timedelta(days=1), **bound)
    return made.code


async def test_an_email_invite_registers_the_directory_address_once(conn: Connection, clock: FakeClock) -> None:
    await _directory(conn)
    code = await _invite(conn, clock, contact_id="c-overvecht-2")
    async with transaction(conn):
        # The link alone cannot register another address than the one it was sent to.
        assert await register_email_person(conn, code, "someone.else@example.invalid", clock()) == NotJoined(
            JoinRefusal.ADDRESS
        )
        joined = await register_email_person(conn, code, None, clock(), language="tr")
    assert isinstance(joined, Joined)
    account = await users.get(conn, joined.user_id)
    assert account is not None and account.channel == "email" and account.role is Role.MEMBER
    assert account.contact_id == "c-overvecht-2" and account.language == "tr"
    assert account.chat_id == account.chat_id.lower() and "@" in account.chat_id
    web = await users.by_address(conn, "web", str(account.id))
    assert web is not None and web.id == account.id
    async with transaction(conn):
        assert await register_email_person(conn, code, None, clock()) == NotJoined(JoinRefusal.INVITE)


async def test_a_team_coordinator_joins_at_the_team_address(conn: Connection, clock: FakeClock) -> None:
    await _directory(conn)
    code = await _invite(conn, clock, team_id="bt-overvecht")
    async with transaction(conn):
        joined = await register_email_person(conn, code, "Overvecht@Buurtteam.example ", clock())
    assert isinstance(joined, Joined)
    account = await users.get(conn, joined.user_id)
    assert account is not None and account.team_id == "bt-overvecht"
    assert account.chat_id == "overvecht@buurtteam.example"
    second = await _invite(conn, clock, team_id="bt-overvecht")
    async with transaction(conn):
        assert await register_email_person(conn, second, None, clock()) == NotJoined(JoinRefusal.TAKEN)


async def test_an_invite_without_a_directory_address_registers_nobody(conn: Connection, clock: FakeClock) -> None:
    await _directory(conn)
    async with transaction(conn):
        made = await invites.create(
            conn, role=Role.VOLUNTEER, org_id="lantaarn", now=clock(), valid_for=timedelta(days=1)
        )
        assert await register_email_person(conn, made.code, None, clock()) == NotJoined(JoinRefusal.NO_ADDRESS)
    assert await invites.find_usable(conn, made.code, clock()) is not None  # not used up


async def test_a_fresh_link_goes_to_the_persons_own_address(conn: Connection, clock: FakeClock) -> None:
    await _directory(conn)
    code = await _invite(conn, clock, contact_id="c-overvecht-2")
    async with transaction(conn):
        joined = await register_email_person(conn, code, None, clock())
    assert isinstance(joined, Joined)
    async with transaction(conn):
        assert await send_fresh_link(conn, joined.user_id, clock())
        assert not await send_fresh_link(conn, 9999, clock())
    waiting = await outbox.waiting(conn, "email")
    account = await users.get(conn, joined.user_id)
    assert account is not None
    assert [(w.address, w.kind, w.body["notice"]["kind"]) for w in waiting] == [(account.chat_id, "notice", "link")]
