"""The media side of the fake Graph API (tests/fakegraphapi.py): uploads, media ids, expiring download URLs.

``GET /{version}/{media_id}`` answers ``{"url", "mime_type", "sha256", "file_size", "id"}``; each answer makes a
fresh URL that serves the bytes only with the token (401 without) and only for ``MEDIA_URL_TTL`` seconds of the
fake's clock (404 after), as Meta's lookaside URLs do. A media id itself lives ``MEDIA_TTL`` (30 days) of the
fake's clock, as Meta keeps media, or until ``expire_media``: then ``GET /{media_id}`` and a message naming it
are refused with 100 ("does not exist", "not a valid media id"), as for an id Meta never gave.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web

from tests.fakegraph_shapes import GraphError, Json

MEDIA_URL_TTL = 5 * 60  # a media URL works this long on the fake's clock
MEDIA_TTL = 30 * 24 * 3600  # a media id (uploaded, or of a message a user sent) lives this long


class MediaSide:
    """Mixed into FakeGraphApi: the media store and its three HTTP handlers."""

    # provided by FakeGraphApi
    token: str
    media: dict[str, Json]
    media_downloads: int
    calls: list[Json]
    _urls: dict[str, tuple[str, float]]
    _serial: Any
    now: Callable[[], float]
    _auth: Callable[[web.Request], None]
    _version: Callable[[web.Request], None]
    _phone: Callable[[web.Request], None]
    _answer: Callable[[web.Request, Json, Callable[[], Coroutine[Any, Any, Json]]], Coroutine[Any, Any, web.Response]]

    @property
    def base_url(self) -> str:  # FakeGraphApi's
        raise NotImplementedError

    def add_media(self, data: bytes, mime_type: str = "image/jpeg") -> str:
        media_id = str(900_000_000_000 + next(self._serial))
        self.media[media_id] = {"data": data, "mime_type": mime_type, "sha256": hashlib.sha256(data).hexdigest(),
                                "expires": self.now() + MEDIA_TTL}
        return media_id

    def expire_media(self, media_id: str) -> None:
        """Meta forgets this media id now (as it does after 30 days)."""
        self.media[media_id]["expires"] = self.now()

    def has_media(self, media_id: str) -> bool:
        return media_id in self.media and self.now() < self.media[media_id]["expires"]

    @property
    def uploads(self) -> int:
        """How many files were uploaded (POST /{phone}/media)."""
        return sum(1 for call in self.calls if call["method"] == "POST" and call["path"].endswith("/media"))

    async def _upload(self, request: web.Request) -> web.Response:
        call: Json = {"method": "POST", "path": request.path, "payload": None, "at": self.now()}

        async def handle() -> Json:
            self._auth(request)
            self._version(request)
            self._phone(request)
            form = await request.post()
            upload = form.get("file")
            if form.get("messaging_product") != "whatsapp" or not isinstance(upload, web.FileField):
                raise GraphError(100, "Param file and messaging_product=whatsapp are required")
            mime = str(form.get("type") or upload.content_type)
            call["payload"] = {"type": mime, "filename": upload.filename}
            return {"id": self.add_media(upload.file.read(), mime)}

        return await self._answer(request, call, handle)

    async def _media_info(self, request: web.Request) -> web.Response:
        call: Json = {"method": "GET", "path": request.path, "payload": None, "at": self.now()}

        async def handle() -> Json:
            self._auth(request)
            self._version(request)
            if not self.has_media(media_id := request.match_info["media_id"]):
                raise GraphError(100, f"Unsupported get request. Object with ID '{media_id}' does not exist")
            key = hashlib.sha256(f"{media_id}:{next(self._serial)}".encode()).hexdigest()[:32]
            self._urls[key] = (media_id, self.now() + MEDIA_URL_TTL)
            media = self.media[media_id]
            url = f"{self.base_url}/whatsapp_business/attachments/?mid={media_id}&ext={int(self.now())}&hash={key}"
            return {"messaging_product": "whatsapp", "url": url, "mime_type": media["mime_type"],
                    "sha256": media["sha256"], "file_size": len(media["data"]), "id": media_id}

        return await self._answer(request, call, handle)

    async def _download(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization", "") != f"Bearer {self.token}":
            return web.json_response(GraphError(190, "Malformed access token").body, status=401)
        media_id, expires = self._urls.get(request.query.get("hash", ""), ("", 0.0))
        if media_id != request.query.get("mid") or self.now() >= expires:
            return web.Response(status=404, text="URL signature expired")
        self.media_downloads += 1
        media = self.media[media_id]
        return web.Response(body=media["data"], content_type=media["mime_type"])
