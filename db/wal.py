"""Emptying the write-ahead log after an erasure, so that erased values are gone from every file.

In WAL mode a change is first appended to `<database>-wal`; the pages it replaced, and earlier
versions of the changed pages, stay in that file until the log is started over. After an
erasure the log can still hold the erased values (sealed, and the key is beside the database).
`PRAGMA secure_delete` (db/connection.py) overwrites them in the database file itself; a
TRUNCATE checkpoint copies the log back and cuts the log file to zero bytes.

A TRUNCATE checkpoint must wait until no reader holds an older snapshot and no writer is busy
(the bot's other connections, its checkpointer thread, another process). It never waits inside
SQLite here: a busy checkpoint is tried again after growing asynchronous pauses."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable

from db.connection import Connection

log = logging.getLogger("wijkbrug.db")


async def truncate(
    conn: Connection, attempts: int = 60, sleep: Callable[[float], Awaitable[object]] = asyncio.sleep
) -> bool:
    """Copy the log back and truncate it to zero bytes; True once done. Busy (a reader on an
    older snapshot, another checkpoint, a writer): try again, pausing 10 ms growing to 0.5 s
    (about 25 s in all with the defaults). Must be called outside a transaction."""
    if conn.backend != "sqlite":
        return True  # PostgreSQL's own log is not a file beside the database that holds erased values
    pause = 0.01
    for attempt in range(attempts):
        try:
            async with conn.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cursor:
                row = await cursor.fetchone()
            if row is None or not row[0]:
                return True
        except sqlite3.OperationalError as exc:  # locked beyond the connection's own patience
            if getattr(exc, "sqlite_errorcode", None) not in (5, 6):
                raise
        if attempt + 1 < attempts:
            await sleep(pause)
            pause = min(pause * 2, 0.5)
    log.warning(
        "the write-ahead log could not be truncated after %d attempts "
        "(busy); erased values may remain in it until the next checkpoint",
        attempts,
    )
    return False
