"""Outgoing messages for a person, rendered (channel-neutral, bot/outgoing.py) and stored in the same
transaction as the state change that caused them (sealed: they hold what people wrote); a
delivery worker hands them to their channel's sender in order per address and deletes them once
done. With several instances on one database (PostgreSQL), a worker sends to an address only while
it holds that address's claim (`claim`: a lease, renewed while it sends, taken over once expired), so
one worker at a time sends an address's messages; a message sent but not yet deleted when its
instance was killed goes again from the instance that takes the address over (at least once).
`enqueue` announces each message (db/notify.py) so every instance's worker wakes at the COMMIT."""

from __future__ import annotations

import json
import os
import secrets
import socket
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from db import notify, vault
from db.connection import Connection


class Outgoing(BaseModel):
    id: int
    address: str  # where on the channel: a Telegram chat id, …
    kind: str  # bot.outgoing.KINDS (or, for a row stored before migration 014, a Bot API method)
    body: dict[str, Any]
    attempts: int


async def enqueue(
    conn: Connection, channel: str, address: str, kind: str, body: Mapping[str, Any], now: datetime,
    person_id: int | None = None,
) -> None:
    stamp = now.isoformat()
    await conn.execute(
        "INSERT INTO outbox (channel, address, person_id, kind, payload, created_at, next_attempt_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            channel, address, person_id, kind,
            vault.of(conn).seal(json.dumps(body, ensure_ascii=False), handover=True), stamp, stamp,
        ),
    )
    await notify.announce(conn, channel)  # on PostgreSQL, every instance's worker hears of it at the COMMIT


async def due(conn: Connection, channel: str, now: datetime, limit: int = 50) -> list[Outgoing]:
    """The oldest waiting call of each chat, if it is due: a chat's calls go out in order."""
    async with conn.execute(
        "SELECT o.id, o.address, o.kind, o.payload, o.attempts FROM outbox o "
        "JOIN (SELECT min(id) AS id FROM outbox WHERE channel = ? GROUP BY address) first ON first.id = o.id "
        "WHERE o.next_attempt_at <= ? ORDER BY o.id LIMIT ?",
        (channel, now.isoformat(), limit),
    ) as cur:
        rows = await cur.fetchall()
    return [_outgoing(conn, r) for r in rows]


def _outgoing(conn: Connection, row: Any) -> Outgoing:
    body = json.loads(vault.of(conn).open(row[3]) or "{}")
    # Built from our own row, whose columns have these types: nothing to validate, on the delivery hot path.
    return Outgoing.model_construct(id=int(row[0]), address=row[1], kind=row[2], body=body, attempts=int(row[4]))


def _here() -> str:
    """This host and its process-id namespace: containers may share a host name (host networking) but
    not process ids, so a process id is only looked up where it means the same process."""
    try:
        space = "".join(ch for ch in os.readlink("/proc/self/ns/pid") if ch.isdigit())
    except OSError:
        space = "?"  # unknown: no holder is ever taken for dead here
    return f"{socket.gethostname()}/{space}"


def new_holder() -> str:
    """A claim holder's name: this host (and process-id namespace), this process and a token (two
    workers of one process differ)."""
    return f"{_here()}:{os.getpid()}:{secrets.token_hex(4)}"


def dead_here(holder: str) -> bool:
    """Whether `holder` was a process on this host that is gone (killed, then restarted as another):
    its claims need not wait for their lease to expire."""
    host, pid, _ = (holder.rsplit(":", 2) + ["", ""])[:3]
    if host != _here() or host.endswith("/?") or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # it is there (another user's)
        return False
    return False


def stamp(at: datetime) -> str:
    """A claim's expiry as stored: always with microseconds, so that the text sorts as the time does."""
    return at.isoformat(timespec="microseconds")


# An address another worker holds a live claim on (see `claim`): this one does not look at its messages.
_UNCLAIMED = (
    "NOT EXISTS (SELECT 1 FROM outbox_claims c WHERE c.channel = o.channel AND c.address = o.address "
    "AND c.expires_at > ? AND c.holder <> ?)"
)
# An address's message waits behind any older one of that address that is not due yet (a retry).
_OLDER_WAITING = (
    "NOT EXISTS (SELECT 1 FROM outbox p WHERE p.channel = o.channel "
    "AND p.address = o.address AND p.id < o.id AND p.next_attempt_at > ?)"
)
_FIRST_DUE = f"o.next_attempt_at <= ? AND {_OLDER_WAITING}"


async def due_addresses(conn: Connection, channel: str, now: datetime, holder: str, limit: int) -> list[str]:
    """The addresses with a message that may go now and no other holder's live claim on them, the longest waiting
    first (by their oldest such message). Nothing is unsealed: the worker claims an address first and
    then reads its messages (`due_in_order`). Ids need not have committed in order: every look sees
    every waiting message, so one committed late behind a newer id is found all the same."""
    at = now.isoformat()
    # An address has a message that may go exactly when its oldest one may (all others wait behind it):
    # each address's oldest id, read off the index outbox_chat, then only those rows are looked at.
    async with conn.execute(
        "SELECT o.address FROM outbox o JOIN (SELECT min(id) AS id FROM outbox WHERE channel = ? GROUP BY address) "
        f"AS first ON first.id = o.id WHERE o.next_attempt_at <= ? AND {_UNCLAIMED} ORDER BY o.id LIMIT ?",
        (channel, at, stamp(now), holder, limit),
    ) as cur:
        return [row[0] for row in await cur.fetchall()]


