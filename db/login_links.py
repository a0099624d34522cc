"""Single-use, short-lived links that open the web page logged in (sent in e-mail notices).

Only the SHA-256 of a link's token is stored, as with invites: a copy of the database opens
nobody's page. A link is used once; an expired or used link still names its person, so the page
can offer to send a fresh link to that person's own address (never to one the visitor types).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from db.connection import Connection

TOKEN_BYTES = 24
VALID_FOR = timedelta(hours=24)


class Refusal(StrEnum):
    UNKNOWN = "unknown"  # no such link (mistyped, made up, or its person was erased)
    USED = "used"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Opened:
    user_id: int


@dataclass(frozen=True)
class Refused:
    reason: Refusal
    user_id: int | None  # whose link it was, when known: a fresh one may go to their address


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def create(conn: Connection, user_id: int, now: datetime, valid_for: timedelta = VALID_FOR) -> str:
    """A new link's token for `user_id` (shown once, in the e-mail; only its hash is kept)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    await conn.execute(
        "INSERT INTO login_links (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        (_hash(token), user_id, now.isoformat(), (now + valid_for).isoformat()),
    )
    return token


async def _look(conn: Connection, token: str, now: datetime) -> tuple[int, Opened] | Refused:
    async with conn.execute(
        "SELECT id, user_id, expires_at, used_at FROM login_links WHERE token_hash = ?", (_hash(token.strip()),)
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return Refused(Refusal.UNKNOWN, None)
    link_id, user_id, expires_at, used_at = int(row[0]), int(row[1]), str(row[2]), row[3]
    if used_at is not None:
        return Refused(Refusal.USED, user_id)
    if datetime.fromisoformat(expires_at) <= now:
        return Refused(Refusal.EXPIRED, user_id)
    return link_id, Opened(user_id)


async def check(conn: Connection, token: str, now: datetime) -> Opened | Refused:
    """What using the link `token` now would give, without using it (the page a GET of the link
    shows: a mail scanner opening it in advance uses up nothing)."""
    looked = await _look(conn, token, now)
    return looked if isinstance(looked, Refused) else looked[1]


async def use(conn: Connection, token: str, now: datetime) -> Opened | Refused:
    """Open the link `token` once: the person it logs in, or why not. Call it in a transaction."""
    looked = await _look(conn, token, now)
    if isinstance(looked, Refused):
        return looked
    link_id, opened = looked
    user_id = opened.user_id
    cursor = await conn.execute(
        "UPDATE login_links SET used_at = ? WHERE id = ? AND used_at IS NULL", (now.isoformat(), link_id)
    )
    if cursor.rowcount != 1:  # used by another request in between
        return Refused(Refusal.USED, user_id)
    return Opened(user_id)


async def forget_old(conn: Connection, before: datetime) -> int:
    """Drop links that expired before `before` (retention: they open nothing any more)."""
    cursor = await conn.execute("DELETE FROM login_links WHERE expires_at < ?", (before.isoformat(),))
    return cursor.rowcount


async def opened_since(conn: Connection, user_id: int, since: datetime) -> bool:
    """Whether the person opened a link of theirs at `since` or later (they read their page)."""
    async with conn.execute(
        "SELECT 1 FROM login_links WHERE user_id = ? AND used_at >= ? LIMIT 1", (user_id, since.isoformat())
    ) as cursor:
        return await cursor.fetchone() is not None
