"""The media side of the fake Graph API (tests/fakegraphapi.py): uploads, media ids, expiring download URLs.

``GET /{version}/{media_id}`` answers ``{"url", "mime_type", "sha256", "file_size", "id"}``; each answer makes a
fresh URL that serves the bytes only with the token (401 without) and only for ``MEDIA_URL_TTL`` seconds of the
fake's clock (404 after), as Meta's lookaside URLs do. A media id itself lives ``MEDIA_TTL`` (30 days) of the
fake's clock, as Meta keeps media, or until ``expire_media``: then ``GET /{media_id}`` and a message naming it
are refused with 100 ("does not exist", "not a valid media id"), as for an id Meta never gave.

An upload is checked as Meta checks it (`check_upload`): a type Meta takes (its list has no text/csv), at most
5 MB for an image (PNG or JPEG) and 100 MB for a document, the bytes of the type declared; a message naming an
upload, as an image only a PNG or JPEG one (`check_reference`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web

from tests.fakegraph_shapes import GraphError, Json

MEDIA_URL_TTL = 5 * 60  # a media URL works this long on the fake's clock
MEDIA_TTL = 30 * 24 * 3600  # a media id (uploaded, or of a message a user sent) lives this long


# What Meta takes in an upload, and how large (its "supported media types"; its answer to any other type lists
# them, and has no text/csv: a CSV goes as text/plain).
IMAGE_TYPES = frozenset({"image/jpeg", "image/png"})
DOCUMENT_TYPES = frozenset({
    "text/plain", "application/pdf", "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
})
OTHER_TYPES = {"audio/aac": 16, "audio/mp4": 16, "audio/mpeg": 16, "audio/amr": 16, "audio/ogg": 16,
               "video/mp4": 16, "video/3gpp": 16, "image/webp": 0.5}  # type -> MB
MB = 2**20
IMAGE_MAX = 5 * MB
DOCUMENT_MAX = 100 * MB
MAGIC = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff", "application/pdf": b"%PDF"}


def limit_of(mime: str) -> int | None:
    """The largest upload of this MIME type Meta takes (None: a type it does not take)."""
    if mime in IMAGE_TYPES:
        return IMAGE_MAX
    if mime in DOCUMENT_TYPES:
        return DOCUMENT_MAX
    return int(OTHER_TYPES[mime] * MB) if mime in OTHER_TYPES else None


def check_upload(mime: str, data: bytes) -> None:
    """An upload as Meta checks it: a type it takes (100, naming them), within that type's size (131053), and
    bytes that are what the type says for the kinds it can tell by their first bytes (131053)."""
    limit = limit_of(mime)
    if limit is None:
        known = ", ".join(sorted({*IMAGE_TYPES, *DOCUMENT_TYPES, *OTHER_TYPES}))
        raise GraphError(100, f"Param file must be a file with one of the following types: {known}. "
                              f"Received file of type '{mime}'.")
    if not data:
        raise GraphError(131053, "Media upload error: the file is empty")
    if len(data) > limit:
        raise GraphError(131053, f"Media upload error: {mime} files may be at most {limit} bytes, not {len(data)}")
    if mime in MAGIC and not data.startswith(MAGIC[mime]):
        raise GraphError(131053, f"Media upload error: the file is not of type {mime}")


def check_reference(kind: str, media: Json) -> None:
    """A message naming an upload as Meta checks it: an image message only PNG or JPEG; a document any type Meta
    takes as a document (an image too)."""
    mime = str(media["mime_type"])
    if kind == "image" and mime not in IMAGE_TYPES:
        raise GraphError(131053, f"Unsupported Image mime type {mime}. Please use one of image/png, image/jpeg.")
    if kind == "document" and mime not in DOCUMENT_TYPES | IMAGE_TYPES:
        raise GraphError(131053, f"Unsupported Document mime type {mime}.")


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
            data = upload.file.read()
            check_upload(mime, data)
            media_id = self.add_media(data, mime)
            self.media[media_id]["filename"] = upload.filename
            return {"id": media_id}

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
