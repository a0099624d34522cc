"""A user's conversation state: a pydantic model that round-trips through JSON."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Step(StrEnum):
    DANGER = "danger"
    THEME = "theme"
    AGE = "age"
    PARENT_LANGUAGE = "parent_language"
    POSTCODE = "postcode"
    TEXT = "text"
    REVIEW = "review"
    CHANGE = "change"  # which answer to change, from the review
    LANGUAGE = "language"  # the /language menu, over whatever step was open


class Draft(BaseModel):
    """A parent's question while it is being logged; nothing of it is stored as a question yet."""

    model_config = ConfigDict(frozen=True)

    urgent: bool | None = None
    theme: str | None = None
    age_group: str | None = None
    parent_language: str | None = None  # a language code, or "other:<what the volunteer typed>"
    pc4: str | None = None
    text: str | None = None


class Conversation(BaseModel):
    """`token` changes with every prompt that has buttons, so a press from an older prompt
    can be told apart and answered "expired". `resume` is the step to return to after a detour
    (the /language menu, or changing one answer from the review)."""

    model_config = ConfigDict(frozen=True)

    step: Step | None = None
    draft: Draft | None = None
    token: int = 0
    resume: Step | None = None
