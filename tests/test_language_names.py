"""The typed-language table (bot/data/language_names.tsv) is what Babel's CLDR data gives."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot import language_names


def test_the_table_file_is_what_babel_gives_now() -> None:
    # Regenerate with `python -m bot.language_names` after a Babel upgrade or a change of NAME_FIXES.
    assert language_names.read() == language_names.build()


def test_every_shipped_language_s_name_of_each_button_language_is_recognised() -> None:
    from babel import Locale

    from bot.i18n import language_name
    from flows.intake import PARENT_LANGUAGES

    for reader in language_names.NAMED_IN:
        for code in PARENT_LANGUAGES:
            assert language_names.lookup(language_name(code, reader)) == code, (reader, code)
            assert language_names.lookup(language_name(code, reader).upper()) == code, (reader, code)
        own = Locale.parse(reader).languages[reader]
        assert language_names.lookup(own) == reader


def test_the_aliases_name_no_other_language_in_cldr() -> None:
    from_babel = language_names.build(aliases=False)
    for alias, code in language_names.ALIASES.items():
        assert from_babel.get(language_names.normalise(alias), code) == code, alias


def test_looking_a_name_up_loads_no_babel_data_and_keeps_no_table() -> None:
    check = (
        "import babel.localedata as l, gc; from bot import language_names as n; "
        "assert n.lookup('Koerdisch') == 'ku' and n.lookup('12') is None; "
        "assert not getattr(l, '_cache', {}), list(l._cache); "
        "assert not [o for o in gc.get_objects() if isinstance(o, "
        "dict) and len(o) > 1000 and 'turks' in o]; print('ok')"
    )
    done = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, cwd=Path(__file__).parent.parent
    )
    assert done.stdout.strip() == "ok", done.stderr
