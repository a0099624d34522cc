"""`wijkbrug run` starts with only what the bot needs (issue 19, items 2 and 3). The real process, on
Telegram against the local fake Bot API, after a volunteer's first update, has not imported the
operator's other commands, matplotlib (charts are drawn in a child process, bot/charts.py),
python-telegram-bot (bot/botapi.py calls the Bot API itself), nor the modules of channels that are
not set up (e-mail, the web page, WhatsApp, PostgreSQL). Each of these costs start-up time and
memory for as long as the bot runs."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path

from bot import directory_file
from bot.i18n import Catalogs
from bot.telegram import MENUS_KEY, menus_digest
from locales import CATALOG_DIR
from tests.fakebotapi import FakeBotApi
from tests.test_e2e_telegram import TOKEN, Wijkbrug, reply_containing, stored

VOLUNTEER = 5001

# `wijkbrug run` as `bot.cli.main(["run"])`, writing the names of the modules it imported when it stops.
RUN_AND_LIST = (
    "import atexit, json, sys\n"
    "atexit.register(lambda: open(sys.argv[1], 'w').write(json.dumps(sorted(sys.modules))))\n"
    "from bot.cli import main\n"
    "raise SystemExit(main(['run']))\n"
)

NOT_IN_RUN = (
    # the operator's other commands (bot/cli.py imports each for its own command only)
    "bot.cli_access", "bot.cli_database", "bot.cli_demo", "bot.cli_directory", "bot.cli_i18n", "bot.cli_privacy",
    "bot.cli_services", "bot.cli_summary", "bot.cli_whatsapp", "bot.demo_script", "bot.console",
    "matplotlib", "bot.charts",  # charts: in a child process
    "yaml",  # the directory file: `wijkbrug directory import`
    "telegram", "httpx",  # python-telegram-bot: the Bot API is called directly (bot/botapi.py)
    # channels not set up here
    "bot.email_send", "aiosmtplib", "bot.web", "jinja2", "bot.whatsapp_channel", "aiohttp", "psycopg",
)


async def test_run_imports_only_what_the_bot_needs(tmp_path: Path) -> None:
    listed = tmp_path / "modules.json"
    async with FakeBotApi(token=TOKEN) as api:
        bot = Wijkbrug(api, tmp_path, tmp_path / "wijkbrug.sqlite3")
        await bot.operator("directory", "import", str(directory_file.sample_path()))
        code = await bot.operator("invite", "--role", "volunteer", "--org", "lantaarn", "--json")
        bot.process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", RUN_AND_LIST, str(listed), env=bot.env, cwd=tmp_path,
        )
        try:
            api.user_sends(VOLUNTEER, f"/start {json.loads(code)['code']}", language_code="nl")
            await reply_containing(api, VOLUNTEER, "")  # the welcome: the first update was handled
        finally:
            assert await bot.stop() == 0
    modules = set(json.loads(listed.read_text("utf-8")))
    assert {"bot.telegram", "bot.runner", "bot.cli_run"} <= modules  # the list is the running bot's
    assert sorted(modules.intersection(NOT_IN_RUN)) == []


async def test_menus_are_published_again_only_when_they_changed(tmp_path: Path) -> None:
    """Publishing the menus renders every shipped language, which compiles every catalog; a restart
    with the same catalogs, commands and bot publishes nothing (and compiles only what is read)."""
    async with FakeBotApi(token=TOKEN) as api:
        bot = Wijkbrug(api, tmp_path, tmp_path / "wijkbrug.sqlite3")
        await bot.operator("directory", "import", str(directory_file.sample_path()))
        code = json.loads(await bot.operator("invite", "--role", "volunteer", "--org", "lantaarn", "--json"))["code"]
        await bot.start()
        published = len(Catalogs().languages) + 1  # every language, and the default for the others
        await api.wait_for(lambda a: sum(c["method"] == "setMyShortDescription" for c in a.calls) == published)
        await api.wait_for(lambda _: stored(bot.database, f"SELECT value FROM settings WHERE key = '{MENUS_KEY}'"))
        assert await bot.stop() == 0
        [(digest,)] = stored(bot.database, f"SELECT value FROM settings WHERE key = '{MENUS_KEY}'")
        assert digest == menus_digest(Catalogs(), "wijkbrug_test_bot")

        before = len(api.calls)
        await bot.start()
        api.user_sends(VOLUNTEER, f"/start {code}", language_code="nl")
        await reply_containing(api, VOLUNTEER, "")
        assert await bot.stop() == 0
        methods = [c["method"] for c in api.calls[before:]]
        assert "deleteWebhook" in methods and "sendMessage" in methods  # this start
        assert [m for m in methods if m.startswith("setMy") and m != "setMyCommands"] == []
        # the volunteer's own menu (a chat's scope) is published at registration, as always
        assert all(c["params"].get("scope", {}).get("type") == "chat"
                   for c in api.calls[before:] if c["method"] == "setMyCommands")


def test_the_menus_digest_changes_with_a_catalog_and_the_bot(tmp_path: Path) -> None:
    shutil.copytree(CATALOG_DIR, tmp_path / "locales", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    catalogs = Catalogs(tmp_path / "locales")
    first = menus_digest(catalogs, "wijkbrug_bot")
    assert first == menus_digest(Catalogs(tmp_path / "locales"), "wijkbrug_bot")
    assert first != menus_digest(catalogs, "other_bot")
    po = tmp_path / "locales" / "tr" / "LC_MESSAGES" / "wijkbrug.po"
    po.write_text(po.read_text("utf-8") + "\n", "utf-8")
    assert first != menus_digest(Catalogs(tmp_path / "locales"), "wijkbrug_bot")
    assert first != menus_digest(Catalogs(tmp_path / "locales", default="tr"), "wijkbrug_bot")
