"""`wijkbrug demo`: chat with the bot in the terminal, as a volunteer of an invented organisation."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from bot.cli_shared import OperatorError, utc_now
from bot.settings import Settings
from db import directory as stored_directory
from db import invites
from db.connection import Connection, connect, transaction
from db.vault import Vault, open_vault
from flows.model import Role

WELCOME = (
    "Wijkbrug demo — you are a volunteer of an invented organisation. Type a message, the\n"
    "number of a button, or a command (/new, /language, /help, /cancel). Ctrl-D ends the demo.\n\n"
)


async def seed_sample(conn: Connection) -> None:
    """The invented sample directory that ships with Wijkbrug, stored in `conn`."""
    from bot import directory_file  # not for `wijkbrug run`: it loads Babel's language names

    loaded = directory_file.load(directory_file.sample_path())
    async with transaction(conn):
        await stored_directory.replace(conn, loaded.directory, loaded.away_given)


def script_lines(script: Path | None) -> list[str] | None:
    """The lines to replay: the script's, or those piped in; None when a person types them."""
    if script is not None:
        try:
            return script.read_text("utf-8").splitlines()
        except OSError as exc:
            raise OperatorError(f"{script}: cannot read the script: {exc.strerror}") from None
    if not sys.stdin.isatty():
        return sys.stdin.read().splitlines()
    return None


async def demo(settings: Settings, script: Path | None, language: str | None, database: Path | None) -> int:
    from bot.console import ConsoleChat

    out = sys.stdout
    lines = script_lines(script)
    with tempfile.TemporaryDirectory(prefix="wijkbrug-demo-") as scratch:
        conn = await connect(database or Path(scratch) / "demo.sqlite3")
        try:
            await seed_sample(conn)
            async with transaction(conn):
                invite = await invites.create(
                    conn, role=Role.VOLUNTEER, org_id="lantaarn", now=utc_now(), valid_for=timedelta(days=1)
                )
            catalogs = settings.catalogs()
            # A kept demo database keeps its key beside it; a throw-away one needs none.
            vault = await open_vault(conn, None, database.with_suffix(".key")) if database else Vault.generate()
            chat = ConsoleChat(
                conn, catalogs, utc_now, out, first_name="Demo", language_code=language, vault=vault
            )
            out.write(WELCOME)
            out.write("  you | (opens the invite link)\n")
            await chat.type(f"/start {invite.code}")
            if lines is not None:
                for line in lines:
                    if not line.strip() or line.lstrip().startswith("#"):
                        continue
                    out.write(f"  you | {line}\n")
                    await chat.type(line)
                return 0
            while True:
                try:
                    line = await asyncio.to_thread(input, "  you | ")
                except (EOFError, KeyboardInterrupt):
                    out.write("\n")
                    return 0
                if line.strip():
                    await chat.type(line)
        finally:
            await conn.close()
