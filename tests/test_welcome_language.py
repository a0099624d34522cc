"""The welcome says "I write in your phone's language" only when that is true."""

from __future__ import annotations

import pytest

from bot.i18n import Catalogs
from flows import access
from flows.directory import Directory
from flows.model import Role, User


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return Catalogs()


def _welcome(catalogs: Catalogs, phone: str | None) -> str:
    user = User(id=1, role=Role.VOLUNTEER, org_id="lantaarn", language=catalogs.pick(phone), name="Amina")
    return catalogs.render_parts(access.welcome(user, Directory(), phone).parts, user.language)


def test_a_phone_in_a_language_we_write_hears_that_we_use_it(catalogs: Catalogs) -> None:
    assert "taal van je telefoon" in _welcome(catalogs, "nl")
    assert "telefonunuzun dilinde" in _welcome(catalogs, "tr-TR")


def test_a_phone_in_german_is_told_which_language_we_write_in_and_how_to_change_it(catalogs: Catalogs) -> None:
    text = _welcome(catalogs, "de")
    assert "De taal van je telefoon (Duits) is geen taal waarin ik schrijf" in text
    assert "in deze taal: Nederlands" in text and "/language" in text


def test_without_a_phone_language_we_say_which_language_we_write_in(catalogs: Catalogs) -> None:
    text = _welcome(catalogs, None)
    assert "taal van je telefoon" not in text and "Ik schrijf je in deze taal: Nederlands" in text
