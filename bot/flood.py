"""How fast one chat is handled: a flooder is slowed, and nobody else notices.

Each chat has a bucket of `burst` updates, refilled at `per_minute`. What the runner does with an
update over the limit depends on who sent it (see `Runner.process_pending`):

- a registered person's update stays in the inbox and is handled, in order, as the bucket
  refills (nothing they sent is lost); they are told once per flood that they are slowed down;
- a stranger's update is closed at once as ignored: no answer, no lookup, no content kept (the
  inbox keeps only its id, to recognise a redelivery). A stranger is refused at most once per
  `refuse_every` seconds, so a stranger's flood costs one cheap answer a minute.

Either way the chats behind a flooder in the inbox are handled as if nobody flooded.

The buckets live in memory and are bounded by configuration, not by load: at most `max_chats`
chats are remembered, the one not seen for longest is forgotten first (a bucket forgotten only
gives that chat a fresh burst).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_CHATS = 10_000  # remembered chats: about 240 bytes each, so 2.4 MB at most


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    warned: bool = False
    refused_at: float | None = None


@dataclass
class Flood:
    """Per chat, a bucket of `burst` updates refilled at `per_minute`; a warning once per flood;
    a stranger's refusal at most once per `refuse_every` seconds."""

    per_minute: float = 30
    burst: float = 10
    refuse_every: float = 60.0
    max_chats: int = MAX_CHATS
    clock: Callable[[], float] = time.monotonic  # real time: a flood is about how fast people type
    _buckets: OrderedDict[str, _Bucket] = field(default_factory=OrderedDict)

    @classmethod
    def unlimited(cls) -> Flood:
        """No limit at all (the runner's default; the Telegram bot sets one from the settings)."""
        return cls(per_minute=float("inf"), burst=float("inf"), refuse_every=0.0)

    def __len__(self) -> int:
        return len(self._buckets)

    def _bucket(self, chat: str, now: float) -> _Bucket:
        bucket = self._buckets.get(chat)
        if bucket is None:
            bucket = self._buckets[chat] = _Bucket(tokens=self.burst, at=now)
            while len(self._buckets) > self.max_chats:
                self._buckets.popitem(last=False)  # the chat not seen for longest
        else:
            self._buckets.move_to_end(chat)
        return bucket

    def allow(self, chat: str, now: float) -> bool:
        """Take a token for one update of this chat, if there is one."""
        if self.burst == float("inf"):
            return True
        bucket = self._bucket(chat, now)
        bucket.tokens = min(self.burst, bucket.tokens + max(0.0, now - bucket.at) * self.per_minute / 60)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            if bucket.tokens >= self.burst / 2:
                bucket.warned = False  # calm again: a next flood is told again
            return True
        return False

    def warn(self, chat: str) -> bool:
        """True the first time a chat is held back in a flood."""
        bucket = self._buckets.get(chat)
        if bucket is None or bucket.warned:
            return False
        bucket.warned = True
        return True

    def may_refuse(self, chat: str, now: float) -> bool:
        """True if a stranger may be answered now (at most once per `refuse_every` seconds)."""
        if self.refuse_every <= 0:
            return True
        bucket = self._bucket(chat, now)
        if bucket.refused_at is not None and now - bucket.refused_at < self.refuse_every:
            return False
        bucket.refused_at = now
        return True
