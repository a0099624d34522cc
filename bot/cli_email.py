"""`wijkbrug invite --email`: an invite sent by e-mail to the address the directory holds for a
wijkteam member (their contact entry) or a wijkteam's coordinator (the team's), with the web
page's `/join/{code}` link; the person joins as an e-mail person (bot/email_people.py).

The address is not printed in full (a terminal's output ends up in logs): the operator sees its
first letter and its domain.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import timedelta

from bot import email_compose
from bot.cli_shared import OperatorError, utc_now
from bot.delivery import DeliveryError
from bot.email_people import invited_address
from bot.email_smtp import Smtp, submit
from bot.settings import Settings
from db import invites
from db.connection import Connection, transaction
from flows.model import Role


def masked(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}…@{domain}"


async def invite_by_email(
    conn: Connection, settings: Settings, role: Role, org_id: str | None, contact_id: str | None,
    team_id: str | None, valid: timedelta, as_json: bool,
) -> int:
    smtp = Smtp.of(settings)
    if smtp is None:
        raise OperatorError(
            "e-mail is not set up: set WIJKBRUG_SMTP_HOST, WIJKBRUG_SMTP_FROM and WIJKBRUG_PUBLIC_URL "
            "(and WIJKBRUG_SMTP_USER and WIJKBRUG_SMTP_PASSWORD if the server wants a login)"
        )
    if role is Role.VOLUNTEER or (role is Role.COORDINATOR and team_id is None):
        raise OperatorError(
            "--email is for a wijkteam member (--contact ID) or a wijkteam's coordinator (--team ID): "
            "the directory holds their e-mail address"
        )
    address = await invited_address(conn, role, contact_id, team_id)
    bound = contact_id or team_id
    if address is None:
        raise OperatorError(
            f"the directory has no e-mail address for {bound}; add one (email:) and run `wijkbrug directory import`"
        )
    now = utc_now()
    async with transaction(conn):
        made = await invites.create(
            conn, role=role, org_id=org_id, contact_id=contact_id, team_id=team_id, now=now, valid_for=valid
        )
    link = f"{smtp.public_url}/join/{made.code}"
    mail = email_compose.Mail(sender=smtp.sender, to=address, host=smtp.link_host)
    message = email_compose.invite(settings.catalogs(), settings.default_locale, link, mail, secrets.token_hex(12), now)
    try:
        await submit(smtp, message)
    except DeliveryError as exc:
        async with transaction(conn):  # nobody has the link: it must not stay usable
            await invites.revoke(conn, hashlib.sha256(made.code.encode("utf-8")).hexdigest()[:16], now)
        raise OperatorError(
            f"the invite could not be sent ({exc.args[0] if exc.args else type(exc).__name__}); it was withdrawn. "
            "Check the WIJKBRUG_SMTP_ settings and try again"
        ) from None
    expires = made.expires_at.replace(microsecond=0).isoformat()
    if as_json:
        print(json.dumps({"sent_to": masked(address), "expires_at": expires}))
    else:
        print(f"Invite for a {role.value} of {bound}, single use, valid until {expires}:")
        print(f"  sent by e-mail to {masked(address)} (the directory's address of {bound})")
    return 0
