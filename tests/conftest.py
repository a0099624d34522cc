"""Shared fixtures: a real database per test (an SQLite file; a fresh PostgreSQL database where a
module asks for both backends), a clock that only moves when told, a fake Bot API."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from bot.i18n import Catalogs
from db import directory
from db.connection import Connection, connect, transaction
from db.vault import Vault, attach
from flows.directory import Directory, Organisation
from tests.fakebotapi import FakeBotApi
from tests.pg_server import NoPostgres, PostgresServer, postgres_server

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


# A module runs its tests on both backends with `backend = both_backends` (its own fixture of that
# name); everywhere else `backend` is SQLite, the default.
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture(params=BACKENDS)
def both_backends(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """The PostgreSQL server of the session, started when a test first needs it (tests/pg_server.py).
    None to be had fails the test with one line saying how to get one: never a skip."""
    try:
        with postgres_server() as server:
            yield server
    except NoPostgres as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def database(backend: str, db_path: Path, request: pytest.FixtureRequest) -> str | Path:
    """What `connect` opens for this test: the SQLite file, or a fresh PostgreSQL database's URL."""
    if backend == "sqlite":
        return db_path
    server: PostgresServer = request.getfixturevalue("pg_server")
    return server.fresh()


@pytest.fixture
async def conn(database: str | Path) -> AsyncIterator[Connection]:
    connection = await connect(database)
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


@pytest.fixture
async def whatsapp_only(tmp_path: Path) -> AsyncIterator[tuple[Any, list[float]]]:
    """A WhatsApp-only `wijkbrug run` (tests/test_run_channels.WhatsAppOnly) on the fake Cloud API, the
    sample directory imported, and how many seconds the fake's clock is moved ahead (a list to change)."""
    from bot import directory_file
    from tests.fakegraphapi import FakeGraphApi
    from tests.test_run_channels import WhatsAppOnly

    moved = [0.0]
    async with FakeGraphApi(clock=lambda: time.time() + moved[0]) as graph:
        bot = WhatsAppOnly(graph, tmp_path)
        await bot.operator("directory", "import", str(directory_file.sample_path()))
        yield bot, moved
        if bot.process is not None and bot.process.returncode is None:
            await bot.kill()
