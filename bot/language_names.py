"""A typed language name ("Turks", "Turkish", "TÜRKÇE", "العربية", "Koerdisch") -> its CLDR code.

Theory of operation: the names come from Babel's CLDR data — every language's name in each
shipped language (nl, en, tr, ar, pl, uk, ti, so, fa), every language's name in itself where
Babel has a locale for it, the names bot/i18n.py puts in place of CLDR's (`NAME_FIXES`) and a
few names people use that CLDR does not (`ALIASES`). A name is compared after `normalise`:
case, accents, Arabic/Persian letter forms, hyphens and spacing do not count.

The table is generated into `bot/data/language_names.tsv` (`python -m bot.language_names`), and
tests/test_language_names.py checks the file against Babel, so the bot needs no locale data for
it. Typed names are rare (the common languages are buttons), so a lookup reads the file and keeps
nothing: the bot holds no table in memory (docs/performance.md).
"""

from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

TABLE = Path(__file__).parent / "data" / "language_names.tsv"
NAMED_IN = ("nl", "en", "tr", "ar", "pl", "uk", "ti", "so", "fa")  # the shipped languages
# Codes that name no language of their own: undetermined, no linguistic content, several, uncoded.
NOT_LANGUAGES = frozenset({"und", "zxx", "mul", "mis"})
# Regional variants CLDR names are counted as their language (British English is English), except
# Dari, which Wijkbrug tells apart from Persian (flows/intake.PARENT_LANGUAGES).
KEPT_VARIANTS = frozenset({"fa_AF"})
# Names in common use that CLDR does not give (checked: none of them is a CLDR name of another code).
ALIASES = {
    "Farsi": "fa",  # what Persian speakers, and many Dutch speakers, call Persian
    "Tamazight": "zgh", "Amazigh": "zgh", "Berber": "zgh", "Berbers": "zgh",  # Moroccan Berber
    "Tarifit": "rif", "Riffijns": "rif",  # the Berber of the Rif
    "Sranan": "srn",
}  # fmt: skip
_LETTER_FORMS = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "ـ": None})


def normalise(name: str) -> str:
    """A name as it is compared: case-folded, without accents (ç -> c, ï -> i, Arabic short vowels),
    one Arabic/Persian form of yeh and kaf, hyphens as spaces, single spaces."""
    folded = unicodedata.normalize("NFKD", name.casefold())
    bare = "".join(ch for ch in folded if not unicodedata.combining(ch)).translate(_LETTER_FORMS)
    return " ".join(bare.replace("-", " ").replace("‑", " ").split())


def build(aliases: bool = True) -> dict[str, str]:
    """Every name -> code, from Babel (loads the CLDR data of every language: for the generator and
    the test only). A name CLDR gives two codes keeps the one named in a shipped language, then the
    first code."""
    from babel import Locale, localedata

    from bot.i18n import NAME_FIXES

    found: dict[str, set[tuple[int, str]]] = {}

    def add(name: str, code: str, rank: int) -> None:
        if code in NOT_LANGUAGES:
            return
        code = code if code in KEPT_VARIANTS else code.split("_")[0]
        key = normalise(name)
        if key:
            found.setdefault(key, set()).add((rank, code))

    for language in NAMED_IN:
        for code, name in Locale.parse(language).languages.items():
            add(name, code, 0)
        for code, name in NAME_FIXES.get(language, {}).items():
            add(name, code, 0)
    for code in sorted(i for i in localedata.locale_identifiers() if "_" not in i):
        own = Locale.parse(code).languages.get(code)
        if own:
            add(own, code, 1)
    for name, code in ALIASES.items() if aliases else ():
        add(name, code, 0)
    return {key: min(codes)[1] for key, codes in sorted(found.items())}


def write(table: dict[str, str], path: Path = TABLE) -> None:
    lines = [f"{name}\t{code}\n" for name, code in sorted(table.items())]
    path.write_text("".join(lines), "utf-8")


def read(path: Path = TABLE) -> dict[str, str]:
    with path.open(encoding="utf-8") as handle:
        return dict(line.rstrip("\n").split("\t") for line in handle)


def lookup(typed: str, path: Path = TABLE) -> str | None:
    """The CLDR code of the language named `typed` (in any shipped language, or in itself), or None."""
    key = normalise(typed)
    if not key or any(ch.isdigit() for ch in key):
        return None
    wanted = f"{key}\t"
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.startswith(wanted):
                return line[len(wanted) :].rstrip("\n")
    return None


if __name__ == "__main__":  # python -m bot.language_names: write the table anew from Babel
    write(build())
    print(f"{TABLE}: {len(read())} names", file=sys.stderr)
