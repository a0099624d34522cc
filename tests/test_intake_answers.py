"""Answers the intake takes apart from button presses: typed ages (and, below, typed languages)."""

from __future__ import annotations

import re

import pytest

from bot.i18n import Catalogs
from flows import intake
from flows.spec import Refusal
from flows.state import Draft


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return Catalogs()


def test_every_age_up_to_23_fits_exactly_one_age_button(catalogs: Catalogs) -> None:
    shown = {}
    for key, label in intake.AGE_GROUPS.items():
        low, high = map(int, re.findall(r"\d+", catalogs.render(label, "en")))
        shown[key] = range(low, high + 1)
    for years in range(24):
        fitting = [key for key, ages in shown.items() if years in ages]
        assert len(fitting) == 1, (years, fitting)


@pytest.mark.parametrize(
    ("typed", "group"),
    [
        ("0", "0-4"), ("3", "0-4"), ("4", "4-12"), ("11 jaar", "4-12"), ("12", "12-18"), ("١٧", "12-18"),
        ("18", "18-23"), ("23", "18-23"),
    ],
)
def test_a_typed_age_picks_its_group(typed: str, group: str) -> None:
    answer = intake.STEPS[intake.Step.AGE].take_text(Draft(), typed, ENV)
    assert isinstance(answer, Draft) and answer.age_group == group


@pytest.mark.parametrize("typed", ["24", "130", "-3", "four", "3 or 4", ""])
def test_other_ages_are_answered_and_change_nothing(typed: str, catalogs: Catalogs) -> None:
    answer = intake.STEPS[intake.Step.AGE].take_text(Draft(), typed, ENV)
    assert isinstance(answer, Refusal) and answer.reasons
    assert catalogs.render(answer.reasons, "nl") != catalogs.render(answer.reasons, "en")  # translated


# ---- typed languages ----------------------------------------------------------------------

from datetime import UTC, datetime  # noqa: E402

from bot.language_names import lookup  # noqa: E402
from flows.model import Env  # noqa: E402

ENV = Env(
    now=datetime(2026, 11, 30, tzinfo=UTC), today=datetime(2026, 11, 30).date(), new_code="Q-TEST",
    languages=("nl", "en"), language_of=lookup,
)


@pytest.mark.parametrize(
    ("typed", "code"),
    [("Turks", "tr"), ("Turkish", "tr"), ("TÜRKÇE", "tr"), ("türkçe", "tr"), ("turkce", "tr"), ("Turki", "tr"),
     ("Koerdisch", "ku"), ("Kurdish", "ku"), ("Kürtçe", "ku"), ("العربية", "ar"), ("українська", "uk"),
     ("Pasjtoe", "ps"), ("Dari", "fa_AF"), ("Farsi", "fa"), ("  perski ", "fa"), ("ትግርኛ", "ti")],
)  # fmt: skip
def test_a_typed_language_name_is_stored_as_its_code(typed: str, code: str) -> None:
    answer = intake.STEPS[intake.Step.PARENT_LANGUAGE].take_text(Draft(), typed, ENV)
    assert isinstance(answer, Draft) and answer.parent_language == code


@pytest.mark.parametrize("typed", ["12", "Fatma Yılmaz", "Emre", "Turkse vader", "x", "Bananas"])
def test_what_names_no_language_is_asked_again_in_the_reader_s_language(typed: str, catalogs: Catalogs) -> None:
    answer = intake.STEPS[intake.Step.PARENT_LANGUAGE].take_text(Draft(), typed, ENV)
    assert isinstance(answer, Refusal)
    assert catalogs.render(answer.reasons, "nl").startswith("Ik ken geen taal")


def test_a_question_logged_with_a_typed_name_before_never_shows_that_text(catalogs: Catalogs) -> None:
    shown = catalogs.render(intake.language_label("other:Fatma Yılmaz"), "nl")  # as stored before (invented name)
    assert "Fatma" not in shown and shown == "Een andere taal"
