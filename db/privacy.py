"""Erasure, retention, key rotation, backup and the audit log: the operator's privacy duties.

Everything here removes or re-seals personal data; the audit log records that it happened (who,
what, when), never the data itself."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel

from db import alerts, conversations, inbox, login_links, web_feed, whatsapp
from db.connection import Connection, DatabaseError, keep_private, lock_everything, open_raw, transaction
from db.vault import CHECK_KEY, Vault

INBOX_DAYS = 7  # how long the ids of processed updates are kept (see inbox.forget_processed)
UNKNOWN_LANGUAGE = "und"  # CLDR's code for an unknown language: what a typed language name becomes

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
    ("whatsapp_sent", "wamid", "payload"),
    ("whatsapp_media", "source", "media_id"),
    ("settings", "key", "value"),
    ("held_alerts", "id", "message"),
)


class Rotated(BaseModel):
    """What a key rotation did: values re-sealed, in how many transactions."""

    values: int = 0
    transactions: int = 0


class Erased(BaseModel):
    """What an erasure removed, to tell the operator."""

    items: list[str] = []


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


async def audit(conn: Connection, actor: str, action: str, subject: str, now: datetime, detail: str = "") -> None:
    await conn.execute(
        "INSERT INTO audit (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
        (_utc(now), actor, action, subject, detail),
    )


REFUSALS_PER_HOUR = 10  # audit rows of refusals per person per hour; more are counted in them


async def refused(conn: Connection, actor: str, subject: str, now: datetime) -> None:
    """Audit a refusal (a press on someone else's case, a revoked person's message) without letting
    one person grow the log without bound: within an hour, a refusal of the same subject adds to
    that row's count, and after `REFUSALS_PER_HOUR` subjects further ones add to a row for "*"."""
    since = _utc(now - timedelta(hours=1))
    async with conn.execute(
        "SELECT id, subject, detail FROM audit WHERE at >= ? AND actor = ? AND action = 'refused' ORDER BY id",
        (since, actor),
    ) as cur:
        recent = {subject: (row_id, detail) for row_id, subject, detail in await cur.fetchall()}
    if subject not in recent and len(recent) >= REFUSALS_PER_HOUR:
        subject = "*"
    if subject in recent:
        row_id, detail = recent[subject]
        # The count is kept in words ("", "1 time", "7 times"), counted on here rather than in SQL:
        # SQLite reads "7 times" as the number 7, PostgreSQL refuses to.
        times = int(detail.split()[0]) if detail else 1
        await conn.execute("UPDATE audit SET detail = ? WHERE id = ?", (f"{times + 1} times", row_id))
        return
    await audit(conn, actor, "refused", subject, now, "1 time" if subject == "*" else "")


async def audit_log(conn: Connection, limit: int = 100) -> list[tuple[str, str, str, str, str]]:
    async with conn.execute(
        "SELECT at, actor, action, subject, detail FROM audit ORDER BY id DESC LIMIT ?", (limit,)
    ) as cur:
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
    if uploads := await whatsapp.forget_uploads_of(conn, question_id):
        removed.append(f"{uploads} copy(ies) of an attachment uploaded to WhatsApp (their media ids)")
    cur = await conn.execute("DELETE FROM attachments WHERE question_id = ?", (question_id,))
    if cur.rowcount:
        removed.append(f"{cur.rowcount} attachment reference(s)")
    cur = await conn.execute(
        "UPDATE questions SET text = NULL, text_erased_at = ? WHERE id = ? AND text IS NOT NULL",
        (_utc(now), question_id),
    )
    if cur.rowcount:
        removed.append("the question's text")
    cur = await conn.execute(
        "UPDATE cases SET short_text = NULL WHERE question_id = ? AND short_text IS NOT NULL", (question_id,)
    )
    if cur.rowcount:
        removed.append("the short version of the question given for a member")
    cur = await conn.execute(
        "UPDATE cases SET reason_sealed = NULL WHERE question_id = ? AND reason_sealed IS NOT NULL", (question_id,)
    )
    if cur.rowcount:
        removed.append("a member's own words in a decline")
    cur = await conn.execute(
        f"UPDATE questions SET parent_language = '{UNKNOWN_LANGUAGE}' WHERE id = ? AND parent_language LIKE 'other:%'",
        (question_id,),
    )
    if cur.rowcount:
        removed.append("the parent's language as it was typed")
    async with conn.execute("SELECT code, volunteer_id FROM questions WHERE id = ?", (question_id,)) as cur:
        code, volunteer_id = await cur.fetchone()
    if volunteer_id is not None:
        state = await conversations.load(conn, volunteer_id)
        if state.saved is not None and state.saved.code == code:  # a request for it being put together
            await conversations.save(conn, volunteer_id, state.forgotten(), now)
            removed.append("the volunteer's unfinished request about it")
    return removed


