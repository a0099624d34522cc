"""Parents' questions as logged by volunteers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pydantic import BaseModel

from db.connection import Connection, Row, lock_code
from db.vault import Vault
from flows.model import LogQuestion


class Question(BaseModel):
    id: int
    code: str
    org_id: str
    volunteer_id: int | None
    urgent: bool
    theme: str
    age_group: str
    parent_language: str
    pc4: str
    wijk: str | None
    text: str | None
    created_at: datetime
    text_language: str | None = None  # the language `text` is in (unknown for old rows)


_COLUMNS = (
    "id, code, org_id, volunteer_id, urgent, theme, age_group, parent_language, pc4, wijk, text, created_at, "
    "text_language"
)


async def insert(conn: Connection, q: LogQuestion, vault: Vault) -> int:
    """Store a question; its free text is sealed (encrypted at rest)."""
    cur = await conn.execute(
        "INSERT INTO questions (code, org_id, volunteer_id, urgent, theme, age_group, parent_language, pc4, wijk, "
        "text, created_at, text_language) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (q.code, q.org_id, q.volunteer_id, int(q.urgent), q.theme, q.age_group, q.parent_language, q.pc4, q.wijk,
         vault.seal(q.text), q.created_at.isoformat(), q.text_language),
    )
    return int((await cur.fetchone())[0])


def _question(row: Row, vault: Vault) -> Question:
    return Question(
        id=row[0], code=row[1], org_id=row[2], volunteer_id=row[3], urgent=bool(row[4]), theme=row[5],
        age_group=row[6], parent_language=row[7], pc4=row[8], wijk=row[9], text=vault.open(row[10]), created_at=row[11],
        text_language=row[12],
    )


async def by_code(conn: Connection, org_id: str, code: str, vault: Vault) -> Question | None:
    """A question of one organisation: a code from another organisation is not found."""
    async with conn.execute(f"SELECT {_COLUMNS} FROM questions WHERE org_id = ? AND code = ?", (org_id, code)) as cur:
        row = await cur.fetchone()
    return _question(row, vault) if row else None


async def of_volunteer(conn: Connection, volunteer_id: int, vault: Vault) -> list[Question]:
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM questions WHERE volunteer_id = ? ORDER BY id", (volunteer_id,)
    ) as cur:
        return [_question(r, vault) for r in await cur.fetchall()]


async def set_wijk(conn: Connection, org_id: str, code: str, wijk: str) -> None:
    await conn.execute("UPDATE questions SET wijk = ? WHERE org_id = ? AND code = ?", (wijk, org_id, code))


class Unrequested(BaseModel):
    """A saved question nobody was asked about yet (no handover, no consult): no text, no parent."""

    code: str
    theme: str
    parent_language: str
    urgent: bool
    wijk: str | None
    created_at: datetime


async def without_request(conn: Connection, volunteer_id: int, org_id: str, limit: int = 10) -> list[Unrequested]:
    """A volunteer's own questions of their organisation that have no case yet, newest first
    (a question whose text was erased has nothing left to pass on, and is left out)."""
    async with conn.execute(
        "SELECT code, theme, parent_language, urgent, wijk, created_at FROM questions q "
        "WHERE q.volunteer_id = ? AND q.org_id = ? AND q.text IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.question_id = q.id) ORDER BY q.id DESC LIMIT ?",
        (volunteer_id, org_id, limit),
    ) as cur:
        return [
            Unrequested(code=r[0], theme=r[1], parent_language=r[2], urgent=bool(r[3]), wijk=r[4], created_at=r[5])
            for r in await cur.fetchall()
        ]


class NoFreeCode(Exception):
    """Every code tried was taken: the code space is too small for the data (an operator's matter)."""


async def unused_code(conn: Connection, make: Callable[[], str], attempts: int = 8) -> str:
    """A question code no question has yet, from `make` (random). Called inside the transaction that
    stores the question, holding the code's lock (several instances draw codes at once): a code free
    now is still free when it is stored."""
    for _ in range(attempts):
        code = make()
        await lock_code(conn, code)
        async with conn.execute("SELECT 1 FROM questions WHERE code = ?", (code,)) as cur:
            if await cur.fetchone() is None:
                return code
    raise NoFreeCode(f"no free question code in {attempts} tries")
