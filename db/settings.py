"""Small named values the bot keeps between runs (the channel's update offset, the bot's username)."""

from __future__ import annotations

from db.connection import Connection, lock_code


async def get(conn: Connection, key: str) -> str | None:
    async with conn.execute("SELECT value FROM settings WHERE key = ?", (key,)) as cur:
        row = await cur.fetchone()
    return row[0] if row else None


async def put(conn: Connection, key: str, value: str) -> None:
    await conn.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


async def count_up(conn: Connection, key: str) -> int:
    """The next number of a counter kept here (1 the first time), stored in the caller's transaction;
    of two instances counting at once, the second waits for the first's number and takes the next."""
    await lock_code(conn, key)
    number = int(await get(conn, key) or 0) + 1
    await put(conn, key, str(number))
    return number
