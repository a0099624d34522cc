"""The Telegram channel: our own durable loops on the Bot API (bot/botapi.py).

The poller fetches updates itself, writes them to the inbox together with the next offset in one
transaction, and only then asks for more (which is what acknowledges them to Telegram); a webhook
answers Telegram only once the update is stored. The processor and the delivery worker run beside
it, each on its own database connection. (python-telegram-bot's Updater would acknowledge a batch
before its handlers ran, and its job queue lives in memory; the bot no longer uses the library at
all: bot/botapi.py says why.)
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from bot import delivery
from bot.botapi import BotApi, InvalidToken, NetworkError, RetryAfter, TelegramError
from bot.confirmations import Confirmations
from bot.i18n import Catalogs
from bot.runner import Flood, Runner
from bot.settings import Settings
from bot.tasks import until_one_ends
from bot.telegram_send import TelegramSender, bot_commands
from db import inbox, users
from db import settings as stored
from db.connection import Connection, Patience, connect, keep_trying, leave_checkpoints_to, transaction
from db.inbox import Incoming
from db.vault import Vault, attach
from flows.access import DESCRIPTION, SHORT_DESCRIPTION
from flows.model import Role
from flows.session import COMMAND_HELP, COMMANDS

log = logging.getLogger(__name__)

CHANNEL = "telegram"
OFFSET_KEY = "telegram.offset"
USERNAME_KEY = "telegram.username"
MENUS_KEY = "telegram.menus"  # the digest of the menus last published in full (`menus_digest`)
ALLOWED_UPDATES = ["message", "callback_query"]


def bot_api(settings: Settings, pool_size: int = 16) -> BotApi:
    assert settings.telegram_token is not None
    return BotApi(settings.telegram_token.get_secret_value(), settings.telegram_api_url, pool_size=pool_size)


class TelegramBot:
    """The Telegram channel of `wijkbrug run` (bot/service.py): poll, process and deliver until stopped."""

    def __init__(
        self, settings: Settings, catalogs: Catalogs, clock: Callable[[], datetime], webhook: str | None = None,
        *, patience: Patience | None = None,
    ) -> None:
        self.webhook = webhook
        self.settings = settings
        self.catalogs = catalogs
        self.clock = clock
        self.api = bot_api(settings)
        self._polls = bot_api(settings, pool_size=1)  # the long poll on a connection of its own
        self.received = asyncio.Event()
        self.drained = asyncio.Event()  # set when the processing loop has handled all it was given
        # While the database cannot be written (locked, disk full); shared with the other channels.
        self.patience = patience or Patience()

    async def run(self, vault: Vault) -> None:
        poll_db = await connect(self.settings.database)
        work_db = await connect(self.settings.database)
        send_db = await connect(self.settings.database)
        try:
            for conn in (poll_db, work_db, send_db):
                attach(conn, vault)
                await leave_checkpoints_to(conn)
            username = (await self._initialize()).get("username") or ""

            async def remember_username() -> None:
                async with transaction(poll_db):
                    await stored.put(poll_db, USERNAME_KEY, username)

            await keep_trying("start", remember_username, self.patience)
            log.info("connected to Telegram as @%s", username)
            # The menus again only when they changed: publishing renders every language, so every
            # catalog would be compiled and kept at each start, whether anyone reads it or not.
            menus = menus_digest(self.catalogs, username)
            changed = await stored.get(poll_db, MENUS_KEY) != menus
            publish = {"commands": self._publish_commands(menus)} if changed else {}

            async def refused(item, exc: delivery.Permanent) -> None:
                if exc.args and exc.args[0] == "Forbidden":  # the person blocked the bot: stop trying them
                    async with transaction(send_db):
                        await users.mark_unreachable(send_db, CHANNEL, item.address, self.clock())

            pacer = delivery.Pacer.within(
                delivery.TELEGRAM_PER_SECOND, self.settings.send_per_second,
                delivery.TELEGRAM_CHAT_BURST_SECOND, self.settings.chat_per_second, instances=self.settings.instances,
            )
            fetch = None  # WhatsApp's media, forwarded to Telegram; its modules (aiohttp.web) only when it is on
            if self.settings.whatsapp_address() is not None:
                from bot.whatsapp_channel import fetch_of

                fetch = fetch_of(self.settings)
            # Sent rows are deleted by the processing loop's transactions while it is at work.
            confirmations = Confirmations(send_db, self.patience)
            worker = delivery.DeliveryWorker(
                send_db, TelegramSender(self.api, fetch), self.clock, CHANNEL, pacer=pacer, on_permanent=refused,
                patience=self.patience, max_chats=self.settings.send_chats, confirmations=confirmations,
            )
            runner = Runner(
                work_db, self.catalogs, self.clock, CHANNEL, vault=vault, reminder_hours=self.settings.reminder_hours,
                retention_days=self.settings.retention_days, text_retention_days=self.settings.text_retention_days,
                flood=Flood(per_minute=self.settings.flood_per_minute), send_now=worker.send_now,
                confirmations=confirmations,
            )
            receive = self._poll(poll_db) if self.webhook is None else self._serve_webhook(poll_db)
            await until_one_ends(  # the channel runs while these do; the first to fail stops it
                {"receive": receive, "process": self._process(runner, worker), "deliver": worker.run()},
                publish,
            )
        finally:
            await self.api.close()
            await self._polls.close()
            for conn in (poll_db, work_db, send_db):
                await conn.close()

    async def _initialize(self) -> dict[str, Any]:
        """Meet Telegram (getMe: the bot's own user); wait for the network rather than give up, but
        not for a bad token."""
        pause = 1.0
        while True:
            try:
                return await self.api.call("getMe")
            except NetworkError as exc:
                log.warning("cannot reach Telegram (%s); trying again in %.0fs", type(exc).__name__, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 60.0)

    async def _poll(self, conn: Connection) -> None:
        await self.api.call("deleteWebhook", {"drop_pending_updates": False})
        offset = int(await stored.get(conn, OFFSET_KEY) or 0)
        pause = 1.0
        while True:
            try:
                # 25 at a time (Telegram's default is 100): a burst's batch is held whole, and
                # what a burst allocates the process keeps.
                batch = await self._polls.call(
                    "getUpdates",
                    {
                        "offset": offset, "timeout": self.settings.poll_timeout,
                        "allowed_updates": ALLOWED_UPDATES, "limit": 25,
                    },
                    read_timeout=self.settings.poll_timeout + 10,
                )
            except RetryAfter as exc:
                log.warning("getUpdates: Telegram asks to wait %.0fs", exc.seconds)
                await asyncio.sleep(exc.seconds)
                continue
            except InvalidToken:
                raise
            except TelegramError as exc:
                # Conflict: another process polls with this token (or a webhook is set); keep trying
                # so the bot takes over once the other stops, but say so.
                log.warning("getUpdates failed (%s); trying again in %.0fs", type(exc).__name__, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 30.0)
                continue
            pause = 1.0
            if not batch:
                continue
            updates = [
                Incoming(update_id=int(u["update_id"]), payload=json.dumps(u, ensure_ascii=False)) for u in batch
            ]
            offset = max(u.update_id for u in updates) + 1
            # Stored together with the offset: asking for `offset` next is what tells Telegram
            # these are handled, and by then they are safe in the inbox. While the database cannot
            # be written, the batch is kept and no more are asked for: they wait at Telegram.
            await keep_trying("poller", lambda: self._store(conn, updates, offset), self.patience)
            self.received.set()
            # Ask for more once these are handled: meanwhile new updates wait, safe, at Telegram,
            # and come in one batch instead of a call each (under load, most of a poll's cost).
            self.drained.clear()
            await self.drained.wait()

    async def _store(self, conn: Connection, updates: list[Incoming], offset: int | None = None) -> None:
        async with transaction(conn):
            await inbox.receive(conn, CHANNEL, updates, self.clock())
            if offset is not None:
                await stored.put(conn, OFFSET_KEY, str(offset))

    async def _serve_webhook(self, conn: Connection) -> None:
        """Telegram POSTs each update to WEBHOOK; it is written to the inbox before the 200 goes
        back, and a request without the right secret token gets 403 and is not processed."""
        from aiohttp import web

        # Without a configured secret, a new one for every run, kept in memory only (never in the
        # database): it is registered with Telegram below, on every start.
        configured = self.settings.webhook_secret
        secret = configured.get_secret_value() if configured else secrets.token_urlsafe(32)
        path = urlsplit(self.webhook or "").path or "/"
        timeout = self.settings.webhook_timeout
        loop = asyncio.get_running_loop()
        heads: set[object] = set()  # connections whose first request head is not in yet

        async def receive(request: web.Request) -> web.Response:
            heads.discard(request.protocol)
            given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
            if not hmac.compare_digest(given.encode(), secret.encode()):
                log.warning("webhook: refused a request without the right secret token")
                return web.Response(status=403)
            try:
                async with asyncio.timeout(timeout):  # a body sent slowly, or never, is not waited for
                    update = await request.json()
                incoming = Incoming(update_id=int(update["update_id"]), payload=json.dumps(update, ensure_ascii=False))
            except TimeoutError:
                return web.Response(status=408, headers={"Connection": "close"})
            except (ValueError, KeyError, TypeError):
                return web.Response(status=400)
            # The 200 goes back only once it is stored; Telegram waits meanwhile (and sends it
            # again if it gives up: the inbox ignores the second copy).
            await keep_trying("webhook", lambda: self._store(conn, [incoming]), self.patience)
            self.received.set()
            return web.Response(status=200)

        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post(path, receive)
        # Nobody holds a connection open: one idle between two requests is closed after `timeout`
        # (aiohttp's keep-alive timeout), and so is one whose first request head is not in by
        # then (below: not every aiohttp version starts that timer before a first request).
        # A stop waits for requests in progress at most as long as a request may take (aiohttp's
        # default is 60 s, longer than a service manager waits after SIGTERM).
        server = web.AppRunner(app, access_log=None, keepalive_timeout=timeout, shutdown_timeout=timeout)
        await server.setup()

        def too_slow(handler: asyncio.BaseProtocol) -> None:
            if handler in heads:
                heads.discard(handler)
                if (transport := getattr(handler, "transport", None)) is not None:
                    transport.close()

        def connection() -> asyncio.BaseProtocol:
            handler = server.server()
            heads.add(handler)
            loop.call_later(timeout, too_slow, handler)
            return handler

        listening = await loop.create_server(connection, self.settings.webhook_listen, self.settings.webhook_port)
        try:
            await self.api.call(
                "setWebhook", {"url": self.webhook, "secret_token": secret, "allowed_updates": ALLOWED_UPDATES}
            )
            listen, port = self.settings.webhook_listen, self.settings.webhook_port
            log.info("webhook set; listening on %s:%s%s", listen, port, path)
            await asyncio.Event().wait()
        finally:
            listening.close()
            await server.cleanup()

    async def _process(self, runner: Runner, worker: delivery.DeliveryWorker) -> None:
        """Updates, one at a time on one connection (so no transaction interleaves); the timers are
        fired by a task of their own, for every channel (bot/schedules.keep_firing). While the
        database cannot be written, what failed was rolled back (the update stays in the inbox) and
        the round is tried again with growing pauses. The inbox is looked at when an update came in
        and at least once a second: with several instances, one stored by another (maybe killed
        since) is handled here, and its person's lock keeps two from handling it (bot/processing.py)."""

        async def one_round() -> int:
            busy = await runner.process_pending(committed=lambda _: worker.wake.set())
            self.drained.set()
            return busy

        while True:
            self.received.clear()  # before looking: an update stored meanwhile sets it again
            busy = await keep_trying("processing", one_round, self.patience)
            if busy:
                worker.wake.set()
                continue
            await delivery.woken(self.received, 1.0)

    async def _publish_commands(self, digest: str) -> None:
        """The command menu and the descriptions in every shipped language (and, for clients in
        other languages, in the default one); a failure is logged, never fatal. When all went out,
        their `digest` is stored, so that the next start publishes only what changed."""
        catalogs = self.catalogs.copy()  # every language compiled for this only, then let go
        failed = False
        for language in (None, *catalogs.languages):
            shown = language or catalogs.default
            commands = bot_commands(
                (name, catalogs.render(COMMAND_HELP[name], shown)) for name in COMMANDS[Role.VOLUNTEER]
            )
            scope = {"language_code": language} if language else {}
            try:
                await self.api.call("setMyCommands", {"commands": commands, **scope})
                description = catalogs.render(DESCRIPTION, shown)[:512]
                await self.api.call("setMyDescription", {"description": description, **scope})
                short = catalogs.render(SHORT_DESCRIPTION, shown)[:120]
                await self.api.call("setMyShortDescription", {"short_description": short, **scope})
            except TelegramError as exc:
                failed = True
                log.warning("publishing the menu for %s failed: %s", language or "default", type(exc).__name__)
        del catalogs
        if failed:
            return
        conn = await connect(self.settings.database)  # its own: the others are busy in their loops
        try:
            await leave_checkpoints_to(conn)

            async def remember() -> None:
                async with transaction(conn):
                    await stored.put(conn, MENUS_KEY, digest)

            await keep_trying("menus", remember, self.patience)
        finally:
            await conn.close()


def menus_digest(catalogs: Catalogs, username: str) -> str:
    """A digest of the menus and descriptions `_publish_commands` would publish, for this bot."""
    shown = (username, catalogs.fingerprint(), [(name, COMMAND_HELP[name]) for name in COMMANDS[Role.VOLUNTEER]],
             DESCRIPTION, SHORT_DESCRIPTION)
    return hashlib.sha256(repr(shown).encode()).hexdigest()


async def stored_username(conn: Connection) -> str | None:
    return await stored.get(conn, USERNAME_KEY) or None
