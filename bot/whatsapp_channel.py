"""WhatsApp as a channel of the core (issue 17): its inbox (channel `whatsapp`, filled by the webhook,
bot/whatsapp_webhook.py), a `Runner` that processes it as the Telegram runner processes updates, and
the delivery worker that hands the outbox to the WhatsApp sender (bot/whatsapp_send.py).

Three connections, as the Telegram bot has: the webhook's (it stores before it answers), processing,
and delivery. Timers are not fired here: `wijkbrug run` fires them for everyone, once (bot/service.py),
and what they say goes to each person's preferred address, on whatever channel it is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from aiohttp import web

from bot import delivery
from bot.i18n import Catalogs
from bot.runner import Flood, Runner
from bot.tasks import until_one_ends
from bot.whatsapp_send import Fetch, WhatsAppSender, unreachable, whatsapp_fetch
from bot.whatsapp_webhook import Intake, make_app
from db import users, whatsapp
from db.connection import Patience, connect, keep_trying, leave_checkpoints_to, transaction
from db.outbox import Outgoing
from db.vault import Vault, attach

log = logging.getLogger(__name__)

CHANNEL = whatsapp.CHANNEL


def meta_pace(instances: int = 1) -> delivery.Pacer:
    """Meta's Cloud API takes about 80 messages a second per number (so 60 a second after a burst of 20:
    no second above 80); to one person, a burst of 10 and then one every 2 s (131056 beyond). The
    limits are the number's, not the process's: each of several instances keeps to its share."""
    return delivery.Pacer.within(80, 60, 10.5, 0.5, instances=instances)


class WhatsAppChannel:
    def __init__(
        self, database: Path, catalogs: Catalogs, clock: Callable[[], datetime], vault: Vault, *,
        token: str, number_id: str, app_secret: str, verify_token: str, api_url: str,
        runner_options: dict[str, object] | None = None, patience: Patience | None = None,
        pacer: delivery.Pacer | None = None, fetch_telegram: Fetch | None = None,
    ) -> None:
        self.fetch_telegram = fetch_telegram
        self.database = database
        self.catalogs = catalogs
        self.clock = clock
        self.vault = vault
        self.secrets = (token, number_id, app_secret, verify_token, api_url)
        self.runner_options = runner_options or {}
        self.patience = patience or Patience()
        self.pacer = pacer or meta_pace()
        self.received = asyncio.Event()

    async def open(self) -> None:
        token, number_id, app_secret, verify_token, api_url = self.secrets
        self.hook_db = await connect(self.database)
        self.work_db = await connect(self.database)
        self.send_db = await connect(self.database)
        for conn in (self.hook_db, self.work_db, self.send_db):
            attach(conn, self.vault)
            await leave_checkpoints_to(conn)
        self.sender = WhatsAppSender(
            self.send_db, self.catalogs, self.clock, token=token, number_id=number_id, api_url=api_url,
            fetch_telegram=self.fetch_telegram,
        )
        self.worker = delivery.DeliveryWorker(
            self.send_db, self.sender, self.clock, CHANNEL, pacer=self.pacer,
            on_permanent=self._refused, patience=self.patience,
        )
        self.runner = Runner(
            self.work_db, self.catalogs, self.clock, CHANNEL, vault=self.vault,
            flood=Flood(per_minute=30), send_now=self.worker.send_now,
            **self.runner_options,  # type: ignore[arg-type]
        )
        self.intake = Intake(
            self.hook_db, app_secret.encode(), verify_token, self.clock, self._received, self.patience,
            size_of=self.sender.media_size,
        )

    async def close(self) -> None:
        await self.sender.close()
        for conn in (self.hook_db, self.work_db, self.send_db):
            await conn.close()

    def _received(self) -> None:
        self.received.set()
        self.worker.look_again()  # held messages released by a reply go before the answer to it

    async def _refused(self, item: Outgoing, exc: delivery.Permanent) -> None:
        code = exc.args[0] if exc.args else ""
        if isinstance(code, str) and code.isdigit() and unreachable(int(code)):
            async with transaction(self.send_db):
                await users.mark_unreachable(self.send_db, CHANNEL, item.address, self.clock())

    async def run(self) -> None:
        """Process the inbox and deliver until cancelled."""
        await until_one_ends({"whatsapp-process": self._process(), "whatsapp-deliver": self.worker.run()})

    async def _process(self) -> None:
        async def one_round() -> int:
            return await self.runner.process_pending(committed=lambda _: self.worker.wake.set())

        while True:
            self.received.clear()
            if await keep_trying("whatsapp", one_round, self.patience):
                continue
            await delivery.woken(self.received, 1.0)


async def serve(channel: WhatsAppChannel, host: str, port: int) -> None:
    """Serve the webhook and run the channel until cancelled."""
    await channel.open()
    runner = web.AppRunner(make_app(channel.intake), access_log=None, shutdown_timeout=5)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        log.info("whatsapp webhook listening on %s:%s/whatsapp", host, port)
        await channel.run()
    finally:
        await runner.cleanup()
        await channel.close()


def from_settings(settings, catalogs, clock, vault, patience):  # noqa: ANN001, ANN201
    """The WhatsApp channel's coroutine for `wijkbrug run` (None while WIJKBRUG_WHATSAPP_TOKEN is unset)."""
    address = settings.whatsapp_address()
    if address is None:
        return None
    options = {
        "reminder_hours": settings.reminder_hours, "retention_days": settings.retention_days,
        "text_retention_days": settings.text_retention_days,
    }
    channel = WhatsAppChannel(
        settings.database, catalogs, clock, vault,
        token=settings.whatsapp_token.get_secret_value(), number_id=settings.whatsapp_phone_number_id,
        app_secret=settings.whatsapp_app_secret.get_secret_value(),
        verify_token=settings.whatsapp_verify_token.get_secret_value(), api_url=settings.whatsapp_api_url,
        runner_options=options, patience=patience, fetch_telegram=telegram_files(settings),
        pacer=meta_pace(settings.instances),
    )
    return serve(channel, *address)


def telegram_files(settings) -> Fetch | None:  # noqa: ANN001
    from bot.web.files import telegram_fetch

    if settings.telegram_token is None:
        return None
    token = settings.telegram_token.get_secret_value()
    return telegram_fetch(settings.telegram_api_url, settings.telegram_file_url, token)


def fetch_of(settings) -> Fetch | None:  # noqa: ANN001
    """WhatsApp media for the Telegram sender (a file a WhatsApp person sent, forwarded to Telegram)."""
    if settings.whatsapp_address() is None:
        return None
    return whatsapp_fetch(settings.whatsapp_api_url, settings.whatsapp_token.get_secret_value())
