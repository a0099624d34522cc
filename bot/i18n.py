"""Rendering `flows.text.Text` in a recipient's language.

Catalogs are read from the .po files, each the first time a text is shown in its language
(compiled in memory, so a fresh checkout needs no build step). Numbers go through Babel in the
reader's locale. In right-to-left languages, left-to-right fragments (postcodes, codes, numbers)
are wrapped in Unicode isolates so the client does not scramble them; user-supplied text is
isolated by its own first strong character.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import re
from functools import cache
from gettext import GNUTranslations, NullTranslations
from pathlib import Path
from zoneinfo import ZoneInfo

import babel.core
import babel.localedata
from babel import Locale
from babel.dates import format_date, format_time
from babel.lists import format_list
from babel.numbers import format_decimal, format_percent

from flows.text import Day, Lang, Listing, Ltr, Moment, Percent, Text
from locales import CATALOG_DIR, DOMAIN, SOURCE_LANGUAGE

LRI, FSI, PDI = "\u2066", "\u2068", "\u2069"
# A command such as /new written inside a translation: kept left-to-right in RTL text.
COMMAND = re.compile(r"(?<![\w/])/[a-z_]+\b")
# A command whose name is a placeholder (`/{command}`): the isolate goes around the slash and the
# name together, never between them, so that Telegram still sees one tappable command.
COMMAND_PLACEHOLDER = re.compile(r"(?<![\w/])/\{(\w+)\}")


class _BabelGlobals(dict):
    """Babel's CLDR-wide table (`global.dat`), kept by the entry.

    Babel reads the whole table (2 MB in memory) the first time any locale's data is loaded, only
    to look up that locale's parent in its small `parent_exceptions` entry, and keeps all of it for
    good. This stands in for the table: an entry Babel asks for is read from the file (which is
    then let go) and kept, so the bot holds the few entries it uses. Babel reads the table only
    through `get_global`, which asks `_global_data.get(key, {})`; tests/test_i18n.py checks every
    entry against Babel's own."""

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        if key not in self:
            with open(Path(babel.core.__file__).parent / "global.dat", "rb") as handle:
                table = pickle.load(handle)
            if key not in table:
                return default
            self[key] = table[key]
        return self[key]


if getattr(babel.core, "_global_data", False) is None:  # not read yet (nothing has formatted anything)
    babel.core._global_data = _BabelGlobals()

# Which languages are written right to left, without loading Babel's locale data for every
# language at start-up (each costs about 1 MB). tests/test_i18n.py checks this against Babel for
# every locale Babel knows.
RTL_LANGUAGES = frozenset({
    "apc", "ar", "arc", "ary", "arz", "bal", "bgn", "bqi", "brh", "ckb", "dv", "fa", "glk", "he", "iw",
    "ks", "lrc", "mzn", "nqo", "ps", "rhg", "sd", "sdh", "skr", "syr", "trw", "ug", "ur", "yi",
})  # fmt: skip
# A script subtag decides on its own: `uz_Arab` is right to left, `sd_Deva` left to right.
RTL_SCRIPTS = frozenset({"Adlm", "Arab", "Hebr", "Nkoo", "Rohg", "Syrc", "Thaa"})
# Each shipped language's name in itself, as Babel writes it (lowercase in Polish and Ukrainian:
# see `Catalogs._render` for where a name is capitalised), so the language menu needs no locale
# data either; any other language falls back to Babel. tests/test_i18n.py checks these against Babel.
OWN_NAMES = {
    "ar": "العربية", "en": "English", "fa": "فارسی", "nl": "Nederlands", "pl": "polski", "so": "Soomaali",
    "ti": "ትግርኛ", "tr": "Türkçe", "uk": "українська",
}  # fmt: skip
# Language names where CLDR's do not serve a reader: Somali's CLDR data names Turkish in English
# ("Turkish") and writes Persian and Dari almost alike ("Faarisi", "Faarsi"). tests/test_i18n.py
# checks that Persian and Dari read clearly apart, and no name is left in English, in every shipped
# language; bot/language_names.py recognises these names when they are typed.
NAME_FIXES: dict[str, dict[str, str]] = {
    "so": {"tr": "Turki", "fa_AF": "Dari"},
}