async def erase_question(conn: Connection, code: str, now: datetime) -> Erased | None:
    """Every trace of personal data of one question (codes, categories and counts stay)."""
    await lock_everything(conn)
    async with conn.execute("SELECT id FROM questions WHERE code = ?", (code,)) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    removed = await _erase_question_data(conn, int(row[0]), now)
    await audit(conn, "operator", "erase", code, now, "; ".join(removed) or "nothing left to erase")
    return Erased(items=removed)


async def erase_user(conn: Connection, user_id: int, now: datetime) -> Erased | None:
    """A person's account: their addresses (chat ids), name, language and conversation. The
    questions they logged stay (without them), so that summaries keep their counts."""
    await lock_everything(conn)
    async with conn.execute("SELECT id FROM users WHERE id = ?", (user_id,)) as cur:
        if await cur.fetchone() is None:
            return None
    await conn.execute("DELETE FROM conversations WHERE user_id = ?", (user_id,))
    cur = await conn.execute("DELETE FROM addresses WHERE user_id = ?", (user_id,))
    items = ["the account (first name, language, role)", f"{cur.rowcount} address(es) on the channels (chat ids)"]
    items.append("the conversation state")
    cur = await conn.execute(
        "UPDATE cases SET reason_sealed = NULL WHERE member_id = ? AND reason_sealed IS NOT NULL", (user_id,)
    )
    if cur.rowcount:
        items.append(f"{cur.rowcount} decline reason(s) in their own words")
    if held := await alerts.forget_user(conn, user_id):
        items.append(f"{held} alert(s) naming them, held for a coordinator")
    cur = await conn.execute("DELETE FROM web_feed WHERE user_id = ?", (user_id,))
    if cur.rowcount:
        items.append(f"{cur.rowcount} message(s) on their web page")
    await conn.execute("DELETE FROM login_links WHERE user_id = ?", (user_id,))
    await conn.execute("DELETE FROM users WHERE id = ?", (user_id,))
    await audit(conn, "operator", "erase", f"user:{user_id}", now, "; ".join(items))
    return Erased(items=items)


async def apply_retention(conn: Connection, now: datetime, handover_days: int, text_days: int) -> tuple[int, int]:
    """Erase the parent's data of handovers closed (or withdrawn, declined) longer than
    `handover_days` ago or expired (closed by `Runner.retention` after `handover_days` without
    news), and question texts older than `text_days`. Also, after `handover_days`: a member's
    own words in a decline, alerts still held for a coordinator, and conversations left
    unfinished with a parent's question or details in them. A parent's language typed as free
    text is replaced by 'und' at once. Returns (handovers, texts)."""
    cutoff = _utc(now - timedelta(days=handover_days))
    async with conn.execute(
        "SELECT DISTINCT c.question_id FROM cases c JOIN parents p ON p.question_id = c.question_id "
        "WHERE p.erased_at IS NULL AND c.question_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM cases o WHERE o.question_id = c.question_id "
        "  AND (o.status IN ('requested', 'accepted', 'contact_made') OR (o.closed_at > ? AND o.status != 'expired')))",
        (cutoff,),
    ) as cur:
        handovers = [r[0] for r in await cur.fetchall()]
    for question_id in handovers:
        await conn.execute(
            "UPDATE parents SET first_name_sealed = NULL, phone_sealed = "
            "NULL, call_time_sealed = NULL, erased_at = ? WHERE question_id = ?",
            (_utc(now), question_id),
        )
        await whatsapp.forget_uploads_of(conn, question_id)
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
    cur = await conn.execute(
        "UPDATE cases SET reason_sealed = NULL WHERE reason_sealed IS NOT NULL AND closed_at < ?", (cutoff,)
    )
    others = {"decline reason(s)": cur.rowcount}
    cur = await conn.execute(
        f"UPDATE questions SET parent_language = '{UNKNOWN_LANGUAGE}' WHERE parent_language LIKE 'other:%'"
    )
    others["typed language(s)"] = cur.rowcount
    others["held alert(s)"] = await alerts.forget_older(conn, now - timedelta(days=handover_days))
    # The web page's copies of messages hold question text: they go with the texts; links that
    # expired open nothing and go at once.
    others["web page message(s)"] = await web_feed.forget_before(conn, now - timedelta(days=text_days))
    others["expired login link(s)"] = await login_links.forget_old(conn, now)
    others["WhatsApp upload(s) Meta no longer keeps"] = await whatsapp.forget_uploads_before(
        conn, now - whatsapp.MEDIA_KEEP
    )
    await alerts.seal_plain(conn)
    drafts = 0
    for user_id, state in await conversations.idle_since(conn, now - timedelta(days=handover_days)):
        if state.personal:
            await conversations.save(conn, user_id, state.forgotten(), now)
            drafts += 1
    others["unfinished conversation(s)"] = drafts
    if handovers or texts or any(others.values()):
        detail = ", ".join(
            [
                f"{len(handovers)} handover(s), {texts} question text(s)",
                *(f"{n} {what}" for what, n in others.items() if n),
            ]
        )
        await audit(conn, "bot", "retention", "-", now, detail)
    return len(handovers), texts


