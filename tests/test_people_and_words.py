"""Small promises about what people type: a question needs words, a display name cannot scramble
the messages it is shown in, and a second invite is answered. (All names are invented.)"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.runner import Runner
from db import invites, users
from db.connection import transaction
from flows.intake import STEPS
from flows.model import Role
from flows.names import clean_name
from flows.spec import Refusal
from flows.state import Draft, Step
from tests import updates
from tests.driver import feed, said
from tests.test_intake_answers import ENV
from tests.conftest import BACKENDS

RLO, PDF, LRI, PDI = "\u202e", "\u202c", "\u2066", "\u2069"


@pytest.mark.parametrize("typed", ["😀😀😀", "🙏 ❤️ 👍", "\u200b\u2060\u200b", "?!…", "\u3164\u3164", "  \u200e  "])
def test_a_question_of_only_emoji_signs_or_invisible_characters_is_refused(typed: str) -> None:
    answer = STEPS[Step.TEXT].take_text(Draft(), typed, ENV)
    assert isinstance(answer, Refusal) and answer.reasons


@pytest.mark.parametrize("typed", ["Help met school 😀", "مدرسه؟", "ቤት ትምህርቲ", "٤ kinderen", "Школа", "میخواهم"])
def test_a_question_with_words_in_any_script_is_taken(typed: str) -> None:
    answer = STEPS[Step.TEXT].take_text(Draft(), typed, ENV)
    assert isinstance(answer, Draft) and answer.text == typed


def test_display_names_lose_bidi_and_other_format_controls_but_keep_letters_joiners_and_emoji() -> None:
    assert clean_name(f"Yusuf{RLO}tset{PDF}") == "Yusuftset"
    assert clean_name(f"{LRI}Amina{PDI}\u200b\u00ad") == "Amina"
    assert clean_name("Ali\nBaba\t\x07 ") == "Ali Baba"
    assert clean_name("مهر\u200cناز 🌸") == "مهر\u200cناز 🌸"  # the Persian zero-width non-joiner stays
    assert len(clean_name("x" * 200)) == 64


async def invite(runner: Runner, role: Role = Role.VOLUNTEER) -> str:
    async with transaction(runner.conn):
        made = await invites.create(
            runner.conn, role=role, org_id="lantaarn", now=runner.clock(), valid_for=timedelta(days=14)
        )
    return made.code


@pytest.fixture
def runner(conn, catalogs, clock) -> Runner:
    return Runner(conn, catalogs, clock, "telegram")


async def test_a_display_name_is_cleaned_when_the_account_is_made_and_when_it_is_shown(runner, conn) -> None:
    await feed(
        runner,
        updates.message(3101, f"/start {await invite(runner)}", first_name=f"Yusuf{RLO}tset", language_code="en"),
    )
    welcome = await said(runner)
    assert all(RLO not in text for text in welcome) and "Yusuftset" in welcome[0]
    yusuf = "(SELECT user_id FROM addresses WHERE address = '3101')"
    async with conn.execute(f"SELECT display_name FROM users WHERE id = {yusuf}") as cur:
        assert (await cur.fetchone())[0] == "Yusuftset"
    # A name stored before names were cleaned is cleaned where it is shown.
    await conn.execute(f"UPDATE users SET display_name = ? WHERE id = {yusuf}", (f"Yusuf{RLO}tset",))
    account = await users.by_chat(conn, "telegram", "3101")
    assert account is not None and account.display_name == "Yusuftset" and account.as_user().name == "Yusuftset"


async def test_a_registered_person_s_second_invite_is_answered_and_not_used(runner, conn) -> None:
    await feed(runner, updates.message(3102, f"/start {await invite(runner)}", language_code="en"))
    await said(runner)
    second = await invite(runner, Role.COORDINATOR)
    await feed(runner, updates.message(3102, f"/start {second}", language_code="en"))
    answer = "\n".join(await said(runner))
    assert "did not use this invite link" in answer and "registered as a volunteer" in answer
    account = await users.by_chat(conn, "telegram", "3102")
    assert account is not None and account.role is Role.VOLUNTEER  # unchanged
    assert await invites.find_usable(conn, second, runner.clock()) is not None  # still usable by the person meant
    await feed(runner, updates.message(3102, "/start", language_code="en"))  # plain /start: the menu, as before
    assert "did not use" not in "\n".join(await said(runner))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """This module's tests run on SQLite and on PostgreSQL (tests/conftest.py)."""
    return str(request.param)
