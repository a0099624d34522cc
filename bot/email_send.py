"""The e-mail channel's sender (channel `email`, the address a lower-cased e-mail address): what the
bot says to an e-mail person goes into their web page's feed, and news is announced by one short
e-mail with a login link (bot/email_compose.py; what it carries: docs/privacy.md).

    say, chosen, answer, menu   into the person's feed (bot/feed_send.py), as the web channel does;
                                a `say` also queues a `notice` for the same address, unless one
                                would flood them (below)
    notice                      the e-mail itself, with a fresh single-use login link

Everything that reaches this channel is news: what a person does on the page is answered on the
page (channel `web`), so only what others did (a new request, a reminder, the volunteer's
answer, an escalation, an alert, the Monday summary) comes here. Storing and mailing are two
outbox rows, so a mail server that is down delays the mail, never the feed, and a retried mail
does not store its message twice.

No flood: a notice still waiting for the same address and case takes the new message in (a
burst of messages about one case, stored together, is one e-mail); and after an e-mail about a
case the person gets no other about it for `quiet` (WIJKBRUG_EMAIL_QUIET_MINUTES), unless they
opened the page since (a login link used, or a page of theirs viewed in a session they had
already: db/web_sessions.seen_since), which means they read the first. An alert about a child
in danger is never held back by that pause. What was mailed when is kept in memory only: after a restart at most
one e-mail more.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot import email_compose, feed_send
from bot.delivery import DeliveryWorker, Pacer, Permanent, Transient
from bot.email_people import CHANNEL, notice_body
from bot.email_smtp import RECIPIENT_REFUSED, MailServer, Smtp
from bot.i18n import Catalogs
from db import login_links, outbox, users, web_sessions
from bot.settings import Settings
from db.connection import Connection, Patience, connect, storage_trouble, transaction, trouble_name
from db.outbox import Outgoing
from db.vault import Vault, attach

log = logging.getLogger(__name__)

NEVER_HELD = frozenset({"alert"})  # a child may be in danger: every such notice is mailed


@dataclass
class EmailSender:
    conn: Connection  # its own: its transactions never meet the delivery worker's statements
    catalogs: Catalogs
    clock: Callable[[], datetime]
    smtp: MailServer  # the operator's SMTP server (bot/email_smtp.Smtp), or the demo's console
    quiet: timedelta = timedelta(minutes=15)
    _mailed: dict[tuple[int, str], datetime] = field(default_factory=dict)  # (person, code) → last notice

    def __post_init__(self) -> None:
        self._lock = asyncio.Lock()  # one transaction at a time on this connection

    async def send(self, address: str, kind: str, body: dict[str, Any]) -> None:
        if kind == "notice":
            await self._mail(address, body)
        else:
            await self._written(lambda: self._store(address, kind, body))

    async def _written(self, work: Callable[[], Any]) -> Any:
        try:
            async with self._lock, transaction(self.conn):
                return await work()
        except Exception as exc:
            if not storage_trouble(exc):
                raise
            # locked, full disk, the database server gone: the outbox row waits
            raise Transient(f"the feed could not be written ({trouble_name(exc)})") from None

    async def _store(self, address: str, kind: str, body: dict[str, Any]) -> None:
        account = await users.by_address(self.conn, CHANNEL, address)
        if account is None or account.revoked_at is not None:
            return  # their access ended: nothing more for them
        now = self.clock()
        await feed_send.store(self.conn, account.id, kind, body, now)
        if kind != "say":
            return
        about = body.get("notice") or {}
        what, code, org = str(about.get("kind") or "news"), str(about.get("code") or ""), str(about.get("org") or "")
        if await self._held(account.id, address, what, code, now):
            return
        await outbox.enqueue(self.conn, CHANNEL, address, "notice", notice_body(what, code, org), now, account.id)

    async def _held(self, user_id: int, address: str, kind: str, code: str, now: datetime) -> bool:
        """Whether this news is told by a notice already (waiting, or mailed a moment ago)."""
        for waiting in await outbox.waiting_at(self.conn, CHANNEL, address, "notice"):
            if waiting.body.get("notice", {}).get("code", "") == code and waiting.body["notice"]["kind"] != "link":
                return True
        last = self._mailed.get((user_id, code))
        if kind not in NEVER_HELD and last is not None and now - last < self.quiet:
            read = await login_links.opened_since(self.conn, user_id, last)
            if not read and not await web_sessions.seen_since(self.conn, user_id, last):
                return True
        self._mailed = {k: at for k, at in self._mailed.items() if now - at < self.quiet}  # bounded
        self._mailed[(user_id, code)] = now
        return False

    async def _mail(self, address: str, body: dict[str, Any]) -> None:
        account = await users.by_address(self.conn, CHANNEL, address)
        if account is None or account.revoked_at is not None:
            return
        now = self.clock()
        token = await self._written(lambda: login_links.create(self.conn, account.id, now))
        about = body.get("notice") or {}
        kind, code, org = str(about.get("kind") or "news"), str(about.get("code") or ""), str(about.get("org") or "")
        mail = email_compose.Mail(sender=self.smtp.sender, to=address, host=self.smtp.link_host)
        message = email_compose.notice(
            self.catalogs, account.language, kind, code, org, f"{self.smtp.public_url}/login/{token}", mail,
            str(body.get("key") or "0"), now,
        )
        await self.smtp.submit(message)
        log.info("e-mail notice sent (%s)", kind)
        if account.unreachable_at is not None:  # the server took it after all: the address works again
            await self._written(lambda: users.reachable_again(self.conn, account.id, CHANNEL, address))


def unreachable_on_refusal(conn: Connection, clock: Callable[[], datetime]) -> Callable[[Outgoing, Permanent], Any]:
    """The delivery worker's `on_permanent`: a mail server that refuses the recipient for good
    marks the address unreachable (its person's coordinators are told, bot/schedules.py)."""

    async def refused(item: Outgoing, exc: Permanent) -> None:
        if exc.args and exc.args[0] == RECIPIENT_REFUSED:
            async with transaction(conn):
                await users.mark_unreachable(conn, CHANNEL, item.address, clock())

    return refused


def email_worker(
    worker_conn: Connection, sender_conn: Connection, catalogs: Catalogs, clock: Callable[[], datetime], smtp: Smtp,
    quiet: timedelta, patience: Patience,
) -> DeliveryWorker:
    """The delivery worker of channel `email` (a few mails a second at most; one a second per person)."""
    sender = EmailSender(sender_conn, catalogs, clock, smtp, quiet)
    return DeliveryWorker(
        worker_conn, sender, clock, CHANNEL, pacer=Pacer(per_second=5, burst=10, chat_per_second=1, chat_burst=3),
        on_permanent=unreachable_on_refusal(worker_conn, clock), patience=patience,
    )


async def side_channels(
    settings: Settings, catalogs: Catalogs, clock: Callable[[], datetime], vault: Vault, patience: Patience
) -> tuple[list[DeliveryWorker], list[Connection]]:
    """The delivery workers `wijkbrug run` starts beside Telegram's, and the connections they use
    (the caller closes them): the web page's feed (channel `web`) when WIJKBRUG_PUBLIC_URL is set,
    e-mail when SMTP is set up too. Each worker and each sender has a connection of its own."""
    if settings.public_url is None:
        return [], []
    conns: list[Connection] = []
    workers: list[DeliveryWorker] = []
    if settings.web_listen is None:  # with the web page on, its own channel drains the feed (bot/web/channel.py)
        conns = [await _attached(settings, vault) for _ in range(2)]
        workers.append(
            DeliveryWorker(
                conns[0], feed_send.FeedSender(conns[1], clock), clock, feed_send.CHANNEL,
                pacer=Pacer(per_second=1e9, burst=1e9, chat_per_second=1e9, chat_burst=1e9), patience=patience,
            )
        )
    smtp = Smtp.of(settings)
    if smtp is not None:
        mail_conns = [await _attached(settings, vault) for _ in range(2)]
        conns += mail_conns
        quiet = timedelta(minutes=settings.email_quiet_minutes)
        workers.append(email_worker(*mail_conns, catalogs, clock, smtp, quiet, patience))
        log.info("e-mail notices on: through %s:%s", smtp.host, smtp.port)
    return workers, conns


async def _attached(settings: Settings, vault: Vault) -> Connection:
    conn = await connect(settings.database)
    attach(conn, vault)
    return conn
