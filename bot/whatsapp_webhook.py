"""The WhatsApp webhook, served by `wijkbrug run` (bot/whatsapp_channel.py) at /whatsapp.

    GET   Meta's check when the webhook is set up: with `hub.mode=subscribe` and our verify token,
          the answer is `hub.challenge`; anything else gets 403.
    POST  a webhook: first the signature (X-Hub-Signature-256: HMAC-SHA256 of the raw body with the
          app secret, compared in constant time); missing or wrong gets 403 and nothing is stored.
          Then, in one transaction and before the 200 (Meta sends a webhook again when the 200 is
          slow or missing): each message stored in the inbox under its wamid (a redelivery is
          ignored) and the sender's window opened; each status acted on once (db/whatsapp.py):
          delivered or read forgets the sent copy, `failed` 131047 (the window had closed) closes
          the window and puts the message back in the outbox, a permanent error marks the address
          unreachable.

Nothing of a request is logged but counts and error codes.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from bot import whatsapp_send
from bot.whatsapp_updates import MEDIA_PREFIX, Message, Status, parse
from db import outbox, users, whatsapp
from db.connection import Connection, Patience, keep_trying, transaction
from flows.model import Attachment

log = logging.getLogger(__name__)

PATH = "/whatsapp"
MAX_BODY = 1024 * 1024
SIGNATURE = "X-Hub-Signature-256"


def signed(secret: bytes, raw: bytes, given: str) -> bool:
    """Whether `given` (`sha256=<hex>`) is the HMAC-SHA256 of the raw body with the app secret."""
    expected = "sha256=" + hmac.new(secret, raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), given.strip().encode("ascii", "replace"))


@dataclass
class Intake:
    conn: Connection
    app_secret: bytes
    verify_token: str
    clock: Callable[[], datetime]
    received: Callable[[], None]  # wakes processing and delivery
    patience: Patience
    timeout: float = 10.0
    # A document's size, which the webhook does not give and the flows need to judge it (GET /{media id}).
    size_of: Callable[[str], Awaitable[int | None]] | None = None

    async def verify(self, request: web.Request) -> web.Response:
        query = request.query
        given = query.get("hub.verify_token", "")
        if query.get("hub.mode") == "subscribe" and hmac.compare_digest(given.encode(), self.verify_token.encode()):
            return web.Response(text=query.get("hub.challenge", ""))
        log.warning("whatsapp webhook: refused a verification without our verify token")
        return web.Response(status=403)

    async def receive(self, request: web.Request) -> web.Response:
        try:
            async with asyncio.timeout(self.timeout):  # a body sent slowly, or never, is not waited for
                raw = await request.read()
        except TimeoutError:
            return web.Response(status=408, headers={"Connection": "close"})
        if not signed(self.app_secret, raw, request.headers.get(SIGNATURE, "")):
            log.warning("whatsapp webhook: refused a request without a valid signature")
            return web.Response(status=403)
        try:
            body = json.loads(raw)
        except ValueError:
            return web.Response(status=400)
        messages, statuses = parse(body if isinstance(body, dict) else {})
        messages = [await self.sized(message) for message in messages]
        if messages or statuses:
            new = await keep_trying("whatsapp", lambda: self.store(messages, statuses), self.patience)
            log.debug("whatsapp webhook: %s new of %s messages, %s statuses", new, len(messages), len(statuses))
            self.received()
        return web.Response(status=200)

    async def sized(self, message: Message) -> Message:
        event = message.inbound.event
        if self.size_of is None or not isinstance(event, Attachment) or event.size is not None or not event.file_id:
            return message
        try:
            async with asyncio.timeout(3):
                size = await self.size_of(event.file_id.removeprefix(MEDIA_PREFIX))
        except Exception:  # noqa: BLE001 - unknown size: the flows refuse the file and the person can send it again
            return message
        inbound = message.inbound.model_copy(update={"event": event.model_copy(update={"size": size})})
        return Message(wamid=message.wamid, inbound=inbound)

    async def store(self, messages: list[Message], statuses: list[Status]) -> int:
        now = self.clock()
        new = 0
        async with transaction(self.conn):
            for message in messages:
                payload = json.dumps({"inbound": message.inbound.model_dump(mode="json")}, ensure_ascii=False)
                if await whatsapp.receive(self.conn, message.wamid, payload, now):
                    new += 1
                    await whatsapp.wrote(self.conn, message.inbound.chat_id, now)
            for status in statuses:
                if await whatsapp.first_status(self.conn, status.wamid, status.status, now):
                    await self.status(status, now)
        return new

    async def status(self, status: Status, now: datetime) -> None:
        if status.status in ("delivered", "read"):
            await whatsapp.arrived(self.conn, status.wamid)
            return
        if status.status != "failed":
            return
        log.info("whatsapp: a message failed with %s", ",".join(map(str, status.codes)) or "no code")
        taken = await whatsapp.take_sent(self.conn, status.wamid)
        address = taken[0] if taken else status.address
        if not address:
            return
        if whatsapp_send.WINDOW_CLOSED in status.codes:
            await whatsapp.closed(self.conn, address, now)
            if taken is not None:  # again, after the template and the person's reply
                await outbox.enqueue(self.conn, whatsapp.CHANNEL, address, taken[1], taken[2], now)
        elif any(whatsapp_send.unreachable(code) for code in status.codes):
            await users.mark_unreachable(self.conn, whatsapp.CHANNEL, address, now)


def make_app(intake: Intake) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_get(PATH, intake.verify)
    app.router.add_post(PATH, intake.receive)
    return app
