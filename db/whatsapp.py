"""What the WhatsApp channel keeps: inbound messages by their wamid, statuses seen, the 24-hour window
of each address, and messages sent but not yet known to be delivered (migration 018); Telegram files
uploaded to Meta, by their media id, and how many calls of a message in several calls Meta confirmed
(migration 019)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from db import vault
from db.connection import Connection, lock_code

CHANNEL = "whatsapp"
WINDOW = timedelta(hours=24)
KEEP = timedelta(days=7)
# Meta keeps an uploaded file 30 days; its media id is reused a day less, so it never expires in flight.
MEDIA_KEEP = timedelta(days=29)


async def receive(conn: Connection, wamid: str, payload: str, now: datetime) -> bool:
    """Store an inbound message under its wamid (True), or ignore a redelivered one (False). The
    channel's next update id and the wamid's check are had under a lock, as several instances may
    store at once (and Meta may redeliver to another instance)."""
    await lock_code(conn, f"inbox:{CHANNEL}")
    async with conn.execute(
        "SELECT 1 FROM inbox WHERE channel = ? AND external_id = ?", (CHANNEL, wamid)
    ) as cur:
        if await cur.fetchone() is not None:
            return False
    async with conn.execute("SELECT coalesce(max(update_id), 0) + 1 FROM inbox WHERE channel = ?", (CHANNEL,)) as cur:
        row = await cur.fetchone()
    assert row is not None
    await conn.execute(
        "INSERT INTO inbox (channel, update_id, external_id, payload, received_at) VALUES (?, ?, ?, ?, ?)",
        (CHANNEL, row[0], wamid, vault.of(conn).seal(payload, handover=True), now.isoformat()),
    )
    return True


async def wrote(conn: Connection, address: str, now: datetime) -> None:
    """The person wrote: their window is open for 24 hours, and what was held for them is due now."""
    stamp = now.isoformat()
    await conn.execute(
        "UPDATE addresses SET last_inbound_at = ? WHERE channel = ? AND address = ?", (stamp, CHANNEL, address)
    )
    await conn.execute(
        "UPDATE outbox SET next_attempt_at = ? WHERE channel = ? AND address = ? AND next_attempt_at > ?",
        (stamp, CHANNEL, address, stamp),
    )


async def first_status(conn: Connection, wamid: str, status: str, now: datetime) -> bool:
    """Whether this status of this message is new (True) or a repeat to ignore (False)."""
    await conn.execute("DELETE FROM whatsapp_statuses WHERE received_at < ?", ((now - KEEP).isoformat(),))
    cur = await conn.execute(
        "INSERT INTO whatsapp_statuses (wamid, status, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (wamid, status, now.isoformat()),
    )
    return cur.rowcount == 1


async def window(conn: Connection, address: str, now: datetime) -> tuple[bool, bool]:
    """(open, template due): whether a free-form message may go to `address` now, and when it may
    not, whether the template is still to be sent (once since they last wrote). An address the bot
    does not know (a stranger being answered) has just written: open."""
    async with conn.execute(
        "SELECT coalesce(last_inbound_at, created_at), window_closed_at, template_sent_at FROM addresses "
        "WHERE channel = ? AND address = ?",
        (CHANNEL, address),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return True, False
    last, closed, template = row
    is_open = now - datetime.fromisoformat(last) < WINDOW and (closed is None or closed < last)
    return is_open, not is_open and (template is None or template < last)


async def closed(conn: Connection, address: str, now: datetime) -> None:
    """Meta said the window is closed (131047), whatever our clock thought."""
    await conn.execute(
        "UPDATE addresses SET window_closed_at = ? WHERE channel = ? AND address = ?",
        (now.isoformat(), CHANNEL, address),
    )


async def template_sent(conn: Connection, address: str, now: datetime) -> None:
    await conn.execute(
        "UPDATE addresses SET template_sent_at = ? WHERE channel = ? AND address = ?",
        (now.isoformat(), CHANNEL, address),
    )


async def language_of(conn: Connection, address: str) -> str | None:
    async with conn.execute(
        "SELECT u.language FROM addresses a JOIN users u ON u.id = a.user_id WHERE a.channel = ? AND a.address = ?",
        (CHANNEL, address),
    ) as cur:
        row = await cur.fetchone()
    return str(row[0]) if row else None


async def sent(conn: Connection, wamid: str, address: str, kind: str, body: dict[str, Any], now: datetime) -> None:
    await conn.execute("DELETE FROM whatsapp_sent WHERE sent_at < ?", ((now - KEEP).isoformat(),))
    await conn.execute(
        "INSERT INTO whatsapp_sent (wamid, address, kind, payload, sent_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (wamid) DO UPDATE SET address = excluded.address, kind = excluded.kind, "
        "payload = excluded.payload, sent_at = excluded.sent_at",
        (wamid, address, kind, vault.of(conn).seal(json.dumps(body, ensure_ascii=False), handover=True),
         now.isoformat()),
    )


async def arrived(conn: Connection, wamid: str) -> None:
    await conn.execute("DELETE FROM whatsapp_sent WHERE wamid = ?", (wamid,))


async def take_sent(conn: Connection, wamid: str) -> tuple[str, str, dict[str, Any]] | None:
    """A sent message that failed after all: (address, kind, body), forgotten here."""
    async with conn.execute("SELECT address, kind, payload FROM whatsapp_sent WHERE wamid = ?", (wamid,)) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    await arrived(conn, wamid)
    return str(row[0]), str(row[1]), json.loads(vault.of(conn).open(row[2]) or "{}")


async def address_of_sent(conn: Connection, wamid: str) -> str | None:
    async with conn.execute("SELECT address FROM whatsapp_sent WHERE wamid = ?", (wamid,)) as cur:
        row = await cur.fetchone()
    return str(row[0]) if row else None


async def forget_person(conn: Connection, user_id: int) -> None:
    """A person's access ended: the copies of what was sent to them go (a late failure resends nothing), and
    what a message in several calls had got through."""
    await conn.execute(
        "DELETE FROM whatsapp_sent WHERE address IN (SELECT address FROM addresses WHERE user_id = ? AND channel = ?)",
        (user_id, CHANNEL),
    )
    await conn.execute(
        "UPDATE addresses SET sending = NULL, sending_parts = 0 WHERE user_id = ? AND channel = ?", (user_id, CHANNEL)
    )


def message_key(kind: str, body: dict[str, Any]) -> str:
    """What names a stored message among those to one address (db/whatsapp.parts_sent)."""
    return hashlib.sha256(json.dumps([kind, body], sort_keys=True, ensure_ascii=False).encode()).hexdigest()


async def parts_sent(conn: Connection, address: str, key: str) -> int:
    """How many calls of the message `key` Meta has confirmed (0 when another message was in progress)."""
    async with conn.execute(
        "SELECT sending_parts FROM addresses WHERE channel = ? AND address = ? AND sending = ?", (CHANNEL, address, key)
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def part_sent(conn: Connection, address: str, key: str, parts: int) -> None:
    """Meta confirmed `parts` calls of the message `key` (0: it is done with, or none was)."""
    await conn.execute(
        "UPDATE addresses SET sending = ?, sending_parts = ? WHERE channel = ? AND address = ?",
        (key if parts else None, parts, CHANNEL, address),
    )


def _source(ref: str) -> str:
    return hashlib.sha256(ref.encode()).hexdigest()


async def uploaded(conn: Connection, ref: str, now: datetime) -> str | None:
    """The WhatsApp media id of a file (by its Telegram reference) uploaded less than MEDIA_KEEP ago."""
    async with conn.execute(
        "SELECT media_id FROM whatsapp_media WHERE source = ? AND uploaded_at > ?",
        (_source(ref), (now - MEDIA_KEEP).isoformat()),
    ) as cur:
        row = await cur.fetchone()
    return vault.of(conn).open(row[0]) if row else None


async def remember_upload(conn: Connection, ref: str, media_id: str, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO whatsapp_media (source, media_id, uploaded_at) VALUES (?, ?, ?) "
        "ON CONFLICT (source) DO UPDATE SET media_id = excluded.media_id, uploaded_at = excluded.uploaded_at",
        (_source(ref), vault.of(conn).seal(media_id), now.isoformat()),
    )


async def forget_uploads(conn: Connection, refs: list[str]) -> int:
    """Meta no longer has these uploads, or their files are erased (db/privacy.py): forget their media ids."""
    removed = 0
    for ref in refs:
        cur = await conn.execute("DELETE FROM whatsapp_media WHERE source = ?", (_source(ref),))
        removed += cur.rowcount
    return removed


async def forget_uploads_of(conn: Connection, question_id: int) -> int:
    """A question's attachments are erased (db/privacy.py, db/cases.erase_parent): their uploads' media ids go
    first (a Telegram file uploaded for a WhatsApp reader)."""
    async with conn.execute("SELECT 1 FROM whatsapp_media LIMIT 1") as cur:
        if await cur.fetchone() is None:
            return 0  # nothing uploaded: no reference need be opened
    async with conn.execute("SELECT file_id_sealed FROM attachments WHERE question_id = ?", (question_id,)) as cur:
        sealed = [row[0] for row in await cur.fetchall()]
    return await forget_uploads(conn, [ref for ref in (vault.of(conn).open(value) for value in sealed) if ref])


async def forget_uploads_before(conn: Connection, moment: datetime) -> int:
    """Uploads Meta has forgotten by now (the nightly retention)."""
    cur = await conn.execute("DELETE FROM whatsapp_media WHERE uploaded_at < ?", (moment.isoformat(),))
    return cur.rowcount
