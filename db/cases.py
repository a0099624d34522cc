"""Cases (warm handovers and consults), with the consent, parent data and attachments of their
question. Personal data is sealed with the vault on the way in and opened on the way out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import BaseModel

from db import whatsapp
from db.connection import Connection, Row, lock_code
from db.questions import NoFreeCode
from db.vault import Vault
from flows.model import AddAttachment, ChangeCase, OpenCase, RecordConsent, SaveParent


class CaseRecord(BaseModel):
    """A case row joined with its question, its parent data and attachment (opened)."""

    id: str
    kind: str
    status: str
    version: int
    org_id: str
    volunteer_id: int | None
    contact_id: str
    member_id: int | None
    team_id: str
    way: str | None
    previous_id: str | None
    escalated: bool
    opened_at: datetime
    question_code: str | None
    theme: str
    age_group: str
    parent_language: str
    wijk: str | None
    urgent: bool
    question_text: str | None
    first_name: str | None
    phone: str | None
    call_time: str | None
    attachment_media: str | None
    attachment_file: str | None
    question_language: str | None = None  # the language the question's text is in
    short_text: str | None = None  # a short version for a member who does not read that language
    short_language: str | None = None
    consent_contact: str | None = None  # whom the case's consent (given, not withdrawn) names


class Stale(Exception):
    """The case changed since the decision was taken on it."""


async def _question_id(conn: Connection, org_id: str, code: str) -> int:
    async with conn.execute("SELECT id FROM questions WHERE org_id = ? AND code = ?", (org_id, code)) as cur:
        row = await cur.fetchone()
    if row is None:
        raise LookupError(f"question {code} of {org_id} not found")
    return int(row[0])


async def record_consent(conn: Connection, c: RecordConsent) -> None:
    """A consent row naming its recipient (the contact) and the case it is for; the case is opened
    later in the same transaction (the reference is checked at commit)."""
    qid = await _question_id(conn, c.org_id, c.question_code)
    await conn.execute(
        "INSERT INTO consents (question_id, volunteer_id, wording_version, language, given_at, contact_id, case_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (qid, c.volunteer_id, c.wording_version, c.language, c.at.isoformat(), c.contact_id, c.case_id),
    )


async def save_parent(conn: Connection, p: SaveParent, vault: Vault) -> None:
    qid = await _question_id(conn, p.org_id, p.question_code)
    await conn.execute(
        "INSERT INTO parents (question_id, first_name_sealed, phone_sealed, call_time_sealed) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (question_id) DO UPDATE SET first_name_sealed = excluded.first_name_sealed, "
        "phone_sealed = excluded.phone_sealed, call_time_sealed = excluded.call_time_sealed, erased_at = NULL",
        (qid, vault.seal(p.first_name), vault.seal(p.phone), vault.seal(p.call_time)),
    )


async def add_attachment(conn: Connection, a: AddAttachment, vault: Vault) -> None:
    qid = await _question_id(conn, a.org_id, a.question_code)
    await conn.execute(
        "INSERT INTO attachments (question_id, media, file_id_sealed, created_at) VALUES (?, ?, ?, ?)",
        (qid, a.media, vault.seal(a.file_id), a.at.isoformat()),
    )


async def erase_parent(conn: Connection, org_id: str, code: str, now: datetime) -> None:
    """Consent withdrawn: the parent's details and attachments go; the consent row says when."""
    qid = await _question_id(conn, org_id, code)
    await conn.execute(
        "UPDATE parents SET first_name_sealed = NULL, phone_sealed = NULL, call_time_sealed = NULL, erased_at = ? "
        "WHERE question_id = ?",
        (now.isoformat(), qid),
    )
    await whatsapp.forget_uploads_of(conn, qid)  # a copy uploaded for a WhatsApp reader: its media id
    await conn.execute("DELETE FROM attachments WHERE question_id = ?", (qid,))
    await conn.execute(
        "UPDATE consents SET withdrawn_at = ? WHERE question_id = ? AND withdrawn_at IS NULL", (now.isoformat(), qid)
    )


async def open_case(conn: Connection, c: OpenCase, vault: Vault | None = None) -> None:
    """A new case; its short version of the question (if any) is sealed with `vault`."""
    qid = await _question_id(conn, c.org_id, c.question_code) if c.question_code else None
    short = vault.seal(c.short_text) if vault is not None and c.short_text else None
    await conn.execute(
        "INSERT INTO cases (id, kind, question_id, org_id, volunteer_id, contact_id, member_id, team_id, way, status, "
        "previous_id, opened_at, short_text, short_language) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'requested', ?, ?, ?, ?)",
        (
            c.case_id, c.case_kind, qid, c.org_id, c.volunteer_id, c.contact_id, c.member_id, c.team_id, c.way,
            c.previous_id, c.at.isoformat(), short, c.short_language if short else None,
        ),
    )
    await _event(conn, c.case_id, "requested", c.at)


async def _event(conn: Connection, case_id: str, status: str, at: datetime) -> None:
    await conn.execute(
        "INSERT INTO case_events (case_id, status, at) VALUES (?, ?, ?)", (case_id, status, at.isoformat())
    )


