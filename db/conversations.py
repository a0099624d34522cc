"""Each user's conversation state, stored as the JSON of flows.state.Conversation."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from flows.state import Conversation


async def load(conn: aiosqlite.Connection, user_id: int) -> Conversation:
    async with conn.execute("SELECT state FROM conversations WHERE user_id = ?", (user_id,)) as cur:
        row = await cur.fetchone()
    return Conversation.model_validate_json(row[0]) if row else Conversation()


async def save(conn: aiosqlite.Connection, user_id: int, state: Conversation, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO conversations (user_id, state, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT (user_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
        (user_id, state.model_dump_json(exclude_defaults=True), now.isoformat()),
    )
