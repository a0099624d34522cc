"""A case (a handover or a consult) as the flows see it: the stored case with the names the
directory and the accounts give it, and the question it is about (decrypted by the runner)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from flows.terms import CaseKind, CaseStatus


class Parent(BaseModel):
    model_config = ConfigDict(frozen=True)
    first_name: str
    phone: str
    call_time: str | None = None


class Case(BaseModel):
    """A case as the flows see it, with the question it is about (decrypted by the runner)."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: CaseKind
    status: CaseStatus
    version: int
    question_code: str | None
    theme: str
    age_group: str
    parent_language: str
    wijk: str | None
    wijk_name: str | None
    urgent: bool
    question_text: str | None
    volunteer_id: int | None
    volunteer_name: str
    org_id: str
    org_name: str
    contact_id: str
    contact_name: str
    contact_phone: str = ""
    member_id: int | None
    team_id: str
    team_name: str
    team_address: str = ""
    way: str | None
    escalated: bool = False
    parent: Parent | None = None
    attachment_media: str | None = None
    attachment_file: str | None = None
    opened_at: datetime
    question_language: str | None = None  # the language the question's text is in (unknown for old rows)
    short_text: str | None = None  # the question in short, in a language the member reads
    short_language: str | None = None
    consent_contact: str | None = None  # whom the parent's consent for this case names (None: no consent)


class AskedQuestion(BaseModel):
    """The saved question a request is about, as stored (the runner reads it for the step that
    needs it: flows.sending.question_needed). `text` is None once retention erased it."""

    model_config = ConfigDict(frozen=True)

    code: str
    theme: str = "other"
    age_group: str = ""
    parent_language: str = ""
    wijk: str | None = None
    urgent: bool = False
    text: str | None = None
    text_language: str | None = None  # the language `text` is in (unknown for old rows)
