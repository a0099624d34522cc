"""Single-use, expiring invites bound to a role and an organisation. Stored hashed."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from pydantic import BaseModel

from db.connection import Connection
from flows.model import Role

# Telegram's deep-link parameter allows A-Z a-z 0-9 _ - up to 64 characters.
CODE_BYTES = 12


class Invite(BaseModel):
    code: str
    role: Role
    org_id: str | None
    contact_id: str | None = None
    team_id: str | None = None
    language: str | None = None  # the language the person starts in (else their app's, else the default)
    expires_at: datetime


class Redeemable(BaseModel):
    code_hash: str
    role: Role
    org_id: str | None
    contact_id: str | None = None
    team_id: str | None = None
    language: str | None = None


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


async def create(
    conn: Connection,
    *,
    role: Role,
    org_id: str | None,
    now: datetime,
    valid_for: timedelta,
    contact_id: str | None = None,
    team_id: str | None = None,
    language: str | None = None,
) -> Invite:
    """An invite for a volunteer or coordinator of `org_id`, a coordinator of wijkteam `team_id`,
    or a member bound to `contact_id`; the person it registers starts in `language` when given (a
    shipped language: the caller checks)."""
    code = secrets.token_urlsafe(CODE_BYTES)
    expires = now + valid_for
    await conn.execute(
        "INSERT INTO invites (code_hash, role, org_id, contact_id, team_id, language, created_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (_hash(code), role.value, org_id, contact_id, team_id, language, now.isoformat(), expires.isoformat()),
    )
    return Invite(
        code=code, role=role, org_id=org_id, contact_id=contact_id, team_id=team_id, language=language,
        expires_at=expires,
    )


async def find_usable(conn: Connection, code: str, now: datetime) -> Redeemable | None:
    """The invite behind `code` if it exists, is unused and has not expired."""
    async with conn.execute(
        "SELECT code_hash, role, org_id, contact_id, team_id, language FROM invites "
        "WHERE code_hash = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?",
        (_hash(code.strip()), now.isoformat()),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    return Redeemable(
        code_hash=row[0], role=row[1], org_id=row[2], contact_id=row[3], team_id=row[4], language=row[5] or None
    )


async def mark_used(conn: Connection, code_hash: str, user_id: int, now: datetime) -> bool:
    cur = await conn.execute(
        "UPDATE invites SET used_at = ?, used_by = ? WHERE code_hash = ? AND used_at IS NULL",
        (now.isoformat(), user_id, code_hash),
    )
    return cur.rowcount == 1


class Listed(BaseModel):
    """An invite as the operator sees it: by the start of its hash, never the code itself."""

    ref: str
    role: Role
    bound_to: str
    created_at: datetime
    expires_at: datetime
    state: str  # open, used, expired, revoked


async def all_(conn: Connection, now: datetime) -> list[Listed]:
    async with conn.execute(
        "SELECT code_hash, role, coalesce(org_id, team_id, "
        "contact_id, ''), created_at, expires_at, used_at, revoked_at "
        "FROM invites ORDER BY created_at"
    ) as cur:
        rows = await cur.fetchall()
    out = []
    for r in rows:
        state = "revoked" if r[6] else "used" if r[5] else "expired" if r[4] <= now.isoformat() else "open"
        out.append(Listed(ref=r[0][:10], role=r[1], bound_to=r[2], created_at=r[3], expires_at=r[4], state=state))
    return out


async def revoke(conn: Connection, ref: str, now: datetime) -> int:
    """Revoke the unused invites whose hash starts with `ref` (as `invites list` shows it)."""
    if len(ref) < 6:
        return 0
    cur = await conn.execute(
        "UPDATE invites SET revoked_at = ? WHERE code_hash LIKE ? AND used_at IS NULL AND revoked_at IS NULL",
        (now.isoformat(), ref.lower() + "%"),  # the hash is lower-case hex; LIKE is case-blind only in SQLite
    )
    return cur.rowcount
