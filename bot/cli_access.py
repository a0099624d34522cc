"""Who may use the bot: `wijkbrug invite`, `invites list|revoke`, `users list|revoke`."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta

from bot import cli_services
from bot.cli_shared import OperatorError, utc_now
from bot.settings import Settings
from db import directory as stored_directory
from db import invites
from db.connection import Connection, connect, transaction
from db.vault import Vault
from flows.model import Role


async def invite(
    settings: Settings,
    role: Role,
    org_id: str | None,
    contact_id: str | None,
    team_id: str | None,
    days: int | None,
    as_json: bool,
    by_email: bool = False,
    channel: str = "telegram",
    language: str | None = None,
) -> int:
    if (role is Role.MEMBER) != (contact_id is not None) or (team_id is not None and role is not Role.COORDINATOR):
        raise OperatorError(
            "a member's invite needs --contact ID; a volunteer's needs --org ORG; "
            "a coordinator's --org ORG or --team TEAM"
        )
    if channel == "whatsapp" and settings.whatsapp_number is None:
        raise OperatorError(
            "a WhatsApp invite needs the business number people write to: set WIJKBRUG_WHATSAPP_NUMBER (digits)"
        )
    if language is not None:
        from bot.i18n import shipped_languages

        shipped = shipped_languages(default=settings.default_locale)
        if language not in shipped:
            allowed = ", ".join(shipped)
            raise OperatorError(f"--language {language!r} is not a language Wijkbrug writes; use one of: {allowed}")
        if by_email:
            raise OperatorError("--language is for a chat invite: by e-mail, the web page asks the person's language")
    conn = await connect(settings.database)
    try:
        stored = await stored_directory.load(conn)
        if org_id is not None and org_id not in {o.id for o in stored.organisations}:
            known = ", ".join(o.id for o in stored.organisations) or "none yet"
            raise OperatorError(
                f"unknown organisation {org_id!r} (known: {known}); load them with `wijkbrug directory import FILE`"
            )
        if contact_id is not None and stored.contact(contact_id) is None:
            raise OperatorError(f"unknown contact {contact_id!r}; see `wijkbrug directory export` for the ids")
        if team_id is not None and stored.team(team_id) is None:
            raise OperatorError(f"unknown team {team_id!r}; see `wijkbrug directory export` for the ids")
        valid = timedelta(days=days if days is not None else settings.invite_days)
        if valid <= timedelta(0):
            raise OperatorError("--days must be 1 or more")
        if by_email:
            from bot.cli_email import invite_by_email

            return await invite_by_email(conn, settings, role, org_id, contact_id, team_id, valid, as_json)
        async with transaction(conn):
            made = await invites.create(
                conn, role=role, org_id=org_id, contact_id=contact_id, team_id=team_id, now=utc_now(), valid_for=valid,
                language=language,
            )
        from bot.telegram import stored_username

        username = settings.bot_username or await stored_username(conn)
    finally:
        await conn.close()
    link = f"https://t.me/{username or '<bot username>'}?start={made.code}"
    if channel == "whatsapp":  # the first message, START <code>, registers them (bot/whatsapp_updates.py)
        link = f"https://wa.me/{settings.whatsapp_number}?text=START%20{made.code}"
    expires = made.expires_at.replace(microsecond=0).isoformat()
    if as_json:
        print(json.dumps({"code": made.code, "link": link, "expires_at": expires}))
    else:
        print(f"Invite for a {role.value} of {org_id or contact_id or team_id}, single use, valid until {expires}:")
        print(f"  code: {made.code}")
        print(f"  link: {link}")
    if username is None and channel == "telegram":
        print(
            "note: the bot's username is not known yet; run the bot once or set WIJKBRUG_BOT_USERNAME",
            file=sys.stderr,
        )
    return 0


async def list_invites(conn: Connection, now: datetime) -> None:
    from bot import listing

    print(*listing.invites(await invites.all_(conn, now)), sep="\n")


async def revoke_invite(conn: Connection, ref: str, now: datetime) -> None:
    from db import privacy

    async with transaction(conn):
        count = await invites.revoke(conn, ref, now)
        if count:
            await privacy.audit(conn, "operator", "revoke", f"invite:{ref}", now)
    if not count:
        raise OperatorError(f"no open invite with reference {ref!r}; see `wijkbrug invites list`")
    print(f"invite {ref}: revoked")


async def list_users(conn: Connection) -> None:
    from bot import listing
    from db import users

    print(*listing.users(await users.all_(conn), await users.uncoordinated_orgs(conn)), sep="\n")


async def revoke_user(conn: Connection, settings: Settings, vault: Vault, user_id: int) -> None:
    if not await cli_services.revoke(conn, settings.catalogs(), vault, user_id):
        raise OperatorError(f"no active user {user_id}; see `wijkbrug users list`")
    print(f"user {user_id}: access ended; their open requests went to their team's coordinator")
