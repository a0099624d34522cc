"""Each user's conversation state: the JSON of flows.state.Conversation, sealed (a draft holds
the question's text and, during a handover request, the parent's name and number)."""

from __future__ import annotations

from datetime import UTC, datetime

from db import vault
from db.connection import Connection
from flows.state import Conversation


async def load(conn: Connection, user_id: int) -> Conversation:
    async with conn.execute("SELECT state FROM conversations WHERE user_id = ?", (user_id,)) as cur:
        row = await cur.fetchone()
    return Conversation.model_validate_json(vault.of(conn).open(row[0]) or "{}") if row else Conversation()


async def save(conn: Connection, user_id: int, state: Conversation, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO conversations (user_id, state, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT (user_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
        (user_id, vault.of(conn).seal(state.model_dump_json(exclude_defaults=True)), now.isoformat()),
    )


async def idle_since(conn: Connection, before: datetime) -> list[tuple[int, Conversation]]:
    """Conversations not moved on since before `before` (retention), opened."""
    async with conn.execute(
        "SELECT user_id, state FROM conversations WHERE updated_at < ?", (before.astimezone(UTC).isoformat(),)
    ) as cur:
        rows = await cur.fetchall()
    opened = vault.of(conn)
    return [(r[0], Conversation.model_validate_json(opened.open(r[1]) or "{}")) for r in rows]
