"""Rendering per recipient: Babel's plurals, numbers, dates and names; right-to-left done right."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from babel import Locale, localedata
from babel.messages.pofile import read_po, write_po

from bot.i18n import FSI, LRI, OWN_NAMES, PDI, RTL_LANGUAGES, Catalogs, is_rtl, language_name
from bot.i18n_check import check_catalog
from flows import intake
from flows.model import Role
from flows.session import COMMANDS
from flows.text import Day, Percent, lang, ltr, plain, t, tn, when
from locales import CATALOG_DIR, DOMAIN


def test_the_nine_languages_ship_with_english_as_the_source(catalogs: Catalogs) -> None:
    assert set(catalogs.languages) == {"nl", "en", "tr", "ar", "pl", "uk", "ti", "so", "fa"}
    assert catalogs.languages[0] == "nl"  # the default comes first in the menu


@pytest.mark.parametrize(
    ("code", "own_name"),
    [
        ("tr", "Türkçe"), ("ar", "العربية"), ("pl", "Polski"), ("uk", "Українська"), ("ti", "ትግርኛ"), ("so", "Soomaali"),
        ("fa", "فارسی"), ("nl", "Nederlands"),
    ],
)
def test_languages_are_listed_by_their_own_names_from_babel(catalogs: Catalogs, code: str, own_name: str) -> None:
    assert catalogs.render(plain(lang(code, own=True)), "en") == own_name


@pytest.mark.parametrize(
    ("client", "expected"),
    [("tr", "tr"), ("en-GB", "en"), ("pt-BR", "nl"), ("uk", "uk"), (None, "nl"), ("", "nl"), ("AR", "ar")],
)
def test_the_phone_language_is_used_when_we_ship_it(catalogs: Catalogs, client: str | None, expected: str) -> None:
    assert catalogs.pick(client) == expected


def test_rtl_messages_isolate_postcodes_codes_commands_and_latin_names(catalogs: Catalogs) -> None:
    for language in ("ar", "fa"):
        saved = catalogs.render(
            t("Saved. The question code is {code}; use it when you talk about this question.", code=ltr("Q-7K2M")),
            language,
        )
        assert f"{LRI}Q-7K2M{PDI}" in saved
        bad = catalogs.render(intake.STEPS[intake.Step.POSTCODE].prompt(), language)
        assert f"{LRI}3561{PDI}" in bad
        welcome = catalogs.render(t("Welcome to Wijkbrug, {name}!", name="Fatima"), language)
        assert f"{FSI}Fatima{PDI}" in welcome
        again = catalogs.render(t("Send /new to start again."), language)
        assert f"{LRI}/new{PDI}" in again
        danger = catalogs.render(intake.danger_messages()[0], language)
        assert f"{LRI}112{PDI}" in danger and f"{LRI}0800-2000{PDI}" in danger


def test_ltr_messages_stay_clean_but_isolate_right_to_left_values(catalogs: Catalogs) -> None:
    assert catalogs.render(t("Welcome to Wijkbrug, {name}!", name="Fatima"), "nl") == "Welkom bij Wijkbrug, Fatima!"
    assert (
        catalogs.render(t("Welcome to Wijkbrug, {name}!", name="فاطمة"), "nl")
        == f"Welkom bij Wijkbrug, {FSI}فاطمة{PDI}!"
    )
    assert LRI not in catalogs.render(t("Send /new to start again."), "nl")


def test_numbers_follow_the_reader_s_locale(catalogs: Catalogs) -> None:
    prompt = intake.STEPS[intake.Step.TEXT].prompt()
    assert "1.000" in catalogs.render(prompt, "nl")
    assert "1,000" in catalogs.render(prompt, "en")
    assert catalogs.render(plain(Percent(share=0.256)), "nl") == "26%"


@pytest.mark.parametrize(
    ("language", "counts"),
    [
        ("ar", [1, 2, 3, 11]),  # six plural forms; these four always read differently
        ("pl", [1, 2, 5]),  # three
        ("uk", [1, 2, 5]),  # three
        ("nl", [1, 2]),
    ],
)
def test_plurals_use_each_language_s_cldr_rules(catalogs: Catalogs, language: str, counts: list[int]) -> None:
    rendered = [
        catalogs.render(tn("Your text has {n} character.", "Your text has {n} characters.", n), language)
        for n in counts
    ]
    words = [text.replace(str(n), "#") for text, n in zip(rendered, counts, strict=True)]
    assert len(set(words)) == len(counts), rendered  # every count takes its own form


def test_times_are_shown_in_amsterdam_time_across_the_clock_change(catalogs: Catalogs) -> None:
    before = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # 01:30 CET
    after = datetime(2026, 3, 29, 9, 30, tzinfo=UTC)  # 11:30 CEST
    assert catalogs.render(plain(when(before)), "nl") == "29 mrt 2026, 01:30"
    assert catalogs.render(plain(when(after)), "nl") == "29 mrt 2026, 11:30"
    assert catalogs.render(plain(when(after, "time")), "en") == "11:30\u202fAM"
    assert (
        catalogs.render(plain(when(datetime(2026, 11, 30, 9, tzinfo=UTC), "weekday")), "nl")
        == "maandag 30 november 2026"
    )
    assert catalogs.render(plain(Day(on=date(2026, 12, 25))), "tr") == "25 Aralık 2026"


def test_every_shipped_language_has_the_whole_volunteer_menu(catalogs: Catalogs) -> None:
    from flows.session import COMMAND_HELP

    for language in catalogs.languages:
        for name in COMMANDS[Role.VOLUNTEER]:
            shown = catalogs.render(COMMAND_HELP[name], language)
            assert shown and (language == "en" or shown != COMMAND_HELP[name].msgid)


def test_a_tenth_language_needs_only_a_catalog(tmp_path: Path) -> None:
    """`pybabel init -l de`, translate, done: the bot offers German, no code changes."""
    shutil.copytree(CATALOG_DIR, tmp_path / "locales", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    folder = tmp_path / "locales"
    with (folder / f"{DOMAIN}.pot").open("rb") as handle:
        template = read_po(handle)
    template.locale = "de"  # what `pybabel init` does
    for message in template:
        if message.id:
            # a stand-in translation that keeps the placeholders, as a translator would
            message.string = (
                tuple(f"DE {form}" for form in message.id) if isinstance(message.id, tuple) else f"DE {message.id}"
            )
    po = folder / "de" / "LC_MESSAGES" / f"{DOMAIN}.po"
    po.parent.mkdir(parents=True)
    with po.open("wb") as handle:
        write_po(handle, template)
    assert check_catalog(po, folder / f"{DOMAIN}.pot") == []
    catalogs = Catalogs(directory=folder)
    assert "de" in catalogs.languages and catalogs.pick("de-AT") == "de"
    assert catalogs.render(t("Please choose one of the buttons."), "de") == "DE Please choose one of the buttons."
    assert catalogs.render(plain(lang("de", own=True)), "en") == "Deutsch"


# bot/i18n.py keeps right-to-left and the shipped languages' own names in small tables, so that
# start-up loads no Babel locale data for them; these tests hold the tables to Babel.

SHIPPED = ("nl", "en", "tr", "ar", "pl", "uk", "ti", "so", "fa")


@pytest.mark.parametrize("code", SHIPPED)
def test_right_to_left_agrees_with_babel_for_every_shipped_language(code: str) -> None:
    assert is_rtl(code) == (Locale.parse(code).text_direction == "rtl")


@pytest.mark.parametrize("code", sorted(RTL_LANGUAGES & set(localedata.locale_identifiers())))
def test_every_language_in_the_right_to_left_set_is_right_to_left_in_babel(code: str) -> None:
    assert Locale.parse(code).text_direction == "rtl"


def test_right_to_left_agrees_with_babel_for_every_locale_babel_knows() -> None:
    """All 1,100-odd locales (`ug`, `sd_Deva`, `uz_Arab_AF`, …), in a child process: their data
    would stay in this one's memory (some 200 MB)."""
    check = (
        "from babel import Locale, localedata\n"
        "from bot.i18n import is_rtl\n"
        "print([c for c in localedata.locale_identifiers() if is_rtl(c) != (Locale.parse(c).text_direction == 'rtl')])"
    )
    done = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True, cwd=Path(__file__).parent.parent
    )
    assert done.stdout.strip() == "[]"


