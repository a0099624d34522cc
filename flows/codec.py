"""Callback data, the one codec: every button's data is made here and read back here.

Two kinds of button exist. A step's option carries the token of the prompt it belongs to and the
option's value, `<token>|<value>` (a press whose token is not the current one is answered
"expired"). A case's button carries the case, the action and the case's version,
`c:<case>:<action>:<version>`; it is not tied to a conversation (flows/case_rules.py). Data that
is neither (forged or garbled) decodes to None and is answered as expired. `encode_*` refuse
what would not read back as itself (a bug, not user input).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flows.model import Button
from flows.text import Text

_STEP = re.compile(r"(0|[1-9][0-9]{0,17})\|(.+)", re.DOTALL)
_CASE = re.compile(r"c:([A-Za-z0-9-]{1,20}):([a-z_]{1,20}):(0|[1-9][0-9]{0,8})")


@dataclass(frozen=True)
class StepPress:
    """A press on one of a step's options."""

    token: int
    value: str


@dataclass(frozen=True)
class CasePress:
    """A press on a case's button; `action` is as sent (flows.case_rules judges it)."""

    case_id: str
    action: str
    version: int


def encode_step(token: int, value: str) -> str:
    data = f"{token}|{value}"
    if decode(data) != StepPress(token, value):
        raise ValueError("a step's option value that cannot be read back")
    return data


def encode_case(case_id: str, action: str, version: int) -> str:
    data = f"c:{case_id}:{action}:{version}"
    if decode(data) != CasePress(case_id, action, version):
        raise ValueError("a case button that cannot be read back")
    return data


def decode(data: str) -> StepPress | CasePress | None:
    """What a button's data says, or None if it is no button of ours. Only ASCII digits make a
    number (`str.isdigit` also takes "²", which `int` refuses), without leading zeros, so one
    press has one spelling."""
    if (case := _CASE.fullmatch(data)) is not None:
        return CasePress(case.group(1), case.group(2), int(case.group(3)))
    if (step := _STEP.fullmatch(data)) is not None:
        return StepPress(int(step.group(1)), step.group(2))
    return None


def step_buttons(options: list[tuple[str, Text]], per_row: int, token: int) -> tuple[tuple[Button, ...], ...]:
    """A prompt's options as rows of buttons, each carrying the prompt's token."""
    rows: list[tuple[Button, ...]] = []
    row: list[Button] = []
    for value, label in options:
        row.append(Button(label=label, data=encode_step(token, value)))
        if len(row) == per_row:
            rows.append(tuple(row))
            row = []
    if row:
        rows.append(tuple(row))
    return tuple(rows)
