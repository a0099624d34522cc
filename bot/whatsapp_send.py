"""The WhatsApp channel's sender: stored messages as calls to Meta's Cloud API (POST /{number id}/messages),
and inbound media fetched by its id.

A thin client on aiohttp, not a WhatsApp library: the libraries (pywa, heyoo and others) run their own
webhook handlers that act on a message before it is stored, which would bypass Wijkbrug's durable
inbox, and hard-code Meta's address; the calls Wijkbrug makes are few and plain JSON.

The 24-hour window: free-form messages may only go to someone who wrote in the last 24 hours
(db/whatsapp.window). Outside it the sender sends the one approved template ("you have a new message
in Wijkbrug") in the reader's language, once, and holds the messages (`RetryAfter` of hours) until
they write again, which makes them due at once (db/whatsapp.wrote), in order. Error 131047 (Meta's
"the window has closed") is treated the same, now or when it comes later as a `failed` status
(bot/whatsapp_webhook.py puts that message back in the outbox).

Errors: 130429 and 131056 (throttled: the number, or this pair of numbers) wait and go again; a
server error or a time-out is tried again; 131026 (cannot be delivered) and 132xxx (template errors)
are refused for good, and the address is marked unreachable (its person's coordinators are told, as
for a Telegram 403). A stored message may take several calls (long text, pages of a list, text before a
file): each call Meta confirmed is recorded (db/whatsapp.part_sent), so a crash or a refusal between them
sends only the rest (at most the call in flight twice, as for any message).

A file sent on Telegram is uploaded to Meta only when its message is about to go (not while it is held),
and its media id is reused for 29 days (db/whatsapp.uploaded; Meta keeps an upload 30 days); a media id
Meta refuses is forgotten and the file uploaded again, once.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import aiohttp

from bot import delivery
from bot import whatsapp_render as render
from bot.i18n import Catalogs
from db import whatsapp
from db.connection import Connection

log = logging.getLogger(__name__)

WINDOW_CLOSED = 131047
MEDIA_REFUSED = (100, 131053)  # a media id Meta does not know (any more), or cannot use: upload again, once
THROTTLED = {130429: 6.0, 131056: 6.0, 80007: 60.0, 4: 60.0}  # code -> seconds to wait when Meta says none
HOLD = 6 * 3600.0  # a message held for someone outside the window waits this long unless they write
TIMEOUT = aiohttp.ClientTimeout(total=30)
Fetch = Callable[[str], Awaitable[bytes]]  # a file by its reference on another channel (bot/web/files.py)
# What posts one message payload and returns Meta's answer (raising ApiError when refused): by default the
# Cloud API over HTTP; the demo prints it as a phone shows it instead (bot/console_whatsapp.py).
Post = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def sniffed(data: bytes) -> str:
    """A file's MIME type by its first bytes (Meta wants one with an upload), for the kinds the flows let pass."""
    for magic, mime in ((b"%PDF", "application/pdf"), (b"\xff\xd8", "image/jpeg"), (b"\x89PNG", "image/png")):
        if data.startswith(magic):
            return mime
    return "application/octet-stream"


def unreachable(code: int) -> bool:
    """Errors that mean this address cannot be reached (its coordinators are told)."""
    return code in (131026, 131049, 131050) or 132000 <= code < 133000


class ApiError(Exception):
    def __init__(self, status: int, code: int, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status}, code {code}")
        self.status = status
        self.code = code
        self.retry_after = retry_after


