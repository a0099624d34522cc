"""Alerts for an organisation's coordinators that wait until a coordinator exists."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from flows.model import Message


async def hold(conn: aiosqlite.Connection, org_id: str, message: Message, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO pending_alerts (org_id, message, created_at) VALUES (?, ?, ?)",
        (org_id, message.model_dump_json(), now.isoformat()),
    )


async def take(conn: aiosqlite.Connection, org_id: str) -> list[Message]:
    """Remove and return the waiting alerts of one organisation, oldest first."""
    async with conn.execute("SELECT id, message FROM pending_alerts WHERE org_id = ? ORDER BY id", (org_id,)) as cur:
        rows = await cur.fetchall()
    await conn.execute("DELETE FROM pending_alerts WHERE org_id = ?", (org_id,))
    return [Message.model_validate_json(r[1]) for r in rows]


async def count(conn: aiosqlite.Connection, org_id: str) -> int:
    async with conn.execute("SELECT count(*) FROM pending_alerts WHERE org_id = ?", (org_id,)) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0
