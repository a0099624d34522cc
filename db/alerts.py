"""Alerts for coordinators that wait until a coordinator of their scope exists.

A scope is `org:<organisation id>` or `team:<wijkteam id>`. A held alert names a person (the
volunteer who reported a child in danger, whose request stalled, who cannot be reached): the
message is sealed like other personal data, `user_id` says whom it names (erasing them deletes
it), and retention deletes alerts held longer than the retention period."""

from __future__ import annotations

from datetime import UTC, datetime

from db import vault
from db.connection import Connection
from flows.model import Message


async def hold(conn: Connection, scope: str, message: Message, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO held_alerts (scope, message, created_at, user_id) VALUES (?, ?, ?, ?)",
        (scope, vault.of(conn).seal(message.model_dump_json()), now.astimezone(UTC).isoformat(), message.about),
    )


async def take(conn: Connection, scope: str) -> list[Message]:
    """Remove and return the waiting alerts of one scope, oldest first: in one statement, so that of
    two instances taking them at once, the second finds them gone."""
    async with conn.execute("DELETE FROM held_alerts WHERE scope = ? RETURNING id, message", (scope,)) as cur:
        rows = sorted(await cur.fetchall())
    opened = vault.of(conn)  # rows from before sealing are plain JSON: `open` returns them as they are
    return [Message.model_validate_json(opened.open(r[1]) or "") for r in rows]


async def scopes(conn: Connection) -> list[str]:
    """The scopes that have alerts waiting."""
    async with conn.execute("SELECT DISTINCT scope FROM held_alerts ORDER BY scope") as cur:
        return [str(r[0]) for r in await cur.fetchall()]


async def count(conn: Connection, scope: str) -> int:
    async with conn.execute("SELECT count(*) FROM held_alerts WHERE scope = ?", (scope,)) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def forget_user(conn: Connection, user_id: int) -> int:
    """The alerts that name one person (their erasure)."""
    cur = await conn.execute("DELETE FROM held_alerts WHERE user_id = ?", (user_id,))
    return cur.rowcount


async def forget_older(conn: Connection, before: datetime) -> int:
    """Alerts held since before `before` (retention): nobody came to read them in time."""
    cur = await conn.execute("DELETE FROM held_alerts WHERE created_at < ?", (before.astimezone(UTC).isoformat(),))
    return cur.rowcount


async def seal_plain(conn: Connection) -> int:
    """Seal alerts held in plain JSON since before they were sealed on the way in."""
    sealer = vault.of(conn)
    async with conn.execute("SELECT id, message FROM held_alerts WHERE message NOT LIKE 'v1:%'") as cur:
        rows = await cur.fetchall()
    for ident, message in rows:
        await conn.execute("UPDATE held_alerts SET message = ? WHERE id = ?", (sealer.seal(message), ident))
    return len(rows)
