"""E-mail people (issue 16): a wijkteam member or coordinator without a chat app, reached by e-mail
and answering on the web page.

Such a person is one account with two addresses: ("email", their lower-cased address, preferred),
where notices go, and ("web", str(account id)), where the page's inputs come from and replies go.

    register_email_person   the web page's /join/{code}: an invite sent by e-mail
                            (`wijkbrug invite --email`) becomes an account at the directory's address
    send_fresh_link         the web page's "send me a fresh link" after an expired one: a notice
                            with a new login link, through the outbox, to the person's own address

An invite sent by e-mail is bound to the address the directory holds for it (a member's contact,
a wijkteam coordinator's team): whoever holds the link can only register that address, so a
forwarded or intercepted link reaches nobody else's mailbox.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from db import directory as stored_directory
from db import invites, outbox, privacy, users
from db.connection import Connection
from flows.model import Role
from flows.names import clean_name

CHANNEL = "email"
WEB = "web"


class JoinRefusal(StrEnum):
    INVITE = "invite"  # unknown, used, revoked or expired: the page does not say which
    NO_ADDRESS = "no_address"  # the invite is not one the directory has an e-mail address for
    ADDRESS = "address"  # the address given is not the one the invite was sent to
    TAKEN = "taken"  # the address is someone's already


@dataclass(frozen=True)
class Joined:
    user_id: int


@dataclass(frozen=True)
class NotJoined:
    reason: JoinRefusal


def normal(address: str) -> str:
    """An e-mail address as it is stored and compared: trimmed, lower-cased."""
    return address.strip().lower()


def looks_like_address(address: str) -> bool:
    local, at, domain = normal(address).rpartition("@")
    return bool(at and local and "." in domain and not any(c.isspace() or c in "<>,;\"" for c in address.strip()))


async def invited_address(conn: Connection, role: Role, contact_id: str | None, team_id: str | None) -> str | None:
    """The directory's e-mail address an invite goes to: a member's contact's, a wijkteam
    coordinator's team's; None for anyone else (or an empty address)."""
    directory = await stored_directory.load(conn)
    found = ""
    if role is Role.MEMBER and contact_id is not None and (contact := directory.contact(contact_id)) is not None:
        found = contact.email
    elif role is Role.COORDINATOR and team_id is not None and (team := directory.team(team_id)) is not None:
        found = team.email
    return normal(found) if found and looks_like_address(found) else None


async def register_email_person(
    conn: Connection, invite_code: str, email: str | None, now: datetime, language: str = "nl"
) -> Joined | NotJoined:
    """Redeem `invite_code` for an e-mail person; call it inside a transaction. `email`: the
    address the visitor confirms (None: the one the directory holds for the invite); it must be
    the directory's. `language`: a shipped language for the new account (the page's choice).
    The invite is used up only when the account is made."""
    invite = await invites.find_usable(conn, invite_code, now)
    if invite is None:
        return NotJoined(JoinRefusal.INVITE)
    expected = await invited_address(conn, invite.role, invite.contact_id, invite.team_id)
    if expected is None:
        return NotJoined(JoinRefusal.NO_ADDRESS)
    if email is not None and normal(email) != expected:
        return NotJoined(JoinRefusal.ADDRESS)
    if await users.by_address(conn, CHANNEL, expected) is not None:
        return NotJoined(JoinRefusal.TAKEN)
    directory = await stored_directory.load(conn)
    name = ""
    if invite.contact_id is not None and (contact := directory.contact(invite.contact_id)) is not None:
        name = contact.name
    elif invite.team_id is not None and (team := directory.team(invite.team_id)) is not None:
        name = team.name
    account = await users.create(
        conn, channel=CHANNEL, chat_id=expected, role=invite.role, org_id=invite.org_id, language=language,
        display_name=clean_name(name), now=now, contact_id=invite.contact_id, team_id=invite.team_id,
    )
    await users.add_address(conn, account.id, WEB, str(account.id), now)
    await invites.mark_used(conn, invite.code_hash, account.id, now)
    await privacy.audit(conn, f"user:{account.id}", "join", "email", now)
    return Joined(account.id)


async def email_address(conn: Connection, user_id: int) -> str | None:
    """The person's e-mail address, if they have one that still reaches them."""
    for address in await users.addresses(conn, user_id):
        if address.channel == CHANNEL and address.unreachable_at is None:
            return address.address
    return None


def notice_body(kind: str, code: str = "", org: str = "") -> dict[str, object]:
    """An e-mail notice as the outbox holds it (kind `notice` on channel `email`). `key` names the
    mail: its Message-ID, the same however often the row is sent (a resend after a crash)."""
    return {"notice": {"kind": kind, "code": code, "org": org}, "key": secrets.token_hex(12)}


async def send_fresh_link(conn: Connection, user_id: int, now: datetime) -> bool:
    """A fresh login link to the person's own e-mail address, through the outbox (call it inside
    a transaction). False when they have no reachable e-mail address or their access ended;
    the page says the same either way."""
    account = await users.get(conn, user_id)
    if account is None or account.revoked_at is not None:
        return False
    address = await email_address(conn, user_id)
    if address is None:
        return False
    await outbox.enqueue(conn, CHANNEL, address, "notice", notice_body("link"), now, user_id)
    return True