# What the bot reads of a locale's CLDR data: formats and names for dates, times and numbers,
# language (and territory, script, variant) names, plural rules and text direction. Babel keeps
# a locale's whole data once it is loaded; the rest (units, currencies, time-zone names, …),
# two thirds of it or 0.7 MB a language, is let go. tests/test_i18n.py formats every kind of
# value in every shipped language with and without this, and compares.
LOCALE_DATA_USED = frozenset({
    "character_order", "date_formats", "list_patterns", "datetime_formats", "datetime_skeletons", "day_periods", "days",
    "decimal_formats", "default_numbering_system", "eras", "languages", "months", "number_symbols",
    "numbering_systems", "percent_formats", "periods", "plural_form", "quarters", "scripts", "territories",
    "time_formats", "variants", "week_data",
})  # fmt: skip


@cache
def locale(code: str) -> Locale:
    found = Locale.parse(code)
    found.plural_form  # noqa: B018 - loads its data (and its parents'), to be pruned now
    for data in getattr(babel.localedata, "_cache", {}).values():  # Babel's loaded locales
        for key in [key for key in data if key not in LOCALE_DATA_USED]:
            del data[key]
    return found


@cache
def is_rtl(code: str) -> bool:
    """Whether `code` (`fa`, `fa_AF`, `uz-Arab`) is written right to left."""
    primary, *rest = code.replace("-", "_").split("_")
    script = next((part.title() for part in rest if len(part) == 4 and part.isalpha()), None)
    return script in RTL_SCRIPTS if script else primary.lower() in RTL_LANGUAGES


def _has_rtl(value: str) -> bool:
    return any("\u0590" <= ch <= "\u08ff" or "\ufb1d" <= ch <= "\ufefc" for ch in value)


