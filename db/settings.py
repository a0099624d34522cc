"""Small named values the bot keeps between runs (the channel's update offset, the bot's username)."""

from __future__ import annotations

from db.connection import Connection


async def get(conn: Connection, key: str) -> str | None:
    async with conn.execute("SELECT value FROM settings WHERE key = ?", (key,)) as cur:
        row = await cur.fetchone()
    return row[0] if row else None


async def put(conn: Connection, key: str, value: str) -> None:
    await conn.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
