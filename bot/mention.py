"""A person the reader can open a chat with in one tap, as Telegram shows it: their name after the
text as a mention of their account (a `text_mention` entity, the Bot API's form of a
`tg://user?id=<id>` link: a `text_link` to that URL is shown by clients as a plain link, not as
the person). In a private chat the chat id is the user's id. Telegram shows the name unlinked
where the person's privacy settings do not allow a mention. Other channels get the name as text."""

from __future__ import annotations

from typing import Any


def _utf16(text: str) -> int:
    """Telegram counts entity offsets in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def add(text: str, name: str, chat_id: str, channel: str) -> tuple[str, list[dict[str, Any]]]:
    """The text with the person's name appended, and the entities that make it a mention."""
    label = name.strip() or "…"
    before = f"{text}\n\n👤 "
    if channel != "telegram" or not chat_id.isdigit():
        return before + label, []
    user = {"id": int(chat_id), "is_bot": False, "first_name": label}
    return before + label, [{"type": "text_mention", "offset": _utf16(before), "length": _utf16(label), "user": user}]

