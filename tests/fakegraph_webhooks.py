"""The webhook side of the fake Graph API (tests/fakegraphapi.py): the WhatsApp users write, Meta reports statuses.

Every push is Meta's JSON (``entry[].changes[].value``), serialised as Meta does (compact, non-ASCII escaped)
and signed ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the app secret>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp

from tests.fakegraph_shapes import GraphError, Json, WaUser, envelope

HANG_GUARD = aiohttp.ClientTimeout(total=30)  # only stops a hung bot from hanging the test
Signature = Literal["ok", "wrong", "missing"]


@dataclass
class Delivery:
    """One webhook the fake pushed: its JSON, the raw bytes signed, and the bot's HTTP answer per POST."""

    kind: str  # "message" or "status"
    body: Json
    raw: bytes
    signature: Signature
    answers: list[int | None] = field(default_factory=list)  # None: the connection failed


def sign(raw: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


class WebhookSide:
    """Mixed into FakeGraphApi: builds, signs and POSTs webhooks, and records the bot's answers."""

    # provided by FakeGraphApi
    app_secret: str
    webhook_url: str | None
    metadata: Json
    waba_id: str
    sent: list[Json]
    deliveries: list[Delivery]
    _pending: list[str]
    _session: aiohttp.ClientSession | None
    now: Callable[[], float]
    user: Callable[[WaUser | str], WaUser]
    message: Callable[[str], Json]
    add_media: Callable[..., str]
    media: dict[str, Json]
    _serial: Any
    _bump: Callable[[], None]

    async def deliver_message(self, user: WaUser | str, text: str | None = None, *, button_reply: str | None = None,
                              list_reply: str | None = None, image: bytes | None = None,
                              document: bytes | None = None, mime_type: str | None = None,
                              filename: str | None = None, caption: str | None = None, check_reply: bool = True,
                              duplicate: bool = False, signature: Signature = "ok") -> Delivery:
        """The user writes one message (exactly one of the content arguments); it opens their 24-hour window.

        A ``button_reply``/``list_reply`` id must be on the last interactive message the bot sent the user (its
        title and description are taken from there, and ``context`` names that message), unless
        ``check_reply=False``."""
        who = self.user(user)
        n = next(self._serial)
        msg: Json = {**who.sender(), "id": f"wamid.IN{n:010d}", "timestamp": str(int(self.now()))}
        if text is not None:
            msg.update(type="text", text={"body": text})
        elif button_reply is not None or list_reply is not None:
            kind = "button_reply" if button_reply is not None else "list_reply"
            reply_id = str(button_reply if button_reply is not None else list_reply)
            wamid, reply = self._reply(who, kind, reply_id, check_reply)
            msg.update(type="interactive", interactive={"type": kind, kind: reply})
            if wamid:
                msg["context"] = {"from": self.metadata["display_phone_number"], "id": wamid}
        elif image is not None or document is not None:
            kind = "image" if image is not None else "document"
            data = image if image is not None else document
            assert data is not None
            mime = mime_type or ("image/jpeg" if kind == "image" else "application/pdf")
            media_id = self.add_media(data, mime)
            media: Json = {"mime_type": mime, "sha256": self.media[media_id]["sha256"], "id": media_id}
            if kind == "document":
                media["filename"] = filename or "document.pdf"
            if caption is not None:
                media["caption"] = caption
            msg.update(type=kind, **{kind: media})
        else:
            raise ValueError("deliver_message needs text, button_reply, list_reply, image or document")
        who.last_inbound = self.now()
        body = envelope(self.waba_id, self.metadata, contacts=[who.contact()], messages=[msg])
        return await self.push("message", body, duplicate=duplicate, signature=signature)

    def _reply(self, who: WaUser, kind: str, reply_id: str, check: bool) -> tuple[str | None, Json]:
        for sent in reversed(self.sent):
            if sent["user"] != who.bsuid or sent["type"] != "interactive":
                continue
            action = sent["payload"]["interactive"]["action"]
            if kind == "button_reply":
                options = [b["reply"] for b in action.get("buttons", [])]
            else:
                options = [row for section in action.get("sections", []) for row in section["rows"]]
            found = next((o for o in options if o["id"] == reply_id), None)
            if found is not None or check:
                if found is None:
                    raise ValueError(f"the last interactive message has no {kind} {reply_id!r}: "
                                     f"{[o['id'] for o in options]}")
                keep = ("id", "title", "description") if kind == "list_reply" else ("id", "title")
                return sent["id"], {k: found[k] for k in keep if k in found}
            break
        if check:
            raise ValueError(f"the bot sent {who.bsuid} no interactive message to reply to")
        return None, {"id": reply_id, "title": "?"}

    def status_object(self, wamid: str, status: str, errors: list[int | Json] | None = None) -> Json:
        """One entry of ``statuses[]`` as Meta sends it for a message the bot sent."""
        sent = self.message(wamid)
        who = self.user(sent["user"])
        obj: Json = {"id": wamid, "status": status, "timestamp": str(int(self.now())), **who.recipient()}
        if status in ("sent", "delivered"):
            category = "utility" if sent["type"] == "template" else "service"
            conversation = hashlib.sha256(who.bsuid.encode()).hexdigest()[:32]
            obj["conversation"] = {"id": conversation, "origin": {"type": category}}
            obj["pricing"] = {"billable": category != "service", "pricing_model": "PMP", "category": category}
        if status == "failed":
            obj["errors"] = [GraphError(e).as_status_error() if isinstance(e, int) else e for e in errors or []]
        sent["statuses"].append(status)
        return obj

    async def deliver_status(self, wamid: str, status: str, errors: list[int | Json] | None = None, *,
                             duplicate: bool = False, signature: Signature = "ok") -> Delivery:
        """Meta reports one status (sent, delivered, read or failed with ``errors``: codes or error objects)."""
        return await self.deliver_statuses([(wamid, status, errors)], duplicate=duplicate, signature=signature)

    async def deliver_statuses(self, items: list[tuple[str, str, list[int | Json] | None]], *,
                               duplicate: bool = False, signature: Signature = "ok") -> Delivery:
        """Several statuses in one webhook, in the order given (Meta batches them and does not order them)."""
        statuses = [self.status_object(wamid, status, errors) for wamid, status, errors in items]
        body = envelope(self.waba_id, self.metadata, statuses=statuses)
        return await self.push("status", body, duplicate=duplicate, signature=signature)

    async def flush_statuses(self) -> list[Delivery]:
        """For each accepted message not yet reported: ``sent`` then ``delivered``, or ``failed`` with its late error
        (131047 outside the window in ``window_failure="late"`` mode, 131026 for an unreachable user)."""
        done = []
        while self._pending:
            wamid = self._pending.pop(0)
            late = self.message(wamid)["late_error"]
            if late is not None:
                done.append(await self.deliver_status(wamid, "failed", [late]))
            else:
                done.append(await self.deliver_status(wamid, "sent"))
                done.append(await self.deliver_status(wamid, "delivered"))
        return done

    async def push(self, kind: str, body: Json, *, duplicate: bool = False, signature: Signature = "ok") -> Delivery:
        """POST ``body`` to the webhook (twice with ``duplicate``); ``signature`` "ok", "wrong" or "missing"."""
        if self.webhook_url is None:
            raise RuntimeError("set FakeGraphApi.webhook_url before pushing webhooks")
        raw = json.dumps(body, separators=(",", ":")).encode()  # ensure_ascii: Meta escapes non-ASCII as \\uXXXX
        headers = {"Content-Type": "application/json"}
        if signature != "missing":
            headers["X-Hub-Signature-256"] = sign(raw, self.app_secret if signature == "ok" else "not-the-secret")
        delivery = Delivery(kind=kind, body=body, raw=raw, signature=signature)
        self.deliveries.append(delivery)
        for _ in range(2 if duplicate else 1):
            delivery.answers.append(await self._post(raw, headers))
        self._bump()
        return delivery

    async def _post(self, raw: bytes, headers: dict[str, str]) -> int | None:
        assert self.webhook_url is not None
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=HANG_GUARD)
        try:
            async with self._session.post(self.webhook_url, data=raw, headers=headers) as response:
                await response.read()
                return response.status
        except (aiohttp.ClientError, TimeoutError):
            return None

    async def verify_webhook(self, verify_token: str, challenge: str = "1158201444",
                             mode: str = "subscribe") -> tuple[int, str]:
        """Meta's GET verification call; returns the bot's HTTP status and body (it must echo the challenge)."""
        assert self.webhook_url is not None
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=HANG_GUARD)
        params = {"hub.mode": mode, "hub.verify_token": verify_token, "hub.challenge": challenge}
        async with self._session.get(self.webhook_url, params=params) as response:
            return response.status, await response.text()
