"""`wijkbrug erase` and `wijkbrug audit`: erasing a question or a person, and what the operator did."""

from __future__ import annotations

import argparse
from datetime import datetime

from bot import cli_services
from bot.cli_shared import OperatorError
from bot.i18n import Catalogs
from bot.settings import Settings
from db.connection import Connection, transaction
from db.vault import Vault


async def erase(conn: Connection, settings: Settings, vault: Vault, args: argparse.Namespace, now: datetime) -> None:
    """`--question CODE` or `--user ID`; then the write-ahead log is emptied of the erased values."""
    from db import privacy, wal

    if args.question:
        async with transaction(conn):
            erased = await privacy.erase_question(conn, args.question.upper(), now)
        what = f"question {args.question.upper()}"
    else:
        erased = await cli_services.erase(conn, Catalogs(default=settings.default_locale), vault, args.user)
        what = f"user {args.user}"
    if erased is None:
        raise OperatorError(f"no {what}")
    print(f"{what}: erased " + ("; ".join(erased.items) if erased.items else "nothing (no personal data was left)"))
    if not await wal.truncate(conn):
        raise OperatorError(
            f"{settings.database}-wal: erased, but the write-ahead log could not be emptied (the database stayed "
            "busy), so it may still hold the erased values until the bot stops or its next nightly retention run"
        )


async def audit(conn: Connection) -> None:
    from bot import listing
    from db import privacy

    print(*listing.audit(await privacy.audit_log(conn)), sep="\n")
