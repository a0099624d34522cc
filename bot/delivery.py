"""Draining the outbox: in order per address, paced to the channel's limits, retried until delivered.

The worker knows no channel's API: it hands each stored message (bot/outgoing.py) to its channel's
`Sender`, which makes its own calls of it. A call that fails on the network or with a server error
is tried again with growing pauses; a 429 waits exactly the `retry_after` the channel asked for; a
call the channel refuses for good (a bad request, a user who blocked the bot) is dropped and logged
by kind, never by content.
A row leaves the outbox only after the channel confirmed it, so a crash in between sends that
one call again: at most one duplicate, of the call in flight (at least once, never lost). While the
processing loop is at work, that delete rides in its next transaction (bot/confirmations.py).

Several instances share one outbox (PostgreSQL, issue 18): a worker sends to an address only while it
holds that address's claim (db/outbox.py, `claim`), so one worker at a time sends an address's
messages, in order. A claim lasts LEASE seconds and is renewed while the worker has chats; it is given
up when the address has nothing due, and when the worker stops. An instance killed while it held
claims leaves them to expire: after the lease another instance takes those addresses over, and sends
again the call that was in flight when it died if that one was not marked done (the same one
duplicate as after a crash). Restarted on the same host, the worker drops the claims of its own dead
predecessor at once. A look reads every address's oldest message where ids may commit out of order
(PostgreSQL), and on SQLite, whose one writer commits them in order, only what was stored since the
last look, with a look at everything once a second (db/outbox.py decides which). Just before a call
goes out the worker looks that its row is still there (one lookup by primary key): revoking or erasing a
person deletes what waited for them, and that covers the calls the worker had already loaded
and was pacing, so nothing more reaches them from the moment the deletion is committed. When
the database cannot be written at that moment (locked, disk full), the worker keeps the
confirmation and tries to store it again with growing pauses (`db.connection.keep_trying`),
rather than send it twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from bot import outgoing
from bot.confirmations import Confirmations
from db import notify, outbox
from db.connection import Connection, Patience, keep_trying
from db.outbox import Outgoing

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_BACKOFF = 300.0
MAX_ATTEMPTS = 50  # about four hours of trying at the longest pause; then the call is given up
# Chats one worker delivers to at once, each by a task of its own (issue 19 item 2): a bound set here,
# not by the load; beyond it chats wait their turn. At Telegram's one message a second per chat,
# 100 chats keep well above its 30 a second overall.
MAX_CHATS = 100
LEASE = 15.0  # seconds a claim on an address lasts; renewed every third of it while the worker sends
FALLBACK_POLL = 30.0  # seconds between looks on PostgreSQL, where NOTIFY wakes the workers


class DeliveryError(Exception):
    """A call did not go through; the subclass says whether and when to try again."""


class RetryAfter(DeliveryError):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds}s")
        self.seconds = seconds


class Transient(DeliveryError):
    """Network trouble, a time-out or a server error: try again later."""


class Permanent(DeliveryError):
    """The channel will never accept this call (bad request, chat gone, bot blocked)."""


class Sender(Protocol):
    """A channel's delivery: one stored message to one address, as that channel's own calls.
    Raises RetryAfter, Transient or Permanent when it does not go through."""

    async def send(self, address: str, kind: str, body: dict[str, Any]) -> None: ...


def unpaced(sender: Sender) -> frozenset[str]:
    """The kinds that do not count as messages against the sender's channel's limits: `outgoing.UNPACED`,
    unless the sender says more (`unpaced`: the Telegram sender's older rows carry Bot API methods)."""
    kinds: frozenset[str] = getattr(sender, "unpaced", outgoing.UNPACED)
    return kinds


@dataclass
class Pacer:
    """Token buckets: one for the whole bot and one per chat, so bursts below the limits go out
    at once and only traffic above them waits.

    A bucket of `burst` refilled at `per_second` lets `burst + per_second` messages through in the
    busiest second (a full bucket, then a second of refill): `within` sizes the bursts so that the
    busiest second stays within a channel's own limit."""

    per_second: float = 25.0
    burst: float = 25.0
    chat_per_second: float = 1.0
    chat_burst: float = 3.0
    _global: tuple[float, float] | None = None  # (tokens, at)
    _chats: dict[str, tuple[float, float]] = field(default_factory=dict)

    @staticmethod
    def _level(bucket: tuple[float, float] | None, rate: float, cap: float, now: float) -> float:
        if bucket is None:
            return cap
        tokens, at = bucket
        return min(cap, tokens + (now - at) * rate)

    @classmethod
    def within(
        cls, ceiling: float, per_second: float, chat_ceiling: float, chat_per_second: float, instances: int = 1
    ) -> Pacer:
        """Paced at `per_second` overall and `chat_per_second` per chat, with bursts that keep every
        second within `ceiling` overall and `chat_ceiling` to one chat. A rate set at or above its
        ceiling lifts that limit (a test server has none): its burst is then a second's worth.
        With several `instances` sending for one bot, the overall rate and ceiling are shared out
        evenly: each instance keeps to its part, so together they keep to the bot's limit. (A chat is
        sent to by one instance at a time, the one holding its claim: its own limit is not divided.)"""
        ceiling, per_second = ceiling / instances, per_second / instances

        def burst(ceiling: float, rate: float) -> float:
            return max(1.0, ceiling - rate) if rate < ceiling else rate

        return cls(per_second, burst(ceiling, per_second), chat_per_second, burst(chat_ceiling, chat_per_second))

    def wait(self, chat_id: str, now: float) -> float:
        """Seconds until a message to `chat_id` may go out (0: now)."""
        overall = self._level(self._global, self.per_second, self.burst, now)
        chat = self._level(self._chats.get(chat_id), self.chat_per_second, self.chat_burst, now)
        return max(0.0, (1 - overall) / self.per_second, (1 - chat) / self.chat_per_second)

    def take(self, chat_id: str, now: float) -> None:
        overall = self._level(self._global, self.per_second, self.burst, now)
        chat = self._level(self._chats.get(chat_id), self.chat_per_second, self.chat_burst, now)
        self._global = (overall - 1, now)
        self._chats[chat_id] = (chat - 1, now)
        if len(self._chats) > 10_000:  # forget chats whose bucket is full again
            self._chats = {c: b for c, b in self._chats.items() if now - b[1] < self.chat_burst / self.chat_per_second}


# Telegram's limits (its Bot FAQ): "no more than 30 messages per second or so" overall; in one chat
# "avoid more than one message per second", with short bursts allowed. A step's replies (the
# chosen answer, a confirmation, the next question) are such a burst: up to 4 in a second to one
# chat, then one a second.
TELEGRAM_PER_SECOND = 30.0
TELEGRAM_CHAT_BURST_SECOND = 4.0


class _Lost(Exception):
    """This worker's claim on an address lapsed and another worker holds it now."""


@dataclass
class DeliveryWorker:
    conn: Connection
    sender: Sender
    clock: Callable[[], datetime]
    channel: str = "telegram"
    pacer: Pacer = field(default_factory=Pacer)
    monotonic: Callable[[], float] = field(default_factory=lambda: asyncio.get_running_loop().time)
    concurrency: int = 8  # chats sent to at once; measured at 200 people: 4 left the bot waiting on replies
    on_permanent: Callable[[Outgoing, Permanent], Awaitable[None]] | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    patience: Patience = field(default_factory=Patience)  # when the database cannot be written
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # waiting for the pace (tests pass their own)
    max_chats: int = MAX_CHATS  # chats with a task of their own at once; the others wait their turn
    lease: float = LEASE  # seconds a claim on an address lasts unless renewed
    fallback_poll: float = FALLBACK_POLL  # seconds between looks when woken by NOTIFY (PostgreSQL)
    holder: str = field(default_factory=outbox.new_holder)  # this worker's name on its claims
    confirmations: Confirmations | None = None  # deletes sent rows; shared with a processing loop (Runner)

    def __post_init__(self) -> None:
        self._sending = asyncio.Semaphore(self.concurrency)
        self._chats: dict[str, asyncio.Task[None]] = {}  # chats being delivered to, each by one task
        self._full = False  # the last look found more chats than `max_chats` allows at once
        self._held: dict[str, datetime] = {}  # addresses claimed by this worker, and when last claimed or renewed
        self._again: set[str] = set()  # found while their task ran or beyond the bound: read at a later look
        self._seen = 0  # messages up to this outbox id have been looked at (where ids commit in order)
        self._everything_at = 0.0  # when the next look must read every waiting message (monotonic)
        self._now: set[asyncio.Task[None]] = set()  # calls sent beside the outbox (`send_now`)
        self.tried, self.confirmed = 0, self.confirmations or Confirmations(self.conn, self.patience)

    def look_again(self) -> None:
        """Look at the waiting messages now: older ones were made due (a WhatsApp person wrote,
        releasing what was held), and go before newer ones of the same address."""
        self._everything_at = 0.0
        self.wake.set()

    def send_now(self, channel: str, address: str, kind: str, body: dict[str, Any]) -> None:
        """Send a message that needs no durability at once, beside the outbox, within the same
        bound on calls in flight: answering a button press, which only stops its spinner. A
        failure is logged by kind and not tried again (the press has expired by then)."""
        assert channel == self.channel, f"{channel} is not this worker's channel ({self.channel})"
        task = asyncio.create_task(self._send_now(address, kind, body))
        self._now.add(task)
        task.add_done_callback(self._now.discard)

    async def _send_now(self, address: str, kind: str, body: dict[str, Any]) -> None:
        try:
            async with self._sending:
                await self.sender.send(address, kind, body)
        except DeliveryError as exc:
            log.info("%s not sent: %s", kind, type(exc).__name__)

    async def run(self) -> None:
        """Deliver until cancelled. Each address with messages due that this worker can claim gets a
        task that sends them in order and then takes that address's newer messages itself, so an
        address that waits (for its pace) holds up no other. The worker looks when woken (in-process
        on SQLite; by NOTIFY from any instance on PostgreSQL), when a retry falls due or another
        worker's claim expires, and otherwise every second (SQLite) or every `fallback_poll` seconds
        (PostgreSQL, in case a notice was lost)."""
        try:
            async with notify.listening(self.conn, self.channel, self.wake) as listening:
                await self._stored(self._forget_the_dead)
                beat = asyncio.create_task(self._heartbeat())
                self._now.add(beat)  # cancelled with the rest
                while True:
                    self.wake.clear()  # before looking: a row queued meanwhile wakes us again
                    await self._stored(self._start_due)
                    pause = 1.0 if self._chats or not listening else self.fallback_poll
                    if not self._chats and (next_at := await self._next_due_at()) is not None:
                        pause = min(pause, max(0.05, (next_at - self.clock()).total_seconds()))
                    if not await woken(self.wake, pause):
                        self._everything_at = 0.0  # a retry fell due, or a claim expired: look at everything
        finally:
            for task in [*self._chats.values(), *self._now]:
                task.cancel()
            await asyncio.gather(*self._chats.values(), *self._now, return_exceptions=True)
            try:  # stopping: what was sent is not sent again; another instance may take the addresses over at once
                await self.confirmed.close()
                await outbox.release_all(self.conn, self.holder)
            except Exception as exc:  # noqa: BLE001 - killed or the database gone: the leases expire instead
                log.info("claims left to expire (%s)", type(exc).__name__)

    async def drain_once(self) -> int:
        """Send what is due now, each chat's calls in order, and wait until that is done; then give
        up the claims. Returns how many calls were tried."""
        before = self.tried
        self._everything_at = 0.0
        await self._stored(self._start_due)
        await asyncio.gather(*self._chats.values())
        await self._stored(lambda: outbox.release_all(self.conn, self.holder))
        self._held.clear()
        return self.tried - before

    async def _forget_the_dead(self) -> None:
        """Give up the claims of this host's processes that are gone (this one, before a restart)."""
        for holder in await outbox.holders(self.conn, self.channel):
            if outbox.dead_here(holder):
                await outbox.release_all(self.conn, holder)

    async def _heartbeat(self) -> None:
        """Every third of the lease: give up the claims on addresses whose task has ended (nothing was
        due), renew the others, and delete claims that expired (their holder died)."""
        while True:
            await asyncio.sleep(self.lease / 3)
            await self._stored(self._beat)

    async def _beat(self) -> None:
        idle = [address for address in self._held if address not in self._chats]
        if idle:
            await outbox.release(self.conn, self.channel, self.holder, idle)
            for address in idle:
                self._held.pop(address, None)
        if self._held:
            now = self.clock()
            await outbox.renew(self.conn, self.holder, self._until())
            self._held = dict.fromkeys(self._held, now)
        await outbox.forget_expired(self.conn, self.clock())

    def _until(self) -> datetime:
        return self.clock() + timedelta(seconds=self.lease)

    async def _start_due(self) -> None:
        free = self.max_chats - len(self._chats)
        self._full = free <= 0
        if self._full:
            return  # a chat's task that ends wakes the worker
        now = self.clock()
        # Where ids commit in order (db/outbox.py decides), a look reads only what was stored since the
        # last; every message is read at least once a second, and after anything that look cannot see.
        newer = await outbox.newer_addresses(self.conn, self.channel, now, self._seen, free + len(self._chats))
        if newer is not None:
            found, self._seen = newer
        if newer is None or self.monotonic() >= self._everything_at:
            self._everything_at = self.monotonic() + 1.0
            found = await outbox.due_addresses(self.conn, self.channel, now, self.holder, free + len(self._chats))
        # Addresses found while their task ran, or beyond the bound: their messages may be older than
        # `_seen`, so they are looked at by address (their task reads them), not by a look at everything.
        again = [address for address in self._again if address not in self._chats]
        self._again.difference_update(again)
        found = [*again, *(address for address in found if address not in again)]
        self._again.update(address for address in found if address in self._chats)
        waiting = [address for address in found if address not in self._chats]
        addresses = waiting[:free]
        # Beyond the bound: their turn comes when a chat's task ends. Kept to `max_chats` of them (with those
        # in `_chats`, at most twice the bound); any others the next look at everything finds.
        self._again.update(waiting[free:][: max(0, self.max_chats - len(self._again))])
        self._full = len(addresses) == free
        fresh = now - timedelta(seconds=self.lease / 2)
        for address in addresses:
            # An address claimed moments ago is still this worker's (the check before each send makes sure).
            if self._held.get(address, fresh) > fresh or await outbox.claim(
                self.conn, self.channel, address, self.holder, now, self._until()
            ):
                self._held.setdefault(address, now)
                self._chats[address] = asyncio.create_task(self._chat(address))

    async def _chat(self, address: str) -> None:
        try:
            while True:
                items = await self._stored(
                    lambda: outbox.due_in_order(self.conn, self.channel, address, self.clock())
                )
                if not items:
                    return  # the claim is given up by the next heartbeat, unless more came by then
                for item in items:
                    if not await self._deliver(item):
                        break  # to be tried again later: the address's later calls wait behind it
        except _Lost:
            self._held.pop(address, None)  # another worker has the address now, and sends what is left
        finally:
            del self._chats[address]
            if self._full or address in self._again:
                self.wake.set()  # room for a chat that waited its turn; or this one's newer messages

    def _claim(self, address: str) -> Callable[[], Awaitable[bool]]:
        return lambda: outbox.claim(self.conn, self.channel, address, self.holder, self.clock(), self._until())

    async def _next_due_at(self) -> datetime | None:
        return await self._stored(lambda: outbox.next_due_at(self.conn, self.channel, self.clock(), self.holder))

    async def _stored(self, work: Callable[[], Awaitable[T]]) -> T:
        """`work` on the database, tried again with growing pauses while it cannot be written."""
        return await keep_trying("delivery", work, self.patience)

    async def _deliver(self, item: Outgoing) -> bool:
        """True when the call is done with (delivered, or refused for good); raises _Lost when the
        address's claim went to another worker meanwhile (nothing was sent)."""
        self.tried += 1
        if paced := item.kind not in unpaced(self.sender):
            await self._paced(item.address)  # waiting for the pace holds no slot
        try:
            async with self._sending:  # a few calls in flight at once
                if paced:  # the pace taken just before the call, or calls that waited for a slot would go
                    await self._paced(item.address)  # out together, more in a second than it allows
                    self.pacer.take(item.address, self.monotonic())
                mine = await self._stored(lambda: outbox.still_mine(self.conn, item.id, self.holder, self.clock()))
                if mine is None:
                    return True  # sent by another worker, or its person's access ended (bot/departure.py)
                if not mine:  # its claim lapsed (or was just given up): take it again, unless another has
                    if not await self._stored(self._claim(item.address)):
                        raise _Lost
                    self._held[item.address] = self.clock()
                await self.sender.send(item.address, item.kind, item.body)
        except RetryAfter as exc:
            wait = exc.seconds
            await self._stored(lambda: self._later(item, wait))
            return False
        except Transient as exc:
            if item.attempts + 1 >= MAX_ATTEMPTS:
                tries = item.attempts + 1
                log.error("gave up on %s #%s after %s attempts (%s)", item.kind, item.id, tries, type(exc).__name__)
                await self.confirmed.done(item.id)
                return True
            await self._stored(lambda: self._later(item, min(MAX_BACKOFF, 0.5 * 2 ** min(item.attempts, 10))))
            return False
        except Permanent as exc:
            refusal = exc
            log.warning("%s #%s refused for good: %s", item.kind, item.id, exc.args[0] if exc.args else "")
            await self.confirmed.done(item.id)
            if self.on_permanent is not None:
                on_permanent = self.on_permanent
                await self._stored(lambda: on_permanent(item, refusal))
            return True
        await self.confirmed.done(item.id)  # sent: the row goes (the chat's next call waits for it; others go on)
        return True

    async def _paced(self, address: str) -> None:
        while (pause := self.pacer.wait(address, self.monotonic())) > 0:
            await self.sleep(pause)

    async def _later(self, item: Outgoing, seconds: float) -> None:
        await outbox.retry_later(self.conn, item.id, self.clock() + timedelta(seconds=seconds))


async def woken(event: asyncio.Event, seconds: float) -> bool:
    """Wait for `event` at most `seconds`; False if the time ran out. Not `asyncio.wait_for`: on
    Python 3.11 it loses a cancellation that comes as the event is set (CPython gh-86296), and a
    loop waiting that way then ignores a SIGTERM until its next cancel."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
        return True
    except TimeoutError:
        return False
