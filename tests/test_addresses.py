"""A person has one account and one or more addresses on the channels, one of them preferred
(db/users.py). The addresses below are invented."""

from __future__ import annotations

import sqlite3

import pytest

from db import users
from db.connection import IntegrityError, Connection, transaction
from flows.model import Role
from tests.conftest import BACKENDS


async def volunteer(conn: Connection, clock, chat: str = "501") -> users.Account:
    async with transaction(conn):
        return await users.create(
            conn, channel="telegram", chat_id=chat, role=Role.VOLUNTEER, org_id="kompas", language="nl",
            display_name="Invented", now=clock(),
        )


async def test_an_account_is_made_with_its_chat_as_its_preferred_address(conn, clock) -> None:
    account = await volunteer(conn, clock)
    assert (account.channel, account.chat_id, account.unreachable_at) == ("telegram", "501", None)
    (address,) = await users.addresses(conn, account.id)
    assert (address.user_id, address.channel, address.address) == (account.id, "telegram", "501") and address.preferred
    assert address.created_at == clock().isoformat()
    assert await users.by_chat(conn, "telegram", "501") == account == await users.by_address(conn, "telegram", "501")
    assert await users.by_address(conn, "whatsapp", "501") is None  # an address is per channel


async def test_a_second_address_finds_the_person_and_becomes_preferred_only_when_asked(conn, clock) -> None:
    account = await volunteer(conn, clock)
    async with transaction(conn):
        added = await users.add_address(conn, account.id, "whatsapp", "31600000001", clock())
    assert not added.preferred
    found = await users.by_address(conn, "whatsapp", "31600000001")
    assert found is not None and found.id == account.id and found.chat_id == "501"  # still written to on Telegram

    async with transaction(conn):
        assert await users.make_preferred(conn, account.id, "whatsapp", "31600000001")
    moved = await users.get(conn, account.id)
    assert moved is not None and (moved.channel, moved.chat_id) == ("whatsapp", "31600000001")
    listed = await users.addresses(conn, account.id)
    assert [(a.channel, a.preferred) for a in listed] == [("whatsapp", True), ("telegram", False)]

    async with transaction(conn):
        again = await users.add_address(conn, account.id, "email", "invented@example.org", clock(), preferred=True)
        same = await users.add_address(conn, account.id, "email", "invented@example.org", clock())
        assert same == again  # nothing changes
    assert [a.address for a in await users.addresses(conn, account.id) if a.preferred] == ["invented@example.org"]


async def test_an_address_is_one_person_s_and_only_their_own_can_be_preferred(conn, clock) -> None:
    first = await volunteer(conn, clock, "501")
    second = await volunteer(conn, clock, "502")
    async with transaction(conn):
        with pytest.raises(users.AddressTaken):
            await users.add_address(conn, second.id, "telegram", "501", clock())
        assert not await users.make_preferred(conn, second.id, "telegram", "501")
    assert [a.address for a in await users.addresses(conn, first.id)] == ["501"]
    assert [a.address for a in await users.addresses(conn, second.id)] == ["502"]
    with pytest.raises(IntegrityError):  # and the schema holds it: at most one preferred
        await conn.execute(
            "INSERT INTO addresses (user_id, channel, address, preferred, created_at) VALUES (?, 'email', 'x', 1, '')",
            (first.id,),
        )


async def test_a_refusal_is_about_one_address_and_a_person_is_unreachable_when_their_preferred_is(conn, clock) -> None:
    account = await volunteer(conn, clock)
    async with transaction(conn):
        await users.add_address(conn, account.id, "whatsapp", "31600000001", clock())
        await users.mark_unreachable(conn, "whatsapp", "31600000001", clock())
    assert (await users.get(conn, account.id)).unreachable_at is None  # type: ignore[union-attr]
    assert await users.newly_unreachable(conn) == []

    async with transaction(conn):
        await users.mark_unreachable(conn, "telegram", "501", clock())
    unreachable = await users.get(conn, account.id)
    assert unreachable is not None and unreachable.unreachable_at == clock().isoformat()
    assert [a.id for a in await users.newly_unreachable(conn)] == [account.id]
    async with transaction(conn):
        await users.told_unreachable(conn, account.id)
    assert await users.newly_unreachable(conn) == []  # coordinators are told once

    async with transaction(conn):
        await users.reachable_again(conn, account.id, "whatsapp", "31600000001")  # they wrote on WhatsApp
    assert {a.channel: a.unreachable_at for a in await users.addresses(conn, account.id)} == {
        "telegram": clock().isoformat(), "whatsapp": None,
    }
    async with transaction(conn):
        await users.reachable_again(conn, account.id)  # by default: the preferred address
    assert (await users.get(conn, account.id)).unreachable_at is None  # type: ignore[union-attr]


async def test_erasing_an_account_takes_its_addresses_with_it(conn, clock) -> None:
    from db import privacy

    account = await volunteer(conn, clock)
    async with transaction(conn):
        await users.add_address(conn, account.id, "whatsapp", "31600000001", clock())
        erased = await privacy.erase_user(conn, account.id, clock())
    assert erased is not None and "2 address(es) on the channels (chat ids)" in erased.items
    assert await users.addresses(conn, account.id) == []
    assert await users.by_address(conn, "whatsapp", "31600000001") is None


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """This module's tests run on SQLite and on PostgreSQL (tests/conftest.py)."""
    return str(request.param)
