"""The web page's channel sender: a stored, channel-neutral message (bot/outgoing.py) into the
person's feed (db/web_feed.py), which their page shows.

    say      a feed entry; its id is the prompt's id on this channel: a press on the page hands it
             back (`PressedMessage.message_id`), and a later `chosen` names it as `ref`
    chosen   the choice recorded on that prompt (its buttons are offered no more)
    answer   the notice of a press, as an entry of its own (the page has no pop-up)
    menu     nothing: the page lists what a person can do itself

The address on the `web` channel is the person's account id: the page is reached by logging in
(a link from an e-mail notice), never by an address someone could guess and type. The e-mail
channel's sender stores into the same feed before it sends its notice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.delivery import Transient
from db import web_feed
from db.connection import Connection, storage_trouble, transaction, trouble_name

CHANNEL = "web"


async def store(conn: Connection, user_id: int, kind: str, body: dict[str, Any], now: datetime) -> None:
    """One message into `user_id`'s feed, inside the caller's transaction."""
    if kind == "say":
        await web_feed.add(conn, user_id, "say", body, now)
    elif kind == "chosen":
        await web_feed.replace(conn, user_id, int(body["ref"]), str(body["text"]))
    elif kind == "answer" and body.get("notice"):
        await web_feed.add(conn, user_id, "notice", {"text": body["notice"]}, now)


@dataclass
class FeedSender:
    conn: Connection
    clock: Callable[[], datetime]

    async def send(self, address: str, kind: str, body: dict[str, Any]) -> None:
        try:
            async with transaction(self.conn):
                await store(self.conn, int(address), kind, body, self.clock())
        except Exception as exc:
            if not storage_trouble(exc):
                raise
            # locked, full disk, the database server gone: the outbox row waits
            raise Transient(f"the web feed could not be written ({trouble_name(exc)})") from None
