"""Every shipped catalog is complete and correct (see bot/i18n_check.py for what is checked)."""

from pathlib import Path

import pytest

from bot.i18n_check import check_catalog, check_template
from locales import CATALOG_DIR, DOMAIN

ROOT = Path(__file__).parent.parent
POT = CATALOG_DIR / f"{DOMAIN}.pot"
CATALOGS = sorted(CATALOG_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def test_template_matches_the_code() -> None:
    assert check_template(ROOT, POT) == []


@pytest.mark.parametrize("po", CATALOGS, ids=lambda p: p.parent.parent.name)
def test_catalog_is_complete(po: Path) -> None:
    assert check_catalog(po, POT) == []


def test_required_languages_ship() -> None:
    shipped = {p.parent.parent.name for p in CATALOGS}
    assert {"nl", "tr", "ar"} <= shipped


def test_a_template_a_merge_left_without_msgstr_is_an_error(tmp_path: Path) -> None:
    """Two branches appending entries at once can interleave them; Babel would only warn."""
    broken = tmp_path / f"{DOMAIN}.pot"
    broken.write_text(
        'msgid "Status"\nmsgstr ""\n\nmsgid "Sent."\n#: flows/cases.py\n\nmsgid "Closed"\nmsgstr ""\n', "utf-8"
    )
    (problem,) = check_template(ROOT, broken)
    assert "missing msgstr for msgid 'Sent.'" in problem and "make extract" in problem
    po = tmp_path / "nl" / "LC_MESSAGES" / f"{DOMAIN}.po"
    po.parent.mkdir(parents=True)
    po.write_text(broken.read_text("utf-8"), "utf-8")
    (problem,) = check_catalog(po, POT)
    assert "missing msgstr for msgid 'Sent.'" in problem
