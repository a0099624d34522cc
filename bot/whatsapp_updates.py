"""WhatsApp webhooks (Meta's Cloud API) as channel-neutral inputs (`Inbound`, bot/updates.py).

A webhook's body holds entries of changes; a `messages` change holds inbound messages (with the
senders' contacts) and statuses of what the bot sent. A person's address is their business-scoped
user id when the webhook carries one (WhatsApp's usernames: the phone number may be absent), else
their WhatsApp id; the phone number is not kept. A press on a reply button or a list row hands back
the id the core gave it (`<token>|<value>` or a case's button, flows/codec.py), so a stale press is
recognised as on Telegram. The first message of someone invited, `START <code>`, is `/start <code>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.updates import Inbound, PressedMessage, text_input
from flows.model import Attachment, Choice, Command, Input, Said

MAX_ID = 256  # Meta's limit on a button's or a row's id: a longer one cannot be ours
# A file a person sent on WhatsApp is referred to by its media id with this prefix, so wherever it is
# forwarded (bot/rendering.py) its channel is known: Telegram's references have no colon.
MEDIA_PREFIX = "wa:"


@dataclass(frozen=True)
class Message:
    wamid: str
    inbound: Inbound


@dataclass(frozen=True)
class Status:
    wamid: str
    status: str  # sent, delivered, read, failed
    address: str
    codes: tuple[int, ...]  # the errors of a failed one


def address_of(contact: dict[str, Any], message: dict[str, Any]) -> str:
    """The business-scoped user id when given, else the WhatsApp id (phone-based)."""
    for value in (message.get("from_user_id"), contact.get("user_id"), message.get("from"), contact.get("wa_id")):
        if isinstance(value, str) and value:
            return value
    raise ValueError("no sender")


def parse(body: dict[str, Any]) -> tuple[list[Message], list[Status]]:
    """The messages and statuses in one webhook body; what Wijkbrug does not act on is left out."""
    messages: list[Message] = []
    statuses: list[Status] = []
    for entry in _list(body.get("entry")):
        for change in _list(entry.get("changes") if isinstance(entry, dict) else None):
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                continue
            contacts = [c for c in _list(value.get("contacts")) if isinstance(c, dict)]
            for message in _list(value.get("messages")):
                if isinstance(message, dict) and (parsed := _message(message, contacts)) is not None:
                    messages.append(parsed)
            for status in _list(value.get("statuses")):
                if isinstance(status, dict) and (seen := _status(status)) is not None:
                    statuses.append(seen)
    return messages, statuses


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _message(message: dict[str, Any], contacts: list[dict[str, Any]]) -> Message | None:
    try:
        wamid = str(message["id"])
        sender = str(message.get("from_user_id") or message.get("from") or "")
        contact = next(
            (c for c in contacts if sender and sender in (c.get("wa_id"), c.get("user_id"))),
            contacts[0] if len(contacts) == 1 else {},
        )
        address = address_of(contact, message)
        name = str((contact.get("profile") or {}).get("name") or "")[:64]
        event, pressed = _event(message, wamid)
    except (KeyError, TypeError, ValueError):
        return None
    inbound = Inbound(chat_id=address, first_name=name, language_code=None, event=event, pressed=pressed)
    return Message(wamid=wamid, inbound=inbound)


def _event(message: dict[str, Any], wamid: str) -> tuple[Input, PressedMessage | None]:
    kind = message.get("type")
    if kind == "text":
        return typed(str(message["text"]["body"])), None
    if kind == "interactive":
        interactive = message["interactive"]
        reply = interactive.get("button_reply") or interactive.get("list_reply") or {}
        data = str(reply.get("id") or "")[:MAX_ID]
        return Choice(data=data), PressedMessage(callback_id=wamid, message_id=None, text="")
    if kind == "button":  # a quick reply of a template: as if typed
        return Said(text=str((message.get("button") or {}).get("text") or "")), None
    if kind in ("image", "document"):
        media = message.get(kind) or {}
        return Attachment(
            media="photo" if kind == "image" else "document",
            file_id=MEDIA_PREFIX + str(media.get("id") or ""),
            file_name=str(media.get("filename") or "")[:255],
            mime_type=str(media.get("mime_type") or "")[:255],
        ), None
    return Attachment(media=str(kind or "other")[:32]), None


def typed(text: str) -> Command | Said:
    """Typed text; `START <code>` (the wa.me link of an invite) is `/start <code>`."""
    head, _, rest = text.strip().partition(" ")
    if head.upper() == "START" and rest.strip():
        return Command(name="start", args=rest.strip())
    return text_input(text)


def _status(status: dict[str, Any]) -> Status | None:
    wamid, state = status.get("id"), status.get("status")
    address = status.get("recipient_user_id") or status.get("recipient_id") or ""
    if not isinstance(wamid, str) or not isinstance(state, str):
        return None
    codes = tuple(
        int(e["code"]) for e in _list(status.get("errors")) if isinstance(e, dict) and str(e.get("code", "")).isdigit()
    )
    return Status(wamid=wamid, status=state, address=str(address), codes=codes)
