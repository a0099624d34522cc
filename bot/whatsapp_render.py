"""A stored, channel-neutral message (bot/outgoing.py) as WhatsApp Cloud API message payloads. Pure.

    say      text (split at 4096 characters); with buttons: up to 3 as reply buttons (titles of at most
             20 characters, each different, else as a list), up to 10 as a list message (row titles of
             at most 24, the whole label as the row's description up to 72), more as several lists of
             10; the body of an interactive message at most 1024 characters (longer text goes first)
    chosen   nothing: WhatsApp cannot edit a sent message, and the person's reply already shows
             their choice under the prompt
    answer   a press's notice as a short text; nothing without one
    menu     nothing: WhatsApp has no per-chat command menu

A file (made by the bot: a chart, an export; or forwarded) goes as an image or a document message by its media
id, with the text as its caption (at most 1024 characters; what does not fit goes before it as text).

A label over a limit is shortened visibly, with an ellipsis (`shorten`); `wijkbrug i18n check` lists
catalog labels over 20 characters so translators can shorten them themselves.
"""

from __future__ import annotations

from typing import Any

from bot.outgoing import split_text
from flows.text import t

TEXT_LIMIT = 4096
BODY_LIMIT = 1024
BUTTON_TITLE = 20
ROW_TITLE = 24
ROW_DESCRIPTION = 72
MAX_BUTTONS = 3
MAX_ROWS = 10
ELLIPSIS = "…"

TEMPLATE_NAME = "wijkbrug_new_message"
TEMPLATE_TEXT = t("You have a new message in Wijkbrug. Reply to this message to see it.")
LIST_BUTTON = t("Choose")
# Languages Meta offers message templates in, among those Wijkbrug ships (Meta's list has no Somali
# and no Tigrinya: those readers get the template in the organisation's default language).
TEMPLATE_LANGUAGES = {"en": "en", "nl": "nl", "tr": "tr", "ar": "ar", "pl": "pl", "uk": "uk", "fa": "fa"}


def shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def recipient(address: str) -> dict[str, str]:
    """Whom a message goes to: a WhatsApp id (digits) as `to`, a business-scoped user id as `recipient`."""
    return {"to": address} if address.isdigit() else {"recipient": address}


def _base(address: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", **recipient(address)}


def text(address: str, body: str) -> list[dict[str, Any]]:
    return [
        {**_base(address), "type": "text", "text": {"body": piece, "preview_url": False}}
        for piece in split_text(body, TEXT_LIMIT) if piece
    ]


def say(address: str, body: dict[str, Any], list_button: str) -> list[dict[str, Any]]:
    words: str = body["text"]
    if (person := body.get("person")) is not None:
        words = f"{words}\n{person['name']}"
    buttons = [b for row in body.get("buttons") or [] for b in row]
    if (forwarded := body.get("forwarded")) is not None and forwarded.get("channel") == "whatsapp":
        return media(address, "image" if forwarded["media"] == "photo" else "document", {"id": forwarded["ref"]}, words)
    if (file := body.get("file")) is not None:
        # A file the bot made, uploaded by the sender (bot/whatsapp_send.py) just before it goes: its media id.
        kind = "image" if file["kind"] == "photo" else "document"
        given = {"id": str(file.get("media_id") or "")}
        return media(address, kind, given if kind == "image" else {**given, "filename": file["name"]}, words)
    if not buttons:
        return text(address, words or ELLIPSIS)
    pieces = split_text(words or ELLIPSIS, BODY_LIMIT)
    before = [m for piece in pieces[:-1] for m in text(address, piece)]
    return before + interactive(address, pieces[-1], buttons, list_button)


def media(address: str, kind: str, given: dict[str, str], words: str) -> list[dict[str, Any]]:
    """An image or a document by its media id, the text as its caption (what does not fit goes before it, as
    text): as Telegram shows a file with its caption."""
    if not words:
        return [{**_base(address), "type": kind, kind: given}]
    before = split_text(words, BODY_LIMIT)
    return [*(m for piece in before[:-1] for m in text(address, piece)),
            {**_base(address), "type": kind, kind: {**given, "caption": before[-1]}}]


def interactive(address: str, body: str, buttons: list[dict[str, str]], list_button: str) -> list[dict[str, Any]]:
    titles = [shorten(b["label"], BUTTON_TITLE) for b in buttons]
    # Button titles must differ: labels that differ only past the 20th character go as a list, whose rows
    # show the whole label in their description.
    if len(buttons) <= MAX_BUTTONS and len(set(titles)) == len(titles):
        reply = [
            {"type": "reply", "reply": {"id": b["id"], "title": shorten(b["label"], BUTTON_TITLE)}} for b in buttons
        ]
        return [{**_base(address), "type": "interactive", "interactive": {
            "type": "button", "body": {"text": body}, "action": {"buttons": reply},
        }}]
    pages = [buttons[i:i + MAX_ROWS] for i in range(0, len(buttons), MAX_ROWS)]
    messages = []
    for number, page in enumerate(pages, start=1):
        rows = []
        for b in page:
            row = {"id": b["id"], "title": shorten(b["label"], ROW_TITLE)}
            if len(" ".join(b["label"].split())) > ROW_TITLE:
                row["description"] = shorten(b["label"], ROW_DESCRIPTION)
            rows.append(row)
        page_body = body if number == 1 else f"({number}/{len(pages)})"
        messages.append({**_base(address), "type": "interactive", "interactive": {
            "type": "list", "body": {"text": page_body},
            "action": {"button": shorten(list_button, BUTTON_TITLE), "sections": [{"rows": rows}]},
        }})
    return messages


def template(address: str, language: str) -> dict[str, Any]:
    return {**_base(address), "type": "template", "template": {"name": TEMPLATE_NAME, "language": {"code": language}}}


def template_language(language: str, default: str) -> str:
    """The template's language for a reader: theirs if Meta has it, else the organisation's default."""
    return TEMPLATE_LANGUAGES.get(language) or TEMPLATE_LANGUAGES.get(default) or "en"


def messages(address: str, kind: str, body: dict[str, Any], list_button: str) -> list[dict[str, Any]]:
    """The Cloud API payloads that deliver one stored message (none for what WhatsApp has no form of)."""
    if kind == "say":
        return say(address, body, list_button)
    if kind == "answer" and body.get("notice"):
        return text(address, str(body["notice"]))
    return []