async def change(conn: Connection, c: ChangeCase, vault: Vault) -> None:
    """Move a case on, only from the version the decision was taken on; a new status is a new version."""
    cur = await conn.execute(
        "UPDATE cases SET version = version + CASE WHEN status <> ? THEN 1 ELSE 0 END, status = ?, "
        "escalated = CASE WHEN escalated > ? THEN escalated ELSE ? END, "
        "reason = coalesce(?, reason), reason_sealed = coalesce(?, reason_sealed), "
        "answered_at = CASE WHEN ? IN ('accepted', 'declined') THEN ? ELSE answered_at END, "
        "closed_at = CASE WHEN ? IN ('closed', 'withdrawn', 'declined', "
        "'member_left', 'expired') THEN ? ELSE closed_at END "
        "WHERE id = ? AND version = ?",
        (
            c.status, c.status, int(c.escalated), int(c.escalated), c.reason, vault.seal(c.reason_text), c.status,
            c.at.isoformat(), c.status, c.at.isoformat(), c.case_id, c.version,
        ),
    )
    if cur.rowcount != 1:
        raise Stale(c.case_id)
    if c.event:
        await _event(conn, c.case_id, c.event, c.at)


_SELECT = (
    "SELECT c.id, c.kind, c.status, c.version, c.org_id, c.volunteer_id, c.contact_id, c.member_id, c.team_id, c.way, "
    "c.previous_id, c.escalated, c.opened_at, q.code, q.theme, q.age_group, q.parent_language, q.wijk, q.urgent, "
    "q.text, p.first_name_sealed, p.phone_sealed, p.call_time_sealed, "
    "(SELECT media FROM attachments a WHERE a.question_id = q.id ORDER BY a.id DESC LIMIT 1), "
    "(SELECT file_id_sealed FROM attachments a WHERE a.question_id = q.id ORDER BY a.id DESC LIMIT 1), "
    "q.text_language, c.short_text, c.short_language, "
    "(SELECT k.contact_id FROM consents k WHERE k.case_id = "
    "c.id AND k.withdrawn_at IS NULL ORDER BY k.id DESC LIMIT 1) "
    "FROM cases c LEFT JOIN questions q ON q.id = c.question_id LEFT JOIN parents p ON p.question_id = q.id "
)


def _record(row: Row, vault: Vault) -> CaseRecord:
    return CaseRecord(
        id=row[0], kind=row[1], status=row[2], version=row[3], org_id=row[4], volunteer_id=row[5], contact_id=row[6],
        member_id=row[7], team_id=row[8], way=row[9], previous_id=row[10], escalated=bool(row[11]), opened_at=row[12],
        question_code=row[13], theme=row[14] or "other", age_group=row[15] or "", parent_language=row[16] or "",
        wijk=row[17], urgent=bool(row[18]), question_text=vault.open(row[19]), first_name=vault.open(row[20]),
        phone=vault.open(row[21]), call_time=vault.open(row[22]), attachment_media=row[23],
        attachment_file=vault.open(row[24]), question_language=row[25], short_text=vault.open(row[26]),
        short_language=row[27], consent_contact=row[28],
    )


async def get(conn: Connection, case_id: str, vault: Vault) -> CaseRecord | None:
    async with conn.execute(_SELECT + "WHERE c.id = ?", (case_id,)) as cur:
        row = await cur.fetchone()
    return _record(row, vault) if row else None


async def of_user(conn: Connection, user_id: int, vault: Vault, limit: int = 20) -> list[CaseRecord]:
    """A member's or a volunteer's cases, newest first."""
    async with conn.execute(
        _SELECT + "WHERE c.member_id = ? OR c.volunteer_id = ? ORDER BY c.opened_at DESC, c.id LIMIT ?",
        (user_id, user_id, limit),
    ) as cur:
        return [_record(r, vault) for r in await cur.fetchall()]


async def of_member(conn: Connection, user_id: int, statuses: tuple[str, ...], vault: Vault) -> list[CaseRecord]:
    """Every case of a member in one of `statuses` (all of them: no limit), oldest first."""
    marks = ", ".join("?" for _ in statuses)
    async with conn.execute(
        _SELECT + f"WHERE c.member_id = ? AND c.status IN ({marks}) ORDER BY c.opened_at, c.id", (user_id, *statuses)
    ) as cur:
        return [_record(r, vault) for r in await cur.fetchall()]


async def open_counts(conn: Connection) -> dict[str, int]:
    """Per contact, the handovers waiting for them or running: matching prefers the less busy."""
    async with conn.execute(
        "SELECT contact_id, count(*) FROM cases WHERE status IN "
        "('requested', 'accepted', 'contact_made') GROUP BY contact_id"
    ) as cur:
        return {r[0]: r[1] for r in await cur.fetchall()}


async def quiet_since(conn: Connection, before: datetime, vault: Vault) -> list[CaseRecord]:
    """Open cases (waiting, accepted, contact made) whose last step is older than `before`."""
    async with conn.execute(
        _SELECT + "WHERE c.status IN ('requested', 'accepted', 'contact_made') "
        "AND coalesce((SELECT max(e.at) FROM case_events e WHERE "
        "e.case_id = c.id), c.opened_at) < ? ORDER BY c.opened_at, c.id",
        (before.astimezone(UTC).isoformat(),),
    ) as cur:
        return [_record(r, vault) for r in await cur.fetchall()]


async def unused_id(conn: Connection, make: Callable[[], str], attempts: int = 8) -> str:
    """A case id no case has yet, from `make` (random); like `db.questions.unused_code`."""
    for _ in range(attempts):
        case_id = make()
        await lock_code(conn, case_id)  # held to the COMMIT: another instance drawing it waits, then sees it
        async with conn.execute("SELECT 1 FROM cases WHERE id = ?", (case_id,)) as cur:
            if await cur.fetchone() is None:
                return case_id
    raise NoFreeCode(f"no free case id in {attempts} tries")
