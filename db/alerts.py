"""Alerts for coordinators that wait until a coordinator of their scope exists.

A scope is `org:<organisation id>` or `team:<wijkteam id>`."""

from __future__ import annotations

from datetime import datetime

from db.connection import Connection
from flows.model import Message


async def hold(conn: Connection, scope: str, message: Message, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO held_alerts (scope, message, created_at) VALUES (?, ?, ?)",
        (scope, message.model_dump_json(), now.isoformat()),
    )


async def take(conn: Connection, scope: str) -> list[Message]:
    """Remove and return the waiting alerts of one scope, oldest first."""
    async with conn.execute("SELECT message FROM held_alerts WHERE scope = ? ORDER BY id", (scope,)) as cur:
        rows = await cur.fetchall()
    await conn.execute("DELETE FROM held_alerts WHERE scope = ?", (scope,))
    return [Message.model_validate_json(r[0]) for r in rows]


async def count(conn: Connection, scope: str) -> int:
    async with conn.execute("SELECT count(*) FROM held_alerts WHERE scope = ?", (scope,)) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0
