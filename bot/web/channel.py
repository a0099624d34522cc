"""The web page as a channel of the core: its own inbox (channel `web`), a `Runner` for it, and the
delivery worker that drains what the bot says into the person's feed (bot/feed_send.py).

What a person does on the page becomes an `Inbound` (bot/updates.py) on channel `web`, with their
account id as the chat id, stored in the inbox exactly as the console stores its lines; the
processing loop here handles it as the Telegram runner handles an update (the gate, the flows,
one transaction), and the worker writes the replies into the feed. `submit` stores the input and
waits, bounded, until it is handled and the replies are in the feed, so the page shown after the
redirect holds the answer. Timers are not fired here: `wijkbrug run` fires them for everyone, once
(bot/service.py), and what they say goes to each person's preferred address (an e-mail person's
notices go to the feed through the e-mail channel's sender).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from bot import delivery
from bot.feed_send import CHANNEL, FeedSender
from bot.i18n import Catalogs
from bot.runner import Flood, Runner
from bot.tasks import until_one_ends
from bot.updates import Inbound
from db import inbox, outbox
from db import settings as stored
from db.connection import Connection, IntegrityError, Patience, connect, keep_trying, leave_checkpoints_to, transaction
from db.inbox import Incoming
from db.vault import Vault, attach

log = logging.getLogger(__name__)

UPDATE_KEY = "web.update_id"
WAIT_FOR_ANSWER = 5.0  # seconds a POST waits for its input to be handled and the feed written


class WebChannel:
    """Three connections, as the Telegram bot has: processing, delivery, and the pages' own (sessions,
    login links, the inbox rows it stores, and what the pages read)."""

    def __init__(
        self,
        database: Path,
        catalogs: Catalogs,
        clock: Callable[[], datetime],
        vault: Vault,
        *,
        runner_options: dict[str, object] | None = None,
        patience: Patience | None = None,
    ) -> None:
        self.database = database
        self.catalogs = catalogs
        self.clock = clock
        self.vault = vault
        self.runner_options = runner_options or {}
        self.patience = patience or Patience()
        self.received = asyncio.Event()
        self.changed = asyncio.Event()  # something was handled or delivered: a waiting POST looks again
        self.writing = asyncio.Lock()  # one transaction at a time on the pages' connection

    async def open(self) -> None:
        self.work_db = await connect(self.database)
        self.send_db = await connect(self.database)
        self.page_db = await connect(self.database)
        for conn in (self.work_db, self.send_db, self.page_db):
            attach(conn, self.vault)
            await leave_checkpoints_to(conn)
        self.runner = Runner(
            self.work_db, self.catalogs, self.clock, CHANNEL, vault=self.vault,
            flood=Flood(per_minute=60), **self.runner_options,  # type: ignore[arg-type]
        )
        sender = _Noticing(FeedSender(self.send_db, self.clock), self.changed)
        # Writing a feed entry costs a row: no channel limit to keep to, only the bot's own pace.
        pacer = delivery.Pacer(per_second=1000, burst=1000, chat_per_second=1000, chat_burst=1000)
        self.worker = delivery.DeliveryWorker(
            self.send_db, sender, self.clock, CHANNEL, pacer=pacer, patience=self.patience
        )

    async def close(self) -> None:
        for conn in (self.work_db, self.send_db, self.page_db):
            await conn.close()

    async def run(self) -> None:
        """Process the web inbox and deliver into the feeds until cancelled."""
        await until_one_ends({"web-process": self._process(), "web-deliver": self.worker.run()})

    async def _process(self) -> None:
        async def one_round() -> int:
            return await self.runner.process_pending(committed=lambda _: self._handled())

        while True:
            self.received.clear()
            if await keep_trying("web", one_round, self.patience):
                continue
            await delivery.woken(self.received, 1.0)

    def _handled(self) -> None:
        self.worker.wake.set()
        self.changed.set()

    async def submit(self, inbound: Inbound, wait: float = WAIT_FOR_ANSWER) -> bool:
        """Store what a person did on the page in the inbox, and wait until it is handled and what
        the bot said back is in their feed (True), or `wait` seconds have passed (False: it is
        handled all the same, and shows on the page when it is reloaded)."""

        async def receive() -> int:
            async with self.writing, transaction(self.page_db):
                update_id = await stored.count_up(self.page_db, UPDATE_KEY)  # several instances count at once
                row = Incoming(update_id=update_id, payload=json.dumps({"inbound": inbound.model_dump(mode="json")}))
                await inbox.receive(self.page_db, CHANNEL, [row], self.clock())
            return update_id

        update_id = await keep_trying("web", receive, self.patience)
        self.received.set()
        try:
            async with asyncio.timeout(wait):
                while not await self._settled(update_id, inbound.chat_id):
                    self.changed.clear()
                    await delivery.woken(self.changed, 0.05)
        except TimeoutError:
            log.info("web update %s not yet answered after %.0fs", update_id, wait)
            return False
        return True

    async def _settled(self, update_id: int, address: str) -> bool:
        conn = self.page_db
        if not await inbox.processed(conn, CHANNEL, update_id):
            return False
        return await outbox.waiting_for(conn, CHANNEL, address) == 0

    def transaction(self):  # noqa: ANN201 - an async context manager
        """A write transaction on the pages' connection, one at a time."""
        return _Writing(self)

    @property
    def conn(self) -> Connection:
        return self.page_db


class _Writing:
    def __init__(self, channel: WebChannel) -> None:
        self.channel = channel
        self._tx = transaction(channel.page_db)

    async def __aenter__(self) -> Connection:
        await self.channel.writing.acquire()
        try:
            return await self._tx.__aenter__()
        except BaseException:
            self.channel.writing.release()
            raise

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self._tx.__aexit__(*exc)  # type: ignore[arg-type]
        finally:
            self.channel.writing.release()


class _Noticing:
    """The feed sender, telling a waiting POST that something was written."""

    def __init__(self, sender: FeedSender, changed: asyncio.Event) -> None:
        self.sender = sender
        self.changed = changed

    async def send(self, address: str, kind: str, body: dict[str, object]) -> None:
        try:
            await self.sender.send(address, kind, body)  # type: ignore[arg-type]
        except (IntegrityError, ValueError):  # no such person (erased meanwhile): nobody to show it to
            raise delivery.Permanent("no feed for this address") from None
        self.changed.set()
