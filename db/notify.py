"""Waking delivery workers across instances (issue 18, stage 2).

On PostgreSQL, `announce` sends a NOTIFY on the topic `wijkbrug_outbox`, with the channel's name
(telegram, whatsapp, email, web) as its payload, inside the transaction that stores a message: the
server delivers it at the COMMIT, and not at all if the transaction rolls back. Each process keeps
one dedicated connection per database that LISTENs (not one of the pool's: it must stay open and
idle), and sets the wake-up event of every worker of that channel in the process, so a message
enqueued by one instance wakes the workers of all of them; whichever holds or can take the address
sends it (db/outbox.py, `claim`). The listening connection is made again when it is lost (with growing
pauses, TCP keepalives to notice a silent loss); while it is down, and for anything missed meanwhile,
the workers' slow fallback poll looks anyway, and after every (re)connection all workers look once.

On SQLite there is one instance: the processing loop wakes its own worker in-process, as before, and
both calls here do nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from db.backend import Connection

log = logging.getLogger(__name__)

TOPIC = "wijkbrug_outbox"
RECONNECT_FIRST = 0.5  # seconds before listening again after a lost connection; doubled up to RECONNECT_MOST
RECONNECT_MOST = 30.0
# Notice a listening connection that went silent (a network cut without a reset) within about a minute.
KEEPALIVES = "keepalives=1 keepalives_idle=30 keepalives_interval=10 keepalives_count=3"


async def announce(conn: Connection, channel: str) -> None:
    """Tell every instance's workers of `channel` that a message waits, at the COMMIT of the
    transaction this runs in (PostgreSQL folds the same notice sent twice in one transaction into
    one). Nothing on SQLite."""
    if conn.backend == "postgresql":
        await conn.execute("SELECT pg_notify(?, ?)", (TOPIC, channel))


class _Listener:
    """One listening connection to one database, on one event loop, and the events it sets."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.events: dict[str, set[asyncio.Event]] = {}
        self.connected = 0  # how many times LISTEN succeeded (tests wait for it)
        self.task = asyncio.create_task(self._run())

    def wake_all(self) -> None:
        for events in self.events.values():
            for event in events:
                event.set()

    async def _run(self) -> None:
        import psycopg  # only with PostgreSQL

        pause = RECONNECT_FIRST
        while True:
            try:
                conninfo = psycopg.conninfo.make_conninfo(self.url, **dict(
                    item.split("=") for item in KEEPALIVES.split()
                ))
                raw: psycopg.AsyncConnection[Any] = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
                async with raw:
                    await raw.execute(f"LISTEN {TOPIC}")
                    self.connected += 1
                    pause = RECONNECT_FIRST
                    self.wake_all()  # what was announced while nobody listened
                    async for note in raw.notifies():
                        for event in self.events.get(note.payload, ()):
                            event.set()
            except (psycopg.Error, OSError) as exc:
                log.warning("listening for new messages failed (%s); polling until it is back", type(exc).__name__)
            await asyncio.sleep(pause)
            pause = min(RECONNECT_MOST, pause * 2)


_LISTENERS: dict[tuple[str, int], _Listener] = {}


def _url(conn: Connection) -> str:
    from db.backend_postgres import PostgresConnection

    assert isinstance(conn, PostgresConnection), conn
    return conn._url


@asynccontextmanager
async def listening(conn: Connection, channel: str, wake: asyncio.Event) -> AsyncIterator[bool]:
    """While inside, `wake` is set whenever a message for `channel` is announced, by any instance:
    True on PostgreSQL (the caller may then poll slowly), False on SQLite (nothing is listened for)."""
    if conn.backend != "postgresql":
        yield False
        return
    key = (_url(conn), id(asyncio.get_running_loop()))
    listener = _LISTENERS.get(key)
    if listener is None:
        listener = _LISTENERS[key] = _Listener(key[0])
    listener.events.setdefault(channel, set()).add(wake)
    try:
        yield True
    finally:
        events = listener.events.get(channel, set())
        events.discard(wake)
        if not events:
            listener.events.pop(channel, None)
        if not listener.events and _LISTENERS.get(key) is listener:
            del _LISTENERS[key]
            listener.task.cancel()
            await asyncio.gather(listener.task, return_exceptions=True)


def listeners() -> list[_Listener]:
    """This event loop's listening connections (for tests: has one connected yet?)."""
    loop = id(asyncio.get_running_loop())
    return [listener for (_, on), listener in _LISTENERS.items() if on == loop]
