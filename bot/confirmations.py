"""Deleting the outbox's sent rows: in the processing loop's next transaction while it is at work,
on their own otherwise.

A row leaves the outbox once its call went through (bot/delivery.py). On its own that delete is a
transaction of its own: at saturation 40 µs of SQLite per message, most of it the commit, against
6–14 µs for a statement deleting one to a few rows inside a transaction that commits anyway
(docs/performance.md, issue 19).
While the processing loop works through the inbox it commits an update about every millisecond, so
a sent row's delete rides along in the next of those transactions instead (`ride`, just before its
COMMIT; `landed` after it).

What a crash may repeat does not change: the chat's task waits in `done` until its row's delete is
committed, by whichever transaction, before it sends that chat's next call, exactly as it waited for
its own delete before. So a crash still repeats at most the one call in flight per chat. When the
processing loop is idle, `done` deletes the row at once, as before; and rows that no processing
transaction took within `wait` seconds (the loop passing over updates it must hold) are deleted by
a statement of their own, as are those of a processing transaction that rolled back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from db import outbox
from db.connection import Connection, Patience, keep_trying

WAIT = 0.005  # seconds a sent row may wait for a processing transaction before it is deleted on its own


class Confirmations:
    """The sent rows of one delivery worker (on its connection `conn`) still to be deleted."""

    def __init__(self, conn: Connection, patience: Patience = Patience(), wait: float = WAIT) -> None:
        self.conn = conn
        self.patience = patience
        self.wait = wait
        self.rode = 0  # rows deleted by a processing transaction (the tests read it)
        self._busy = 0  # processing loops at work now: a transaction of theirs commits soon
        self._waiting: dict[int, asyncio.Future[None]] = {}  # row id: resolved once its delete is committed
        self._timer: asyncio.TimerHandle | None = None
        self._alone: asyncio.Task[None] | None = None  # deleting rows on its own

    async def done(self, outgoing_id: int) -> None:
        """Delete a sent row; returns once the delete is committed."""
        if not self._busy:
            await keep_trying("delivery", lambda: outbox.done(self.conn, outgoing_id), self.patience)
            return
        future = self._waiting[outgoing_id] = asyncio.get_running_loop().create_future()
        self._later()
        await asyncio.shield(future)  # a cancelled chat task leaves the row to be deleted all the same

    @contextmanager
    def busy(self) -> Iterator[None]:
        """A processing loop at work: rows wait for its transactions. When it stops, those left are
        deleted on their own."""
        self._busy += 1
        try:
            yield
        finally:
            self._busy -= 1
            if not self._busy and self._waiting:
                self._on_their_own()

    async def ride(self, conn: Connection) -> list[int]:
        """Delete the waiting rows inside the caller's transaction (just before its COMMIT); returns
        their ids, for `landed` once it committed. If it rolls back, they are left waiting."""
        ids = list(self._waiting)
        await outbox.done_all(conn, ids)
        return ids

    def landed(self, ids: list[int]) -> None:
        """The transaction that deleted `ids` committed: their chats may go on."""
        self.rode += self._resolve(ids)

    async def close(self) -> None:
        """The worker stops: delete what still waits, in one try (if the database cannot be written
        now, those calls are sent again after a restart, once each: each was its chat's call in flight)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if ids := list(self._waiting):
            await outbox.done_all(self.conn, ids)
            self._resolve(ids)

    def _resolve(self, ids: list[int]) -> int:
        for outgoing_id in ids:
            future = self._waiting.pop(outgoing_id, None)
            if future is not None and not future.done():
                future.set_result(None)
        return len(ids)

    def _later(self) -> None:
        """Rows wait for a processing transaction: those left after `wait` seconds go on their own."""
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.wait, self._on_their_own)

    def _on_their_own(self) -> None:
        self._timer = None
        if self._waiting and self._alone is None:
            self._alone = asyncio.get_running_loop().create_task(self._delete_alone())

    async def _delete_alone(self) -> None:
        ids = list(self._waiting)
        try:
            await keep_trying("delivery", lambda: outbox.done_all(self.conn, ids), self.patience)
        except Exception as exc:  # a bug: the chats waiting on these rows raise it, as their own delete would
            for outgoing_id in ids:
                if (future := self._waiting.pop(outgoing_id, None)) is not None and not future.done():
                    future.set_exception(exc)
            return
        finally:
            self._alone = None
        self._resolve(ids)
        if self._waiting:  # sent meanwhile
            if self._busy:
                self._later()
            else:
                self._on_their_own()
