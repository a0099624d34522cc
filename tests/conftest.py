"""Shared fixtures: a real SQLite file per test, a clock that only moves when told, a fake Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import settings

from bot.i18n import Catalogs
from db import directory
from db.connection import Connection, connect, transaction
from db.vault import Vault, attach
from flows.directory import Directory, Organisation
from tests.fakebotapi import FakeBotApi

FAKE_TOKEN = "123:TEST"  # the token the fake Bot API answers to

# Every Hypothesis test draws the same examples on every run, so CI never fails on a draw that a
# rerun would not repeat; and no example fails for being slow on a busy machine (no deadline).
# A test's own @settings starts from this profile.
settings.register_profile("wijkbrug", derandomize=True, deadline=None)
settings.load_profile("wijkbrug")


@dataclass
class FakeClock:
    now: datetime = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "wijkbrug.sqlite3"


@pytest.fixture
async def conn(db_path: Path) -> AsyncIterator[Connection]:
    connection = await connect(db_path)
    attach(connection, Vault.generate())
    orgs = [
        Organisation(id="lantaarn", name="De Lantaarn (invented)"),
        Organisation(id="kompas", name="Het Kompas (invented)"),
    ]
    async with transaction(connection):
        await directory.replace(connection, Directory.of(organisations=orgs), frozenset())
    yield connection
    await connection.close()


@pytest.fixture(scope="session")
def catalogs() -> Catalogs:
    return Catalogs()


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    """The local fake Bot API server, answering to FAKE_TOKEN."""
    async with FakeBotApi(token=FAKE_TOKEN) as server:
        yield server
