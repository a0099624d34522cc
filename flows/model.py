"""The values that cross the boundary of flows/: who is talking, what they sent, what to do.

Inputs come from a channel adapter; a `Transition` goes back to the runner, which stores the
new state, carries out the effects and queues the messages in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from flows.case_view import AskedQuestion, Case
from flows.directory import Directory
from flows.state import Conversation, Saved
from flows.summary import Report
from flows.terms import CaseKind, CaseStatus, Scope
from flows.text import Text


class Role(StrEnum):
    VOLUNTEER = "volunteer"
    MEMBER = "member"
    COORDINATOR = "coordinator"


class User(BaseModel):
    """A registered user as the flows see them (no channel details)."""

    model_config = ConfigDict(frozen=True)

    id: int
    role: Role
    org_id: str | None = None
    language: str
    name: str = ""  # how colleagues know them (their Telegram first name); never logged
    contact_id: str | None = None  # a wijkteam member's entry in the directory


# ---- inputs -------------------------------------------------------------------------------


class Command(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: Literal["command"] = "command"
    name: str
    args: str = ""


class Choice(BaseModel):
    """A button press: `data` is the callback data the button was sent with."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["choice"] = "choice"
    data: str


class Said(BaseModel):
    """Free text the user typed."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["said"] = "said"
    text: str


class Attachment(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: Literal["attachment"] = "attachment"
    media: str  # photo, document, voice, sticker, ...
    file_id: str = ""  # the channel's reference to the file, for forwarding
    # What the channel says of the file (a document's name and type; the size in bytes), so the
    # flows can judge it before it is forwarded (flows/files.py). Never stored.
    file_name: str = ""
    mime_type: str = ""
    size: int | None = None


Input = Annotated[Command | Choice | Said | Attachment, Field(discriminator="kind")]


class NotLoaded(LookupError):
    """A step looked at what flows/needs.py said it would not need: a bug there, said at once."""


class Unread(Mapping[str, int]):
    """In place of a mapping the loader did not read because flows/needs.py said the step does not
    need it: any look at it raises, where an empty mapping would quietly mean "nobody"."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __getitem__(self, key: str) -> int:
        raise NotLoaded(self.name)

    def __iter__(self) -> Any:
        raise NotLoaded(self.name)

    def __len__(self) -> int:
        raise NotLoaded(self.name)


class Env(BaseModel):
    """What a step may consult besides state and input; passed in so flows stay pure."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    now: datetime
    today: date  # the date in the bot's time zone
    new_code: str  # a fresh question code, used only if the step saves a question
    languages: tuple[str, ...]  # the interface languages shipped, in menu order
    directory: Directory = Directory()
    open_handovers: Mapping[str, int] = {}  # contact id -> handovers waiting for them
    reachable: Mapping[str, int] = {}  # contact id -> the member account that receives their requests
    new_case_id: str = ""  # a fresh case id, used only if the step opens a case
    timezone: str = "Europe/Amsterdam"
    holidays: frozenset[date] = frozenset()  # public holidays, for working hours
    reminder_hours: float = 16  # working hours before a reminder; twice that before escalation
    case: Case | None = None  # the case the update is about (a case button, or a detour about one)
    my_cases: tuple[Case, ...] = ()  # this user's cases, for /inbox, /cases and /away
    question: AskedQuestion | None = None  # the saved question being sent to someone (flows.sending.question_needed)
    my_questions: tuple[Saved, ...] = ()  # a volunteer's saved questions without a request, for /cases
    report: Report | None = None  # for /summary and /export (None: the week asked is not valid)
    # Who can receive a safety alert now: "org:<id>" and "team:<id>" of every scope with an active
    # coordinator (flows/safety.py says only what is true with it).
    alertable: frozenset[str] = frozenset()
    export_rows: tuple[dict[str, Any], ...] = ()  # for /export
    # A typed language name -> its CLDR code, or None if it names no language (bot/language_names.py);
    # without it, a typed name is never taken.
    language_of: Callable[[str], str | None] | None = None


# ---- outputs ------------------------------------------------------------------------------


class Button(BaseModel):
    model_config = ConfigDict(frozen=True)
    label: Text
    data: str


class ToUser(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: Literal["user"] = "user"
    user_id: int


class ToCoordinators(BaseModel):
    """Every coordinator of an organisation, or of a wijkteam; held until one exists."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["coordinators"] = "coordinators"
    org_id: str | None = None
    team_id: str | None = None

    @property
    def scope(self) -> str:
        return str(Scope.team(self.team_id) if self.team_id else Scope.org(self.org_id or ""))


Recipient = Annotated[ToUser | ToCoordinators, Field(discriminator="kind")]


