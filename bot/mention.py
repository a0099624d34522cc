"""A person the reader can open a chat with in one tap, as Telegram shows it: their name after the
text, linked with `tg://user?id=<chat id>` (a mention; Telegram links it where the person's privacy
settings allow, and shows plain text otherwise). Other channels get the name as text."""

from __future__ import annotations

from typing import Any


def _utf16(text: str) -> int:
    """Telegram counts entity offsets in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def add(text: str, name: str, chat_id: str, channel: str) -> tuple[str, list[dict[str, Any]]]:
    """The text with the person's name appended, and the entities that make it a link."""
    label = name.strip() or "…"
    before = f"{text}\n\n👤 "
    if channel != "telegram":
        return before + label, []
    return before + label, [{"type": "text_link", "offset": _utf16(before), "length": _utf16(label), "url": f"tg://user?id={chat_id}"}]