ROTATE_BATCH = 500  # values re-sealed per transaction: a few milliseconds of holding the write lock
ROTATE_PAUSE = 0.02  # between two batches: the bot, trying every BUSY_PROBE seconds, gets its turn


async def rotate(
    conn: Connection, vault: Vault, now: datetime, batch: int = ROTATE_BATCH, pause: float = ROTATE_PAUSE,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> Rotated:
    """Re-seal every sealed value under the vault's newest key, in short transactions of its
    own (`batch` values each, `pause` seconds apart) so that a running bot never waits more
    than one batch for the write lock. A value sealed under the newest key already is skipped:
    a rotation that was interrupted (or found the database locked) is simply run again.
    """
    done = Rotated()
    for table, key, column in SEALED:
        if key == "rowid" and conn.backend == "postgresql":
            key = "ctid"  # PostgreSQL's row address; compared as a tid, not as the text psycopg sends
        param = "CAST(? AS tid)" if key == "ctid" else "?"
        condition = f"{column} LIKE 'v1:%'" + (f" AND key = '{CHECK_KEY}'" if table == "settings" else "")
        after: object = None  # rows are taken in the order of their key, from where the last batch ended
        while True:
            async with transaction(conn):
                await lock_everything(conn)  # no instance seals or reads a value of this batch meanwhile
                where = condition + ("" if after is None else f" AND {key} > {param}")
                async with conn.execute(
                    f"SELECT {key}, {column} FROM {table} WHERE {where} ORDER BY {key} LIMIT ?",
                    (*(() if after is None else (after,)), batch),
                ) as cur:
                    rows = await cur.fetchall()
                fresh = [(vault.rotate(sealed), ident) for ident, sealed in rows if not vault.is_newest(sealed)]
                if fresh:
                    await conn.executemany(f"UPDATE {table} SET {column} = ? WHERE {key} = {param}", fresh)
            done.values += len(fresh)
            done.transactions += 1
            if len(rows) < batch:
                break
            after = rows[-1][0]
            await sleep(pause)
    async with transaction(conn):
        await audit(conn, "operator", "rotate-key", "-", now, f"{done.values} value(s) re-sealed")
    return done


async def backup(conn: Connection, target: Path, now: datetime) -> None:
    """A consistent copy while the bot runs (SQLite's online backup), readable by its owner only
    (0600, in a folder made 0700 if it is new; an existing folder is the operator's to choose).
    A PostgreSQL database is copied with pg_dump instead: this raises DatabaseError saying so."""
    if conn.backend != "sqlite":
        raise DatabaseError(
            "this database is PostgreSQL: back it up with pg_dump (pg_dump --format=custom --file=FILE URL), "
            "and keep the key file apart from the dump"
        )
    keep_private(target, folder_too=False)
    async with await open_raw(target) as copy:
        await conn.backup(copy)
    await audit(conn, "operator", "backup", target.name, now)