async def newer_addresses(
    conn: Connection, channel: str, now: datetime, after: int, limit: int
) -> tuple[list[str], int] | None:
    """A worker's look at what was stored since its last: the addresses with a message newer than id
    `after` that may go now (claimed or not), the longest waiting first, and the newest id that look
    covered (`after` again when it found `limit`, so that nothing beyond is passed over). None where
    ids may commit out of order (PostgreSQL: several writers, so an older id may commit after a newer
    one was seen): there every look is `due_addresses`. On SQLite one writer at a time takes and
    commits ids, in order, and AUTOINCREMENT (migration 009) never hands one out twice: an id at or
    below `after` was there at the last look. What this look cannot see (a retry falling due, another
    holder's claim expiring, an address beyond the bound) the worker's full look finds."""
    if conn.backend != "sqlite":
        return None
    async with conn.execute(
        "SELECT address, max(id) FROM outbox WHERE channel = ? AND id > ? AND next_attempt_at <= ? "
        "GROUP BY address ORDER BY min(id) LIMIT ?",
        (channel, after, now.isoformat(), limit),
    ) as cur:
        rows = await cur.fetchall()
    newest = after if len(rows) >= limit else max((int(row[1]) for row in rows), default=after)
    return [row[0] for row in rows], newest


async def due_in_order(conn: Connection, channel: str, address: str, now: datetime, limit: int = 50) -> list[Outgoing]:
    """One address's messages that may go now, oldest first: they wait behind any older one of that
    address that is not due yet (a retry), so the address's messages go out in order."""
    at = now.isoformat()
    async with conn.execute(
        # `|| ''` keeps SQLite from reading the channel's due index (every due message of the channel)
        # instead of the address's own (outbox_chat): 3x faster with a backlog of 5,000.
        "SELECT o.id, o.address, o.kind, o.payload, o.attempts FROM outbox o "
        f"WHERE o.channel = ? AND o.address = ? AND o.next_attempt_at || '' <= ? AND {_OLDER_WAITING} "
        "ORDER BY o.id LIMIT ?",
        (channel, address, at, at, limit),
    ) as cur:
        rows = await cur.fetchall()
    return [_outgoing(conn, r) for r in rows]


async def claim(conn: Connection, channel: str, address: str, holder: str, now: datetime, until: datetime) -> bool:
    """Take (or renew) the claim on an address until `until`: True when `holder` has it now. Free,
    expired or already the holder's, it is taken; another holder's live claim is left alone. One
    conditional upsert on both backends: PostgreSQL locks the conflicting row while it decides, so
    of two workers claiming at once exactly one gets it."""
    async with conn.execute(
        "INSERT INTO outbox_claims (channel, address, holder, expires_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (channel, address) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at "
        "WHERE outbox_claims.holder = excluded.holder OR outbox_claims.expires_at <= ? RETURNING holder",
        (channel, address, holder, stamp(until), stamp(now)),
    ) as cur:
        return await cur.fetchone() is not None


async def renew(conn: Connection, holder: str, until: datetime) -> int:
    """Extend every claim `holder` has (its heartbeat while it sends): how many it still has."""
    cur = await conn.execute("UPDATE outbox_claims SET expires_at = ? WHERE holder = ?", (stamp(until), holder))
    return cur.rowcount


async def release(conn: Connection, channel: str, holder: str, addresses: Collection[str]) -> None:
    """Give up `holder`'s claims on these addresses (they had nothing due)."""
    marks = ", ".join("?" * len(addresses))
    await conn.execute(
        f"DELETE FROM outbox_claims WHERE channel = ? AND holder = ? AND address IN ({marks})",
        (channel, holder, *addresses),
    )


async def holders(conn: Connection, channel: str) -> list[str]:
    """Who holds claims on a channel's addresses (a worker starting looks for those of dead processes)."""
    async with conn.execute("SELECT DISTINCT holder FROM outbox_claims WHERE channel = ?", (channel,)) as cur:
        return [row[0] for row in await cur.fetchall()]


async def release_all(conn: Connection, holder: str) -> None:
    """Give up every claim of `holder` (a worker stopping, or one found dead)."""
    await conn.execute("DELETE FROM outbox_claims WHERE holder = ?", (holder,))


async def forget_expired(conn: Connection, now: datetime) -> None:
    """Delete claims that expired (their holder died, and their address has nothing waiting any more)."""
    await conn.execute("DELETE FROM outbox_claims WHERE expires_at <= ?", (stamp(now),))


