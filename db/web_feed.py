"""What the bot said to a person who reads it on the web page (an e-mail person, issue 16).

The web channel's sender stores each rendered, channel-neutral message (bot/outgoing.py) here
instead of calling an API; the page shows a person's feed, newest last, with the buttons of a
prompt as forms. Bodies are sealed like the outbox's: they hold what people wrote.

A "chosen" message replaces an earlier prompt (`ref`, the outbox row that carried it): the
prompt's entry keeps its text and records the choice in `replaced`, so its buttons are no longer
offered, as Telegram edits the prompt to show the choice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from db import vault
from db.connection import Connection


@dataclass(frozen=True)
class Entry:
    id: int
    kind: str
    body: dict[str, Any]
    created_at: str
    replaced: str | None  # the choice that answered this prompt, if any


async def add(conn: Connection, user_id: int, kind: str, body: Mapping[str, Any], now: datetime) -> int:
    """Store one message for `user_id`'s page; returns its id (what a later `chosen` names)."""
    cursor = await conn.execute(
        "INSERT INTO web_feed (user_id, kind, body, created_at) VALUES (?, ?, ?, ?) RETURNING id",
        (user_id, kind, vault.of(conn).seal(json.dumps(body, ensure_ascii=False)), now.isoformat()),
    )
    return int((await cursor.fetchone())[0])


async def replace(conn: Connection, user_id: int, entry_id: int, text: str) -> bool:
    """Record `text` as the choice made on prompt `entry_id` (of this person only)."""
    cursor = await conn.execute(
        "UPDATE web_feed SET replaced = ? WHERE id = ? AND user_id = ?",
        (vault.of(conn).seal(text), entry_id, user_id),
    )
    return cursor.rowcount == 1


async def recent(conn: Connection, user_id: int, limit: int = 50) -> list[Entry]:
    """The person's newest `limit` messages, oldest first."""
    async with conn.execute(
        "SELECT id, kind, body, created_at, replaced FROM web_feed WHERE user_id = ? ORDER BY id DESC LIMIT ?",
        (user_id, limit),
    ) as cursor:
        rows = await cursor.fetchall()
    sealer = vault.of(conn)
    return [
        Entry(
            id=int(row[0]), kind=str(row[1]), body=json.loads(sealer.open(row[2]) or "{}"), created_at=str(row[3]),
            replaced=sealer.open(row[4]),
        )
        for row in reversed(rows)
    ]


async def forget_before(conn: Connection, before: datetime) -> int:
    """Retention: drop feed entries older than `before`."""
    cursor = await conn.execute("DELETE FROM web_feed WHERE created_at < ?", (before.isoformat(),))
    return cursor.rowcount
