"""Outgoing calls to a channel, rendered and stored in the same transaction as the state change
that caused them (sealed: they hold what people wrote); a delivery worker sends them in order per
chat and deletes them once done."""

from __future__ import annotations

import json
from collections.abc import Container
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
        (channel, chat_id, method, vault.of(conn).seal(json.dumps(payload, ensure_ascii=False), handover=True), stamp, stamp),
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


async def due_in_order(
    conn: Connection, channel: str, now: datetime, limit: int = 50, *,
    skip: Container[str] = (), after: int = 0, chat_id: str | None = None,
) -> tuple[list[Outgoing], int]:
    """Every call that may go now, oldest first: a chat's calls wait behind any older call of
    that chat that is not due yet (a retry), so each chat's calls go out in order.
    `after`: only calls stored after that id; `chat_id`: only that chat's; calls for the chats
    in `skip` (being sent to already) are left out before they are unsealed. Also returns the
    id up to which the outbox was looked at (less than the newest when `limit` cut it short)."""
    stamp = now.isoformat()
    only = " AND o.chat_id = ?" if chat_id is not None else ""
    # Ids are never reused (migration 009), so the newest one ever given marks what was seen.
    async with conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'") as cur:
        row = await cur.fetchone()
    newest = int(row[0]) if row else 0
    async with conn.execute(
        "SELECT o.id, o.chat_id, o.method, o.payload, o.attempts FROM outbox o "
        f"WHERE o.channel = ? AND o.id > ?{only} AND o.next_attempt_at <= ? AND NOT EXISTS ("
        "  SELECT 1 FROM outbox p WHERE p.channel = o.channel AND p.chat_id = o.chat_id AND p.id < o.id "
        "  AND p.next_attempt_at > ?) ORDER BY o.id LIMIT ?",
        (channel, after, *((chat_id,) if chat_id is not None else ()), stamp, stamp, limit),
    ) as cur:
        rows = await cur.fetchall()
    looked = rows[-1][0] if len(rows) == limit else max(newest, after)
    return [_outgoing(conn, r) for r in rows if r[1] not in skip], looked


async def next_due_at(conn: Connection, channel: str) -> datetime | None:
    async with conn.execute("SELECT min(next_attempt_at) FROM outbox WHERE channel = ?", (channel,)) as cur:
        row = await cur.fetchone()
    return datetime.fromisoformat(row[0]) if row and row[0] else None


async def still_waiting(conn: Connection, outgoing_id: int) -> bool:
    """Whether a call is still in the outbox (a revocation or an erasure deletes what waited)."""
    async with conn.execute("SELECT 1 FROM outbox WHERE id = ?", (outgoing_id,)) as cur:
        return await cur.fetchone() is not None


async def done(conn: Connection, outgoing_id: int) -> None:
    await conn.execute("DELETE FROM outbox WHERE id = ?", (outgoing_id,))


async def drop_chat(conn: Connection, channel: str, chat_id: str) -> int:
    """Forget every call still waiting for one chat (its person's access ended): how many."""
    cur = await conn.execute("DELETE FROM outbox WHERE channel = ? AND chat_id = ?", (channel, chat_id))
    return cur.rowcount


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
