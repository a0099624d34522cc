"""The demo: the invented directory with people on Wijkbrug, played one at a time in one terminal.

The people (a cast in the script format of bot/demo_script.py) are registered the bot's way, each
through an invite and `/start CODE`; then the person at the keyboard plays any of them through the
console channel (bot/console.py), or a script is replayed. The demo's own commands (`/as`,
`/people`, `/later`) are handled here and never reach the bot; the demo's own words (the chrome)
are English, what the bot says comes from its catalogs in each person's language.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TextIO
from zoneinfo import ZoneInfo

from bot import demo_script
from bot.console import CHANNEL, WHATSAPP, Console, ConsolePerson, buttons_lines
from bot.email_people import CHANNEL as EMAIL
from bot.email_people import invited_address
from bot.i18n import Catalogs
from db import users
from flows.directory import Directory
from flows.model import Role
from flows.text import Text, tp

DEMO_COMMANDS = ("as", "people", "later")  # the console's own: none is a command of the bot
# The prompt names the role in the player's language (`ayşe (gönüllü) >`).
ROLE_WORDS: dict[Role, Text] = {
    Role.VOLUNTEER: tp("a role, in the demo's prompt", "volunteer"),
    Role.MEMBER: tp("a role, in the demo's prompt", "wijkteam member"),
    Role.COORDINATOR: tp("a role, in the demo's prompt", "coordinator"),
}
DEFAULT_CAST = """\
Sara: volunteer lantaarn nl
Ayşe: volunteer lantaarn tr
Emre: member c-overvecht-2 nl
Hodan: member c-overvecht-3 en
Karin: coordinator org:lantaarn nl
Petra: coordinator team:bt-overvecht nl
Nadia: member c-overvecht-1 nl by e-mail
Yusuf: volunteer kompas tr by whatsapp
"""
WELCOME = """\
Wijkbrug demo: the whole bridge in one terminal. A volunteer logs a parent's question and asks a
wijkteam member for a warm handover, with the parent's consent; the member accepts (or declines,
or asks), makes contact and closes it; reminders, escalation and the coordinators' weekly summary
come as time passes. Everyone here is invented; the directory is bot/data/sample-directory.yaml.

