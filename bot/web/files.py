"""Files a person sent (a letter from school), forwarded to the member once the case allows it, fetched
from the channel they came in on when the member asks for them, and kept nowhere here:

- Telegram: by Telegram's own reference (getFile, then the file, with the bot's token);
- WhatsApp: by Meta's media id (GET /{media id} with the token gives a URL that works a few minutes, then
  the file from that URL, with the token again). Meta forgets a person's media after about 30 days: then
  the file is `Gone`, and the page says so in the member's language (bot/web/words.py, "file_gone").

A forwarded file's reference is its channel's, with WhatsApp's carrying the prefix `wa:` (as a stored
attachment does, bot/whatsapp_updates.MEDIA_PREFIX), so one `Fetch` serves both (`by_channel`).

The file is handed over as a download (`Content-Disposition: attachment`, `nosniff`), never shown
inside the page: what a person sent is not trusted to be what it says it is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp

from bot.whatsapp_updates import MEDIA_PREFIX

MAX_BYTES = 20 * 1024 * 1024  # the most the Bot API hands a bot
MAX_MEDIA = 100 * 1024 * 1024  # Meta's largest document
Fetch = Callable[[str], Awaitable[bytes]]


class NotFetched(Exception):
    """The channel did not hand the file over now (not reachable, too big, refused): perhaps later."""


class Gone(NotFetched):
    """The channel no longer has the file (WhatsApp: a media id Meta does not know, or no longer)."""


def reference(forwarded: Mapping[str, Any]) -> str | None:
    """A forwarded file's reference for `by_channel`'s fetch, or None for a channel it does not know."""
    ref, channel = str(forwarded.get("ref") or ""), forwarded.get("channel")
    if not ref or channel not in ("telegram", "whatsapp"):
        return None
    return MEDIA_PREFIX + ref if channel == "whatsapp" else ref


def download_name(media: str, data: bytes) -> str:
    """The name a download is offered under: a photo, a PDF by its first bytes, else a plain file."""
    if media == "photo":
        return "wijkbrug-photo.jpg"
    return "wijkbrug-file.pdf" if data.startswith(b"%PDF") else "wijkbrug-file"


def by_channel(telegram: Fetch | None, whatsapp: Fetch | None) -> Fetch:
    """One fetcher for both channels' files: a reference with `wa:` goes to WhatsApp, any other to Telegram."""

    async def fetch(ref: str) -> bytes:
        if ref.startswith(MEDIA_PREFIX):
            chosen, ref = whatsapp, ref.removeprefix(MEDIA_PREFIX)
        else:
            chosen = telegram
        if chosen is None:
            raise NotFetched("that channel is not set up here")
        return await chosen(ref)

    return fetch


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
                return await _download(session, f"{file_url}{token}/{path}", {}, MAX_BYTES)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise NotFetched(type(exc).__name__) from None

    return fetch


def whatsapp_fetch(api_url: str, token: str, timeout: float = 30) -> Fetch:
    """A fetcher of WhatsApp media by its id: its URL first (GET /{media id}), then the file, both with the
    token. Meta answering the id "does not exist" (400 or 404, code 100) means it is `Gone`; a server
    error, a refused token, a limit or a URL that stopped working is `NotFetched` (perhaps later)."""

    async def fetch(media_id: str) -> bytes:
        headers = {"Authorization": f"Bearer {token}"}
        limits = aiohttp.ClientTimeout(total=timeout)
        try:
            async with aiohttp.ClientSession(timeout=limits) as session:
                async with session.get(f"{api_url.rstrip('/')}/{media_id}", headers=headers) as response:
                    status = response.status
                    info = await response.json(content_type=None)
                url = info.get("url") if isinstance(info, dict) else None
                if status in (400, 404) and _code(info) in (0, 100):  # "does not exist" (not the token, not a limit)
                    raise Gone(f"media answered {status}")
                if status != 200 or not isinstance(url, str) or not url:
                    raise NotFetched(f"media answered {status}")
                return await _download(session, url, headers, MAX_MEDIA)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise NotFetched(type(exc).__name__) from None

    return fetch


async def _download(session: aiohttp.ClientSession, url: str, headers: dict[str, str], most: int) -> bytes:
    """The file at `url`, at most `most` bytes (a larger one is not fetched whole: `NotFetched`)."""
    async with session.get(url, headers=headers) as response:
        if response.status != 200:
            raise NotFetched(f"download answered {response.status}")
        data = await response.content.read(most + 1)
    if len(data) > most:
        raise NotFetched("too big")
    return data


def _code(answer: object) -> int:
    """Meta's error code in an answer (0 if none)."""
    error = answer.get("error") if isinstance(answer, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, int) else 0
