"""Incoming updates, stored (sealed: they hold what people typed) before they are acknowledged to
the channel, and processed once."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from db import vault
from db.connection import Connection


class Incoming(BaseModel):
    update_id: int
    payload: str


async def receive(conn: Connection, channel: str, updates: list[Incoming], now: datetime) -> int:
    """Store updates not seen before; a redelivered update is ignored. Returns how many were new."""
    new = 0
    for u in updates:
        cur = await conn.execute(
            "INSERT INTO inbox (channel, update_id, payload, received_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (channel, u.update_id, vault.of(conn).seal(u.payload, handover=True), now.isoformat()),
        )
        new += cur.rowcount
    return new


async def pending(conn: Connection, channel: str, limit: int = 100, after: int | None = None) -> list[Incoming]:
    """The oldest `limit` unprocessed updates (those after update `after`, to page past updates
    that must wait)."""
    async with conn.execute(
        "SELECT update_id, payload FROM inbox WHERE processed_at IS NULL AND channel = ? AND update_id > ? "
        "ORDER BY update_id LIMIT ?",
        (channel, -(2**63) if after is None else after, limit),
    ) as cur:
        return [Incoming(update_id=r[0], payload=vault.of(conn).open(r[1]) or "") for r in await cur.fetchall()]


async def mark_processed(conn: Connection, channel: str, update_id: int, outcome: str, now: datetime) -> None:
    """Close an update and forget its content: the inbox keeps only that it was handled."""
    await conn.execute(
        "UPDATE inbox SET processed_at = ?, outcome = ?, payload = NULL WHERE channel = ? AND update_id = ?",
        (now.isoformat(), outcome, channel, update_id),
    )



async def processed(conn: Connection, channel: str, update_id: int) -> bool:
    """Whether update `update_id` of `channel` has been handled (the web page waits for it)."""
    async with conn.execute(
        "SELECT processed_at FROM inbox WHERE channel = ? AND update_id = ?", (channel, update_id)
    ) as cur:
        row = await cur.fetchone()
    return row is not None and row[0] is not None

async def forget_processed(conn: Connection, before: datetime) -> int:
    """Drop the ids of updates processed before `before`. Telegram hands an update out again
    only until it is confirmed, and keeps none longer than 24 hours, so a week of ids is ample
    to recognise a redelivery; older rows would only make the inbox grow for ever."""
    cur = await conn.execute(
        "DELETE FROM inbox WHERE processed_at IS NOT NULL AND processed_at < ?", (before.isoformat(),)
    )
    return cur.rowcount


async def outcomes(conn: Connection, channel: str) -> dict[int, str | None]:
    async with conn.execute("SELECT update_id, outcome FROM inbox WHERE channel = ?", (channel,)) as cur:
        return {r[0]: r[1] for r in await cur.fetchall()}
