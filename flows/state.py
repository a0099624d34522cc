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
    PICK_WIJK = "pick_wijk"  # a saved question's postcode is unknown: which wijk?
    BROWSE = "browse"  # /contacts: which wijk to show
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


class Saved(BaseModel):
    """What the steps after saving need to know of the question just saved."""

    model_config = ConfigDict(frozen=True)

    code: str
    theme: str
    parent_language: str
    urgent: bool


class Conversation(BaseModel):
    """`token` changes with every prompt that has buttons, so a press from an older prompt
    can be told apart and answered "expired". `resume` is the step to return to after a detour
    (the /language menu, or changing one answer from the review)."""

    model_config = ConfigDict(frozen=True)

    step: Step | None = None
    draft: Draft | None = None
    saved: Saved | None = None
    token: int = 0
    resume: Step | None = None