async def next_due_at(
    conn: Connection, channel: str, now: datetime | None = None, holder: str = ""
) -> datetime | None:
    """When a channel's next message falls due. Given `now`, only among addresses no other holder has
    a live claim on, and no later than the first such claim expires (its holder may have died): when
    `holder`'s worker should look again that has nothing to send now."""
    if now is None:
        async with conn.execute("SELECT min(next_attempt_at) FROM outbox WHERE channel = ?", (channel,)) as cur:
            row = await cur.fetchone()
        return datetime.fromisoformat(row[0]) if row and row[0] else None
    async with conn.execute(
        f"SELECT min(o.next_attempt_at) FROM outbox o WHERE o.channel = ? AND {_UNCLAIMED}",
        (channel, stamp(now), holder),
    ) as cur:
        row = await cur.fetchone()
    async with conn.execute(
        "SELECT min(expires_at) FROM outbox_claims WHERE channel = ? AND expires_at > ? AND holder <> ?",
        (channel, stamp(now), holder),
    ) as cur:
        claimed = await cur.fetchone()
    times = [datetime.fromisoformat(r[0]) for r in (row, claimed) if r and r[0]]
    return min(times) if times else None


async def still_waiting(conn: Connection, outgoing_id: int) -> bool:
    """Whether a call is still in the outbox (a revocation or an erasure deletes what waited)."""
    async with conn.execute("SELECT 1 FROM outbox WHERE id = ?", (outgoing_id,)) as cur:
        return await cur.fetchone() is not None


async def still_mine(conn: Connection, outgoing_id: int, holder: str, now: datetime) -> bool | None:
    """Just before a call goes out: None when it left the outbox (sent by another worker, or a
    revocation or an erasure deleted it), True while `holder` has a live claim on its address, False
    when it lost it (its lease expired and another worker may have taken the address over)."""
    async with conn.execute(
        "SELECT EXISTS (SELECT 1 FROM outbox_claims c WHERE c.channel = o.channel AND c.address = o.address "
        "AND c.holder = ? AND c.expires_at > ?) FROM outbox o WHERE o.id = ?",
        (holder, stamp(now), outgoing_id),
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else bool(row[0])


async def waiting_for(conn: Connection, channel: str, address: str) -> int:
    """How many messages still wait for one address (the web page waits until its feed is written)."""
    async with conn.execute("SELECT count(*) FROM outbox WHERE channel = ? AND address = ?", (channel, address)) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def done(conn: Connection, outgoing_id: int) -> None:
    await conn.execute("DELETE FROM outbox WHERE id = ?", (outgoing_id,))


async def done_all(conn: Connection, outgoing_ids: list[int]) -> None:
    """Delete these rows (sent), a few hundred per statement."""
    for start in range(0, len(outgoing_ids), 500):
        part = outgoing_ids[start : start + 500]
        await conn.execute(f"DELETE FROM outbox WHERE id IN ({', '.join('?' for _ in part)})", part)


async def drop_person(conn: Connection, person_id: int) -> int:
    """Forget every message still waiting for one person, on every channel (their access ended):
    how many. Also what was said at one of their addresses without naming them (a refusal)."""
    cur = await conn.execute(
        "DELETE FROM outbox WHERE person_id = ? OR EXISTS (SELECT 1 FROM addresses a WHERE a.user_id = ? "
        "AND a.channel = outbox.channel AND a.address = outbox.address)",
        (person_id, person_id),
    )
    return cur.rowcount


async def drop_address(conn: Connection, channel: str, address: str) -> int:
    """Forget every message still waiting for one address (a channel refused it for good): how many."""
    cur = await conn.execute("DELETE FROM outbox WHERE channel = ? AND address = ?", (channel, address))
    return cur.rowcount


async def retry_later(conn: Connection, outgoing_id: int, at: datetime) -> None:
    await conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ? WHERE id = ?", (at.isoformat(), outgoing_id)
    )


async def size(conn: Connection, channel: str | None = None) -> int:
    sql, args = "SELECT count(*) FROM outbox", tuple[str, ...]()
    if channel is not None:
        sql, args = sql + " WHERE channel = ?", (channel,)
    async with conn.execute(sql, args) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def waiting_at(conn: Connection, channel: str, address: str, kind: str) -> list[Outgoing]:
    """The messages of one kind still waiting for one address, oldest first."""
    async with conn.execute(
        "SELECT id, address, kind, payload, attempts FROM outbox WHERE channel = ? AND address = ? AND kind = ? "
        "ORDER BY id",
        (channel, address, kind),
    ) as cur:
        rows = await cur.fetchall()
    return [_outgoing(conn, r) for r in rows]


async def waiting(conn: Connection, channel: str) -> list[Outgoing]:
    """Every waiting message of a channel, oldest first (for inspection and tests)."""
    async with conn.execute(
        "SELECT id, address, kind, payload, attempts FROM outbox WHERE channel = ? ORDER BY id", (channel,)
    ) as cur:
        rows = await cur.fetchall()
    return [_outgoing(conn, r) for r in rows]
