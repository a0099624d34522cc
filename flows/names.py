"""A person's name as their chat app gives it, made safe to show inside other people's messages."""

from __future__ import annotations

import unicodedata

NAME_LIMIT = 64
# Zero-width (non-)joiners are part of how Persian, Indic and other names (and emoji) are written.
_JOINERS = frozenset("\u200c\u200d")


def clean_name(raw: str) -> str:
    """Drop format characters (bidi embeddings, overrides and isolates, marks, zero-width spaces)
    and control characters, which could scramble the message a name is shown in; line breaks
    and other separators become one space. Letters of any script and emoji stay."""
    kept = []
    for ch in raw:
        category = unicodedata.category(ch)
        if ch in _JOINERS:
            kept.append(ch)
        elif category in ("Cc", "Zl", "Zp") or ch.isspace():
            kept.append(" ")
        elif category not in ("Cf", "Cs", "Co", "Cn"):
            kept.append(ch)
    return " ".join("".join(kept).split())[:NAME_LIMIT].strip()
