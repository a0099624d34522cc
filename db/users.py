"""Registered users: who they are on which channel, their role, organisation and language."""

from __future__ import annotations

from datetime import datetime

import aiosqlite
from pydantic import BaseModel

from flows.model import Role, User

_COLUMNS = "id, channel, chat_id, role, org_id, language, display_name, contact_id"


class Account(BaseModel):
    id: int
    channel: str
    chat_id: str
    role: Role
    org_id: str | None
    language: str
    display_name: str
    contact_id: str | None = None

    def as_user(self) -> User:
        return User(
            id=self.id, role=self.role, org_id=self.org_id, language=self.language, name=self.display_name,
            contact_id=self.contact_id,
        )


def _account(row) -> Account:
    return Account(
        id=row[0], channel=row[1], chat_id=row[2], role=row[3], org_id=row[4], language=row[5], display_name=row[6],
        contact_id=row[7],
    )


async def by_chat(conn: aiosqlite.Connection, channel: str, chat_id: str) -> Account | None:
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM users WHERE channel = ? AND chat_id = ?", (channel, chat_id)
    ) as cur:
        row = await cur.fetchone()
    return _account(row) if row else None


async def get(conn: aiosqlite.Connection, user_id: int) -> Account | None:
    async with conn.execute(f"SELECT {_COLUMNS} FROM users WHERE id = ?", (user_id,)) as cur:
        row = await cur.fetchone()
    return _account(row) if row else None


async def create(
    conn: aiosqlite.Connection,
    *,
    channel: str,
    chat_id: str,
    role: Role,
    org_id: str | None,
    language: str,
    display_name: str,
    now: datetime,
    contact_id: str | None = None,
) -> Account:
    cur = await conn.execute(
        "INSERT INTO users (channel, chat_id, role, org_id, language, display_name, created_at, contact_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (channel, chat_id, role.value, org_id, language, display_name, now.isoformat(), contact_id),
    )
    account = await get(conn, int(cur.lastrowid or 0))
    assert account is not None
    return account


async def set_language(conn: aiosqlite.Connection, user_id: int, language: str) -> None:
    await conn.execute("UPDATE users SET language = ? WHERE id = ?", (language, user_id))


async def coordinators(conn: aiosqlite.Connection, org_id: str) -> list[Account]:
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM users WHERE org_id = ? AND role = 'coordinator' ORDER BY id", (org_id,)
    ) as cur:
        return [_account(r) for r in await cur.fetchall()]
