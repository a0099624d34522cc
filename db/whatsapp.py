"""What the WhatsApp channel keeps: inbound messages by their wamid, statuses seen, the 24-hour window
of each address, and messages sent but not yet known to be delivered (migration 018)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from db import vault
from db.connection import Connection

CHANNEL = "whatsapp"
WINDOW = timedelta(hours=24)
KEEP = timedelta(days=7)


async def receive(conn: Connection, wamid: str, payload: str, now: datetime) -> bool:
    """Store an inbound message under its wamid (True), or ignore a redelivered one (False)."""
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
    """A person's access ended: the copies of what was sent to them go (a late failure resends nothing)."""
    await conn.execute(
        "DELETE FROM whatsapp_sent WHERE address IN (SELECT address FROM addresses WHERE user_id = ? AND channel = ?)",
        (user_id, CHANNEL),
    )
