"""The database and its key: `wijkbrug migrate`, `backup` and `rotate-key`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from cryptography.fernet import Fernet

from bot.cli_shared import OperatorError
from bot.settings import Settings
from db import settings as stored_settings
from db.connection import Connection, connect, shown
from db.schema import migrate as migrate_schema
from db.vault import CHECK_KEY, Vault


async def migrate(settings: Settings) -> int:
    conn = await connect(settings.database, upgrade=False)
    try:
        applied = await migrate_schema(conn)
    finally:
        await conn.close()
    print(f"{shown(settings.database)}: schema up to date" + (f" (applied {', '.join(applied)})" if applied else ""))
    return 0


async def backup(conn: Connection, settings: Settings, file: Path, now: datetime) -> None:
    from db import privacy

    await privacy.backup(conn, file, now)
    print(
        f"{file}: a consistent copy of {shown(settings.database)}; "
        f"keep the key file ({settings.key_path()}) apart from it"
    )


async def rotate_key(conn: Connection, settings: Settings, now: datetime) -> None:
    from db import privacy
    from db.vault import load_keys, write_keys

    if settings.secret_key and settings.secret_key.get_secret_value():
        raise OperatorError(
            "the key comes from WIJKBRUG_SECRET_KEY: put a new key in front of it there, then run this again"
        )
    keys = load_keys(None, settings.key_path(), create=False)
    # The key check is re-sealed last: if it is not under the newest key, an earlier
    # rotation stopped half-way (or the key was added by hand), and this one finishes it.
    resumed = not Vault(keys).is_newest(await stored_settings.get(conn, CHECK_KEY))
    if not resumed:
        keys = [Fernet.generate_key(), *keys]
        # The running bot reloads the key file when it meets data sealed under the new key.
        write_keys(settings.key_path(), keys)
    # In batches of their own, so that a running bot waits milliseconds, not seconds.
    done = await privacy.rotate(conn, Vault(keys), now)
    under = "the newest key (an earlier rotation was finished)" if resumed else "a new key"
    print(
        f"{done.values} value(s) re-encrypted under {under}, in {done.transactions} short transaction(s) "
        f"of at most {privacy.ROTATE_BATCH}; {settings.key_path()} holds the new key first"
    )
