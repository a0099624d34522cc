"""Files a person sent (a letter from school), forwarded to the member once the case allows it: on
Telegram they travel by Telegram's own reference, so the web page fetches the file from the Bot
API (getFile, then the file) when the member asks for it, and keeps nothing of it.

The file is handed over as a download (`Content-Disposition: attachment`, `nosniff`), never shown
inside the page: what a person sent is not trusted to be what it says it is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiohttp

MAX_BYTES = 20 * 1024 * 1024  # the most the Bot API hands a bot
Fetch = Callable[[str], Awaitable[bytes]]


class NotFetched(Exception):
    """Telegram did not hand the file over (gone, too big, or not reachable now)."""


def telegram_fetch(api_url: str, file_url: str, token: str, timeout: float = 30) -> Fetch:
    """A fetcher of Telegram files by their reference, on the operator's Bot API settings."""

    async def fetch(ref: str) -> bytes:
        limits = aiohttp.ClientTimeout(total=timeout)
        try:
            async with aiohttp.ClientSession(timeout=limits) as session:
                async with session.post(f"{api_url}{token}/getFile", json={"file_id": ref}) as response:
                    answer = await response.json(content_type=None)
                path = (answer.get("result") or {}).get("file_path") if answer.get("ok") else None
                if not isinstance(path, str) or not path:
                    raise NotFetched("getFile refused")
                async with session.get(f"{file_url}{token}/{path}") as response:
                    if response.status != 200:
                        raise NotFetched(f"download answered {response.status}")
                    data = await response.content.read(MAX_BYTES + 1)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise NotFetched(type(exc).__name__) from None
        if len(data) > MAX_BYTES:
            raise NotFetched("too big")
        return data

    return fetch
