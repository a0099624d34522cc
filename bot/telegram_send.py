"""The Telegram channel's sender: a stored, channel-neutral message (bot/outgoing.py) as Bot API calls.

    say      sendMessage with an inline keyboard (a button's id is its callback data), or sendPhoto /
             sendDocument with the file the bot made (multipart) or the one a person sent (its
             file_id), the text as caption; a person to reach is their name after the text as a
             mention (bot/mention.py)
    chosen   editMessageText of the pressed prompt: the choice under it, and no buttons any more
    answer   answerCallbackQuery, with the notice as its text
    menu     setMyCommands for this chat only

A row stored before migration 014 is a Bot API call already (its kind the method): it is sent as it
is. Each call goes out as JSON through bot/botapi.py; a file goes as multipart.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any

from bot import delivery, mention, outgoing
from bot.botapi import BadRequest, BotApi, ChatMigrated, Forbidden, InvalidToken, RetryAfter, TelegramError

TEXT_METHODS = frozenset({"sendMessage", "editMessageText"})
MAX_COMMAND_DESCRIPTION = 256


def calls(address: str, kind: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The Bot API method and parameters that deliver one stored message to the chat `address`."""
    if kind == "say":
        return _say(address, body)
    if kind == "chosen":
        return "editMessageText", {"chat_id": address, "message_id": int(body["ref"]), "text": body["text"]}
    if kind == "answer":
        answer = {"callback_query_id": body["press"]}
        if body.get("notice"):
            answer["text"] = body["notice"]
        return "answerCallbackQuery", answer
    if kind == "menu":
        commands = bot_commands((c["command"], c["description"]) for c in body["commands"])
        return "setMyCommands", {"commands": commands, "scope": {"type": "chat", "chat_id": address}}
    return kind, body  # stored before migration 014: the call itself


def bot_commands(commands: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """setMyCommands' list: each (command, description), the description cut to what Telegram takes."""
    return [{"command": name, "description": text[:MAX_COMMAND_DESCRIPTION]} for name, text in commands]


def _say(address: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    text: str = body["text"]
    if (file := body.get("file")) is not None:
        field = "photo" if file["kind"] == "photo" else "document"
        upload = {"field": field, "filename": file["name"], "data": file["data"]}
        return "sendPhoto" if field == "photo" else "sendDocument", {
            "chat_id": address,
            "caption": text,
            "_upload": upload,
        }
    if (forwarded := body.get("forwarded")) is not None:
        field = "photo" if forwarded["media"] == "photo" else "document"
        method = "sendPhoto" if field == "photo" else "sendDocument"
        return method, {"chat_id": address, field: forwarded["ref"], "caption": text}
    payload: dict[str, Any] = {"chat_id": address, "text": text}
    if (person := body.get("person")) is not None:
        payload["text"], entities = mention.add(text, person["name"], person["address"], person["channel"])
        if entities:
            payload["entities"] = entities
    if buttons := body.get("buttons"):
        keyboard = [[{"text": b["label"], "callback_data": b["id"]} for b in row] for row in buttons]
        payload["reply_markup"] = {"inline_keyboard": keyboard}
    return "sendMessage", payload


class TelegramSender:
    """Delivers stored messages to Telegram, mapping Telegram's errors to the delivery worker's."""

    # Not messages against Telegram's limits: a press's answer, also under its Bot API method in rows
    # stored before migration 014.
    unpaced = outgoing.UNPACED | {"answerCallbackQuery"}

    def __init__(self, api: BotApi, fetch_whatsapp: Any = None) -> None:
        self.fetch_whatsapp = fetch_whatsapp  # a file a person sent on WhatsApp (bot/whatsapp_send.whatsapp_fetch)
        self.api = api

    async def send(self, address: str, kind: str, body: dict[str, Any]) -> None:
        if kind == "say" and (forwarded := body.get("forwarded")) is not None and forwarded["channel"] == "whatsapp":
            if self.fetch_whatsapp is None:
                raise delivery.Permanent("a WhatsApp file, and WhatsApp is not set up")
            from bot.whatsapp_send import as_upload

            body = as_upload(body, await self.fetch_whatsapp(forwarded["ref"]))
        await self.call(*calls(address, kind, body))

    async def call(self, method: str, payload: dict[str, Any]) -> Any:
        if method in TEXT_METHODS:
            # Texts carry what people wrote (relayed notes, questions): a link in them is shown as
            # text, never fetched by Telegram for a preview card.
            payload = {**payload, "link_preview_options": {"is_disabled": True}}
        try:
            if "_upload" not in payload:
                return await self.api.call(method, payload)
            parameters = dict(payload)
            upload = parameters.pop("_upload")
            files = {upload["field"]: (upload["filename"], base64.b64decode(upload["data"]))}
            return await self.api.call(method, parameters, files=files)
        except RetryAfter as exc:
            raise delivery.RetryAfter(exc.seconds) from None
        except (Forbidden, BadRequest, ChatMigrated, InvalidToken) as exc:
            raise delivery.Permanent(type(exc).__name__) from None
        except TelegramError as exc:  # NetworkError and TimedOut among them
            raise delivery.Transient(type(exc).__name__) from None
