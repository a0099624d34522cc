"""Conversation transcripts: golden files a domain expert can read, replayed against the flows.

A transcript file holds a header, then what the user does (lines starting with `>`); everything
else in the body is what Wijkbrug answered, written by this harness. A test replays the user's
lines and compares the whole file; run `WIJKBRUG_UPDATE_GOLDEN=1 pytest tests/test_transcripts.py`
to rewrite the answers, then read the diff.

Header (before the first `>`):
    # free comments saying what the transcript shows
    language: nl        the volunteer's language
    role: volunteer     volunteer | member | coordinator
    contact: c-west-1   a member's entry in the directory (the invented Utrecht sample)
    coordinators: team:bt-overvecht,org:kompas   who has a coordinator to alert (default: the
                        volunteer's organisation and every wijkteam; `none`: nobody)

What the user can do:
    > /new                    a command (or any text starting with /)
    > 3561 AB                 typed text
    > [No]                    press the button with this label on the newest message with buttons
    > [old: No]               press that button on an *older* message (a stale choice)
    > (photo)                 send an attachment
    > (text of 1001 characters)   type a long text
    > (only spaces)           type nothing but white space

What the answers look like:
    < text                    a message to the user; its further lines are indented
        [Yes] [No]            a row of buttons under it
    ✓ No                      the pressed button's prompt now shows the choice
    ! This choice has expired…   the short notice a button press is answered with
    @coordinators:lantaarn < …   a message to the organisation's (or a wijkteam's) coordinators
        👤 Amina (one tap)     the volunteer, linked so the coordinator can write to them in one tap
    = saved Q-TEST …          what was stored
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bot.directory_file import load, sample_path
from bot.i18n import Catalogs
from bot.language_names import lookup
from flows import session
from flows.directory import Directory
from flows.model import (
    Attachment,
    Choice,
    Command,
    Env,
    Input,
    LogQuestion,
    Message,
    Role,
    Said,
    SetAway,
    SetLanguage,
    SetQuestionWijk,
    ToCoordinators,
    User,
)
from flows.state import Conversation

NOW = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
CODE = "Q-TEST"
DIRECTORY = load(sample_path()).directory  # the invented Utrecht sample


@dataclass
class Keyboard:
    buttons: dict[str, str]  # rendered label -> callback data


@dataclass
class Replay:
    catalogs: Catalogs
    user: User
    state: Conversation = field(default_factory=Conversation)
    keyboards: list[Keyboard] = field(default_factory=list)
    out: list[str] = field(default_factory=list)
    directory: Directory = DIRECTORY
    alertable: frozenset[str] = frozenset()

    def _set_away(self, effect: SetAway) -> None:
        d = self.directory
        contacts = [c.model_copy(update={"away_until": effect.until}) if c.id == effect.contact_id else c for c in d.contacts]
        self.directory = Directory.of(d.organisations, d.wijken, d.teams, contacts, d.services)

    def do(self, line: str) -> None:
        event = self._input(line)
        if event is None:
            return
        env = Env(
            now=NOW, today=NOW.date(), new_code=CODE, languages=self.catalogs.languages, directory=self.directory,
            alertable=self.alertable, language_of=lookup,
        )
        # The state goes through JSON before every step, as it does through SQLite in the bot.
        state = Conversation.model_validate_json(self.state.model_dump_json())
        moved = session.step(state, self.user, event, env)
        if moved.notice is not None:
            self.out.append(f"! {self.catalogs.render(moved.notice, self.user.language)}")
        for effect in moved.effects:
            if isinstance(effect, SetLanguage):
                self.user = self.user.model_copy(update={"language": effect.language})
                self.out.append(f"= language: {effect.language}")
            elif isinstance(effect, LogQuestion):
                self.out.append(
                    f"= saved {effect.code}: urgent={'yes' if effect.urgent else 'no'} theme={effect.theme} "
                    f"age={effect.age_group} parent_language={effect.parent_language} pc4={effect.pc4} "
                    f"wijk={effect.wijk} text={len(effect.text)} characters"
                )
            elif isinstance(effect, SetQuestionWijk):
                self.out.append(f"= wijk of {effect.code}: {effect.wijk}")
            elif isinstance(effect, SetAway):
                self.out.append(f"= {effect.contact_id} away until {effect.until}")
                self._set_away(effect)
        if moved.chosen is not None:
            self.out.append(f"✓ {self.catalogs.render(moved.chosen, self.user.language)}")
        for message in moved.messages:
            self._show(message)
        self.state = moved.state

    def _input(self, line: str) -> Input | None:
        text = line[1:].strip() if line.startswith(">") else line
        if found := re.fullmatch(r"\[old: (.+)\]", text):
            for keyboard in reversed(self.keyboards[:-1]):
                if found.group(1) in keyboard.buttons:
                    return Choice(data=keyboard.buttons[found.group(1)])
            raise AssertionError(f"no older button labelled {found.group(1)!r}")
        if found := re.fullmatch(r"\[(.+)\]", text):
            if not self.keyboards or found.group(1) not in self.keyboards[-1].buttons:
                raise AssertionError(f"no button labelled {found.group(1)!r} on the newest message")
            return Choice(data=self.keyboards[-1].buttons[found.group(1)])
        if found := re.fullmatch(r"\(text of (\d+) characters\)", text):
            return Said(text="x" * int(found.group(1)))
        if text == "(only spaces)":
            return Said(text="   \t  ")
        if found := re.fullmatch(r"\((photo|document|voice|sticker)\)", text):
            return Attachment(media=found.group(1))
        if text.startswith("/"):
            head, _, args = text[1:].partition(" ")
            return Command(name=head, args=args)
        return Said(text=text)

    def _show(self, message: Message) -> None:
        language = self.user.language
        prefix = "<"
        if isinstance(message.to, ToCoordinators):
            prefix = f"@coordinators:{message.to.org_id or message.to.team_id} <"
            language = "nl"  # the coordinators in transcripts read Dutch
        text = self.catalogs.render_parts(message.parts, language)
        first, *rest = text.split("\n")
        self.out.append(f"{prefix} {first}")
        self.out.extend(f"  {line}".rstrip() for line in rest)
        labels: dict[str, str] = {}
        if message.buttons:
            for row in message.buttons:
                rendered = [self.catalogs.render(b.label, language) for b in row]
                labels.update({label: b.data for label, b in zip(rendered, row)})
                self.out.append("    " + " ".join(f"[{label}]" for label in rendered))
        if message.reach is not None:
            self.out.append(f"    👤 {self.user.name if message.reach == self.user.id else message.reach} (one tap)")
        if prefix == "<":
            self.keyboards.append(Keyboard(labels))  # a message without buttons is the newest too


def replay(path: Path, catalogs: Catalogs) -> str:
    """The transcript at `path` with every answer written anew."""
    lines = path.read_text("utf-8").splitlines()
    header: list[str] = []
    settings: dict[str, str] = {}
    body_start = next((i for i, line in enumerate(lines) if line.startswith(">")), len(lines))
    for line in lines[:body_start]:
        if found := re.fullmatch(r"(\w+):\s*(\S+)\s*", line):
            settings[found.group(1)] = found.group(2)
        if line.strip() or header:
            header.append(line)
    while header and not header[-1].strip():
        header.pop()
    role = Role(settings.get("role", "volunteer"))
    user = User(
        id=1,
        role=role,
        org_id=None if role is Role.MEMBER else "lantaarn",
        language=settings.get("language", "nl"),
        name="Amina",
        contact_id=settings.get("contact"),
    )
    given = settings.get("coordinators")
    if given is None:
        alertable = frozenset({f"org:{user.org_id}", *(f"team:{team.id}" for team in DIRECTORY.teams)})
    else:
        alertable = frozenset() if given == "none" else frozenset(given.split(","))
    run = Replay(catalogs, user, alertable=alertable)
    for line in lines[body_start:]:
        if line.startswith(">"):
            run.out.append("")
            run.out.append(line)
            run.do(line)
    return "\n".join([*header, *run.out]) + "\n"
