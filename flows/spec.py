"""What every step of a conversation is made of: one `StepSpec` per `Step` (flows/steps.py holds them).

Theory of operation: a step has a prompt (its text, its options as (value, label) pairs, and how
many buttons go in a row) and three takers, one per kind of answer: a button's value, typed text,
an attachment. A taker returns what the answer leads to (a `Transition`) or a `Refusal`, the one
way a step says no: the reasons, in the reader's language; the state stays as it was. A refused
button value (forged, or from a menu whose options changed) is answered "expired"; refused typing
or a refused file gets the reasons, and the step is asked again (a step that wants typing gets the
reasons only: they say what to type). A detour (the /language menu, /contacts, a case's question or
decline reason) returns afterwards to the step that was open before it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from flows.model import Attachment, Env, Transition, User
from flows.refusal import Refusal as Refusal
from flows.state import Conversation
from flows.text import Text, t

Part = Text | tuple[Text, ...]


class Prompt(NamedTuple):
    parts: tuple[Part, ...]
    options: list[tuple[str, Text]]  # (value, label); empty: the step takes typing
    per_row: int = 1


Taken = Transition | Refusal
ChoiceTaker = Callable[[Conversation, User, Env, str], Taken]
TextTaker = Callable[[Conversation, User, Env, str], Taken]
AttachmentTaker = Callable[[Conversation, User, Env, Attachment], Taken]


def buttons_only(state: Conversation, user: User, env: Env, text: str) -> Taken:
    return Refusal(t("Please choose one of the buttons."))


def no_files(state: Conversation, user: User, env: Env, attachment: Attachment) -> Taken:
    return Refusal(t("I can only read typed text and button presses here."))


@dataclass(frozen=True)
class StepSpec:
    prompt: Callable[[Conversation, User, Env], Prompt]
    take_choice: ChoiceTaker
    take_text: TextTaker = field(default=buttons_only)
    take_attachment: AttachmentTaker = field(default=no_files)
    typed: bool = False  # answered by typing (or a file): a refusal is answered with its reasons only
    detour: bool = False  # afterwards, the step that was open before it is asked again
    menu: bool = False  # typing or a command instead of a press goes on where the person was
