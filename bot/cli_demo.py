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
) -> int:
    """The demo. It starts now, or when the script says; `codes` (question codes, case ids) are the
    bot's random ones; a test fixes both."""
    from bot.console import Console, ConsoleSender, DemoClock
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
        console = Console(path, catalogs, DemoClock(start), sender, vault=vault, settings=timing)
        if codes is not None:
            console.new_code, console.new_case = codes
        await console.open()
        try:
            await seed_sample(console.runner.conn)
            session = Demo(console, played, out, zone)
            await session.setup()
            if script is not None:
                about = [line for line in played.header if line.startswith("#")]
                it_is = f"It is {session.local(start)}, Amsterdam time."
                out.write("".join(f"{line}\n" for line in [*about, "", *session.cast(), "", it_is]))
                await session.replay()
            else:
                out.write(WELCOME.format(name=session.current.name) + "\n" + "\n".join(session.cast()) + "\n\n")
                await _keyboard(session)
        except demo_script.ScriptError as exc:
            raise OperatorError(str(exc)) from None
        finally:
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
    if not sys.stdin.isatty():
        for line in sys.stdin.read().splitlines():
            await session.typed(line, echo=True)
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
        await session.typed(line, echo=False)
