"""The web page's sessions: a person logged in (by a login link, db/login_links.py) is known by a
random token in their cookie. Only its SHA-256 is stored, with when the session ends (and when its
person last used the page, for the e-mail quiet rule: bot/email_send.py), so a copy
of the database logs nobody in; logging out deletes it, and erasing the person deletes theirs
(the row's foreign key cascades)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from db.connection import Connection

TOKEN_BYTES = 32
VALID_FOR = timedelta(hours=12)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def create(conn: Connection, user_id: int, now: datetime, valid_for: timedelta = VALID_FOR) -> str:
    """A new session for `user_id`; returns its token (for the cookie; only its hash is kept).
    Sessions that have ended are dropped on the way."""
    await forget_ended(conn, now)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    await conn.execute(
        "INSERT INTO web_sessions (token_hash, user_id, created_at, expires_at, seen_at) VALUES (?, ?, ?, ?, ?)",
        (_hash(token), user_id, now.isoformat(), (now + valid_for).isoformat(), now.isoformat()),
    )
    return token


async def seen(conn: Connection, token: str, now: datetime) -> None:
    """The session's person used the page at `now` (migration 017)."""
    await conn.execute(
        "UPDATE web_sessions SET seen_at = ? WHERE token_hash = ? AND (seen_at IS NULL OR seen_at < ?)",
        (now.isoformat(), _hash(token), now.isoformat()),
    )


async def seen_since(conn: Connection, user_id: int, since: datetime) -> bool:
    """Whether the person used the page, in any session of theirs, at `since` or later."""
    async with conn.execute(
        "SELECT 1 FROM web_sessions WHERE user_id = ? AND seen_at >= ? LIMIT 1", (user_id, since.isoformat())
    ) as cursor:
        return await cursor.fetchone() is not None


async def user_of(conn: Connection, token: str, now: datetime) -> int | None:
    """Whose session `token` is, while it lasts; None for an unknown, ended or logged-out one."""
    if not token:
        return None
    async with conn.execute(
        "SELECT user_id, expires_at FROM web_sessions WHERE token_hash = ?", (_hash(token),)
    ) as cursor:
        row = await cursor.fetchone()
    if row is None or datetime.fromisoformat(str(row[1])) <= now:
        return None
    return int(row[0])


async def end(conn: Connection, token: str) -> bool:
    """Log out: the session is deleted (its cookie opens nothing any more)."""
    cursor = await conn.execute("DELETE FROM web_sessions WHERE token_hash = ?", (_hash(token),))
    return cursor.rowcount == 1


async def end_all(conn: Connection, user_id: int) -> int:
    """Every session of a person (their access was revoked)."""
    cursor = await conn.execute("DELETE FROM web_sessions WHERE user_id = ?", (user_id,))
    return cursor.rowcount


async def forget_ended(conn: Connection, now: datetime) -> int:
    cursor = await conn.execute("DELETE FROM web_sessions WHERE expires_at <= ?", (now.isoformat(),))
    return cursor.rowcount
