"""Outgoing messages for a person, rendered (channel-neutral, bot/outgoing.py) and stored in the same
transaction as the state change that caused them (sealed: they hold what people wrote); a
delivery worker hands them to their channel's sender in order per address and deletes them once
done."""

from __future__ import annotations

import json
from collections.abc import Container, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from db import vault
from db.connection import Connection


class Outgoing(BaseModel):
    id: int
    address: str  # where on the channel: a Telegram chat id, …
    kind: str  # bot.outgoing.KINDS (or, for a row stored before migration 014, a Bot API method)
    body: dict[str, Any]
    attempts: int


async def enqueue(
    conn: Connection, channel: str, address: str, kind: str, body: Mapping[str, Any], now: datetime,
    person_id: int | None = None,
) -> None:
    stamp = now.isoformat()
    await conn.execute(
        "INSERT INTO outbox (channel, address, person_id, kind, payload, created_at, next_attempt_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            channel, address, person_id, kind,
            vault.of(conn).seal(json.dumps(body, ensure_ascii=False), handover=True), stamp, stamp,
        ),
    )


async def due(conn: Connection, channel: str, now: datetime, limit: int = 50) -> list[Outgoing]:
    """The oldest waiting call of each chat, if it is due: a chat's calls go out in order."""
    async with conn.execute(
        "SELECT o.id, o.address, o.kind, o.payload, o.attempts FROM outbox o "
        "JOIN (SELECT min(id) AS id FROM outbox WHERE channel = ? GROUP BY address) first ON first.id = o.id "
        "WHERE o.next_attempt_at <= ? ORDER BY o.id LIMIT ?",
        (channel, now.isoformat(), limit),
    ) as cur:
        rows = await cur.fetchall()
    return [_outgoing(conn, r) for r in rows]


def _outgoing(conn: Connection, row: Any) -> Outgoing:
    body = json.loads(vault.of(conn).open(row[3]) or "{}")
    return Outgoing(id=row[0], address=row[1], kind=row[2], body=body, attempts=row[4])


# The newest outbox id ever given: SQLite's AUTOINCREMENT keeps it in sqlite_sequence; PostgreSQL's
# identity column in its sequence (NULL before the first).
NEWEST = {
    "sqlite": "SELECT seq FROM sqlite_sequence WHERE name = 'outbox'",
    "postgresql": "SELECT pg_sequence_last_value(pg_get_serial_sequence('outbox', 'id'))",
}


async def due_in_order(
    conn: Connection, channel: str, now: datetime, limit: int = 50, *,
    skip: Container[str] = (), after: int = 0, address: str | None = None,
) -> tuple[list[Outgoing], int]:
    """Every message that may go now, oldest first: an address's messages wait behind any older
    one of that address that is not due yet (a retry), so each address's messages go out in order.
    `after`: only those stored after that id; `address`: only that address's; those for the
    addresses in `skip` (being sent to already) are left out before they are unsealed. Also returns the
    id up to which the outbox was looked at (less than the newest when `limit` cut it short)."""
    stamp = now.isoformat()
    only = " AND o.address = ?" if address is not None else ""
    # Ids are never reused (migration 009), so the newest one ever given marks what was seen.
    async with conn.execute(NEWEST[conn.backend]) as cur:
        row = await cur.fetchone()
    newest = int(row[0]) if row and row[0] is not None else 0
    async with conn.execute(
        "SELECT o.id, o.address, o.kind, o.payload, o.attempts FROM outbox o "
        f"WHERE o.channel = ? AND o.id > ?{only} AND o.next_attempt_at <= ? AND NOT EXISTS ("
        "  SELECT 1 FROM outbox p WHERE p.channel = o.channel AND p.address = o.address AND p.id < o.id "
        "  AND p.next_attempt_at > ?) ORDER BY o.id LIMIT ?",
        (channel, after, *((address,) if address is not None else ()), stamp, stamp, limit),
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



async def waiting_for(conn: Connection, channel: str, address: str) -> int:
    """How many messages still wait for one address (the web page waits until its feed is written)."""
    async with conn.execute("SELECT count(*) FROM outbox WHERE channel = ? AND address = ?", (channel, address)) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0

async def done(conn: Connection, outgoing_id: int) -> None:
    await conn.execute("DELETE FROM outbox WHERE id = ?", (outgoing_id,))


async def drop_person(conn: Connection, person_id: int) -> int:
    """Forget every message still waiting for one person, on every channel (their access ended):
    how many. Also what was said at one of their addresses without naming them (a refusal)."""
    cur = await conn.execute(
        "DELETE FROM outbox WHERE person_id = ? OR EXISTS (SELECT 1 FROM addresses a WHERE a.user_id = ? "
        "AND a.channel = outbox.channel AND a.address = outbox.address)",
        (person_id, person_id),
    )
    return cur.rowcount


async def drop_address(conn: Connection, channel: str, address: str) -> int:
    """Forget every message still waiting for one address (a channel refused it for good): how many."""
    cur = await conn.execute("DELETE FROM outbox WHERE channel = ? AND address = ?", (channel, address))
    return cur.rowcount


async def retry_later(conn: Connection, outgoing_id: int, at: datetime) -> None:
    await conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ? WHERE id = ?", (at.isoformat(), outgoing_id)
    )


async def size(conn: Connection, channel: str | None = None) -> int:
    sql, args = "SELECT count(*) FROM outbox", tuple[str, ...]()
    if channel is not None:
        sql, args = sql + " WHERE channel = ?", (channel,)
    async with conn.execute(sql, args) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def waiting_at(conn: Connection, channel: str, address: str, kind: str) -> list[Outgoing]:
    """The messages of one kind still waiting for one address, oldest first."""
    async with conn.execute(
        "SELECT id, address, kind, payload, attempts FROM outbox WHERE channel = ? AND address = ? AND kind = ? "
        "ORDER BY id",
        (channel, address, kind),
    ) as cur:
        rows = await cur.fetchall()
    return [_outgoing(conn, r) for r in rows]


async def waiting(conn: Connection, channel: str) -> list[Outgoing]:
    """Every waiting message of a channel, oldest first (for inspection and tests)."""
    async with conn.execute(
        "SELECT id, address, kind, payload, attempts FROM outbox WHERE channel = ? ORDER BY id", (channel,)
    ) as cur:
        rows = await cur.fetchall()
    return [_outgoing(conn, r) for r in rows]
