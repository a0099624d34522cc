"""The demo's web page: the e-mail people's page (bot/web/), served on 127.0.0.1 at a free port
on the demo's database and clock, so that the link an e-mail printed in the terminal
(bot/console_mail.py) opens it in a browser on this computer. What someone does there goes
through the web channel's own runner, as in `wijkbrug run`; the console handles and delivers
what follows from it (to the console's people, and e-mail) once a second (`Console.pulse`).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from aiohttp import web

from bot.console import Console
from bot.i18n import Catalogs
from bot.web.app import email_parts, make_app
from bot.web.channel import WebChannel
from db.vault import Vault

PULSE = 1.0  # seconds between the console's looks at what the page's people did


@dataclass
class DemoPage:
    base: str  # http://127.0.0.1:PORT
    runner: web.AppRunner
    channel: WebChannel
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.runner.cleanup()
        await self.channel.close()


async def start(
    database: Path, catalogs: Catalogs, clock: Callable[[], datetime], vault: Vault, console: Console,
    options: dict[str, float],
) -> DemoPage:
    """Serve the page on 127.0.0.1 (a free port) with its channel running, and the console's pulse."""
    channel = WebChannel(database, catalogs, clock, vault, runner_options=dict(options))
    await channel.open()
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{listening.getsockname()[1]}"
    fresh_link, register = email_parts()
    runner = web.AppRunner(make_app(channel, base, fresh_link, register), access_log=None, shutdown_timeout=1)
    await runner.setup()
    await web.SockSite(runner, listening).start()
    page = DemoPage(base, runner, channel)
    page.tasks = [asyncio.create_task(channel.run()), asyncio.create_task(_pulse(console))]
    return page


async def _pulse(console: Console) -> None:
    while True:
        await asyncio.sleep(PULSE)
        await console.pulse()  # a locked database waits in it (db.connection.keep_trying)
