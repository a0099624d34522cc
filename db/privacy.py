"""Erasure, retention, key rotation, backup and the audit log: the operator's privacy duties.

Everything here removes or re-seals personal data; the audit log records that it happened (who,
what, when), never the data itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel

from db import inbox
from db.connection import Connection, open_raw
from db.vault import CHECK_KEY, Vault

INBOX_DAYS = 7  # how long the ids of processed updates are kept (see inbox.forget_processed)

SEALED = (
    ("questions", "id", "text"),
    ("parents", "question_id", "first_name_sealed"),
    ("parents", "question_id", "phone_sealed"),
    ("parents", "question_id", "call_time_sealed"),
    ("attachments", "id", "file_id_sealed"),
    ("cases", "id", "reason_sealed"),
    ("cases", "id", "short_text"),
    ("conversations", "user_id", "state"),
    ("inbox", "rowid", "payload"),
    ("outbox", "id", "payload"),
    ("settings", "key", "value"),
)


class Erased(BaseModel):
    """What an erasure removed, to tell the operator."""

    items: list[str] = []


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


async def audit(conn: Connection, actor: str, action: str, subject: str, now: datetime, detail: str = "") -> None:
    await conn.execute(
        "INSERT INTO audit (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)", (_utc(now), actor, action, subject, detail)
    )


async def audit_log(conn: Connection, limit: int = 100) -> list[tuple[str, str, str, str, str]]:
    async with conn.execute("SELECT at, actor, action, subject, detail FROM audit ORDER BY id DESC LIMIT ?", (limit,)) as cur:
        return [tuple(r) for r in await cur.fetchall()]


async def _erase_question_data(conn: Connection, question_id: int, now: datetime) -> list[str]:
    removed = []
    cur = await conn.execute(
        "UPDATE parents SET first_name_sealed = NULL, phone_sealed = NULL, call_time_sealed = NULL, erased_at = ? "
        "WHERE question_id = ? AND (first_name_sealed IS NOT NULL OR phone_sealed IS NOT NULL)",
        (_utc(now), question_id),
    )
    if cur.rowcount:
        removed.append("the parent's first name, phone number and call time")
    cur = await conn.execute("DELETE FROM attachments WHERE question_id = ?", (question_id,))
    if cur.rowcount:
        removed.append(f"{cur.rowcount} attachment reference(s)")
    cur = await conn.execute(
        "UPDATE questions SET text = NULL, text_erased_at = ? WHERE id = ? AND text IS NOT NULL", (_utc(now), question_id)
    )
    if cur.rowcount:
        removed.append("the question's text")
    cur = await conn.execute("UPDATE cases SET short_text = NULL WHERE question_id = ? AND short_text IS NOT NULL", (question_id,))
    if cur.rowcount:
        removed.append("the short version of the question given for a member")
    cur = await conn.execute("UPDATE cases SET reason_sealed = NULL WHERE question_id = ? AND reason_sealed IS NOT NULL", (question_id,))
    if cur.rowcount:
        removed.append("a member's own words in a decline")
    return removed


async def erase_question(conn: Connection, code: str, now: datetime) -> Erased | None:
    """Every trace of personal data of one question (codes, categories and counts stay)."""
    async with conn.execute("SELECT id FROM questions WHERE code = ?", (code,)) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    removed = await _erase_question_data(conn, int(row[0]), now)
    await audit(conn, "operator", "erase", code, now, "; ".join(removed) or "nothing left to erase")
    return Erased(items=removed)


async def erase_user(conn: Connection, user_id: int, now: datetime) -> Erased | None:
    """A person's account: their chat id, name, language and conversation. The questions they
    logged stay (without them), so that summaries keep their counts."""
    async with conn.execute("SELECT id FROM users WHERE id = ?", (user_id,)) as cur:
        if await cur.fetchone() is None:
            return None
    await conn.execute("DELETE FROM conversations WHERE user_id = ?", (user_id,))
    await conn.execute("DELETE FROM users WHERE id = ?", (user_id,))
    items = ["the account (chat id, first name, language, role)", "the conversation state"]
    await audit(conn, "operator", "erase", f"user:{user_id}", now, "; ".join(items))
    return Erased(items=items)


async def apply_retention(conn: Connection, now: datetime, handover_days: int, text_days: int) -> tuple[int, int]:
    """Erase the parent's data of handovers closed (or withdrawn, declined) longer than
    `handover_days` ago, and question texts older than `text_days`. Returns (handovers, texts)."""
    cutoff = _utc(now - timedelta(days=handover_days))
    async with conn.execute(
        "SELECT DISTINCT c.question_id FROM cases c JOIN parents p ON p.question_id = c.question_id "
        "WHERE p.erased_at IS NULL AND c.question_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM cases o WHERE o.question_id = c.question_id "
        "  AND (o.status IN ('requested', 'accepted', 'contact_made') OR o.closed_at > ?))",
        (cutoff,),
    ) as cur:
        handovers = [r[0] for r in await cur.fetchall()]
    for question_id in handovers:
        await conn.execute(
            "UPDATE parents SET first_name_sealed = NULL, phone_sealed = NULL, call_time_sealed = NULL, erased_at = ? WHERE question_id = ?",
            (_utc(now), question_id),
        )
        await conn.execute("DELETE FROM attachments WHERE question_id = ?", (question_id,))
    cur = await conn.execute(
        "UPDATE questions SET text = NULL, text_erased_at = ? WHERE text IS NOT NULL AND created_at < ?",
        (_utc(now), _utc(now - timedelta(days=text_days))),
    )
    texts = cur.rowcount
    await conn.execute(  # the short versions of those questions go with them
        "UPDATE cases SET short_text = NULL WHERE short_text IS NOT NULL AND question_id IN "
        "(SELECT id FROM questions WHERE text IS NULL)"
    )
    await inbox.forget_processed(conn, (now - timedelta(days=INBOX_DAYS)).astimezone(UTC))
    if handovers or texts:
        await audit(conn, "bot", "retention", "-", now, f"{len(handovers)} handover(s), {texts} question text(s)")
    return len(handovers), texts


async def rotate(conn: Connection, vault: Vault, now: datetime) -> int:
    """Re-seal every sealed value under the vault's newest key (inside the caller's transaction)."""
    changed = 0
    for table, key, column in SEALED:
        condition = f"{column} LIKE 'v1:%'" + (f" AND key = '{CHECK_KEY}'" if table == "settings" else "")
        async with conn.execute(f"SELECT {key}, {column} FROM {table} WHERE {condition}") as cur:
            rows = await cur.fetchall()
        for ident, sealed in rows:
            await conn.execute(f"UPDATE {table} SET {column} = ? WHERE {key} = ?", (vault.rotate(sealed), ident))
            changed += 1
    await audit(conn, "operator", "rotate-key", "-", now, f"{changed} value(s) re-sealed")
    return changed


async def backup(conn: Connection, target: Path, now: datetime) -> None:
    """A consistent copy while the bot runs (SQLite's online backup)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    async with await open_raw(target) as copy:
        await conn.backup(copy)
    await audit(conn, "operator", "backup", target.name, now)
