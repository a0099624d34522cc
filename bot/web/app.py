"""The web page's aiohttp application and its server, as `wijkbrug run` starts it.

    GET  /login/{token}        a login link: a page with one button (uses nothing), or saying why not
    POST /login/{token}        the button: the link is used once, a session starts
    POST /login/{token}/fresh  a fresh link to the person an expired one was for
    GET  /join/{code}          an e-mail invitation; POST joins
    GET  /                     the person's page; POST /press, /say, /away act on it
    GET  /case/{case_id}       one of the person's cases
    GET  /file/{entry}         a chart or a CSV the bot sent them, or a file forwarded to them
    GET  /summary              a coordinator's week (/summary/chart.png, /summary.csv)
    POST /logout

Access logs are off: a request line holds a login link's token or a case's code. What is logged is
aiohttp's own errors, by kind.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from aiohttp import web

from bot.web import login, pages, security, summary
from bot.web.channel import WebChannel
from bot.web.files import Fetch, by_channel, telegram_fetch, whatsapp_fetch
from bot.web.site import HERE, SITE_KEY, FreshLink, Register, Site

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024  # a form holds a button or a typed answer


def make_app(
    channel: WebChannel, public_url: str, fresh_link: FreshLink | None = None, register: Register | None = None,
    links: security.LinkLimit | None = None, fetch: Fetch | None = None,
) -> web.Application:
    app = web.Application(middlewares=[security.headers], client_max_size=MAX_BODY)
    app[SITE_KEY] = Site(channel, public_url, fresh_link, register, links or security.LinkLimit(), fetch)
    app.router.add_get("/", pages.home)
    app.router.add_post("/press", pages.press)
    app.router.add_post("/say", pages.say)
    app.router.add_post("/away", pages.away)
    app.router.add_get("/case/{case_id}", pages.case_page)
    app.router.add_get("/file/{entry}", pages.file)
    app.router.add_get("/login/{token}", login.open_link)
    app.router.add_post("/login/{token}", login.use_link)
    app.router.add_post("/login/{token}/fresh", login.fresh_link)
    app.router.add_get("/join/{code}", login.join_page)
    app.router.add_post("/join/{code}", login.join)
    app.router.add_post("/logout", login.logout)
    app.router.add_get("/summary", summary.summary_page)
    app.router.add_get("/summary/chart.png", summary.chart)
    app.router.add_get("/summary.csv", summary.csv)
    app.router.add_static("/static", Path(HERE / "static"), append_version=False)
    return app


async def serve(
    channel: WebChannel, host: str, port: int, public_url: str,
    fresh_link: FreshLink | None = None, register: Register | None = None, fetch: Fetch | None = None,
) -> None:
    """Serve the page and run its channel (inbox and feed delivery) until cancelled."""
    await channel.open()
    app = make_app(channel, public_url, fresh_link, register, fetch=fetch)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
        log.info("web page listening on %s:%s", host, port)
        await channel.run()
    finally:
        await runner.cleanup()
        await channel.close()


async def ready(host: str, port: int) -> None:
    """Wait until something listens on host:port (tests, and a start-up check)."""
    while True:
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return


def from_settings(settings, catalogs, clock, vault, patience):  # noqa: ANN001, ANN201
    """The web page's coroutine for `wijkbrug run` (None when WIJKBRUG_WEB_LISTEN is unset)."""
    address = settings.web_address()
    if address is None:
        return None
    assert settings.public_url is not None  # bot/cli_run.py checked it
    options = {
        "reminder_hours": settings.reminder_hours, "retention_days": settings.retention_days,
        "text_retention_days": settings.text_retention_days,
    }
    channel = WebChannel(settings.database, catalogs, clock, vault, runner_options=options, patience=patience)
    fresh_link, register = email_parts()
    telegram = whatsapp = None  # a file a person sent, fetched from the channel it came in on
    if settings.telegram_token is not None:
        token = settings.telegram_token.get_secret_value()
        telegram = telegram_fetch(settings.telegram_api_url, settings.telegram_file_url, token)
    if settings.whatsapp_token is not None:
        whatsapp = whatsapp_fetch(settings.whatsapp_api_url, settings.whatsapp_token.get_secret_value())
    fetch = by_channel(telegram, whatsapp)
    return serve(channel, *address, settings.public_url, fresh_link, register, fetch)


def email_parts() -> tuple[FreshLink, Register]:
    """The e-mail channel's fresh link and registration (bot/email_people.py)."""
    from bot.email_people import Joined, register_email_person, send_fresh_link

    async def register(conn, code: str, now, language: str) -> int | None:  # noqa: ANN001
        joined = await register_email_person(conn, code, None, now, language)
        return joined.user_id if isinstance(joined, Joined) else None

    return send_fresh_link, register