def test_own_names_agree_with_babel_for_every_shipped_language() -> None:
    assert set(OWN_NAMES) == set(SHIPPED)
    for code, name in OWN_NAMES.items():
        own = Locale.parse(code)
        written = own.languages.get(code) or own.get_display_name(code)
        assert name == written, code  # as CLDR writes it mid-sentence (lowercase in pl and uk)
        assert name.casefold() == own.get_display_name(code).casefold(), code


def test_a_language_outside_the_tables_still_gets_its_name_and_direction_from_babel() -> None:
    assert "he" not in OWN_NAMES and language_name("he", "he") == "עברית" and is_rtl("he_IL")
    assert language_name("de", "de") == "Deutsch" and not is_rtl("de")
    assert language_name("fa", "nl") == "Perzisch"  # in another language: Babel, as before


def test_babel_s_global_table_is_kept_by_the_entry_and_gives_what_babel_s_own_would() -> None:
    import pickle

    import babel.core

    with open(Path(babel.core.__file__).parent / "global.dat", "rb") as handle:
        table = pickle.load(handle)
    catalogs = Catalogs()
    for code in SHIPPED:  # what a message does: numbers, dates, times, names
        catalogs.render(t("{n} on {day}", n=1234, day=Day(on=date(2026, 3, 2))), code)
        catalogs.render(t("{at}", at=when(datetime(2026, 3, 29, 1, 30, tzinfo=UTC))), code)
        language_name("fa_AF", code)
    stand_in = babel.core._global_data
    assert type(stand_in).__name__ == "_BabelGlobals"
    assert set(stand_in) < set(table), sorted(stand_in)  # only what was asked for
    for key in table:
        assert babel.core.get_global(key) == table[key], key
    assert babel.core.get_global("no such entry") == {}


