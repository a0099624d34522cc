"""`wijkbrug i18n check|review`: the translation catalogs."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.i18n import Catalogs


def i18n(what: str) -> int:
    from bot import i18n_check

    if what == "review":
        for line in i18n_check.review_list():
            print(line)
        return 0
    root = Path(__file__).resolve().parent.parent
    problems = i18n_check.check_all(root)
    for problem in problems:
        print(problem, file=sys.stderr)
    # Not errors: WhatsApp shortens these with "…" (bot/whatsapp_render.py); translators can do better.
    for label in i18n_check.long_labels():
        print(f"warning: {label}", file=sys.stderr)
    if problems:
        return 1
    print(f"all catalogs complete ({', '.join(Catalogs().languages)})")
    return 0
