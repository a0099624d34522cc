"""Incoming updates, stored (sealed: they hold what people typed) before they are acknowledged to
the channel, and processed once: several processing loops (instances) may read the same waiting
updates, so each re-checks under its person's lock (`waiting_up_to`) before it
handles one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

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
        return [_stored(conn, r) for r in await cur.fetchall()]


def _stored(conn: Connection, row: Any) -> Incoming:
    """A stored row, opened: built without validation, as its columns have the model's types."""
    return Incoming.model_construct(update_id=int(row[0]), payload=vault.of(conn).open(row[1]) or "")


async def mark_processed(conn: Connection, channel: str, update_id: int, outcome: str, now: datetime) -> None:
    """Close an update and forget its content: the inbox keeps only that it was handled (once: an
    update another loop closed meanwhile keeps its outcome)."""
    await conn.execute(
        "UPDATE inbox SET processed_at = ?, outcome = ?, payload = NULL "
        "WHERE channel = ? AND update_id = ? AND processed_at IS NULL",
        (now.isoformat(), outcome, channel, update_id),
    )


async def waiting_up_to(conn: Connection, channel: str, update_id: int) -> list[int]:
    """The ids of `channel`'s updates up to `update_id` that still wait, oldest first: the re-check,
    under the person's lock, that `update_id` is still unprocessed (another instance may have handled
    it since it was read) and which older ones wait (one of the same chat goes first)."""
    async with conn.execute(
        "SELECT update_id FROM inbox WHERE channel = ? AND update_id <= ? AND processed_at IS NULL ORDER BY update_id",
        (channel, update_id),
    ) as cur:
        return [int(r[0]) for r in await cur.fetchall()]


async def opened(conn: Connection, channel: str, update_ids: list[int]) -> list[Incoming]:
    """These updates of `channel` (those still waiting), opened."""
    if not update_ids:
        return []
    marks = ", ".join("?" for _ in update_ids)
    async with conn.execute(
        f"SELECT update_id, payload FROM inbox WHERE channel = ? AND update_id IN ({marks}) AND processed_at IS NULL "
        "ORDER BY update_id",
        (channel, *update_ids),
    ) as cur:
        return [_stored(conn, r) for r in await cur.fetchall()]


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
