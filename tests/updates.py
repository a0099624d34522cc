"""Telegram-shaped updates for tests (the people in them are invented)."""

from __future__ import annotations

import itertools
import json
from typing import Any

_ids = itertools.count(1)


def message(chat_id: int, text: str, first_name: str = "Amina", language_code: str | None = "nl") -> dict[str, Any]:
    person: dict[str, Any] = {"id": chat_id, "is_bot": False, "first_name": first_name}
    if language_code:
        person["language_code"] = language_code
    return {
        "update_id": next(_ids),
        "message": {
            "message_id": next(_ids), "from": person, "chat": {"id": chat_id, "type": "private"}, "date": 0,
            "text": text,
        },
    }


def press(
    chat_id: int, message_id: int, data: str, text: str = "prompt", language_code: str | None = "nl"
) -> dict[str, Any]:
    person: dict[str, Any] = {"id": chat_id, "is_bot": False, "first_name": "Amina", "language_code": language_code}
    return {
        "update_id": next(_ids),
        "callback_query": {
            "id": f"cb{next(_ids)}",
            "from": person,
            "message": {"message_id": message_id, "chat": {"id": chat_id, "type": "private"}, "date": 0, "text": text},
            "data": data,
            "chat_instance": "x",
        },
    }


def payload(update: dict[str, Any]) -> str:
    return json.dumps(update)
