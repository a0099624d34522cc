"""Organisations (the migrant organisations whose volunteers use Wijkbrug)."""

from __future__ import annotations

import aiosqlite
from pydantic import BaseModel


class Organisation(BaseModel):
    id: str
    name: str


async def upsert(conn: aiosqlite.Connection, org: Organisation) -> str:
    """Insert or update one organisation; says 'added', 'changed' or 'unchanged'."""
    existing = await get(conn, org.id)
    if existing == org:
        return "unchanged"
    await conn.execute(
        "INSERT INTO organisations (id, name) VALUES (?, ?) "
        "ON CONFLICT (id) DO UPDATE SET name = excluded.name",
        (org.id, org.name),
    )
    return "added" if existing is None else "changed"


async def get(conn: aiosqlite.Connection, org_id: str) -> Organisation | None:
    async with conn.execute("SELECT id, name FROM organisations WHERE id = ?", (org_id,)) as cur:
        row = await cur.fetchone()
    return Organisation(id=row[0], name=row[1]) if row else None


async def all_(conn: aiosqlite.Connection) -> list[Organisation]:
    async with conn.execute("SELECT id, name FROM organisations ORDER BY id") as cur:
        return [Organisation(id=r[0], name=r[1]) for r in await cur.fetchall()]
