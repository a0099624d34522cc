"""What one step needs to consult, decided before it runs (pure): the loader (bot/loading.py) reads
exactly that into `Env`, and nothing else, so an update that needs little costs little."""

from __future__ import annotations

from dataclasses import dataclass

from flows import cases, safety, sending
from flows.model import Choice, Command, Input, Role, User
from flows.state import Conversation, Step


@dataclass(frozen=True)
class Needs:
    case_id: str | None = None  # the case the step acts on (a case's button, or the open detour's)
    case_press: tuple[str, str, int] | None = None  # (case, action, version) of a press on a case's button
    my_cases: bool = False  # the person's own cases (/inbox, /cases, /away)
    my_questions: bool = False  # a volunteer's saved questions without a request (/cases)
    alertable: bool = False  # which scopes have a coordinator to alert now (the safety steps)
    question: str | None = None  # the saved question the step quotes (sending a request)
    report: str | None = None  # a coordinator's /summary or /export: the command's name
    fresh_code: bool = False  # a new question code: a press at the review may save the question
    fresh_case: bool = False  # a new case id: a press at the last request step may open a case
    # Who is reachable and how many handovers wait for each contact: read for every step that may
    # match people, i.e. all but the intake's questions before its review, the bulk of the updates.
    matching: bool = True


# The intake's questions before the review and the choice of an answer to change: their prompts
# and answers never match people (matching starts when the review saves the question).
NO_MATCHING = frozenset(
    {Step.DANGER, Step.THEME, Step.AGE, Step.PARENT_LANGUAGE, Step.POSTCODE, Step.TEXT, Step.CHANGE}
)


def needs(state: Conversation, user: User, event: Input) -> Needs:
    command = event.name if isinstance(event, Command) else None
    press = cases.parse_button(event.data) if isinstance(event, Choice) else None
    picking = Step.PICK_QUESTION in (state.step, state.resume) or command == "cases"
    return Needs(
        case_id=press[0] if press else state.case_id,
        case_press=press,
        my_cases=command in ("inbox", "cases", "away"),
        my_questions=picking and user.role is Role.VOLUNTEER and bool(user.org_id),
        alertable=user.role is Role.VOLUNTEER and state.step in safety.STEPS,
        question=sending.question_needed(state),
        report=command if command in ("summary", "export") and user.role is Role.COORDINATOR else None,
        fresh_code=isinstance(event, Choice) and press is None and state.step is Step.REVIEW,
        fresh_case=isinstance(event, Choice) and press is None and state.step is Step.SEND,
        # A command or a case's button may lead anywhere; a detour (/language) returns to `resume`.
        matching=command is not None or press is not None or state.step not in NO_MATCHING
        or (state.resume is not None and state.resume not in NO_MATCHING),
    )
