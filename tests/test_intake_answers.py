"""Answers the intake takes apart from button presses: typed ages (and, below, typed languages)."""

from __future__ import annotations

import re

import pytest

from bot.i18n import Catalogs
from flows import intake
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
    [("0", "0-4"), ("3", "0-4"), ("4", "4-12"), ("11 jaar", "4-12"), ("12", "12-18"), ("١٧", "12-18"), ("18", "18-23"), ("23", "18-23")],
)
def test_a_typed_age_picks_its_group(typed: str, group: str) -> None:
    answer = intake.STEPS[intake.Step.AGE].take_text(Draft(), typed)
    assert answer.draft is not None and answer.draft.age_group == group


@pytest.mark.parametrize("typed", ["24", "130", "-3", "four", "3 or 4", ""])
def test_other_ages_are_answered_and_change_nothing(typed: str, catalogs: Catalogs) -> None:
    answer = intake.STEPS[intake.Step.AGE].take_text(Draft(), typed)
    assert answer.draft is None and answer.refusal
    assert catalogs.render(answer.refusal, "nl") != catalogs.render(answer.refusal, "en")  # translated