PROBE = """
import json, sys
from datetime import date, datetime, timezone
from babel.dates import format_date, format_time
from babel.numbers import format_decimal, format_percent
from flows.intake import PARENT_LANGUAGES
{setup}
at = datetime(2026, 3, 29, 0, 30, tzinfo=timezone.utc)
out = {{}}
for code in sys.argv[1:]:
    where = get(code)
    out[code] = [
        format_decimal(1234567, locale=where), format_decimal(-3, locale=where), format_percent(0.257, locale=where),
        format_date(date(2026, 3, 2), format="long", locale=where),
        format_date(date(2026, 3, 2), format="full", locale=where),
        format_date(date(2026, 12, 31), format="medium", locale=where), format_time(at, format="short", locale=where),
        str(where.datetime_formats["medium"]), where.text_direction, where.plural_form(2),
        [where.languages.get(c) or get(c).get_display_name(code) for c in PARENT_LANGUAGES],
    ]
print(json.dumps(out, ensure_ascii=False))
"""


def test_the_locale_data_the_bot_lets_go_changes_no_output() -> None:
    """Every kind of value the bot formats, in every shipped language, from Babel's whole locale
    data (a fresh process) and from the data the bot keeps: the same."""
    root = Path(__file__).parent.parent
    whole = PROBE.format(setup="from babel import Locale\nget = Locale.parse")
    kept = PROBE.format(setup="from bot.i18n import locale as get")
    outputs = [
        subprocess.run(
            [sys.executable, "-c", probe, *SHIPPED], capture_output=True, text=True, check=True, cwd=root
        ).stdout
        for probe in (whole, kept)
    ]
    assert outputs[0] == outputs[1]
    assert "1.234.567" in outputs[0] and "Perzisch" in outputs[0]  # nl grouping; a language named in Dutch


@pytest.mark.parametrize("language", ["ar", "fa"])
def test_a_command_named_by_a_placeholder_stays_whole_and_tappable_in_right_to_left_text(
    catalogs, language: str
) -> None:
    """/{command} became "/⁨summary⁩": Telegram links a command only when it is one run of
    characters; the isolate goes around the slash and the name together."""
    text = catalogs.render(
        t(
            "Which week? Send /{command}, /{command} last, or a week like {example}.",
            command="summary",
            example=ltr("2026-W47"),
        ),
        language,
    )
    assert f"{LRI}/summary{PDI}" in text and f"/{FSI}" not in text and "/summary" in text


def test_lists_are_joined_as_the_reader_s_language_joins_them(catalogs) -> None:
    from flows.text import listing

    names = listing([plain(lang("tr")), plain(lang("ar")), plain(lang("so"))])
    assert catalogs.render(names, "nl") == "Turks, Arabisch en Somalisch"
    assert "،" in catalogs.render(names, "fa") and "," not in catalogs.render(names, "fa")
    assert "," not in catalogs.render(names, "ar")  # Arabic joins with و, never with a Latin comma


def test_language_names_are_capitalised_where_they_begin_a_line_and_not_mid_sentence(catalogs: Catalogs) -> None:
    from flows.text import lang, plain, t

    for reader, turkish in (("uk", "турецька"), ("pl", "turecki")):
        mid = catalogs.render(
            t("From now on I will write to you in this language: {language}.", language=lang(reader)), reader
        )
        assert language_name(reader, reader) in mid and language_name(reader, reader).islower(), mid
        assert catalogs.render(t("speaks {language}", language=lang("tr")), reader).endswith(turkish)
        assert catalogs.render(plain(lang("tr")), reader) == turkish.capitalize()  # a button or a line of its own
        assert catalogs.render(plain(lang(reader, own=True)), reader)[0].isupper()  # the language menu
    assert catalogs.render(t("speaks {language}", language=lang("tr")), "nl").endswith("Turks")  # Dutch capitalises


def test_somali_names_languages_in_somali_and_every_language_tells_persian_from_dari() -> None:
    from difflib import SequenceMatcher
    from os.path import commonprefix

    def stems(a: str, b: str) -> tuple[str, str]:
        """The two names without what they share at the start and the end (an article, an ending)."""
        start = len(commonprefix([a, b]))
        end = len(commonprefix([a[start:][::-1], b[start:][::-1]]))
        return a[start : len(a) - end], b[start : len(b) - end]

    english = Locale.parse("en").languages
    for reader in SHIPPED:
        persian, dari = stems(language_name("fa", reader).casefold(), language_name("fa_AF", reader).casefold())
        assert persian[:1] != dari[:1] and SequenceMatcher(None, persian, dari).ratio() < 0.6, (reader, persian, dari)
    # The parents' languages (the buttons) are named in Somali ("Tigrinya" and "Dari" are Somali too).
    for code in ("nl", "ar", "tr", "zgh", "so", "fa", "pl", "uk", "en"):
        assert language_name(code, "so") != english[code], code
