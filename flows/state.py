"""A user's conversation state: a pydantic model that round-trips through JSON."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from flows.terms import CaseKind


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
    SUGGESTED = "suggested"  # the best contacts are shown: hand over to one, or ask for advice
    SHORT_VERSION = "short_version"  # the question in short, in a language the chosen member reads
    WAY = "way"  # how the family will meet the professional
    CONSENT = "consent"  # the parent's consent, shown in their language
    PARENT_NAME = "parent_name"
    PARENT_PHONE = "parent_phone"
    CALL_TIME = "call_time"
    ATTACH = "attach"  # a photo or document, or none
    SEND = "send"  # the request summed up: send or cancel
    BROWSE = "browse"  # /contacts: which wijk to show
    LANGUAGE = "language"  # the /language menu, over whatever step was open
    PICK_QUESTION = "pick_question"  # /cases: a saved question without a request, to ask someone about
    # Detours about a case (the case id is in `case_id`):
    DECLINE_REASON = "decline_reason"
    DECLINE_TEXT = "decline_text"
    NOTE_TEXT = "note_text"  # a question or answer to relay to the other side


class Draft(BaseModel):
    """A parent's question while it is being logged; nothing of it is stored as a question yet."""

    model_config = ConfigDict(frozen=True)

    urgent: bool | None = None
    theme: str | None = None
    age_group: str | None = None
    parent_language: str | None = None  # a CLDR language code (a typed name is stored as its code)
    pc4: str | None = None
    text: str | None = None
    # Who was alerted that a child is in danger ("org:<id>", "team:<id>"), and when (flows/safety.py).
    alerted: tuple[str, ...] = ()
    alert_at: datetime | None = None


class Saved(BaseModel):
    """What the steps after saving need to know of the question just saved."""

    model_config = ConfigDict(frozen=True)

    code: str
    theme: str
    parent_language: str
    urgent: bool
    wijk: str | None = None
    text_language: str | None = None  # the language the question's text is in (the volunteer's)


class Request(BaseModel):
    """A warm handover (or consult) being put together by a volunteer."""

    model_config = ConfigDict(frozen=True)

    contact_id: str
    kind: CaseKind = CaseKind.HANDOVER
    way: str | None = None
    consent_language: str | None = None
    first_name: str | None = None
    phone: str | None = None
    call_time: str | None = None
    attachment_media: str | None = None
    attachment_file: str | None = None
    attachment_done: bool = False
    previous_id: str | None = None  # the declined case this one follows
    has_details: bool = False  # the parent's details were given for an earlier request (consent is asked again)
    excluded: tuple[str, ...] = ()  # contacts who declined this question already
    short_text: str | None = None  # the question in short, for a member who does not read its language
    short_language: str | None = None  # the language the short version is (to be) written in
    short_skipped: bool = False  # the volunteer chose to send the question as it is


class Conversation(BaseModel):
    """`token` changes with every prompt that has buttons, so a press from an older prompt
    can be told apart and answered "expired". `resume` is the step to return to after a detour
    (the /language menu, or changing one answer from the review)."""

    model_config = ConfigDict(frozen=True)

    step: Step | None = None
    draft: Draft | None = None
    saved: Saved | None = None
    request: Request | None = None
    case_id: str | None = None  # the case a detour is about
    token: int = 0
    resume: Step | None = None

    @property
    def personal(self) -> bool:
        """Holds something of a parent: a question being logged, one just saved, or a request
        being put together (the parent's name and number)."""
        return self.draft is not None or self.saved is not None or self.request is not None

    def forgotten(self) -> Conversation:
        """What is left once erased or past retention: nothing but a newer token, so that the
        buttons of older prompts stay expired."""
        return Conversation(token=self.token + 1)
