"""Login links and the web feed (migration 015): the storage the e-mail and web channels share; on both backends."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from db import login_links, privacy, users, web_feed
from db.connection import Connection, transaction
from db.login_links import Opened, Refusal, Refused
from flows.model import Role
from tests.conftest import BACKENDS, FakeClock
from tests.test_trust import rows


async def _member(conn: Connection, clock: FakeClock) -> int:
    async with transaction(conn):
        account = await users.create(
            conn, channel="email", chat_id="member@example.invalid", role=Role.MEMBER, org_id=None,
            language="nl", now=clock(), display_name="Invented Member",
        )
    return account.id


async def test_a_link_opens_its_person_once(conn: Connection, clock: FakeClock) -> None:
    user_id = await _member(conn, clock)
    async with transaction(conn):
        token = await login_links.create(conn, user_id, clock())
    async with transaction(conn):
        assert await login_links.use(conn, token, clock()) == Opened(user_id)
    async with transaction(conn):
        assert await login_links.use(conn, token, clock()) == Refused(Refusal.USED, user_id)


async def test_an_expired_link_names_its_person_but_opens_nothing(conn: Connection, clock: FakeClock) -> None:
    user_id = await _member(conn, clock)
    async with transaction(conn):
        token = await login_links.create(conn, user_id, clock(), valid_for=timedelta(hours=1))
    clock.advance(hours=1)
    async with transaction(conn):
        assert await login_links.use(conn, token, clock()) == Refused(Refusal.EXPIRED, user_id)
        assert await login_links.use(conn, token + "x", clock()) == Refused(Refusal.UNKNOWN, None)


async def test_only_the_hash_of_a_link_is_stored(conn: Connection, clock: FakeClock, database: str | Path) -> None:
    user_id = await _member(conn, clock)
    async with transaction(conn):
        token = await login_links.create(conn, user_id, clock())
    stored = rows(database, "SELECT token_hash FROM login_links")
    assert stored and all(token not in row[0] for row in stored)


async def test_the_feed_keeps_messages_sealed_in_order_and_records_a_choice(
    conn: Connection, clock: FakeClock, database: str | Path
) -> None:
    user_id = await _member(conn, clock)
    async with transaction(conn):
        first = await web_feed.add(conn, user_id, "say", {"text": "Invented request Q-1001"}, clock())
        await web_feed.add(conn, user_id, "say", {"text": "second"}, clock())
        assert await web_feed.replace(conn, user_id, first, "Accepted")
        assert not await web_feed.replace(conn, user_id + 1, first, "someone else's prompt")
    entries = await web_feed.recent(conn, user_id)
    assert [e.body["text"] for e in entries] == ["Invented request Q-1001", "second"]
    assert entries[0].replaced == "Accepted" and entries[1].replaced is None
    assert [e.body["text"] for e in await web_feed.recent(conn, user_id, limit=1)] == ["second"]
    bodies = rows(database, "SELECT body, replaced FROM web_feed")
    assert all("Invented" not in (body or "") and "Accepted" not in (replaced or "") for body, replaced in bodies)


async def test_erasing_a_person_erases_their_feed_and_links(conn: Connection, clock: FakeClock) -> None:
    user_id = await _member(conn, clock)
    async with transaction(conn):
        await login_links.create(conn, user_id, clock())
        await web_feed.add(conn, user_id, "say", {"text": "Invented"}, clock())
        erased = await privacy.erase_user(conn, user_id, clock())
    assert erased is not None and any("web page" in item for item in erased.items)
    for table in ("web_feed", "login_links"):
        async with conn.execute(f"SELECT count(*) FROM {table}") as cursor:
            assert (await cursor.fetchone())[0] == 0


async def test_retention_forgets_old_links_and_feed_entries(conn: Connection, clock: FakeClock) -> None:
    user_id = await _member(conn, clock)
    async with transaction(conn):
        await login_links.create(conn, user_id, clock(), valid_for=timedelta(hours=1))
        await web_feed.add(conn, user_id, "say", {"text": "old"}, clock())
    clock.advance(days=40)
    async with transaction(conn):
        assert await login_links.forget_old(conn, clock()) == 1
        assert await web_feed.forget_before(conn, clock() - timedelta(days=30)) == 1


async def test_the_nightly_retention_drops_old_feed_entries_with_the_question_texts(
    conn: Connection, clock: FakeClock
) -> None:
    user_id = await _member(conn, clock)
    async with transaction(conn):
        await web_feed.add(conn, user_id, "say", {"text": "Invented question text"}, clock())
        await login_links.create(conn, user_id, clock(), valid_for=timedelta(hours=1))
    clock.advance(days=31)
    async with transaction(conn):
        await privacy.apply_retention(conn, clock(), handover_days=30, text_days=30)
    assert await web_feed.recent(conn, user_id) == []
    async with conn.execute("SELECT count(*) FROM login_links") as cursor:
        assert (await cursor.fetchone())[0] == 0


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """This module's tests run on SQLite and on PostgreSQL (tests/conftest.py)."""
    return str(request.param)
