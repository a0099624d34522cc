"""Telegram updates as channel-neutral inputs (`Inbound`), the form every channel hands the core."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from flows.model import Attachment, Choice, Command, Input, Said

_MEDIA = ("photo", "document", "voice", "audio", "video", "video_note", "sticker", "animation", "location", "contact")
MAX_CALLBACK_DATA = 64  # Telegram's limit; longer data cannot be ours


class PressedMessage(BaseModel):
    """The message whose button was pressed, so its keyboard can be replaced by the choice."""

    model_config = ConfigDict(frozen=True)
    callback_id: str
    message_id: int | None
    text: str


class Inbound(BaseModel):
    model_config = ConfigDict(frozen=True)

    chat_id: str
    first_name: str
    language_code: str | None
    event: Input
    pressed: PressedMessage | None = None


_input = TypeAdapter(Input)


def parse(update: dict[str, Any]) -> Inbound | None:
    """The input in an update, or None for updates Wijkbrug does not act on (edits, groups…)."""
    try:
        if "callback_query" in update:
            return _callback(update["callback_query"])
        if "message" in update:
            return _message(update["message"])
    except (KeyError, TypeError, ValueError, ValidationError):
        return None
    return None


def _sender(data: dict[str, Any]) -> tuple[str, str | None]:
    sender = data.get("from") or {}
    return str(sender.get("first_name") or ""), sender.get("language_code")


def _message(message: dict[str, Any]) -> Inbound | None:
    chat = message["chat"]
    if chat.get("type", "private") != "private":
        return None  # Wijkbrug works in private chats only: a group would show a family's data to many
    name, language = _sender(message)
    text = message.get("text")
    event: Input
    if isinstance(text, str):
        event = text_input(text)
    else:
        media = next((kind for kind in _MEDIA if kind in message), "other")
        event = _attachment(message, media)
    return Inbound(chat_id=str(chat["id"]), first_name=name, language_code=language, event=event)


def text_input(text: str) -> Command | Said:
    """Typed text: a command (`/name args`, `/name@bot`) or something said."""
    if text.startswith("/") and len(text) > 1:
        head, _, args = text[1:].partition(" ")
        return Command(name=head.split("@", 1)[0].lower(), args=args.strip())
    return Said(text=text)


def _callback(query: dict[str, Any]) -> Inbound | None:
    name, language = _sender(query)
    message = query.get("message") or {}
    chat_id = (message.get("chat") or {}).get("id") or query["from"]["id"]
    data = str(query.get("data") or "")[:MAX_CALLBACK_DATA]
    pressed = PressedMessage(
        callback_id=str(query["id"]), message_id=message.get("message_id"), text=message.get("text") or ""
    )
    return Inbound(
        chat_id=str(chat_id), first_name=name, language_code=language, event=Choice(data=data), pressed=pressed
    )


def _attachment(message: dict[str, Any], media: str) -> Attachment:
    """The file to forward (the largest size of a photo, or the document itself) with what Telegram
    says of it: name, MIME type, size. Whether it may be forwarded is the flows' call."""
    if media == "photo" and message.get("photo"):
        largest = message["photo"][-1]
        return Attachment(media=media, file_id=str(largest.get("file_id", "")), size=_size(largest))
    if media == "document":
        document = message.get("document") or {}
        return Attachment(
            media=media,
            file_id=str(document.get("file_id", "")),
            file_name=str(document.get("file_name") or "")[:255],
            mime_type=str(document.get("mime_type") or "")[:255],
            size=_size(document),
        )
    return Attachment(media=media)


def _size(file: dict[str, Any]) -> int | None:
    size = file.get("file_size")
    return size if isinstance(size, int) and not isinstance(size, bool) else None
