"""People: an account (role, organisation or team, language, name) and its addresses on the
channels (a Telegram chat id today; a WhatsApp id or an e-mail address later), one of them preferred.

`Account.channel` and `Account.chat_id` are the preferred address: where the bot writes to the
person. A channel's refusal for good (a 403) marks one address unreachable; a person is
unreachable when their preferred address is, and their coordinators are told so once."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from db.connection import Connection, Row, lock_person
from flows.model import Role, User
from flows.names import clean_name

# An account with its preferred address (`a`).
_COLUMNS = (
    "u.id, a.channel, a.address, u.role, u.org_id, u.language, u.display_name, u.contact_id, u.team_id, "
    "u.revoked_at, a.unreachable_at"
)
_PREFERRED = "LEFT JOIN addresses a ON a.user_id = u.id AND a.preferred = 1"
_ACCOUNTS = f"users u {_PREFERRED}"
_ADDRESS_COLUMNS = "id, user_id, channel, address, preferred, unreachable_at, created_at"


class Account(BaseModel):
    id: int
    channel: str  # of the preferred address
    chat_id: str  # the preferred address on that channel
    role: Role
    org_id: str | None
    language: str
    display_name: str
    contact_id: str | None = None
    team_id: str | None = None  # a wijkteam's coordinator
    revoked_at: str | None = None
    unreachable_at: str | None = None  # of the preferred address

    def as_user(self) -> User:
        return User(
            id=self.id, role=self.role, org_id=self.org_id, language=self.language, name=self.display_name,
            contact_id=self.contact_id,
        )


class Address(BaseModel):
    """Where a person is reached on one channel."""

    id: int
    user_id: int
    channel: str
    address: str
    preferred: bool
    unreachable_at: str | None = None
    created_at: str


class AddressTaken(Exception):
    """The address belongs to another person."""


def _account(row: Row) -> Account:
    return Account(
        id=row[0], channel=row[1], chat_id=row[2], role=row[3], org_id=row[4], language=row[5],
        display_name=clean_name(row[6]),  # cleaned when shown too: a name stored before must not scramble a message
        contact_id=row[7], team_id=row[8], revoked_at=row[9], unreachable_at=row[10],
    )


def _address(row: Row) -> Address:
    return Address(
        id=row[0], user_id=row[1], channel=row[2], address=row[3], preferred=bool(row[4]), unreachable_at=row[5],
        created_at=row[6],
    )


async def by_address(conn: Connection, channel: str, address: str) -> Account | None:
    """The person with this address (any of theirs, not only the preferred one)."""
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM addresses f JOIN users u ON u.id = f.user_id {_PREFERRED} "
        "WHERE f.channel = ? AND f.address = ?",
        (channel, address),
    ) as cur:
        row = await cur.fetchone()
    return _account(row) if row else None


async def by_chat(conn: Connection, channel: str, chat_id: str) -> Account | None:
    """The person writing from this chat (`by_address`)."""
    return await by_address(conn, channel, chat_id)


async def get(conn: Connection, user_id: int) -> Account | None:
    async with conn.execute(f"SELECT {_COLUMNS} FROM {_ACCOUNTS} WHERE u.id = ?", (user_id,)) as cur:
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
    """An account with (channel, chat_id) as its preferred address (inside the caller's transaction)."""
    cur = await conn.execute(
        "INSERT INTO users (role, org_id, language, display_name, created_at, contact_id, team_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (role.value, org_id, language, display_name, now.isoformat(), contact_id, team_id),
    )
    user_id = int((await cur.fetchone())[0])
    await add_address(conn, user_id, channel, chat_id, now, preferred=True)
    account = await get(conn, user_id)
    assert account is not None
    return account


async def addresses(conn: Connection, user_id: int) -> list[Address]:
    """A person's addresses, the preferred one first."""
    async with conn.execute(
        f"SELECT {_ADDRESS_COLUMNS} FROM addresses WHERE user_id = ? ORDER BY preferred DESC, id", (user_id,)
    ) as cur:
        return [_address(r) for r in await cur.fetchall()]


async def add_address(
    conn: Connection, user_id: int, channel: str, address: str, now: datetime, *, preferred: bool = False
) -> Address:
    """Give a person an address (again: nothing changes) and, with `preferred`, make it their
    preferred one; a person's first address is always preferred. Raises AddressTaken if it is
    another person's. Holds the person's lock (their preferred address is read, then changed)."""
    await lock_person(conn, user_id)
    find = "SELECT user_id FROM addresses WHERE channel = ? AND address = ?"
    async with conn.execute(find, (channel, address)) as cur:
        owner = await cur.fetchone()
    if owner is not None and owner[0] != user_id:
        raise AddressTaken(f"this {channel} address belongs to another person")
    if owner is None:
        async with conn.execute("SELECT 1 FROM addresses WHERE user_id = ? AND preferred = 1", (user_id,)) as cur:
            first = await cur.fetchone() is None
        await conn.execute(
            "INSERT INTO addresses (user_id, channel, address, preferred, created_at) VALUES (?, ?, ?, 0, ?)",
            (user_id, channel, address, now.isoformat()),
        )
        preferred = preferred or first
    if preferred:
        await make_preferred(conn, user_id, channel, address)
    async with conn.execute(
        f"SELECT {_ADDRESS_COLUMNS} FROM addresses WHERE channel = ? AND address = ?", (channel, address)
    ) as cur:
        return _address(await cur.fetchone())


async def make_preferred(conn: Connection, user_id: int, channel: str, address: str) -> bool:
    """Make one of a person's addresses the one the bot writes to; False if it is not theirs."""
    async with conn.execute(
        "SELECT preferred FROM addresses WHERE user_id = ? AND channel = ? AND address = ?", (user_id, channel, address)
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return False
    if not row[0]:
        await conn.execute("UPDATE addresses SET preferred = 0 WHERE user_id = ? AND preferred = 1", (user_id,))
        await conn.execute(
            "UPDATE addresses SET preferred = 1 WHERE user_id = ? AND channel = ? AND address = ?",
            (user_id, channel, address),
        )
    return True


async def set_language(conn: Connection, user_id: int, language: str) -> None:
    await conn.execute("UPDATE users SET language = ? WHERE id = ?", (language, user_id))


async def coordinators(conn: Connection, scope: str) -> list[Account]:
    """The coordinators of `org:<id>` or `team:<id>`."""
    kind, _, key = scope.partition(":")
    column = "team_id" if kind == "team" else "org_id"
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM {_ACCOUNTS} WHERE u.{column} = ? AND u.role = 'coordinator' AND u.revoked_at IS NULL "
        "ORDER BY u.id",
        (key,),
    ) as cur:
        return [_account(r) for r in await cur.fetchall()]


async def members_by_contact(conn: Connection) -> dict[str, int]:
    """Directory contact id -> the member account bound to it (the newest, if several)."""
    async with conn.execute(
        "SELECT contact_id, max(id) FROM users WHERE contact_id IS NOT NULL AND revoked_at IS NULL GROUP BY contact_id"
    ) as cur:
        return {r[0]: r[1] for r in await cur.fetchall()}


async def all_coordinators(conn: Connection) -> list[Account]:
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM {_ACCOUNTS} WHERE u.role = 'coordinator' AND u.revoked_at IS NULL ORDER BY u.id"
    ) as cur:
        return [_account(r) for r in await cur.fetchall()]


