"""Registered users: who they are on which channel, their role, organisation and language."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from db.connection import Connection
from flows.model import Role, User
from flows.names import clean_name

_COLUMNS = "id, channel, chat_id, role, org_id, language, display_name, contact_id, team_id, revoked_at, unreachable_at"


class Account(BaseModel):
    id: int
    channel: str
    chat_id: str
    role: Role
    org_id: str | None
    language: str
    display_name: str
    contact_id: str | None = None
    team_id: str | None = None  # a wijkteam's coordinator
    revoked_at: str | None = None
    unreachable_at: str | None = None

    def as_user(self) -> User:
        return User(
            id=self.id, role=self.role, org_id=self.org_id, language=self.language, name=self.display_name,
            contact_id=self.contact_id,
        )


def _account(row) -> Account:
    return Account(
        id=row[0], channel=row[1], chat_id=row[2], role=row[3], org_id=row[4], language=row[5],
        display_name=clean_name(row[6]),  # cleaned when shown too: a name stored before must not scramble a message
        contact_id=row[7], team_id=row[8], revoked_at=row[9], unreachable_at=row[10],
    )


async def by_chat(conn: Connection, channel: str, chat_id: str) -> Account | None:
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM users WHERE channel = ? AND chat_id = ?", (channel, chat_id)
    ) as cur:
        row = await cur.fetchone()
    return _account(row) if row else None


async def get(conn: Connection, user_id: int) -> Account | None:
    async with conn.execute(f"SELECT {_COLUMNS} FROM users WHERE id = ?", (user_id,)) as cur:
        row = await cur.fetchone()
    return _account(row) if row else None


async def create(
    conn: Connection,
    *,
    channel: str,
    chat_id: str,
    role: Role,
    org_id: str | None,
    language: str,
    display_name: str,
    now: datetime,
    contact_id: str | None = None,
    team_id: str | None = None,
) -> Account:
    cur = await conn.execute(
        "INSERT INTO users (channel, chat_id, role, org_id, language, display_name, created_at, contact_id, team_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (channel, chat_id, role.value, org_id, language, display_name, now.isoformat(), contact_id, team_id),
    )
    account = await get(conn, int(cur.lastrowid or 0))
    assert account is not None
    return account


async def set_language(conn: Connection, user_id: int, language: str) -> None:
    await conn.execute("UPDATE users SET language = ? WHERE id = ?", (language, user_id))


async def coordinators(conn: Connection, scope: str) -> list[Account]:
    """The coordinators of `org:<id>` or `team:<id>`."""
    kind, _, key = scope.partition(":")
    column = "team_id" if kind == "team" else "org_id"
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM users WHERE {column} = ? AND role = 'coordinator' AND revoked_at IS NULL ORDER BY id", (key,)
    ) as cur:
        return [_account(r) for r in await cur.fetchall()]


async def members_by_contact(conn: Connection) -> dict[str, int]:
    """Directory contact id -> the member account bound to it (the newest, if several)."""
    async with conn.execute(
        "SELECT contact_id, max(id) FROM users WHERE contact_id IS NOT NULL AND revoked_at IS NULL GROUP BY contact_id"
    ) as cur:
        return {r[0]: r[1] for r in await cur.fetchall()}


async def all_coordinators(conn: Connection) -> list[Account]:
    async with conn.execute(f"SELECT {_COLUMNS} FROM users WHERE role = 'coordinator' AND revoked_at IS NULL ORDER BY id") as cur:
        return [_account(r) for r in await cur.fetchall()]


async def all_(conn: Connection) -> list[Account]:
    async with conn.execute(f"SELECT {_COLUMNS} FROM users ORDER BY id") as cur:
        return [_account(r) for r in await cur.fetchall()]


async def revoke(conn: Connection, user_id: int, now: datetime) -> bool:
    cur = await conn.execute("UPDATE users SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (now.isoformat(), user_id))
    return cur.rowcount == 1


async def mark_unreachable(conn: Connection, channel: str, chat_id: str, now: datetime) -> None:
    """The channel refused for good to deliver to this chat (the person blocked the bot)."""
    await conn.execute(
        "UPDATE users SET unreachable_at = ?, unreachable_told = 0 WHERE channel = ? AND chat_id = ? AND unreachable_at IS NULL",
        (now.isoformat(), channel, chat_id),
    )


async def reachable_again(conn: Connection, user_id: int) -> None:
    await conn.execute("UPDATE users SET unreachable_at = NULL, unreachable_told = 0 WHERE id = ?", (user_id,))


async def newly_unreachable(conn: Connection) -> list[Account]:
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM users WHERE unreachable_at IS NOT NULL AND unreachable_told = 0 AND revoked_at IS NULL"
    ) as cur:
        return [_account(r) for r in await cur.fetchall()]


async def told_unreachable(conn: Connection, user_id: int) -> None:
    await conn.execute("UPDATE users SET unreachable_told = 1 WHERE id = ?", (user_id,))


async def uncoordinated_orgs(conn: Connection) -> list[str]:
    """The organisations of the directory without an active coordinator: nobody of their own
    can receive their volunteers' safety alerts."""
    async with conn.execute(
        "SELECT id FROM organisations WHERE id NOT IN "
        "(SELECT org_id FROM users WHERE role = 'coordinator' AND org_id IS NOT NULL AND revoked_at IS NULL) ORDER BY id"
    ) as cur:
        return [row[0] for row in await cur.fetchall()]


async def has_coordinator(conn: Connection, org_id: str) -> bool:
    async with conn.execute(
        "SELECT 1 FROM users WHERE org_id = ? AND role = 'coordinator' AND revoked_at IS NULL LIMIT 1", (org_id,)
    ) as cur:
        return await cur.fetchone() is not None


async def coordinator_scopes(conn: Connection) -> frozenset[str]:
    """Every scope ("org:<id>", "team:<id>") with an active coordinator: who can receive an alert now."""
    async with conn.execute(
        "SELECT DISTINCT CASE WHEN team_id IS NOT NULL THEN 'team:' || team_id ELSE 'org:' || org_id END "
        "FROM users WHERE role = 'coordinator' AND revoked_at IS NULL AND coalesce(team_id, org_id) IS NOT NULL"
    ) as cur:
        return frozenset(row[0] for row in await cur.fetchall())
