"""`wijkbrug run` put together: every channel that is set up, and what belongs to no channel (the timers,
the Monday push, the nightly retention, the unreachable people; the checkpoints; giving memory back),
each once per process.

The channels: Telegram when WIJKBRUG_TELEGRAM_TOKEN is set (bot/telegram.py), WhatsApp when its settings
are (bot/whatsapp_channel.py), the web page when WIJKBRUG_WEB_LISTEN is (bot/web/), and beside them the
web feed's and e-mail's delivery workers (bot/email_send.side_channels). Each has its own connections;
the timers have one of their own too. The first of these to fail stops them all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from bot import memory, schedules
from bot.i18n import Catalogs
from bot.runner import Runner
from bot.settings import Settings
from bot.tasks import until_one_ends
from db import users
from db.connection import Checkpointer, Connection, Patience, connect, leave_checkpoints_to
from db.vault import attach, open_vault

log = logging.getLogger(__name__)

TIMERS = "timers"  # the timers' core processes no inbox; this names it in logs only


def channels(settings: Settings) -> list[str]:
    """The channels people can use with these settings (e-mail is not one alone: its people use the web page)."""
    found = []
    if settings.telegram_token is not None:
        found.append("telegram")
    if settings.whatsapp_address() is not None:
        found.append("whatsapp")
    if settings.web_address() is not None:
        found.append("web")
    return found


async def serve(
    settings: Settings, catalogs: Catalogs, clock: Callable[[], datetime], webhook: str | None = None
) -> None:
    """Run every channel that is set up, and the timers once, until cancelled or one of them fails."""
    patience = Patience()  # while the database cannot be written (locked, disk full): every task waits
    conn = await connect(settings.database)
    side_dbs: list[Connection] = []
    try:
        secret = settings.secret_key.get_secret_value() if settings.secret_key else None
        vault = await open_vault(conn, secret, settings.key_path())
        attach(conn, vault)
        for org_id in await users.uncoordinated_orgs(conn):
            # The organisation's id only: the operator can act on it (`wijkbrug invite --role coordinator`).
            log.warning(
                "organisation %s has no coordinator: safety alerts of its volunteers reach a wijkteam's "
                "coordinator or nobody, and they are told to call Veilig Thuis themselves", org_id,
            )
        timers = Runner(
            conn, catalogs, clock, TIMERS, vault=vault, reminder_hours=settings.reminder_hours,
            retention_days=settings.retention_days, text_retention_days=settings.text_retention_days,
        )
        # The web page's feed and e-mail notices, when set up (bot/email_send.py).
        side: list[Any] = []
        if settings.public_url is not None:  # e-mail and the web page's modules only when set up (start-up)
            from bot.email_send import side_channels

            side, side_dbs = await side_channels(settings, catalogs, clock, vault, patience)
        for each in (conn, *side_dbs):
            await leave_checkpoints_to(each)
        forever: dict[str, Coroutine[Any, Any, Any]] = {
            "checkpoint": Checkpointer(settings.database).run(),
            "timers": schedules.keep_firing(timers.core, patience),
            **{f"deliver-{worker.channel}": worker.run() for worker in side},
        }
        if settings.telegram_token is not None:
            from bot.telegram import TelegramBot  # loaded only when Telegram is set up

            forever["telegram"] = TelegramBot(settings, catalogs, clock, webhook, patience=patience).run(vault)
        if settings.web_address() is not None:
            from bot.web.app import from_settings as web_page  # aiohttp.web, jinja2: only for the page

            if (page := web_page(settings, catalogs, clock, vault, patience)) is not None:
                forever["web"] = page
        if settings.whatsapp_address() is not None:
            from bot.whatsapp_channel import from_settings as whatsapp_channel

            if (chat := whatsapp_channel(settings, catalogs, clock, vault, patience)) is not None:
                forever["whatsapp"] = chat
        log.info("running: %s", ", ".join(channels(settings)))
        await until_one_ends(forever, {"memory": memory.keep_released()})
    finally:
        for each in (conn, *side_dbs):
            await each.close()