async def all_(conn: Connection) -> list[Account]:
    async with conn.execute(f"SELECT {_COLUMNS} FROM {_ACCOUNTS} ORDER BY u.id") as cur:
        return [_account(r) for r in await cur.fetchall()]


async def revoke(conn: Connection, user_id: int, now: datetime) -> bool:
    cur = await conn.execute(
        "UPDATE users SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (now.isoformat(), user_id)
    )
    return cur.rowcount == 1


async def mark_unreachable(conn: Connection, channel: str, chat_id: str, now: datetime) -> None:
    """The channel refused for good to deliver to this address (the person blocked the bot)."""
    await conn.execute(
        "UPDATE addresses SET unreachable_at = ?, unreachable_told = 0 "
        "WHERE channel = ? AND address = ? AND unreachable_at IS NULL",
        (now.isoformat(), channel, chat_id),
    )


async def reachable_again(
    conn: Connection, user_id: int, channel: str | None = None, address: str | None = None
) -> None:
    """The person wrote again from `address` (by default: from their preferred one): it reaches them."""
    clear = "UPDATE addresses SET unreachable_at = NULL, unreachable_told = 0 WHERE user_id = ?"
    if channel is None or address is None:
        await conn.execute(f"{clear} AND preferred = 1", (user_id,))
    else:
        await conn.execute(f"{clear} AND channel = ? AND address = ?", (user_id, channel, address))


async def newly_unreachable(conn: Connection) -> list[Account]:
    """People whose preferred address no longer reaches them, and whose coordinators were not told yet."""
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM {_ACCOUNTS} WHERE a.unreachable_at IS NOT NULL AND a.unreachable_told = 0 "
        "AND u.revoked_at IS NULL ORDER BY u.id"
    ) as cur:
        return [_account(r) for r in await cur.fetchall()]


async def told_unreachable(conn: Connection, user_id: int) -> None:
    await conn.execute("UPDATE addresses SET unreachable_told = 1 WHERE user_id = ? AND preferred = 1", (user_id,))


async def uncoordinated_orgs(conn: Connection) -> list[str]:
    """The organisations of the directory without an active coordinator: nobody of their own
    can receive their volunteers' safety alerts."""
    async with conn.execute(
        "SELECT id FROM organisations WHERE id NOT IN "
        "(SELECT org_id FROM users WHERE role = 'coordinator' AND "
        "org_id IS NOT NULL AND revoked_at IS NULL) ORDER BY id"
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
