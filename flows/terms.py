"""The fixed words Wijkbrug stores and sends: a case's kind, status and actions, the sides of a
case, the themes of a question, and a coordinator's scope.

They are `StrEnum`s, so a stored value, a golden file and `str(value)` read exactly as the plain
strings did (`str(CaseStatus.REQUESTED) == "requested"`), while the code can no longer misspell
them. Each list is written here once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class CaseKind(StrEnum):
    HANDOVER = "handover"  # a warm handover: the parent's details go to the member, with consent
    CONSULT = "consult"  # advice about a situation, without naming the family


class CaseStatus(StrEnum):
    REQUESTED = "requested"  # waiting for the member's answer
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CONTACT_MADE = "contact_made"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"  # the parent's consent was withdrawn
    MEMBER_LEFT = "member_left"  # its member left Wijkbrug: back with the team's coordinator
    EXPIRED = "expired"  # no news for the retention period


class CaseAction(StrEnum):
    SHOW = "show"
    NOTE = "note"  # a question or an answer to relay to the other side
    ACCEPT = "accept"
    DECLINE = "decline"
    CONTACT_MADE = "contact_made"
    CLOSE = "close"
    WITHDRAW = "withdraw"  # asks to confirm
    WITHDRAW_YES = "withdraw_yes"
    NEXT = "next"  # ask someone else about the same question


class Side(StrEnum):
    """Who is pressing, as the case sees them."""

    VOLUNTEER = "volunteer"
    MEMBER = "member"
    OTHER = "other"


class Theme(StrEnum):
    """What a question is about (flows/intake.py has their labels, in this order)."""

    UPBRINGING = "upbringing"
    SCHOOL = "school"
    HEALTH = "health"
    MONEY = "money"
    HOUSING = "housing"
    LANGUAGE = "language"
    SAFETY = "safety"
    OTHER = "other"


@dataclass(frozen=True)
class Scope:
    """What a coordinator sees and is alerted for: an organisation (`org:<id>`) or a wijkteam
    (`team:<id>`). `str(scope)` is the stored form; `Scope.parse` reads it back."""

    kind: Literal["org", "team"]
    key: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.key}"

    @classmethod
    def org(cls, key: str) -> Scope:
        return cls("org", key)

    @classmethod
    def team(cls, key: str) -> Scope:
        return cls("team", key)

    @classmethod
    def parse(cls, text: str) -> Scope:
        kind, sep, key = text.partition(":")
        if not sep or not key:
            raise ValueError(f"not a scope: {text!r}")
        if kind == "org":
            return cls("org", key)
        if kind == "team":
            return cls("team", key)
        raise ValueError(f"not a scope: {text!r}")
