"""`wijkbrug whatsapp templates`: the message template WhatsApp needs outside the 24-hour window, in every
shipped language Meta offers templates in, as JSON ready to submit (WhatsApp Manager, or the Graph API's
POST /{WABA id}/message_templates, one object at a time)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bot import whatsapp_render as render
from bot.settings import Settings


def definitions(settings: Settings) -> tuple[list[dict[str, object]], list[str]]:
    """The templates, and the shipped languages Meta has no template language for (their readers get
    the organisation's default language)."""
    catalogs = settings.catalogs()
    made: dict[str, dict[str, object]] = {}
    missing = []
    for language in catalogs.languages:
        code = render.TEMPLATE_LANGUAGES.get(language)
        if code is None:
            missing.append(language)
            continue
        made[code] = {
            "name": render.TEMPLATE_NAME, "language": code, "category": "UTILITY",
            "components": [{"type": "BODY", "text": catalogs.render(render.TEMPLATE_TEXT, language)}],
        }
    return list(made.values()), missing


def templates(settings: Settings, out: str) -> int:
    made, missing = definitions(settings)
    text = json.dumps(made, ensure_ascii=False, indent=2) + "\n"
    if out == "-":
        sys.stdout.write(text)
    else:
        Path(out).write_text(text, "utf-8")
        print(f"{len(made)} templates written to {out}", file=sys.stderr)
    if missing:
        print(
            f"note: Meta offers no template language for {', '.join(missing)}; those readers get the template in "
            f"the default language ({settings.default_locale})", file=sys.stderr,
        )
    return 0