class WhatsAppSender:
    def __init__(
        self, conn: Connection, catalogs: Catalogs, clock: Callable[[], datetime], *,
        token: str, number_id: str, api_url: str, session: aiohttp.ClientSession | None = None,
        fetch_telegram: Fetch | None = None, post: Post | None = None,
    ) -> None:
        self.fetch_telegram = fetch_telegram
        self.post = post or self._post
        self.conn = conn
        self.catalogs = catalogs
        self.clock = clock
        self.number_id = number_id
        self.api_url = api_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._session = session

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, address: str, kind: str, body: dict[str, Any]) -> None:
        language = await whatsapp.language_of(self.conn, address) or self.catalogs.default
        button = self.catalogs.render(render.LIST_BUTTON, language)
        payloads = render.messages(address, kind, body, button)
        if not payloads:
            return
        is_open, template_due = await whatsapp.window(self.conn, address, self.clock())
        if not is_open:
            if kind == "answer":
                return  # a press's notice is of no use later
            await self._hold(address, language, template_due)
        stored, reused = body, False  # a late failure puts back what was stored (bot/whatsapp_webhook.py)
        if kind == "say" and (body.get("forwarded") or {}).get("channel") == "telegram":
            body, reused = await self._carried_over(stored)  # only now, in the window: a held message uploads nothing
            payloads = render.messages(address, kind, body, button)
        key = whatsapp.message_key(kind, stored)
        try:
            try:
                wamid = await self._messages(address, key, payloads)
            except ApiError as exc:
                if not (reused and exc.code in MEDIA_REFUSED):
                    raise
                # Meta no longer knows the upload we kept: forget it, upload the file again, once.
                await whatsapp.forget_uploads(self.conn, [stored["forwarded"]["ref"]])
                body, _ = await self._carried_over(stored, fresh=True)
                wamid = await self._messages(address, key, render.messages(address, kind, body, button))
        except ApiError as exc:
            if exc.code == WINDOW_CLOSED:
                await whatsapp.closed(self.conn, address, self.clock())
                await self._hold(address, language, True)
            raise self._classified(exc) from None
        if wamid and kind == "say":
            await whatsapp.sent(self.conn, wamid, address, kind, stored, self.clock())

    async def _messages(self, address: str, key: str, payloads: list[dict[str, Any]]) -> str:
        """The calls of one stored message, in order; the last one's wamid. A message of several calls records
        each call Meta confirmed but the last (whose confirmation deletes the outbox row), so after a crash or
        a refusal between them only the rest are sent."""
        if len(payloads) == 1:
            return await self._message(payloads[0])
        done = await whatsapp.parts_sent(self.conn, address, key)
        wamid = ""
        for number, payload in enumerate(payloads[done:], start=done + 1):
            wamid = await self._message(payload)
            await whatsapp.part_sent(self.conn, address, key, number if number < len(payloads) else 0)
        return wamid

    async def _carried_over(self, body: dict[str, Any], fresh: bool = False) -> tuple[dict[str, Any], bool]:
        """A file sent on Telegram as a WhatsApp media id: the one uploaded for it before, while Meta keeps it
        (db/whatsapp.uploaded), else fetched from the Bot API and uploaded now (and remembered). Returns the
        body with the media id and whether it was one uploaded before."""
        forwarded = body["forwarded"]
        source = str(forwarded["ref"])
        if not fresh and (media_id := await whatsapp.uploaded(self.conn, source, self.clock())) is not None:
            return {**body, "forwarded": {**forwarded, "ref": media_id, "channel": "whatsapp"}}, True
        if self.fetch_telegram is None:
            raise delivery.Permanent("no Telegram to fetch the file from")
        try:
            data = await self.fetch_telegram(source)
        except Exception as exc:  # noqa: BLE001 - bot/web/files.NotFetched and network trouble: later
            raise delivery.Transient(type(exc).__name__) from None
        media_id = await self.upload(data, "photo.jpg" if forwarded["media"] == "photo" else "document")
        await whatsapp.remember_upload(self.conn, source, media_id, self.clock())
        return {**body, "forwarded": {**forwarded, "ref": media_id, "channel": "whatsapp"}}, False

    async def upload(self, data: bytes, name: str) -> str:
        """A file to Meta (POST /{number id}/media); its media id."""
        form = aiohttp.FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", sniffed(data))
        form.add_field("file", data, filename=name, content_type=sniffed(data))
        try:
            async with self.session.post(
                f"{self.api_url}/{self.number_id}/media", data=form, headers=self._headers
            ) as response:
                answer = await response.json(content_type=None)
                if response.status >= 400 or not isinstance(answer, dict) or "id" not in answer:
                    error = answer.get("error") if isinstance(answer, dict) else None
                    code = int(error.get("code") or 0) if isinstance(error, dict) else 0
                    raise self._classified(ApiError(response.status, code))
                return str(answer["id"])
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise delivery.Transient(type(exc).__name__) from None

    async def _hold(self, address: str, language: str, template_due: bool) -> None:
        """Outside the window: the template once, then wait for the person to write."""
        if template_due:
            code = render.template_language(language, self.catalogs.default)
            try:
                await self._message(render.template(address, code))
            except ApiError as exc:
                raise self._classified(exc) from None
            await whatsapp.template_sent(self.conn, address, self.clock())
        raise delivery.RetryAfter(HOLD)

    def _classified(self, exc: ApiError) -> delivery.DeliveryError:
        if exc.code in THROTTLED or exc.status == 429:
            return delivery.RetryAfter(exc.retry_after or THROTTLED.get(exc.code, 6.0))
        if exc.code == WINDOW_CLOSED:
            return delivery.RetryAfter(HOLD)
        if exc.status >= 500 or exc.code in (1, 2, 131000):
            return delivery.Transient(str(exc.code))
        return delivery.Permanent(str(exc.code))

    async def _message(self, payload: dict[str, Any]) -> str:
        """One message; its wamid."""
        answer = await self.post(payload)
        messages = answer.get("messages") or [{}]
        return str(messages[0].get("id") or "")

    async def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        return await self._call("POST", f"{self.api_url}/{self.number_id}/messages", payload)

    async def _call(self, method: str, url: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            async with self.session.request(method, url, json=payload, headers=self._headers) as response:
                try:
                    answer = await response.json(content_type=None)
                except ValueError:
                    answer = {}
                if response.status >= 400 or "error" in answer:
                    error = answer.get("error") if isinstance(answer, dict) else None
                    code = int(error.get("code") or 0) if isinstance(error, dict) else 0
                    after = response.headers.get("Retry-After", "")
                    retry = float(after) if after.replace(".", "", 1).isdigit() else None
                    log.info("WhatsApp refused a call: HTTP %s, code %s", response.status, code)
                    raise ApiError(response.status, code, retry)
                return answer if isinstance(answer, dict) else {}
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise delivery.Transient(type(exc).__name__) from None

    async def media_size(self, media_id: str) -> int | None:
        """The size Meta gives of a media file, in bytes (None if it gives none)."""
        try:
            info = await self._call("GET", f"{self.api_url}/{media_id}")
        except ApiError:
            return None
        size = info.get("file_size")
        return size if isinstance(size, int) and not isinstance(size, bool) else None

    async def fetch_media(self, media_id: str) -> tuple[bytes, str]:
        """A file a person sent, by its media id: its address first (which expires in minutes), then
        the file, both with the token. Returns (content, MIME type)."""
        try:
            info = await self._call("GET", f"{self.api_url}/{media_id}")
        except ApiError as exc:
            raise self._classified(exc) from None
        url = str(info.get("url") or "")
        if not url:
            raise delivery.Permanent("no media url")
        try:
            async with self.session.get(url, headers=self._headers) as response:
                if response.status >= 400:
                    raise delivery.Transient(f"HTTP {response.status}") if response.status >= 500 else (
                        delivery.Permanent(f"HTTP {response.status}"))
                return await response.read(), str(info.get("mime_type") or response.content_type)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise delivery.Transient(type(exc).__name__) from None


def whatsapp_fetch(api_url: str, token: str) -> Fetch:
    """A fetcher of WhatsApp media by id, for the other channels' senders (a file forwarded to Telegram): the
    web page's (bot/web/files.py), its answers as the delivery worker's (a file Meta no longer has: Permanent)."""
    from bot.web import files

    fetch = files.whatsapp_fetch(api_url, token, TIMEOUT.total or 30)

    async def fetched(media_id: str) -> bytes:
        try:
            return await fetch(media_id)
        except files.Gone:
            raise delivery.Permanent("media gone") from None
        except files.NotFetched as exc:
            raise delivery.Transient(str(exc)) from None

    return fetched


def as_upload(body: dict[str, Any], data: bytes) -> dict[str, Any]:
    """A forwarded WhatsApp file as a file the bot sends itself (bot/outgoing.File)."""
    forwarded = body["forwarded"]
    kind = "photo" if forwarded["media"] == "photo" else "document"
    name = "photo.jpg" if kind == "photo" else "document" + {"application/pdf": ".pdf"}.get(sniffed(data), "")
    rest = {k: v for k, v in body.items() if k != "forwarded"}
    return {**rest, "file": {"kind": kind, "name": name, "data": base64.b64encode(data).decode()}}
