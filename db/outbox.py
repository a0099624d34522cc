"""Outgoing calls to a channel, rendered and stored in the same transaction as the state change
that caused them (sealed: they hold what people wrote); a delivery worker sends them in order per
chat and deletes them once done."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from db import vault
from db.connection import Connection


class Outgoing(BaseModel):
    id: int
    chat_id: str
    method: str
    payload: dict[str, Any]
    attempts: int


async def enqueue(
    conn: Connection, channel: str, chat_id: str, method: str, payload: dict[str, Any], now: datetime
) -> None:
    stamp = now.isoformat()
    await conn.execute(
        "INSERT INTO outbox (channel, chat_id, method, payload, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)",
        (channel, chat_id, method, vault.of(conn).seal(json.dumps(payload, ensure_ascii=False)), stamp, stamp),
    )


async def due(conn: Connection, channel: str, now: datetime, limit: int = 50) -> list[Outgoing]:
    """The oldest waiting call of each chat, if it is due: a chat's calls go out in order."""
    async with conn.execute(
        "SELECT o.id, o.chat_id, o.method, o.payload, o.attempts FROM outbox o "
        "JOIN (SELECT min(id) AS id FROM outbox WHERE channel = ? GROUP BY chat_id) first ON first.id = o.id "
        "WHERE o.next_attempt_at <= ? ORDER BY o.id LIMIT ?",
        (channel, now.isoformat(), limit),
    ) as cur:
        rows = await cur.fetchall()
    return [_outgoing(conn, r) for r in rows]


def _outgoing(conn: Connection, row) -> Outgoing:
    payload = json.loads(vault.of(conn).open(row[3]) or "{}")
    return Outgoing(id=row[0], chat_id=row[1], method=row[2], payload=payload, attempts=row[4])


async def due_in_order(conn: Connection, channel: str, now: datetime, limit: int = 200) -> list[Outgoing]:
    """Every call that may go now, oldest first: a chat's calls wait behind any older call of
    that chat that is not due yet (a retry), so each chat's calls go out in order."""
    stamp = now.isoformat()
    async with conn.execute(
        "SELECT o.id, o.chat_id, o.method, o.payload, o.attempts FROM outbox o "
        "WHERE o.channel = ? AND o.next_attempt_at <= ? AND NOT EXISTS ("
        "  SELECT 1 FROM outbox p WHERE p.channel = o.channel AND p.chat_id = o.chat_id AND p.id < o.id "
        "  AND p.next_attempt_at > ?) ORDER BY o.id LIMIT ?",
        (channel, stamp, stamp, limit),
    ) as cur:
        rows = await cur.fetchall()
    return [_outgoing(conn, r) for r in rows]


async def next_due_at(conn: Connection, channel: str) -> datetime | None:
    async with conn.execute("SELECT min(next_attempt_at) FROM outbox WHERE channel = ?", (channel,)) as cur:
        row = await cur.fetchone()
    return datetime.fromisoformat(row[0]) if row and row[0] else None


async def done(conn: Connection, outgoing_id: int) -> None:
    await conn.execute("DELETE FROM outbox WHERE id = ?", (outgoing_id,))


async def retry_later(conn: Connection, outgoing_id: int, at: datetime) -> None:
    await conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ? WHERE id = ?", (at.isoformat(), outgoing_id)
    )


async def size(conn: Connection, channel: str | None = None) -> int:
    sql, args = "SELECT count(*) FROM outbox", ()
    if channel is not None:
        sql, args = sql + " WHERE channel = ?", (channel,)
    async with conn.execute(sql, args) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def waiting(conn: Connection, channel: str) -> list[Outgoing]:
    """Every waiting call of a channel, oldest first (for inspection and tests)."""
    async with conn.execute(
        "SELECT id, chat_id, method, payload, attempts FROM outbox WHERE channel = ? ORDER BY id", (channel,)
    ) as cur:
        rows = await cur.fetchall()
    return [_outgoing(conn, r) for r in rows]
