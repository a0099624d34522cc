"""Scripts of several people talking to Wijkbrug: the format of the stories (tests/stories/*.txt) and
of the demo's scripts (`wijkbrug demo --script FILE`, examples/). One parser for both.

Header (before the first action):
    # what the script shows                a comment
    Ayşe: volunteer lantaarn tr            name: role, what they are bound to, language
    Emre: member c-overvecht-2 nl          a member: their contact id in the directory
    Petra: coordinator team:bt-overvecht nl   a coordinator: org:<id> or team:<id>
    Nadia: member c-overvecht-1 nl by e-mail  reached by e-mail at the directory's address, answering
                                           on the web page (a member or a coordinator of a team)
    Yusuf: volunteer kompas tr by whatsapp    on WhatsApp: joined by `START <code>`, an invite in their
                                           language (WhatsApp tells the bot none)
    start: 2026-11-30 10:00                Amsterdam time the script starts

Actions:
    Ayşe > /new                            what a person types
    Ayşe > [Hayır]                         a button of that person's, by its label (or `[2]`: by number)
    Ayşe > (photo)                         a photo (or `(document)`) sent
    clock: 2026-12-02 11:00                time passes (due timers fire)
    restart                                the bot stops and starts again (same database)
    operator: revoke Emre                  `wijkbrug users revoke` (or `erase`) for that person

Any other line after the first action is what Wijkbrug answered (a story's golden text) or a
comment: the replay makes those itself. A script with a mistake is refused whole, with
`file:line: problem`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from flows.model import Role

OPERATOR_COMMANDS = ("revoke", "erase")
MEDIA = ("photo", "document")
_DECLARED = re.compile(r"(\w+): (volunteer|member|coordinator) (\S+) ([A-Za-z_]+)(?: by (e-mail|whatsapp))?")
_START = re.compile(r"start: (\d{4}-\d\d-\d\d \d\d:\d\d)")
_ACT = re.compile(r"(\w+) > (.*)")


class ScriptError(ValueError):
    """A mistake in a script: `file:line: problem`."""


@dataclass(frozen=True)
class Person:
    """Someone in the script, registered through an invite of their role."""

    name: str
    role: Role
    bound: str  # a volunteer's organisation, a member's contact, a coordinator's org:<id> or team:<id>
    language: str
    line: int = field(default=0, compare=False)  # where it was declared, for an error about it
    email: bool = False  # reached by e-mail (bot/email_people.py), not on the console
    whatsapp: bool = False  # on WhatsApp (bot/console_whatsapp.py), not on the console

    def invite(self) -> dict[str, str | None]:
        """What their invite is bound to, as db.invites.create takes it."""
        scope, _, key = self.bound.partition(":")
        return {
            "org_id": self.bound if self.role is Role.VOLUNTEER else (key if scope == "org" else None),
            "contact_id": self.bound if self.role is Role.MEMBER else None,
            "team_id": key if scope == "team" else None,
        }


@dataclass(frozen=True)
class Act:
    """A person does something: types `text`, presses `press` (a label, or a number), or sends `media`."""

    name: str
    text: str
    press: str | None = None
    media: str | None = None


@dataclass(frozen=True)
class ClockTo:
    at: datetime  # Amsterdam time, naive: the reader's clock on the wall


@dataclass(frozen=True)
class Restart:
    pass


@dataclass(frozen=True)
class Operator:
    command: str
    name: str


Action = Act | ClockTo | Restart | Operator


@dataclass(frozen=True)
class Line:
    number: int
    text: str
    action: Action | None  # None: a comment to show (`# …`)


@dataclass
class Script:
    source: str
    header: list[str] = field(default_factory=list)  # as written, comments and declarations
    people: dict[str, Person] = field(default_factory=dict)
    start: datetime | None = None  # Amsterdam time, naive
    lines: list[Line] = field(default_factory=list)

    @property
    def actions(self) -> list[tuple[str, Action]]:
        return [(line.text, line.action) for line in self.lines if line.action is not None]


def read(path: Path) -> Script:
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ScriptError(f"{path}: cannot read the script: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ScriptError(f"{path}: not UTF-8 text") from None
    return parse(text, str(path))


def is_action(line: str) -> bool:
    return bool(_ACT.fullmatch(line)) or line.startswith(("clock:", "operator:")) or line == "restart"


def parse(text: str, source: str = "<script>") -> Script:
    script = Script(source)
    lines = text.splitlines()
    body = next((i for i, line in enumerate(lines) if is_action(line)), len(lines))
    for number, line in enumerate(lines[:body], 1):
        _header_line(script, number, line)
    while script.header and not script.header[-1].strip():
        script.header.pop()
    for number, line in enumerate(lines[body:], body + 1):
        if is_action(line):
            script.lines.append(Line(number, line, action(line, script, number)))
        elif line.startswith("#"):
            script.lines.append(Line(number, line, None))
    return script


def _header_line(script: Script, number: int, line: str) -> None:
    where = f"{script.source}:{number}"
    if found := _DECLARED.fullmatch(line):
        name, role, bound, language, by = found.groups()
        if name in script.people:
            raise ScriptError(f"{where}: {name} is declared twice")
        person = Person(name, Role(role), bound, language, number, email=by == "e-mail", whatsapp=by == "whatsapp")
        if person.email and (person.role is Role.VOLUNTEER or bound.startswith("org:")):
            raise ScriptError(f"{where}: by e-mail are wijkteam members and a team's coordinators only")
        if person.role is Role.COORDINATOR and not re.fullmatch(r"(org|team):\S+", bound):
            raise ScriptError(f"{where}: a coordinator is bound to org:<id> or team:<id>, not {bound!r}")
        script.people[name] = person
    elif found := _START.fullmatch(line):
        script.start = _moment(found.group(1), where)
    elif line.strip() and not line.startswith("#"):
        raise ScriptError(
            f"{where}: expected `Name: volunteer|member|coordinator BOUND LANGUAGE [by e-mail|by whatsapp]`, "
            "`start: YYYY-MM-DD HH:MM`, "
            "a `# comment`, or an action such as `Name > /new`"
        )
    if line.strip() or script.header:
        script.header.append(line)


def action(line: str, script: Script | None = None, number: int = 0) -> Action:
    """One action line; `script` (when given) must declare the person it names."""
    where = f"{script.source}:{number}" if script else line
    if line == "restart":
        return Restart()
    if line.startswith("clock:"):
        return ClockTo(_moment(line.removeprefix("clock:").strip(), where))
    if line.startswith("operator:"):
        words = line.removeprefix("operator:").split()
        if len(words) != 2 or words[0] not in OPERATOR_COMMANDS:
            raise ScriptError(f"{where}: expected `operator: revoke NAME` or `operator: erase NAME`")
        _known(script, words[1], where)
        return Operator(*words)
    found = _ACT.fullmatch(line)
    if found is None:
        raise ScriptError(f"{where}: expected `Name > what they type`")
    name, text = found.groups()
    _known(script, name, where)
    if pressed := re.fullmatch(r"\[(.+)\]", text):
        return Act(name, text, press=pressed.group(1))
    if text in tuple(f"({m})" for m in MEDIA):
        return Act(name, text, media=text.strip("()"))
    return Act(name, text)


def _known(script: Script | None, name: str, where: str) -> None:
    if script is not None and name not in script.people:
        declared = ", ".join(script.people) or "nobody"
        raise ScriptError(f"{where}: {name} is not declared in the header (declared: {declared})")


def _moment(text: str, where: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M")
    except ValueError:
        raise ScriptError(f"{where}: expected a time as YYYY-MM-DD HH:MM, not {text!r}") from None
