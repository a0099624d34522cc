"""`wijkbrug demo`: the whole bridge in the terminal, played by one person as all the invented people.

The demo runs the bot's own code (runner, flows, timers, outbox) with the console as its channel
(bot/console.py), on a throw-away database with the invented sample directory; bot/demo_session.py
holds the people and the demo's commands. `--script FILE` replays a script in the stories' format
(bot/demo_script.py) instead of reading the keyboard.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot import demo_script
from bot.cli_shared import OperatorError, utc_now
from bot.settings import Settings
from db import directory as stored_directory
from db.connection import Connection, connect, transaction
from db.vault import Vault, open_vault

if TYPE_CHECKING:
    from bot.demo_session import Demo


@dataclass
class Folder:
    """Where the files the bot sends (a chart, a CSV) are saved: `--out DIR`, or a `wijkbrug-demo-*`
    folder made at the first file and kept after the demo."""

    chosen: Path | None
    made: Path | None = None

    def __call__(self) -> Path:
        if self.made is None:
            if self.chosen is not None:
                self.chosen.mkdir(parents=True, exist_ok=True)
                self.made = self.chosen.resolve()
            else:
                self.made = Path(tempfile.mkdtemp(prefix="wijkbrug-demo-"))
        return self.made


async def seed_sample(conn: Connection) -> None:
    """The invented sample directory that ships with Wijkbrug, stored in `conn`."""
    from bot import directory_file  # not for `wijkbrug run`: it loads Babel's language names

    loaded = directory_file.load(directory_file.sample_path())
    async with transaction(conn):
        await stored_directory.replace(conn, loaded.directory, loaded.away_given)


def cast(script: Path | None, language: str | None) -> demo_script.Script:
    """The script to replay, or (at the keyboard) the demo's own people, the first speaking `language`."""
    from bot.demo_session import DEFAULT_CAST

    if script is not None:
        if language is not None:
            raise OperatorError("--language is for playing at the keyboard: a script gives each person's language")
        return demo_script.read(script)
    people = demo_script.parse(DEFAULT_CAST, "the demo's cast")
    if language is not None:
        first = next(iter(people.people.values()))
        people.people[first.name] = demo_script.Person(first.name, first.role, first.bound, language, first.line)
    return people


async def demo(
    settings: Settings,
    script: Path | None,
    language: str | None,
    database: Path | None,
    out_dir: Path | None = None,
    *,
    out: TextIO | None = None,
    codes: tuple[Callable[[], str], Callable[[], str]] | None = None,
    start: datetime | None = None,
    serve: bool = False,
) -> int:
    """The demo. It starts now, or when the script says; `codes` (question codes, case ids) are the
    bot's random ones; a test fixes both. The e-mail people's web page is served on 127.0.0.1 at
    the keyboard, and with a script only when `serve` asks (a script's transcript stays the same)."""
    from bot import demo_page
    from bot.console import Console, ConsoleSender, DemoClock
    from bot.console_mail import ConsoleMail
    from bot.console_whatsapp import ConsoleWhatsApp
    from bot.demo_session import WELCOME, Demo

    out = out or sys.stdout
    try:
        played = cast(script, language)
    except demo_script.ScriptError as exc:
        raise OperatorError(str(exc)) from None
    catalogs = settings.catalogs()
    zone = catalogs.timezone
    start = start or (played.start.replace(tzinfo=zone) if played.start else utc_now())
    folder = Folder(out_dir)
    with tempfile.TemporaryDirectory(prefix="wijkbrug-demo-db-") as scratch:
        path = database or Path(scratch) / "demo.sqlite3"
        vault = await _vault(path) if database else Vault.generate()
        sender = ConsoleSender(out, {}, folder)
        kept = ("reminder_hours", "retention_days", "text_retention_days")  # as `wijkbrug run` passes them
        timing: dict[str, float] = {name: getattr(settings, name) for name in kept}
        clock = DemoClock(start)
        mail = ConsoleMail(sender._write) if any(p.email for p in played.people.values()) else None
        phones = ConsoleWhatsApp(sender._write, catalogs) if any(p.whatsapp for p in played.people.values()) else None
        console = Console(path, catalogs, clock, sender, vault=vault, settings=timing, mail=mail, whatsapp=phones)
        if codes is not None:
            console.new_code, console.new_case = codes
        await console.open()
        page = None
        try:
            await seed_sample(console.runner.conn)
            if mail is not None and (script is None or serve):
                page = await demo_page.start(path, catalogs, clock, vault, console, timing)
                mail.public_url, mail.serving = page.base, True
            session = Demo(console, played, out, zone)
            await session.setup()
            if script is not None:
                about = [line for line in played.header if line.startswith("#")]
                it_is = f"It is {session.local(start)}, Amsterdam time."
                out.write("".join(f"{line}\n" for line in [*about, "", *session.cast(), "", it_is]))
                await session.replay()
            if script is None or page is not None:
                if script is None:
                    welcome = WELCOME.format(name=session.current.name, page=page.base if page else "-")
                    out.write(welcome + "\n" + "\n".join(session.cast()) + "\n\n")
                else:
                    out.write(f"\n(demo) the web page is at {page.base if page else '-'}; Ctrl-D ends\n")
                await _keyboard(session)
        except demo_script.ScriptError as exc:
            raise OperatorError(str(exc)) from None
        finally:
            if page is not None:
                await page.stop()
            await console.close()
    if folder.made is not None:
        out.write(f"\nThe files the bot sent are kept in {folder.made}\n")
    return 0


async def _vault(path: Path) -> Vault:
    """A kept demo database keeps its key beside it."""
    conn = await connect(path)
    try:
        return await open_vault(conn, None, path.with_suffix(".key"))
    finally:
        await conn.close()


async def _keyboard(session: Demo) -> None:
    """Lines from the keyboard (with Tab completion) or, piped in, from stdin, until it ends."""
    console = session.console
    if not sys.stdin.isatty():  # a line at a time: the web page and its pulse go on meanwhile
        while line := await asyncio.to_thread(sys.stdin.readline):
            async with console.lock:
                await session.typed(line.rstrip("\n"), echo=True)
        return
    try:
        import readline  # not on every platform; the demo works without it

        readline.set_completer(session.completer())
        readline.set_completer_delims(" ")
        readline.parse_and_bind("tab: complete")
    except ImportError:
        pass
    while True:
        try:
            line = await asyncio.to_thread(input, session.prompt())
        except (EOFError, KeyboardInterrupt):
            session.out.write("\n")
            return
        async with console.lock:
            await session.typed(line, echo=False)
