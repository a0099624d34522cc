"""Checks that keep every shipped catalog complete (`wijkbrug i18n check` and tests/test_catalogs.py).

A problem is reported as `file:line: what is wrong`. The checks: the template (.pot) matches
the strings in the code; every catalog has every string, none empty or fuzzy, none left in
English; placeholders match the source; plural entries have every form the language needs;
the catalog compiles.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po

from locales import CATALOG_DIR, DOMAIN

KEYWORDS = {"t": None, "tn": (1, 2), "tp": ((1, "c"), 2)}
METHOD_MAP = [("flows/**.py", "python"), ("bot/**.py", "python")]
PLACEHOLDER = re.compile(r"(?<!\{)\{([a-zA-Z_][a-zA-Z0-9_]*)\}(?!\})")
WORD = re.compile(r"[^\W\d_]{2,}")
Key = tuple[str, str | None]  # (msgid, context)


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def extracted(root: Path) -> dict[Key, str | None]:
    """Every translatable string in the code: (msgid, context) -> plural msgid or None."""
    found: dict[Key, str | None] = {}
    for _, _, message, _, context in extract_from_dir(str(root), METHOD_MAP, keywords=KEYWORDS):
        if isinstance(message, tuple):
            found[(message[0], context)] = message[1]
        else:
            found[(message, context)] = None
    return found


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        # Strict: an entry that a merge left without its msgstr is an error, not a warning.
        return read_po(handle, locale=locale, domain=DOMAIN, abort_invalid=True)


def _key(message) -> Key:
    msgid = message.id[0] if isinstance(message.id, tuple) else message.id
    return (msgid, message.context)


def check_template(root: Path, pot: Path) -> list[str]:
    if not pot.exists():
        return [f"{pot}: missing; run `make extract`"]
    in_code = extracted(root)
    try:
        _read(pot)
    except PoFileError as exc:
        return [f"{pot}: {exc}; run `make extract`"]
    in_pot = {_key(m): (m.id[1] if isinstance(m.id, tuple) else None) for m in _read(pot) if m.id}
    problems = [f"{pot}: lacks {k[0]!r} (found in the code); run `make extract`" for k in in_code if k not in in_pot]
    problems += [f"{pot}: has {k[0]!r}, no longer in the code; run `make extract`" for k in in_pot if k not in in_code]
    problems += [
        f"{pot}: plural of {k[0]!r} differs from the code; run `make extract`"
        for k in in_code
        if k in in_pot and in_code[k] != in_pot[k]
    ]
    return problems


def check_catalog(po: Path, pot: Path) -> list[str]:
    language = po.parent.parent.name
    try:
        catalog = _read(po, language)
    except PoFileError as exc:
        return [f"{po}: {exc}"]
    template = {_key(m): m for m in _read(pot) if m.id}
    problems: list[str] = []
    seen = set()
    for message in catalog:
        if not message.id:
            continue
        key = _key(message)
        seen.add(key)
        where = f"{po}:{message.lineno}"
        if key not in template:
            problems.append(f"{where}: {key[0]!r} is not in the template any more; run `make update-catalogs`")
            continue
        if message.fuzzy:
            problems.append(f"{where}: {key[0]!r} is marked fuzzy; check the translation and remove the mark")
        sources = list(message.id) if isinstance(message.id, tuple) else [message.id]
        wanted = set().union(*(placeholders(s) for s in sources))
        forms = list(message.string) if isinstance(message.string, tuple) else [message.string]
        if isinstance(message.id, tuple) and len(forms) != catalog.num_plurals:
            problems.append(
                f"{where}: {key[0]!r} has {len(forms)} plural forms; {language} needs {catalog.num_plurals}"
            )
        for index, form in enumerate(forms):
            if not form or not form.strip():
                which = f" (plural form {index})" if isinstance(message.id, tuple) else ""
                problems.append(f"{where}: {key[0]!r} is not translated{which}")
                continue
            got = placeholders(form)
            exact = not isinstance(message.id, tuple)
            if (exact and got != wanted) or (not exact and not got <= wanted):
                problems.append(
                    f"{where}: placeholders {sorted(got)} differ from the source's {sorted(wanted)} in {key[0]!r}"
                )
            if language != "en" and form == sources[0] and len(WORD.findall(PLACEHOLDER.sub("", form))) > 1:
                problems.append(f"{where}: {key[0]!r} is still in English")
    for key in template:
        if key not in seen:
            problems.append(f"{po}: lacks {key[0]!r}; run `make update-catalogs` and translate it")
    try:
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
    except Exception as exc:  # noqa: BLE001 - any failure to compile is the finding
        problems.append(f"{po}: does not compile: {exc}")
    return problems


def check_all(root: Path, directory: Path = CATALOG_DIR) -> list[str]:
    pot = directory / f"{DOMAIN}.pot"
    problems = check_template(root, pot)
    for po in sorted(directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        problems += check_catalog(po, pot)
    return problems


def review_list(directory: Path = CATALOG_DIR) -> list[str]:
    """`language  file:line  why  msgid` for every entry marked `# Review:` by a translator."""
    lines = []
    for po in sorted(directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        for message in _read(po, po.parent.parent.name):
            reasons = [c.removeprefix("Review:").strip() for c in message.user_comments if c.startswith("Review")]
            if message.id and reasons:
                msgid = message.id[0] if isinstance(message.id, tuple) else message.id
                short = msgid if len(msgid) <= 60 else msgid[:57] + "..."
                where = f"{po.relative_to(directory.parent)}:{message.lineno}"
                lines.append(f"{po.parent.parent.name}\t{where}\t{'; '.join(reasons)}\t{short!r}")
    return lines


WHATSAPP_TITLE = 20  # a reply button's title on WhatsApp (bot/whatsapp_render.py shortens longer ones with "…")
_SENTENCE = re.compile(r"[.?!:;…]\s*$")


def long_labels(directory: Path = CATALOG_DIR, limit: int = WHATSAPP_TITLE) -> list[str]:
    """Labels that fit a WhatsApp button in English (a short entry, not a sentence: one line, no
    closing punctuation, no placeholder, at most `limit` characters) but not in a translation:
    `file:line: ... is N characters`. They still work (the renderer shortens them visibly, with an
    ellipsis); a translator can choose a shorter word."""
    found = []
    for po in sorted(directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        for message in _read(po):
            if not message.id or isinstance(message.id, tuple) or message.pluralizable:
                continue
            source = message.id
            if "\n" in source or _SENTENCE.search(source) or placeholders(source) or len(source) > limit:
                continue
            text = message.string
            if isinstance(text, str) and len(text) > limit:
                where = f"{po.relative_to(directory.parent)}:{message.lineno}"
                found.append(f"{where}: {text!r} is {len(text)} characters; WhatsApp buttons show {limit}")
    return found
