"""What the commands of `wijkbrug` share: the operator's error, the clock, an opened database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from bot.settings import Settings
from db.connection import Connection, connect
from db.vault import Vault, attach, open_vault


class OperatorError(Exception):
    """A mistake on the command line or in a file: printed as one clear message, exit code 2."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@asynccontextmanager
async def opened(settings: Settings) -> AsyncIterator[tuple[Connection, Vault]]:
    """The database and its vault, opened by the configured key (a wrong key: `KeyProblem`) and
    attached to the connection; the connection is closed afterwards, whatever happened."""
    conn = await connect(settings.database)
    try:
        secret = settings.secret_key.get_secret_value() if settings.secret_key else None
        yield conn, attach(conn, await open_vault(conn, secret, settings.key_path()))
    finally:
        await conn.close()