Type what {name} would type, the number of a button, or a command (/help lists the bot's).
The demo's own commands:
  /as NAME      play someone else (Tab completes; /as or /people lists everyone)
  /later 2d     move time on (also 3h, 1d4h, monday 09:00) to see reminders and the Monday summary
  Ctrl-D        end the demo
Postcodes 3561-3565 are Overvecht, where the demo's wijkteam members work.
Nadia has no chat app: what the bot tells her is e-mailed (printed here, ✉) with a link that opens
her page on this computer ({page}); she answers there, in a browser.
Yusuf is on WhatsApp (📱): his messages are shown as his phone shows them, with WhatsApp's buttons and
lists; after 24 hours without a word from him only a template may reach him (try /later 2d).
"""
LATER_HELP = "try /later 2d, /later 3h, /later 1d4h or /later monday 09:00"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
UNITS = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
LONGEST = timedelta(days=366)


def folded(text: str) -> str:
    """A name as typed on any keyboard: no case, no accents (`ayse` is Ayşe)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def later(spec: str, now: datetime) -> datetime | None:
    """The moment `/later SPEC` moves to from `now` (local time), or None when SPEC is no time."""
    spec = " ".join(spec.lower().split())
    if re.fullmatch(r"(\d+[wdhm])+", spec):
        return now + sum((int(n) * UNITS[unit] for n, unit in re.findall(r"(\d+)([wdhm])", spec)), timedelta())
    found = re.fullmatch(r"([a-z]+)(?: (\d{1,2})(?::(\d\d))?)?", spec)
    if found is None:
        return None
    word, hour, minute = found.groups()
    try:
        at = time(int(hour), int(minute or 0)) if hour else time(9, 0)
    except ValueError:
        return None
    if word == "tomorrow":
        return datetime.combine(now.date() + timedelta(days=1), at, now.tzinfo)
    day = next((i for i, name in enumerate(WEEKDAYS) if len(word) >= 3 and name.startswith(word)), None)
    if day is None:
        return None
    ahead = (day - now.weekday()) % 7
    moment = datetime.combine(now.date() + timedelta(days=ahead), at, now.tzinfo)
    return moment if moment > now else moment + timedelta(days=7)


def prompt(person: ConsolePerson, catalogs: Catalogs) -> str:
    return f"{person.name.lower()} ({catalogs.render(ROLE_WORDS[person.role], person.language)}) > "


@dataclass
class Demo:
    console: Console
    script: demo_script.Script  # its people are the cast
    out: TextIO
    zone: ZoneInfo

    def __post_init__(self) -> None:
        self.people = [
            ConsolePerson(p.name, address(p, 1001 + i), p.role, p.language, channel(p))
            for i, p in enumerate(self.script.people.values())
        ]
        self.current = self.people[0]

    async def setup(self) -> None:
        """The sample directory, and every person of the cast registered through an invite."""
        directory = await self.console.runner.directory()
        for declared in self.script.people.values():
            _check(self.script.source, declared, directory)
        self.directory = directory
        for declared, person in zip(self.script.people.values(), self.people, strict=True):
            conn = self.console.conn
            assert conn is not None
            if declared.email:
                await self._by_email(declared, person)
            elif declared.whatsapp:
                await self._by_whatsapp(declared, person)
            elif await users.by_chat(conn, CHANNEL, person.address) is None:
                await self.console.join(person, **declared.invite())
            else:  # a kept database (--database): they are registered already
                self.console.sender.people[person.address] = person

    async def _by_email(self, declared: demo_script.Person, person: ConsolePerson) -> None:
        """An e-mail person: at the address the directory holds for them, registered the web page's way."""
        conn, bound = self.console.conn, declared.invite()
        assert conn is not None
        address = await invited_address(conn, declared.role, bound["contact_id"], bound["team_id"])
        if address is None or self.console.mail is None:
            where = f"{self.script.source}:{declared.line}: {declared.name}"
            raise demo_script.ScriptError(f"{where}: the sample directory has no e-mail address for {declared.bound}")
        person.address = address
        if await users.by_address(conn, EMAIL, address) is None:
            await self.console.join_by_email(person, **bound)
        self.console.mail.names[address] = person.name

    async def _by_whatsapp(self, declared: demo_script.Person, person: ConsolePerson) -> None:
        """A WhatsApp person: an invite in their language, and `START <code>` from their phone."""
        conn, phones = self.console.conn, self.console.whatsapp
        if phones is None:
            raise demo_script.ScriptError(f"{self.script.source}:{declared.line}: the demo has no WhatsApp")
        assert conn is not None
        if await users.by_address(conn, WHATSAPP, person.address) is None:
            await self.console.join_by_whatsapp(person, **declared.invite())
        self.console.sender.people[person.address] = phones.people[person.address] = person

    def cast(self, marked: ConsolePerson | None = None) -> list[str]:
        width = max(len(p.name) for p in self.people)
        lines = ["People in this demo (all invented):"]
        for number, (declared, person) in enumerate(zip(self.script.people.values(), self.people, strict=True), 1):
            mark = "*" if person is marked else " "
            by = " · by e-mail and the web page" if declared.email else " · on WhatsApp" if declared.whatsapp else ""
            who = f"{self._who(declared)} · reads {person.language}{by}"
            lines.append(f" {mark}{number}. {person.name:<{width}}  {who}")
        return lines

    def _who(self, declared: demo_script.Person) -> str:
        directory = self.directory
        scope, _, key = declared.bound.partition(":")
        if declared.role is Role.MEMBER:
            contact = directory.contact(declared.bound)
            team = directory.team(contact.team) if contact else None
            return f"wijkteam member: {contact.name if contact else '?'}, {team.name if team else '?'}"
        if declared.role is Role.COORDINATOR and scope == "team":
            team = directory.team(key)
            return f"coordinator of {team.name if team else key}"
        if declared.role is Role.COORDINATOR:
            return f"coordinator of {directory.organisation_name(key, key)}"
        return f"volunteer at {directory.organisation_name(declared.bound, declared.bound)}"

    def local(self, moment: datetime) -> str:
        here = moment.astimezone(self.zone)
        return f"{here:%a %Y-%m-%d %H:%M}"

    # A script.
    async def replay(self) -> None:
        console, script = self.console, self.script
        previous: demo_script.Line | None = None
        for line in script.lines:
            where = f"{script.source}:{line.number}"
            action = line.action
            together = previous is not None and previous.action is None and action is None  # one comment
            self.out.write(f"{'' if together else chr(10)}{self.echo(line.text, action)}\n")
            previous = line
            if isinstance(action, demo_script.ClockTo):
                to = action.at.replace(tzinfo=self.zone)
                if to < console.clock():
                    now = self.local(console.clock())
                    raise demo_script.ScriptError(f"{where}: the clock only moves on (it is {now} now)")
                await console.advance(to, lambda at: f"⏱ {self.local(at)}")
            elif isinstance(action, demo_script.Restart):
                await console.restart()
            elif isinstance(action, demo_script.Operator):
                await console.operator(action.command, self.person(action.name))
            elif isinstance(action, demo_script.Act):
                await self.act(self.person(action.name), action, where)

    def echo(self, text: str, action: demo_script.Action | None) -> str:
        """The line as written; a press by number also shows the label it pressed."""
        if isinstance(action, demo_script.Act) and action.press is not None and action.press.isdigit():
            found = self.person(action.name).button(action.press)
            if found is not None and found[1] != action.press:
                return f"{text} {found[1]}"
        return text

    def person(self, name: str) -> ConsolePerson:
        return next(p for p in self.people if p.name == name)

    async def act(self, person: ConsolePerson, action: demo_script.Act, where: str) -> None:
        if person.channel == EMAIL:
            raise demo_script.ScriptError(f"{where}: {person.name} reads e-mail and answers on the web page only")
        if action.media is not None:
            await self.console.send_file(person, action.media)
        elif action.press is not None:
            if await self.console.press(person, action.press) is None:
                raise demo_script.ScriptError(f"{where}: {person.name} has no button [{action.press}]")
        else:
            await self.console.type(person, action.text)

    # Playing at the keyboard.
    def prompt(self) -> str:
        return prompt(self.current, self.console.catalogs)

    async def typed(self, line: str, echo: bool) -> None:
        """One line from the keyboard: a demo command, a press, a file, or what the person types."""
        line = line.strip()
        if not line:
            return
        if echo:  # read from a pipe: show it as the terminal would have
            self.out.write(f"{self.prompt()}{line}\n")
        head, _, rest = line.partition(" ")
        if head in ("/as", "/people") and not rest.strip():
            self.out.write("".join(f"{row}\n" for row in self.listing()))
        elif head == "/as":
            self.switch(rest.strip())
        elif head == "/later":
            await self.move(rest)
        elif re.fullmatch(r"\[.+\]", line) or (line.isdigit() and self.current.button(line) is not None):
            which = line.strip("[]") if line.startswith("[") else line
            found = self.current.button(which)
            if found is None:
                self.out.write(f"  (demo) {self.current.name} has no button {line}; nothing was sent\n")
                return
            self.out.write(f"  you | [{which}] {found[1]}\n" if which != found[1] else f"  you | [{which}]\n")
            await self.console.press(self.current, which)
        elif line in ("(photo)", "(document)"):
            await self.console.send_file(self.current, line.strip("()"))
        else:
            await self.console.type(self.current, line)

    def listing(self) -> list[str]:
        return [*self.cast(self.current), f"  (demo) you are {self.current.name} (*); /as NAME or /as NUMBER switches"]

    def switch(self, wanted: str) -> None:
        chosen = self.find(wanted)
        if chosen is None:
            names = ", ".join(p.name for p in self.people)
            self.out.write(f"  (demo) nobody here is called “{wanted}”: try one of {names}, or /people\n")
            return
        if chosen.channel == EMAIL:
            self.out.write(
                f"  (demo) {chosen.name} has no chat app: open the link of their latest e-mail (✉) in a browser\n"
            )
            return
        self.current = chosen
        role = ROLE_WORDS[chosen.role].msgid  # the demo's own words are English
        on = " on WhatsApp (📱)" if chosen.channel == WHATSAPP else ""
        self.out.write(f"  (demo) you are {chosen.name} now, {role}, reading {chosen.language}{on}\n")
        if (newest := chosen.newest_buttons()) is not None:
            message_id, _ = newest
            self.out.write(f"  (demo) {chosen.name}'s newest buttons:\n")
            self.out.write("".join(f"{row}\n" for row in buttons_lines(chosen.buttons[message_id])))

    def find(self, wanted: str) -> ConsolePerson | None:
        if wanted.isdigit():
            number = int(wanted)
            return self.people[number - 1] if 1 <= number <= len(self.people) else None
        key = folded(wanted)
        exact = [p for p in self.people if folded(p.name) == key]
        starting = [p for p in self.people if folded(p.name).startswith(key)] if key else []
        return exact[0] if exact else (starting[0] if len(starting) == 1 else None)

    async def move(self, spec: str) -> None:
        now = self.console.clock().astimezone(self.zone)
        if not spec.strip():
            self.out.write(f"  (demo) it is {self.local(now)} (Amsterdam time); {LATER_HELP}\n")
            return
        to = later(spec, now)
        if to is None or to - now > LONGEST:
            why = "more than a year on" if to is not None else "no time the demo knows"
            self.out.write(f"  (demo) “{spec.strip()}” is {why}: {LATER_HELP}; nothing changed\n")
            return
        await self.console.advance(to, lambda at: f"⏱ {self.local(at)}")
        self.out.write(f"  (demo) it is {self.local(to)} now (Amsterdam time)\n")

    def completions(self, line: str, text: str) -> list[str]:
        """What Tab may complete `text` to, the line so far being `line`: a person after `/as `,
        else a demo command."""
        if line.startswith("/as "):
            return [p.name.lower() for p in self.people if folded(p.name).startswith(folded(text))]
        return [f"/{c}" for c in DEMO_COMMANDS if f"/{c}".startswith(text)] if line.startswith("/") else []

    def completer(self) -> Callable[[str, int], str | None]:
        """Tab completion, in readline's protocol."""

        def complete(text: str, state: int) -> str | None:
            import readline

            options = self.completions(readline.get_line_buffer(), text)
            return options[state] if state < len(options) else None

        return complete


def channel(declared: demo_script.Person) -> str:
    return EMAIL if declared.email else WHATSAPP if declared.whatsapp else CHANNEL


def address(declared: demo_script.Person, number: int) -> str:
    """A console person's address; a WhatsApp person's invented business-scoped user id (an e-mail
    person's is the directory's, found at setup)."""
    return f"NL.{number:016d}" if declared.whatsapp else str(number)


def _check(source: str, declared: demo_script.Person, directory: Directory) -> None:
    """A person of the cast must be bound to something in the sample directory."""
    where = f"{source}:{declared.line}: {declared.name}"
    scope, _, key = declared.bound.partition(":")
    if declared.role is Role.MEMBER and directory.contact(declared.bound) is None:
        raise demo_script.ScriptError(f"{where}: no contact {declared.bound!r} in the sample directory")
    if declared.role is Role.COORDINATOR and scope == "team" and directory.team(key) is None:
        raise demo_script.ScriptError(f"{where}: no team {key!r} in the sample directory")
    org = declared.bound if declared.role is Role.VOLUNTEER else (key if scope == "org" else None)
    if org is not None and not directory.organisation_name(org):
        raise demo_script.ScriptError(f"{where}: no organisation {org!r} in the sample directory")
