"""`wijkbrug run`: the bot on Telegram, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal

from bot.cli_shared import OperatorError, utc_now
from bot.settings import Settings
from db.connection import connect

log = logging.getLogger("wijkbrug")


def run(settings: Settings, webhook: str | None = None) -> int:
    if settings.telegram_token is None:
        raise OperatorError(
            "no Telegram token: set WIJKBRUG_TELEGRAM_TOKEN to the token @BotFather gives you "
            "(in Telegram, send /newbot to @BotFather); or try `wijkbrug demo`."
        )
    if settings.web_listen is not None and settings.public_url is None:
        raise OperatorError(
            "WIJKBRUG_WEB_LISTEN is set but WIJKBRUG_PUBLIC_URL is not: set it to the https address people "
            "reach the web page at (the links in e-mails point there)"
        )
    from bot.telegram import TelegramBot  # PTB is loaded only when it is needed

    catalogs = settings.catalogs()

    async def go() -> None:
        conn = await connect(settings.database)  # creates and migrates a new database
        await conn.close()
        task = asyncio.create_task(TelegramBot(settings, catalogs, utc_now, webhook).run())
        # SIGTERM (systemd, docker stop) ends the bot as Ctrl-C does; nothing is lost either way.
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            log.info("stopped")

    from telegram.error import InvalidToken

    try:
        asyncio.run(go())
    except KeyboardInterrupt:
        log.info("stopped")
    except InvalidToken:
        raise OperatorError(
            "Telegram refused the token in WIJKBRUG_TELEGRAM_TOKEN; copy it again from @BotFather"
        ) from None
    return 0
