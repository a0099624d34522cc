"""Durable timers: reminders and escalations are rows, so a restart or crash loses none, and a
timer that fell due while the bot was down fires once when it is back.

Every instance looks at the due timers; the one that fires a timer first `claim`s it, in the
transaction that stores what it causes and its `fired` mark: on PostgreSQL `FOR UPDATE SKIP LOCKED`,
so the others pass it by, and the claim ends with that transaction (an instance killed meanwhile
loses its connection and the server rolls its claim back; a hung one is cut off after
db.backend_postgres.LEASE_MS, and the timer is taken over)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel

from db.connection import Connection


def _utc(moment: datetime) -> str:
    """Stored and compared as UTC ISO strings, whatever zone the caller's clock is in."""
    return moment.astimezone(UTC).isoformat()


class Timer(BaseModel):
    id: int
    kind: str
    case_id: str
    due_at: datetime


async def schedule(conn: Connection, kind: str, case_id: str, due_at: datetime) -> None:
    await conn.execute("INSERT INTO timers (kind, case_id, due_at) VALUES (?, ?, ?)", (kind, case_id, _utc(due_at)))


async def cancel(conn: Connection, case_id: str, now: datetime) -> None:
    """The case was answered: its timers will not fire (kept, marked, for the record)."""
    await conn.execute(
        "UPDATE timers SET fired_at = ? WHERE case_id = ? AND fired_at IS NULL", (now.isoformat(), case_id)
    )


async def due(conn: Connection, now: datetime, limit: int = 50) -> list[Timer]:
    async with conn.execute(
        "SELECT id, kind, case_id, due_at FROM timers WHERE fired_at IS NULL AND due_at <= ? "
        "ORDER BY due_at, id LIMIT ?",
        (_utc(now), limit),
    ) as cur:
        return [Timer(id=r[0], kind=r[1], case_id=r[2], due_at=r[3]) for r in await cur.fetchall()]


async def claim(conn: Connection, timer_id: int) -> bool:
    """Whether this transaction may fire the timer: not fired yet, and no other transaction has it
    (it then holds it until it ends). SQLite's one writer needs only the first."""
    skip = " FOR UPDATE SKIP LOCKED" if conn.backend == "postgresql" else ""
    async with conn.execute(f"SELECT 1 FROM timers WHERE id = ? AND fired_at IS NULL{skip}", (timer_id,)) as cur:
        return await cur.fetchone() is not None


async def fired(conn: Connection, timer_id: int, now: datetime) -> None:
    await conn.execute("UPDATE timers SET fired_at = ? WHERE id = ?", (now.isoformat(), timer_id))


async def next_due(conn: Connection) -> datetime | None:
    async with conn.execute("SELECT min(due_at) FROM timers WHERE fired_at IS NULL") as cur:
        row = await cur.fetchone()
    return datetime.fromisoformat(row[0]) if row and row[0] else None