def shipped_languages(directory: Path = CATALOG_DIR, default: str = "nl") -> tuple[str, ...]:
    """The languages with a catalog, plus English; the default first, then by code."""
    found = {p.parent.parent.name for p in directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    found.add(SOURCE_LANGUAGE)
    return tuple(sorted(found, key=lambda code: (code != default, code)))


def compile_catalog(po_path: Path) -> GNUTranslations:
    from babel.messages.mofile import write_mo  # with the first catalog compiled, not at start-up
    from babel.messages.pofile import read_po

    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=po_path.parent.parent.name, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return GNUTranslations(buffer)


class Catalogs:
    """Every shipped language's translations, each compiled the first time a text is shown in it
    (about 15 ms a language; all eight at start-up took 0.1-0.2 s before the first getUpdates),
    then kept."""

    def __init__(self, directory: Path = CATALOG_DIR, default: str = "nl", timezone: str = "Europe/Amsterdam") -> None:
        self.directory = directory
        self.default = default
        self.timezone = ZoneInfo(timezone)
        self.languages = shipped_languages(directory, default)
        self._sources = {  # English, the source language, has no catalog
            code: directory / code / "LC_MESSAGES" / f"{DOMAIN}.po"
            for code in self.languages
            if code != SOURCE_LANGUAGE
        }
        self._translations: dict[str, NullTranslations] = {SOURCE_LANGUAGE: NullTranslations()}

    def _catalog(self, language: str) -> NullTranslations:
        """The language's translations (compiled now if not yet); the source language's for one not shipped."""
        found = self._translations.get(language)
        if found is None:
            if language not in self.languages:
                return self._translations[SOURCE_LANGUAGE]
            found = self._translations[language] = compile_catalog(self._sources[language])
        return found

    def copy(self) -> Catalogs:
        """The same catalogs, none compiled yet: for a one-off use in every language (the menus),
        whose catalogs are let go with the copy, so that only the languages people read stay."""
        return Catalogs(self.directory, self.default, self.timezone.key)

    def fingerprint(self) -> str:
        """A digest of what the catalogs would say: the languages and every catalog's source, read
        but not compiled (a few ms)."""
        digest = hashlib.sha256(repr((self.default, self.languages)).encode())
        for source in self._sources.values():
            digest.update(source.read_bytes())
        return digest.hexdigest()

    def pick(self, language_code: str | None) -> str:
        """A shipped language for a client's language code (`tr`, `en-GB`, `pt_BR`), else the default."""
        if language_code:
            code = language_code.replace("-", "_")
            for candidate in (code, code.split("_")[0].lower()):
                if candidate in self.languages:
                    return candidate
        return self.default

    def render(self, text: Text | tuple[Text, ...], language: str) -> str:
        if isinstance(text, tuple):
            return "\n".join(self.render(line, language) for line in text)
        return self._render(text, language)

    def render_parts(self, parts: tuple[Text | tuple[Text, ...], ...], language: str) -> str:
        return "\n\n".join(self.render(part, language) for part in parts)

    def _render(self, text: Text, language: str, leading: bool = True) -> str:
        """`leading`: the text begins a message, a line or a button, so a language name that begins
        it is capitalised (CLDR writes names lowercase in Polish and Ukrainian, as they are written
        mid-sentence)."""
        if text.language is not None:
            language = text.language if text.language in self.languages else language
        translations = self._catalog(language)
        if text.verbatim:
            pattern = text.msgid
        elif text.plural is not None:
            n = text.n or 0
            if text.context is not None:
                pattern = translations.npgettext(text.context, text.msgid, text.plural, n)
            else:
                pattern = translations.ngettext(text.msgid, text.plural, n)
        elif text.context is not None:
            pattern = translations.pgettext(text.context, text.msgid)
        else:
            pattern = translations.gettext(text.msgid)
        commands: set[str] = set()
        if not text.verbatim and is_rtl(language):
            pattern = COMMAND.sub(lambda found: f"{LRI}{found.group(0)}{PDI}", pattern)
            commands = set(COMMAND_PLACEHOLDER.findall(pattern))
            pattern = COMMAND_PLACEHOLDER.sub(lambda found: f"{LRI}/{{{found.group(1)}}}{PDI}", pattern)
        values = {
            name: value
            if name in commands and isinstance(value, str)
            else self._value(value, language, leading and _leads(pattern, name))
            for name, value in text.params.items()
        }
        try:
            return pattern.format_map(values)
        except (KeyError, IndexError, ValueError):
            # A catalog with a broken placeholder must not silence a message: fall back to English.
            return text.msgid.format_map(values) if not text.plural else text.plural.format_map(values)

    def _value(
        self,
        value: str | int | Ltr | Lang | Moment | Day | Percent | Listing | Text,
        language: str,
        leading: bool = False,
    ) -> str:
        rtl = is_rtl(language)
        if isinstance(value, Text):
            return self._render(value, language, leading)
        if isinstance(value, Listing):
            return format_list([self._render(item, language) for item in value.items], locale=locale(language))
        if isinstance(value, Moment | Day | Percent):
            shown = self._format(value, language)
            return f"{FSI}{shown}{PDI}" if rtl else shown
        if isinstance(value, Lang):
            name = language_name(value.code, value.code if value.own else language)
            return name[:1].upper() + name[1:] if leading and name != value.code else name
        if isinstance(value, Ltr):
            return f"{LRI}{value.value}{PDI}" if rtl else value.value
        if isinstance(value, int):
            return format_decimal(value, locale=locale(language))
        if rtl or _has_rtl(value):
            return f"{FSI}{value}{PDI}"
        return value


    def _format(self, value: Moment | Day | Percent, language: str) -> str:
        where = locale(language)
        if isinstance(value, Percent):
            return format_percent(value.share, locale=where)
        if isinstance(value, Day):
            return format_date(value.on, format="long", locale=where)
        at = value.at.astimezone(self.timezone)
        if value.style == "date":
            return format_date(at.date(), format="long", locale=where)
        if value.style == "time":
            return format_time(at, format="short", locale=where)
        if value.style == "weekday":
            return format_date(at.date(), format="full", locale=where)
        # The locale's own way of joining a date and a time, without seconds.
        joined = where.datetime_formats["medium"]
        pattern = joined if isinstance(joined, str) else joined.pattern
        return pattern.replace("'", "").format(
            format_time(at, format="short", locale=where), format_date(at.date(), format="medium", locale=where)
        )


def _leads(pattern: str, name: str) -> bool:
    """Whether the placeholder `name` begins `pattern` or one of its lines."""
    placeholder = "{" + name + "}"
    return pattern.startswith(placeholder) or f"\n{placeholder}" in pattern


def language_name(code: str, in_language: str) -> str:
    """A language's name as Babel writes it in `in_language` (with `NAME_FIXES`), cased as CLDR
    writes it mid-sentence; the code itself if no data names it."""
    if code == in_language and code in OWN_NAMES:
        return OWN_NAMES[code]
    fixed = NAME_FIXES.get(in_language, {}).get(code)
    if fixed:
        return fixed
    name = locale(in_language).languages.get(code)
    if not name:
        try:
            name = locale(code).get_display_name(in_language)
        except (ValueError, babel.core.UnknownLocaleError):  # a code Babel has no locale for
            name = None
    return name or locale(SOURCE_LANGUAGE).languages.get(code) or code
