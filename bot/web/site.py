"""What every page handler shares (`Site`): the channel, the templates, the limits; and the steps
most handlers take: who is logged in, checking a form's CSRF token, auditing a refusal, and
answering with a page in the reader's language."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from bot.web import security
from bot.web.channel import WebChannel
from bot.web.files import Fetch
from bot.web.words import direction, words
from db import privacy, users, web_sessions
from db.connection import Connection
from db.users import Account

HERE = Path(__file__).parent
SITE_KEY: web.AppKey[Site] = web.AppKey("site")

# The e-mail channel's parts the pages call (bot/email/…): a fresh link to a person's own address,
# and registering the person an e-mail invitation was for. None until that channel is there.
FreshLink = Callable[[Connection, int, datetime], Awaitable[object]]
Register = Callable[[Connection, str, datetime, str], Awaitable[int | None]]


@dataclass
class Site:
    channel: WebChannel
    public_url: str
    fresh_link: FreshLink | None = None
    register: Register | None = None
    links: security.LinkLimit = field(default_factory=security.LinkLimit)
    fetch: Fetch | None = None  # a file a person sent, by its channel's reference (bot/web/files.py)
    templates: jinja2.Environment = field(
        default_factory=lambda: jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, undefined=jinja2.StrictUndefined
        )
    )

    @property
    def secure(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def catalogs(self):  # noqa: ANN201 - bot.i18n.Catalogs
        return self.channel.catalogs

    @property
    def conn(self) -> Connection:
        return self.channel.conn

    def now(self) -> datetime:
        return self.channel.clock()


def site(request: web.Request) -> Site:
    return request.app[SITE_KEY]


def language_of(request: web.Request, account: Account | None = None) -> str:
    """The person's language; for a visitor, the browser's first language Wijkbrug writes."""
    if account is not None:
        return account.language
    wanted = request.headers.get("Accept-Language", "").split(",")[0].split(";")[0].strip()
    return site(request).catalogs.pick(wanted or None)


async def logged_in(request: web.Request) -> Account | None:
    """The person whose session the cookie holds, while it lasts and their access does."""
    here = site(request)
    token = request.cookies.get(security.SESSION_COOKIE, "")
    user_id = await web_sessions.user_of(here.conn, token, here.now()) if token else None
    if user_id is None:
        return None
    account = await users.get(here.conn, user_id)
    if account is None or account.revoked_at:
        async with here.channel.transaction() as conn:
            await web_sessions.end_all(conn, user_id)
            await privacy.refused(conn, f"user:{user_id}", "web:revoked", here.now())
        return None
    async with here.channel.transaction() as conn:  # they read their page: the e-mail quiet rule counts it
        await web_sessions.seen(conn, token, here.now())
    return account


async def refuse(request: web.Request, actor: str, subject: str) -> None:
    """Audit a refusal (db/privacy.py: bounded per actor and hour); nothing else changes."""
    here = site(request)
    async with here.channel.transaction() as conn:
        await privacy.refused(conn, actor, subject, here.now())


def page(
    request: web.Request, template: str, language: str, status: int = 200, csrf_cookie: str = "",
    response: web.Response | None = None, **values: Any,
) -> web.Response:
    """A page in `language` (`<html lang dir>`), with the form token made from `csrf_cookie`."""
    here = site(request)
    html = here.templates.get_template(template).render(
        lang=language.replace("_", "-"), dir=direction(language), w=words(here.catalogs, language),
        csrf=security.csrf_token(csrf_cookie) if csrf_cookie else "", **values,
    )
    response = response or web.Response()
    response.content_type = "text/html"
    response.charset = "utf-8"
    response.text = html
    response.set_status(status)
    return response


def message(request: web.Request, language: str, key: str, status: int, **values: Any) -> web.Response:
    """A page that says one thing (a refused link, a logged-out session, a refusal)."""
    return page(request, "message.html", language, status, say=key, **values)


async def form(request: web.Request, cookie: str) -> dict[str, str] | None:
    """A posted form whose CSRF token matches `cookie` (None: refused, to be audited)."""
    data = await request.post()
    if not security.csrf_ok(cookie, data.get(security.CSRF_FIELD)):
        return None
    return {key: value for key, value in data.items() if isinstance(value, str)}
