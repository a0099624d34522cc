"""Conversation transcripts: golden files a domain expert can read, replayed against the flows.

A transcript file holds a header, then what people do (lines starting with `>` or `Name>`);
everything else in the body is what Wijkbrug answered and stored, written by this harness. A test
replays the people's lines and compares the whole file; run
`WIJKBRUG_UPDATE_GOLDEN=1 pytest tests/test_transcripts.py` to rewrite the answers, then read the diff.
The flows are called as the runner calls them (`flows.session.step`, `session.case_action` for a
case's buttons, `flows.case_followup.on_timer`), with the state going through JSON between steps; what
the bot would store is kept in memory from the effects (tests/transcript_world.py).

Header (before the first action):
    # free comments saying what the transcript shows
    language: nl        the person's language            (a transcript of one person, Amina)
    role: volunteer     volunteer | member | coordinator
    contact: c-west-1   a member's entry in the directory (the invented Utrecht sample)
    person: Amina volunteer lantaarn en       several people instead: name, role, organisation
    person: Emre member c-overvecht-2 en      (a member: their directory entry; a coordinator:
                        org:<id> or team:<id>), language; the first person acts on `>`
    reachable: c-overvecht-2   the contacts who use Wijkbrug (a request can reach them); a member
                        among the people receives it as that person, any other as an account
                        named after the contact (default: nobody)
    coordinators: team:bt-overvecht,org:kompas   who has a coordinator to alert (default: the
                        volunteers' organisations and every wijkteam; `none`: nobody)

What people can do (`>` alone is the first person; `Emre>` names one):
    > /new                    a command (or any text starting with /)
    > 3561 AB                 typed text
    > [No]                    press the button with this label on the person's newest message
                              that has one
    Emre> [Accept]            the same for Emre: a case's buttons go to session.case_action
    > [old: No]               press that button on a message older than the newest (a stale choice)
    > (photo)                 send an attachment (a photo, or (document): an invented letter.pdf)
    > (text of 1001 characters)   type a long text
    > (only spaces)           type nothing but white space
    > (16 hours later)        time passes (hours or days); the timers then due fire

What the answers look like:
    < text                    a message to the person who acted; its further lines are indented
        [Yes] [No]            a row of buttons under it
        📎 document           a file sent along (or made: a chart, a csv)
    Amina < text              a message to someone else (or to anyone, after a timer)
    ✓ No                      the pressed button's prompt now shows the choice
    ! This choice has expired…   the short notice a button press is answered with
    @coordinators:lantaarn < …   a message to the organisation's (or a wijkteam's) coordinators
        👤 Amina (one tap)     the volunteer, linked so the coordinator can write to them in one tap
    = saved Q-TEST …          what was stored: one line per effect, in the order the flow gave them
                              ("sealed": encrypted at rest; "erased": gone from the database)
    ⏰ remind timer of H-TEST01 fires   a timer that came due

Every transcript starts on Monday 2026-11-30, 10:30 in Amsterdam; a question saved is Q-TEST, the
cases are H-TEST01, H-TEST02, … in the order they are opened. Sending a request returns the request
to the member and its timers (flows/sending.py); the harness only shows and stores them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.directory_file import load, sample_path
from bot.i18n import Catalogs
from bot.language_names import lookup
from flows import case_followup, cases, sending, session
from flows.case_view import AskedQuestion
from flows.holidays_nl import dutch_holidays
from flows.model import (
    Attachment,
    Choice,
    Command,
    Env,
    Input,
    Message,
    Role,
    Said,
    ToCoordinators,
    ToUser,
    Transition,
    Unread,
    User,
)
from flows.needs import needs
from flows.state import Conversation
from tests.transcript_world import AMSTERDAM, World, value

NOW = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
CODE = "Q-TEST"
DIRECTORY = load(sample_path()).directory  # the invented Utrecht sample
ACTION = re.compile(r"([^\W\d][\w-]*)?>(.*)")  # `> text`, or `Name> text`
PERSON = re.compile(r"person:\s*(\S+)\s+(volunteer|member|coordinator)\s+(\S+)\s+(\S+)\s*")
REMINDER_HOURS = 16.0  # working hours before a reminder, as the bot's default
LATER = re.compile(r"\((\d+) (hour|day)s? later\)")


@dataclass
class Keyboard:
    buttons: dict[str, str]  # rendered label -> callback data


@dataclass
class Replay:
    catalogs: Catalogs
    world: World
    reachable: dict[str, int] = field(default_factory=dict)
    alertable: frozenset[str] = frozenset()
    now: datetime = NOW
    states: dict[int, Conversation] = field(default_factory=dict)
    keyboards: dict[int, list[Keyboard]] = field(default_factory=dict)
    out: list[str] = field(default_factory=list)

    def env(self, user: User, case: cases.Case | None = None) -> Env:
        mine = self.world.cases_of(user.id)
        questions = self.world.questions_without_request(user.id) if user.role is Role.VOLUNTEER else ()
        return Env(
            now=self.now,
            today=self.now.astimezone(AMSTERDAM).date(),
            new_code=CODE,
            new_case_id=f"H-TEST{len(self.world.cases) + 1:02d}",
            languages=self.catalogs.languages,
            directory=self.world.directory,
            alertable=self.alertable,
            language_of=lookup,
            reachable=self.reachable,
            open_handovers=self.world.open_counts(),
            holidays=dutch_holidays(self.now.year) | dutch_holidays(self.now.year + 1),
            reminder_hours=REMINDER_HOURS,
            case=case,
            my_cases=mine,
            my_questions=questions,
        )

    def do(self, user_id: int, text: str) -> None:
        if found := LATER.fullmatch(text):
            self.later(timedelta(**{f"{found.group(2)}s": int(found.group(1))}))
            return
        user = self.world.people[user_id]
        event = self._input(user_id, text)
        # The state goes through JSON before every step, as it does through SQLite in the bot.
        state = Conversation.model_validate_json(self.states.get(user_id, Conversation()).model_dump_json())
        pressed = cases.parse_button(event.data) if isinstance(event, Choice) else None
        case = self.world.case(pressed[0] if pressed else state.case_id)
        env = self.env(user, case)
        if (code := sending.question_needed(state)) is not None and (asked := self.world.questions.get(code)):
            # What the runner reads from the database for the step that sends a request.
            question = AskedQuestion(
                code=asked.code, theme=asked.theme, age_group=asked.age_group, parent_language=asked.parent_language,
                wijk=asked.wijk, urgent=asked.urgent, text=asked.text, text_language=asked.text_language,
            )
            env = env.model_copy(update={"question": question})
        if not needs(state, user, event).matching:  # what the loader leaves unread (bot/loading.py)
            env = env.model_copy(update={"reachable": Unread("reachable"), "open_handovers": Unread("open_handovers")})
        if pressed is not None:
            assert case is not None, f"{user.name} pressed a button of a case never opened: {event}"
            moved = session.case_action(state, user, case, pressed[1], pressed[2], env)
        else:
            moved = session.step(state, user, event, env)
        if moved.notice is not None:
            self.out.append(f"! {self.catalogs.render(moved.notice, user.language)}")
        self._record(moved, env, user_id)
        self.states[user_id] = moved.state

    def later(self, passed: timedelta) -> None:
        """Time passes: every timer then due fires, soonest first, as the runner fires them."""
        self.now += passed
        for timer in self.world.due(self.now):
            case = self.world.case(timer.case_id)
            self.out.append(f"⏰ {value(timer.timer)} timer of {timer.case_id} fires")
            if case is not None:
                messages, effects = case_followup.on_timer(case, value(timer.timer), REMINDER_HOURS, self.now)
                self._record(
                    Transition(state=Conversation(), messages=tuple(messages), effects=tuple(effects)), None, None
                )

    def _record(self, moved: Transition, env: Env | None, actor: int | None) -> None:
        """Store the effects (a line each), then show the choice and the messages."""
        for effect in moved.effects:
            self.out.append(self.world.apply(effect))
        if moved.chosen is not None and actor is not None:
            self.out.append(f"✓ {self.catalogs.render(moved.chosen, self.world.people[actor].language)}")
        for message in moved.messages:
            self._show(message, actor)

    def _input(self, user_id: int, text: str) -> Input:
        if found := re.fullmatch(r"\[old: (.+)\]", text):
            for keyboard in reversed(self.keyboards.get(user_id, [])[:-1]):
                if found.group(1) in keyboard.buttons:
                    return Choice(data=keyboard.buttons[found.group(1)])
            raise AssertionError(f"no older button labelled {found.group(1)!r}")
        if found := re.fullmatch(r"\[(.+)\]", text):
            for keyboard in reversed(self.keyboards.get(user_id, [])):
                if found.group(1) in keyboard.buttons:
                    return Choice(data=keyboard.buttons[found.group(1)])
            raise AssertionError(f"no button labelled {found.group(1)!r}")
        if found := re.fullmatch(r"\(text of (\d+) characters\)", text):
            return Said(text="x" * int(found.group(1)))
        if text == "(only spaces)":
            return Said(text="   \t  ")
        if text == "(document)":  # what a phone sends for a PDF (invented)
            return Attachment(
                media="document",
                file_id="invented-document-id",
                file_name="letter.pdf",
                mime_type="application/pdf",
                size=80_000,
            )
        if found := re.fullmatch(r"\((photo|voice|sticker)\)", text):
            return Attachment(media=found.group(1), file_id=f"invented-{found.group(1)}-id")
        if text.startswith("/"):
            head, _, args = text[1:].partition(" ")
            return Command(name=head, args=args)
        return Said(text=text)

    def _show(self, message: Message, actor: int | None) -> None:
        if isinstance(message.to, ToCoordinators):
            prefix, language, to = (
                f"@coordinators:{message.to.org_id or message.to.team_id} <",
                "nl",
                None,
            )  # they read Dutch here
        else:
            to = message.to.user_id
            assert isinstance(message.to, ToUser) and to in self.world.people, (
                f"a message to nobody known: {message.to}"
            )
            prefix = "<" if to == actor else f"{self.world.name(to)} <"
            language = self.world.people[to].language
        text = self.catalogs.render_parts(message.parts, language)
        first, *rest = text.split("\n")
        self.out.append(f"{prefix} {first}")
        self.out.extend(f"  {line}".rstrip() for line in rest)
        labels: dict[str, str] = {}
        for row in message.buttons:
            rendered = [self.catalogs.render(b.label, language) for b in row]
            labels.update({label: b.data for label, b in zip(rendered, row)})
            self.out.append("    " + " ".join(f"[{label}]" for label in rendered))
        if message.attachment is not None:
            self.out.append(f"    📎 {message.attachment.media}")
        if message.upload is not None:
            self.out.append(f"    📎 {message.upload.kind}")
        if message.reach is not None:
            self.out.append(f"    👤 {self.world.name(message.reach)} (one tap)")
        if to is not None:
            self.keyboards.setdefault(to, []).append(Keyboard(labels))  # a message without buttons is the newest too


def _people(settings: dict[str, str], persons: list[tuple[str, ...]]) -> list[User]:
    """The people of the header; without `person:` lines, one person: Amina."""
    if not persons:
        role = Role(settings.get("role", "volunteer"))
        persons = [
            (
                "Amina",
                role.value,
                settings.get("contact", "") if role is Role.MEMBER else "lantaarn",
                settings.get("language", "nl"),
            )
        ]
    people = []
    for number, (name, role_name, bound, language) in enumerate(persons, start=1):
        role = Role(role_name)
        member = role is Role.MEMBER
        org = None if member or bound.startswith("team:") else bound.removeprefix("org:")
        people.append(
            User(
                id=number,
                role=role,
                org_id=org,
                language=language,
                name=name,
                contact_id=(bound or None) if member else None,
            )
        )
    return people


def replay(path: Path, catalogs: Catalogs) -> str:
    """The transcript at `path` with every answer written anew."""
    lines = path.read_text("utf-8").splitlines()
    header: list[str] = []
    settings: dict[str, str] = {}
    persons: list[tuple[str, ...]] = []
    body_start = next((i for i, line in enumerate(lines) if ACTION.match(line)), len(lines))
    for line in lines[:body_start]:
        if found := PERSON.fullmatch(line):
            persons.append(found.groups())
        elif found := re.fullmatch(r"(\w+):\s*(.+?)\s*", line):
            settings[found.group(1)] = found.group(2)
        if line.strip() or header:
            header.append(line)
    while header and not header[-1].strip():
        header.pop()
    people = {user.id: user for user in _people(settings, persons)}
    by_name = {user.name.lower(): user.id for user in people.values()}
    reachable: dict[str, int] = {}
    for contact_id in re.split(r"[\s,]+", settings.get("reachable", "").strip()):
        if not contact_id:
            continue
        member = next((u.id for u in people.values() if u.contact_id == contact_id), None)
        if member is None:  # someone on Wijkbrug who does not act in this transcript
            contact = DIRECTORY.contact(contact_id)
            assert contact is not None, f"{path.name}: reachable names {contact_id!r}, not in the directory"
            member = 100 + len(people)
            people[member] = User(id=member, role=Role.MEMBER, language="nl", name=contact.name, contact_id=contact_id)
        reachable[contact_id] = member
    given = settings.get("coordinators")
    if given is None:
        orgs = {f"org:{u.org_id}" for u in people.values() if u.role is not Role.MEMBER}
        alertable = frozenset({*orgs, *(f"team:{team.id}" for team in DIRECTORY.teams)})
    else:
        alertable = frozenset() if given == "none" else frozenset(given.split(","))
    run = Replay(catalogs, World(DIRECTORY, people), reachable=reachable, alertable=alertable)
    for line in lines[body_start:]:
        if found := ACTION.fullmatch(line):
            who = found.group(1)
            assert who is None or who.lower() in by_name, f"{path.name}: {who!r} is not one of the people in the header"
            run.out.append("")
            run.out.append(line)
            run.do(by_name[who.lower()] if who else 1, found.group(2).strip())
    return "\n".join([*header, *run.out]) + "\n"