class Upload(BaseModel):
    """A file the bot makes for each recipient, in their language: `chart` or `csv` of a report
    (the flows.summary.Report, as a dict)."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["chart", "csv"]
    report: dict[str, Any]
    rows: tuple[dict[str, Any], ...] = ()  # for csv: the pseudonymous rows
    excel: bool = False  # for csv: ";" between columns and local times, for a Dutch Excel (bot/export.py)


class Notice(BaseModel):
    """What a channel that only notifies (e-mail, issue 16) may say of a message outside the app,
    with no personal data: its kind, the case's or question's code, and who asks (the
    organisation's name). Chat channels ignore it."""

    model_config = ConfigDict(frozen=True)
    # handover, consult, reminder, message (from the other side of a case), escalation, alert
    # (a child may be in danger), summary; a channel shows any other kind as plain news.
    kind: str
    code: str = ""
    org: str = ""


class Message(BaseModel):
    model_config = ConfigDict(frozen=True)

    to: Recipient
    # Rendered and joined by blank lines; a tuple inside is a block of lines joined by line breaks.
    parts: tuple[Text | tuple[Text, ...], ...]
    buttons: tuple[tuple[Button, ...], ...] = ()
    attachment: Attachment | None = None  # a file sent along (the parts become its caption)
    # A user the recipient can open a chat with in one tap (an alert's volunteer): the channel adds
    # their name as a link after the text (on Telegram, a mention), where it can.
    reach: int | None = None
    upload: Upload | None = None  # a file made for the recipient (a chart, a CSV export)
    about: int | None = None  # the user an alert names: held, it is erased with them
    notice: Notice | None = None  # for a channel that only notifies: what kind of news this is


class SetLanguage(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: Literal["set_language"] = "set_language"
    user_id: int
    language: str


class LogQuestion(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: Literal["log_question"] = "log_question"
    code: str
    volunteer_id: int
    org_id: str
    urgent: bool
    theme: str
    age_group: str
    parent_language: str
    pc4: str
    wijk: str | None = None
    text: str
    created_at: datetime
    text_language: str | None = None  # the language `text` is in: the volunteer's, when they logged it


class SetQuestionWijk(BaseModel):
    """The volunteer chose the wijk of a question whose postcode the directory does not know."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["set_question_wijk"] = "set_question_wijk"
    code: str
    org_id: str
    wijk: str


class SetAway(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: Literal["set_away"] = "set_away"
    contact_id: str
    until: date | None  # None: back


class RecordConsent(BaseModel):
    """The parent agreed, as the volunteer confirmed, to the wording shown in `language`, to pass
    their details to the person it names (`contact_id`), for the request `case_id` to them."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["record_consent"] = "record_consent"
    question_code: str
    org_id: str
    volunteer_id: int
    contact_id: str
    case_id: str
    wording_version: str
    language: str
    at: datetime


class SaveParent(BaseModel):
    """The parent's details for a handover; stored encrypted."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["save_parent"] = "save_parent"
    question_code: str
    org_id: str
    first_name: str
    phone: str
    call_time: str | None


class AddAttachment(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: Literal["add_attachment"] = "add_attachment"
    question_code: str
    org_id: str
    media: str
    file_id: str
    at: datetime


class OpenCase(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: Literal["open_case"] = "open_case"
    case_id: str
    case_kind: CaseKind
    question_code: str | None
    org_id: str
    volunteer_id: int
    contact_id: str
    member_id: int | None
    team_id: str
    way: str | None
    previous_id: str | None
    at: datetime
    short_text: str | None = None  # the question in short, in a language the member reads (sealed)
    short_language: str | None = None


class ChangeCase(BaseModel):
    """A case moves on; `version` is the one the change was decided on (a stale one is refused)."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["change_case"] = "change_case"
    case_id: str
    version: int
    status: CaseStatus
    at: datetime
    reason: str | None = None
    reason_text: str | None = None
    escalated: bool = False
    answered: bool = False  # a consult's first answer (counted in the summaries)

    @property
    def event(self) -> str | None:
        """What the summaries count of this change."""
        if self.answered:
            return "answered"
        return None if self.escalated else self.status


class EraseParent(BaseModel):
    """Consent withdrawn: the parent's data and attachments go at once."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["erase_parent"] = "erase_parent"
    question_code: str
    org_id: str
    at: datetime


class Schedule(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: Literal["schedule"] = "schedule"
    timer: Literal["remind", "escalate"]
    case_id: str
    due_at: datetime


class Unschedule(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: Literal["unschedule"] = "unschedule"
    case_id: str


Effect = Annotated[
    SetLanguage
    | LogQuestion
    | SetQuestionWijk
    | SetAway
    | RecordConsent
    | SaveParent
    | AddAttachment
    | OpenCase
    | ChangeCase
    | EraseParent
    | Schedule
    | Unschedule,
    Field(discriminator="kind"),
]


class Transition(BaseModel):
    """The result of one step. `chosen` labels the pressed button under its prompt;
    `notice` is the short toast a button press is answered with."""

    model_config = ConfigDict(frozen=True)

    state: Conversation
    messages: tuple[Message, ...] = ()
    effects: tuple[Effect, ...] = ()
    chosen: Text | None = None
    notice: Text | None = None
