"""`Refusal`: the one way a step (or a parser of one answer) says no, and why."""

from __future__ import annotations

from flows.text import Text


class Refusal:
    """An answer a step does not take, and why (one or more sentences); nothing changes."""

    __slots__ = ("reasons",)

    def __init__(self, *reasons: Text) -> None:
        self.reasons: tuple[Text, ...] = reasons

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Refusal) and other.reasons == self.reasons

    def __hash__(self) -> int:
        return hash(self.reasons)

    def __repr__(self) -> str:
        return f"Refusal{self.reasons!r}"
