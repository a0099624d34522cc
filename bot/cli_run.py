"""`wijkbrug run`: the bot on every channel that is set up, until Ctrl-C or SIGTERM (bot/service.py)."""

from __future__ import annotations

import asyncio
import logging
import signal

from bot.cli_shared import OperatorError, utc_now
from bot.service import channels, serve
from bot.settings import Settings
from db.connection import connect, is_postgresql

log = logging.getLogger("wijkbrug")

NO_CHANNEL = (
    "no channel is set up, so nobody could reach the bot: set WIJKBRUG_TELEGRAM_TOKEN (the token @BotFather "
    "gives you; in Telegram, send /newbot to @BotFather), or WIJKBRUG_WHATSAPP_TOKEN with "
    "WIJKBRUG_WHATSAPP_PHONE_NUMBER_ID, WIJKBRUG_WHATSAPP_APP_SECRET, WIJKBRUG_WHATSAPP_VERIFY_TOKEN and "
    "WIJKBRUG_WHATSAPP_LISTEN, or WIJKBRUG_WEB_LISTEN with WIJKBRUG_PUBLIC_URL (the web page, for people "
    "by e-mail); or try `wijkbrug demo`."
)

SEVERAL_POLLERS = (
    "WIJKBRUG_DATABASE is PostgreSQL, where several `wijkbrug run` may share the database, and two of them "
    "long-polling Telegram get 409 Conflict: run with `--webhook URL` (Telegram posts updates to that public "
    "HTTPS address, which a load balancer may spread over the instances), or, if this is the only instance, "
    "with `--only-instance` (or WIJKBRUG_ONLY_INSTANCE=1)"
)


def polling_refused(settings: Settings, webhook: str | None) -> str | None:
    """Why Telegram may not be long-polled with these settings (None: it may, or it is not polled)."""
    polls = settings.telegram_token is not None and webhook is None
    if polls and is_postgresql(settings.database) and not settings.only_instance:
        return SEVERAL_POLLERS
    return None


def run(settings: Settings, webhook: str | None = None) -> int:
    if not channels(settings):
        raise OperatorError(NO_CHANNEL)
    if (refused := polling_refused(settings, webhook)) is not None:
        raise OperatorError(refused)
    if webhook is not None and settings.telegram_token is None:
        raise OperatorError("--webhook is Telegram's, but WIJKBRUG_TELEGRAM_TOKEN is not set")
    if settings.web_listen is not None and settings.public_url is None:
        raise OperatorError(
            "WIJKBRUG_WEB_LISTEN is set but WIJKBRUG_PUBLIC_URL is not: set it to the https address people "
            "reach the web page at (the links in e-mails point there)"
        )
    catalogs = settings.catalogs()

    async def go() -> None:
        conn = await connect(settings.database)  # creates and migrates a new database
        await conn.close()
        task = asyncio.create_task(serve(settings, catalogs, utc_now, webhook))
        # SIGTERM (systemd, docker stop) ends the bot as Ctrl-C does; nothing is lost either way.
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            log.info("stopped")

    try:
        asyncio.run(go())
    except KeyboardInterrupt:
        log.info("stopped")
    except Exception as exc:
        if settings.telegram_token is not None:
            from bot.botapi import InvalidToken

            if isinstance(exc, InvalidToken):
                raise OperatorError(
                    "Telegram refused the token in WIJKBRUG_TELEGRAM_TOKEN; copy it again from @BotFather"
                ) from None
        raise
    return 0
