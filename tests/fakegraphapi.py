"""A fake of Meta's WhatsApp Business Cloud API (the Graph API) for end-to-end tests.

It speaks real HTTP on 127.0.0.1 (aiohttp), as tests/fakebotapi.py does for Telegram:

- ``POST /{version}/{phone_number_id}/messages`` with ``Authorization: Bearer <token>``: the payload is checked
  as the Cloud API does (tests/fakegraph_shapes.py), then the 24-hour window, the template registry, the
  throttling switches and unreachable recipients; an accepted message is recorded in ``sent`` with a fresh
  ``wamid.`` id, a refused one only in ``calls`` (with its HTTP status and Meta's code).
- ``POST /{version}/{phone_number_id}/media`` (multipart ``file``) stores a file and answers ``{"id"}``;
  ``drop_next`` closes a send's connection without an answer, before or after accepting it; ``stall_after``
  holds one unanswered (the bot stops between two calls) and then closes it.
- ``GET /{version}/{media_id}`` answers ``{"url", "mime_type", "sha256", "file_size", "id"}``; the URL
  (``/whatsapp_business/attachments/?mid=..&hash=..``) serves the bytes only with the token and only for
  ``MEDIA_URL_TTL`` seconds of the fake's clock (401 without the token, 404 after); a media id lives
  ``MEDIA_TTL`` (30 days) or until ``expire_media``: tests/fakegraph_media.py.
- The test side plays the WhatsApp users (tests/fakegraph_webhooks.py): ``deliver_message`` and
  ``deliver_status`` POST Meta's webhook JSON to ``webhook_url``, signed with ``X-Hub-Signature-256``
  (HMAC-SHA256 of the raw body with the app secret), optionally twice, with a wrong or no signature; the
  bot's HTTP answer is kept per POST in ``deliveries``; ``redeliver`` posts the same bytes again.

Identity — an ASSUMPTION, each name one constant in fakegraph_shapes.py: Meta's username rollout (2026)
gives every user a business-scoped user id (BSUID, e.g. ``NL.1000001``) and may withhold the phone number.
Webhooks carry ``contacts[].user_id`` and ``messages[].from_user_id`` always, ``wa_id``/``from`` only when
the phone is known; statuses carry ``recipient_user_id`` and, when known, ``recipient_id``. To send to a
BSUID the payload has ``"recipient": "<BSUID>"`` instead of ``"to"`` (``to`` wins when both are given); the
answer's contact is then ``{"input": bsuid, "user_id": bsuid}``. An unknown BSUID is refused with 100 at
once; an unknown phone number is accepted and fails later (131026), as on WhatsApp.

The clock (``time.time`` by default; a callable giving epoch seconds or an aware datetime) stamps webhooks
and drives the window and the media URL expiry; nothing here asserts on wall-clock time.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import re
import time
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any, Literal, Self

import aiohttp
from aiohttp import web

from tests.fakegraph_media import MEDIA_TTL, MEDIA_URL_TTL, MediaSide
from tests.fakegraph_shapes import (
    FREE_FORM,
    SEND_BY_BSUID,
    TEMPLATE_LANGUAGES,
    GraphError,
    Json,
    WaUser,
    body_parameters,
    validate,
)
from tests.fakegraph_webhooks import Delivery, WebhookSide

WINDOW = 24 * 3600  # the customer service window, seconds after the user's last message
BSUID_SHAPE = re.compile(r"[A-Z]{2}\.[A-Za-z0-9.]+")  # e.g. NL.1000001 (country, dot, up to 128 characters)
__all__ = ["MEDIA_TTL", "MEDIA_URL_TTL", "WINDOW", "Delivery", "FakeGraphApi", "GraphError", "WaUser"]


class FakeGraphApi(WebhookSide, MediaSide):
    """One WhatsApp business phone number on the Cloud API, plus the users that write to it."""

    def __init__(self, token: str = "fake-graph-token", phone_number_id: str = "100000000000001",
                 app_secret: str = "fake-app-secret", webhook_url: str | None = None,
                 clock: Callable[[], float | datetime] = time.time, window_failure: Literal["now", "late"] = "now",
                 auto_statuses: bool = False, version: str = "v21.0",
                 display_phone_number: str = "31600000099", waba_id: str = "200000000000002") -> None:
        self.token, self.phone_number_id, self.app_secret, self.version = token, phone_number_id, app_secret, version
        self.webhook_url = webhook_url
        self.clock = clock
        self.window_failure = window_failure  # free-form outside the window: 131047 "now" or as a "late" status
        # Push sent+delivered (or failed) for each accepted message by itself; as on Meta, the first status may
        # reach the webhook before the bot has read the send's answer (and so its wamid).
        self.auto_statuses = auto_statuses
        self.metadata: Json = {"display_phone_number": display_phone_number, "phone_number_id": phone_number_id}
        self.waba_id = waba_id
        self.port = 0
        self.users: dict[str, WaUser] = {}  # by BSUID
        self.sent: list[Json] = []  # accepted messages: id, user (BSUID), to, type, payload, at, late_error, statuses
        self.calls: list[Json] = []  # every API call: method, path, payload, status[, code]
        self.deliveries: list[Delivery] = []
        self.templates: dict[tuple[str, str], Json] = {}
        self.media: dict[str, Json] = {}  # media id -> data, mime_type, sha256
        self.media_downloads = 0
        self._faults: list[tuple[int, str | None, int | None]] = []  # (code, BSUID or None for all, HTTP status)
        self._drops: list[bool] = []  # per coming send: drop the connection after accepting (True) or before
        self._stall: tuple[int, asyncio.Event] | None = None  # sends to let through, then hold one until set
        self.stalled = False
        self._pending: list[str] = []  # wamids whose statuses have not been pushed yet
        self._urls: dict[str, tuple[str, float]] = {}  # media URL hash -> (media id, expiry)
        self._serial = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._tick = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    # --- server lifecycle ------------------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Self:
        app = web.Application(client_max_size=100 * 2**20)
        app.router.add_get("/whatsapp_business/attachments/", self._download)
        app.router.add_post("/{version}/{phone}/messages", self._send)
        app.router.add_post("/{version}/{phone}/media", self._upload)
        app.router.add_get("/{version}/{media_id}", self._media_info)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """The server's root (Meta's: https://graph.facebook.com); ``api_url`` adds the Graph version."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/{self.version}"

    @property
    def messages_url(self) -> str:
        return f"{self.api_url}/{self.phone_number_id}/messages"

    def now(self) -> float:
        value = self.clock()
        return value.timestamp() if isinstance(value, datetime) else float(value)

    # --- test side: users, templates, switches ---------------------------------------------------------------
    def add_user(self, name: str, phone: str | None = None, bsuid: str | None = None,
                 username: str | None = None) -> WaUser:
        """A WhatsApp user; without ``phone`` known only by a BSUID (a username user)."""
        wa_id = re.sub(r"\D", "", phone) if phone else None
        user = WaUser(name=name, bsuid=bsuid or f"NL.{1_000_000 + next(self._serial)}", wa_id=wa_id,
                      username=username)
        for old in [u for u in self.users.values() if wa_id and u.wa_id == wa_id]:
            del self.users[old.bsuid]
        self.users[user.bsuid] = user
        return user

    def user(self, ref: WaUser | str) -> WaUser:
        """A user by object, BSUID or phone number."""
        if isinstance(ref, WaUser):
            return ref
        digits = re.sub(r"\D", "", ref)
        found = self.users.get(ref) or next((u for u in self.users.values() if digits and u.wa_id == digits), None)
        if found is None:
            raise KeyError(f"no WhatsApp user {ref!r} in the fake")
        return found

    def register_template(self, name: str, language: str, body_param_count: int, category: str = "UTILITY") -> None:
        """An approved template; Meta takes templates only in ``TEMPLATE_LANGUAGES`` (not Somali or Tigrinya)."""
        if language not in TEMPLATE_LANGUAGES:
            raise ValueError(f"Meta offers no template language {language!r}")
        if category not in ("UTILITY", "MARKETING", "AUTHENTICATION"):
            raise ValueError(f"no template category {category!r}")
        self.templates[name, language] = {"body_params": body_param_count, "category": category}

    def fail_next(self, code: int, times: int = 1, recipient: WaUser | str | None = None) -> None:
        """Answer the next ``times`` sends with Meta's error ``code`` (130429, 131056, ...) or, for a ``code`` of
        500-599, with that HTTP status (503 as 131016 "Service unavailable", the others as 131000); with
        ``recipient``, only sends to that user count (131056 is per recipient)."""
        bsuid = self.user(recipient).bsuid if recipient is not None else None
        fault = (131016 if code == 503 else 131000, bsuid, code) if 500 <= code < 600 else (code, bsuid, None)
        self._faults.extend(fault for _ in range(times))

    def drop_next(self, times: int = 1, after_accept: bool = False) -> None:
        """Close the connection of the next ``times`` sends without an answer; with ``after_accept`` the message
        is recorded (and will be delivered) first, so the bot cannot know it went out."""
        self._drops.extend(after_accept for _ in range(times))

    def stall_after(self, sends: int) -> asyncio.Event:
        """Let ``sends`` more sends through, then hold the next one unanswered (``stalled`` is set) until the
        returned event is set, and then close its connection without accepting it: the bot stopped between
        two calls, the second never made."""
        self._stall = (sends, asyncio.Event())
        return self._stall[1]

    def undeliverable(self, user: WaUser | str, late: bool = False) -> None:
        """Every send to ``user`` fails with 131026: at once, or accepted and then a ``failed`` status."""
        self.user(user).undeliverable = "late" if late else "now"

    def in_window(self, user: WaUser | str) -> bool:
        last = self.user(user).last_inbound
        return last is not None and self.now() - last < WINDOW

    # --- test side: inspection -------------------------------------------------------------------------------
    def sent_to(self, user: WaUser | str) -> list[Json]:
        bsuid = self.user(user).bsuid
        return [m for m in self.sent if m["user"] == bsuid]

    def message(self, wamid: str) -> Json:
        found = next((m for m in self.sent if m["id"] == wamid), None)
        if found is None:
            raise KeyError(f"no sent message {wamid}")
        return found

    def texts(self, user: WaUser | str) -> list[str]:
        """What the user sees of each message, in order: the text or interactive body, a template's name."""
        shown: dict[str, Callable[[Json], str]] = {
            "text": lambda p: p["text"]["body"], "interactive": lambda p: p["interactive"]["body"]["text"],
            "template": lambda p: f"template:{p['template']['name']}"}
        return [shown[m["type"]](m["payload"]) if m["type"] in shown else m["type"] for m in self.sent_to(user)]

    def refused(self) -> list[Json]:
        return [c for c in self.calls if "code" in c]

    async def wait_for(self, predicate: Callable[[FakeGraphApi], Any], timeout: float = 10.0) -> Any:
        """Wait until ``predicate(self)`` is true; ``timeout`` only stops a broken test from hanging."""
        try:
            async with asyncio.timeout(timeout):
                while not (result := predicate(self)):
                    tick = self._tick
                    try:
                        async with asyncio.timeout(0.05):
                            await tick.wait()
                    except TimeoutError:
                        pass
        except TimeoutError:
            last = "\n".join(f"  {c['path']} -> {c['status']} {c.get('code', '')}" for c in self.calls[-10:])
            raise TimeoutError(f"condition not met within {timeout}s; last calls:\n{last or '  (none)'}") from None
        return result

    def _bump(self) -> None:
        self._tick.set()
        self._tick = asyncio.Event()

    # --- HTTP: the Cloud API ----------------------------------------------------------------------------------
    def _auth(self, request: web.Request) -> None:
        if request.headers.get("Authorization", "") != f"Bearer {self.token}":
            raise GraphError(190, "Malformed access token")

    @staticmethod
    def _version(request: web.Request) -> None:
        if not re.fullmatch(r"v\d+\.\d+", request.match_info["version"]):
            raise GraphError(100, f"Unknown Graph API version {request.match_info['version']!r}")

    def _phone(self, request: web.Request) -> None:
        if (phone := request.match_info["phone"]) != self.phone_number_id:
            raise GraphError(100, f"Unsupported post request. Object with ID '{phone}' does not exist")

    async def _answer(self, request: web.Request, call: Json,
                      handle: Callable[[], Coroutine[Any, Any, Json]]) -> web.Response:
        try:
            result = await handle()
            call["status"] = 200
            return web.json_response(result)
        except _Dropped:
            call.update(status=None, dropped=True)
            if request.transport is not None:  # None: the bot has gone already
                request.transport.close()
            return web.Response()  # never written: the connection is gone
        except GraphError as err:
            call.update(status=err.status, code=err.code)
            return web.json_response(err.body, status=err.status)
        finally:
            self.calls.append(call)
            self._bump()

    async def _send(self, request: web.Request) -> web.Response:
        call: Json = {"method": "POST", "path": request.path, "payload": None, "at": self.now()}

        async def handle() -> Json:
            self._auth(request)
            self._version(request)
            self._phone(request)
            try:
                call["payload"] = payload = await request.json()
            except ValueError:
                raise GraphError(100, "The request body is not valid JSON") from None
            if self._drops and not self._drops[0]:
                self._drops.pop(0)
                raise _Dropped
            if self._stall is not None:
                await self._stalling()
            self._fault(None)
            kind = validate(payload)
            user, contact = self._recipient(payload)
            self._fault(user.bsuid)
            late: int | None = None
            if kind == "template":
                self._check_template(payload["template"])
            elif "id" in payload[kind] and kind in ("image", "document") and not self.has_media(payload[kind]["id"]):
                raise GraphError(100, f"Param {kind}['id'] is not a valid media id")
            if user.undeliverable == "now":
                raise GraphError(131026)
            if user.undeliverable == "late":
                late = 131026
            if kind in FREE_FORM and not self.in_window(user):
                if self.window_failure == "now":
                    raise GraphError(131047)
                late = late or 131047
            answer = self._record(user, contact, kind, payload, late)
            if self._drops and self._drops[0]:
                self._drops.pop(0)
                raise _Dropped
            return answer

        return await self._answer(request, call, handle)

    async def _stalling(self) -> None:
        assert self._stall is not None
        sends, release = self._stall
        if sends > 0:
            self._stall = (sends - 1, release)
            return
        self._stall, self.stalled = None, True
        self._bump()
        await release.wait()
        raise _Dropped

    def _fault(self, bsuid: str | None) -> None:
        for i, (code, target, status) in enumerate(self._faults):
            if target == bsuid:
                del self._faults[i]
                raise GraphError(code, status=status)

    def _recipient(self, payload: Json) -> tuple[WaUser, Json]:
        if (to := payload.get("to")) is not None:
            if BSUID_SHAPE.fullmatch(str(to)):
                raise GraphError(100, f"Param to must be a phone number; send to a business-scoped user id with "
                                      f"'{SEND_BY_BSUID}'")
            if not (digits := re.sub(r"\D", "", str(to))):
                raise GraphError(100, "Param to must be a phone number")
            user = next((u for u in self.users.values() if u.wa_id == digits), None)
            if user is None:  # not on WhatsApp: Meta accepts, then reports 131026 in a failed status
                user = self.add_user("", phone=digits)
                user.undeliverable = "late"
            return user, {"input": str(to), "wa_id": digits}
        if (bsuid := payload.get(SEND_BY_BSUID)) is not None:
            if str(bsuid) not in self.users:
                raise GraphError(100, f"Param {SEND_BY_BSUID}: no WhatsApp user with this business-scoped user id")
            return self.users[str(bsuid)], {"input": str(bsuid), "user_id": str(bsuid)}
        raise GraphError(100, f"The parameter to (or {SEND_BY_BSUID}) is required")

    def _check_template(self, template: Json) -> None:
        found = self.templates.get((template["name"], template["language"]["code"]))
        if found is None:
            raise GraphError(132001, f"template name ({template['name']}) does not exist in "
                                     f"{template['language']['code']}")
        if (given := body_parameters(template)) != found["body_params"]:
            raise GraphError(132000, f"body: number of localizable_params ({given}) does not match the expected "
                                     f"number of params ({found['body_params']})")

    def _record(self, user: WaUser, contact: Json, kind: str, payload: Json, late: int | None) -> Json:
        n = next(self._serial)
        wamid = "wamid." + base64.b64encode(f"FAKE{n:010d}{user.bsuid}".encode()).decode()
        self.sent.append({"id": wamid, "user": user.bsuid, "to": user.wa_id, "type": kind, "payload": payload,
                          "at": self.now(), "late_error": late, "statuses": []})
        self._pending.append(wamid)
        if self.auto_statuses:
            self._spawn(self.flush_statuses())
        message: Json = {"id": wamid, **({"message_status": "accepted"} if kind == "template" else {})}
        return {"messaging_product": "whatsapp", "contacts": [contact], "messages": [message]}

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class _Dropped(Exception):
    """The fake closes the connection without an answer."""
