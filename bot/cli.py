"""The `wijkbrug` command: run the bot, the demo, and the operator's tasks.

`wijkbrug` alone runs the bot's main job: the bot when a channel is set up (Telegram, WhatsApp or the web
page), else the console demo.
This module holds the command line (its parser) and sends each command to the module that does
that job: `cli_run` (the bot on its channels), `cli_demo`, `cli_directory`, `cli_access` (invites and
users), `cli_summary`, `cli_privacy` (erase, audit), `cli_database` (migrate, backup, rotate-key)
and `cli_i18n`; what goes through the bot's runner is in `cli_services`. Each of these but `cli_run`
is imported by its own command only: `wijkbrug run` starts without them (tests/test_run_startup.py).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import cli_run
from bot.cli_shared import OperatorError, opened, utc_now
from bot.settings import Settings, SettingsProblem, unknown
from bot.settings import load as load_settings
from db.connection import DatabaseError, shown, storage_trouble
from db.vault import KeyProblem
from flows.directory import DirectoryError
from flows.model import Role


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wijkbrug", description="Wijkbrug: volunteers and wijkteams, connected.")
    commands = parser.add_subparsers(dest="command")

    run = commands.add_parser(
        "run", help="run the bot on every channel set up: Telegram (long polling, or a webhook), WhatsApp, the web page"
    )
    run.add_argument("--webhook", help="the public HTTPS URL Telegram posts updates to (default: long polling)")
    run.add_argument(
        "--only-instance", action="store_true",
        help="with PostgreSQL: this is the only `wijkbrug run` on the database, so Telegram may be long-polled "
        "(as WIJKBRUG_ONLY_INSTANCE=1)",
    )

    demo = commands.add_parser(
        "demo", help="the whole bridge in this terminal: play invented volunteers, wijkteam members, coordinators"
    )
    demo.add_argument("--script", type=Path, help="replay FILE (the stories' format; see examples/), not the keyboard")
    demo.add_argument("--language", help="the language of the first person's 'phone', e.g. ar, tr, en (default nl)")
    demo.add_argument("--database", type=Path, help="keep the demo's database in this file (default: thrown away)")
    demo.add_argument("--serve", action="store_true", help="with --script: serve the e-mail people's web page too")
    demo.add_argument("--out", type=Path, help="save the files the bot sends here (default: a new wijkbrug-demo-* dir)")

    invite = commands.add_parser("invite", help="make a single-use invite code and link")
    invite.add_argument("--role", choices=[r.value for r in Role], required=True)
    bound = invite.add_mutually_exclusive_group(required=True)
    bound.add_argument("--org", help="for a volunteer or coordinator: the organisation's id in the directory")
    bound.add_argument("--contact", help="for a wijkteam member: their contact id in the directory")
    bound.add_argument("--team", help="for a wijkteam's coordinator: the team's id in the directory")
    invite.add_argument(
        "--channel", choices=["telegram", "whatsapp"], default="telegram",
        help="the link's app: a t.me link, or a wa.me link with START <code> (needs WIJKBRUG_WHATSAPP_NUMBER)",
    )
    invite.add_argument(
        "--language", help="the language the person starts in, e.g. tr (WhatsApp tells the bot none; default: "
        "their app's, else the default language)",
    )
    invite.add_argument("--days", type=int, default=None, help="days until it expires (default 14)")
    invite.add_argument("--json", action="store_true", help="print JSON: code, link, expires_at")
    invite.add_argument(
        "--email", action="store_true",
        help="send it by e-mail to the directory's address of the contact (or team) instead: they use Wijkbrug "
        "by e-mail and the web page (needs WIJKBRUG_SMTP_HOST, _FROM and WIJKBRUG_PUBLIC_URL)",
    )

    commands.add_parser("migrate", help="create or update the database schema")

    directory = commands.add_parser("directory", help="the directory: organisations, wijken, teams, contacts, services")
    dir_commands = directory.add_subparsers(dest="directory_command", required=True)
    imp = dir_commands.add_parser("import", help="load a directory file (YAML), replacing what is stored")
    imp.add_argument("file", type=Path)
    imp.add_argument("--check", action="store_true", help="only validate; change nothing")
    exp = dir_commands.add_parser("export", help="write the stored directory as a file import reads back")
    exp.add_argument("-o", "--output", type=Path, help="the file to write (default: print it)")
    report = commands.add_parser("summary", help="a week's summary of an organisation or a wijkteam")
    scope = report.add_mutually_exclusive_group(required=True)
    scope.add_argument("--org", help="the organisation's id")
    scope.add_argument("--team", help="the wijkteam's id")
    report.add_argument("--week", default="", help="e.g. 2026-W47, or 'last' (default: this week so far)")
    report.add_argument("--format", choices=["text", "csv", "png"], default="text")
    report.add_argument("--language", default=None, help="the language of the text and chart (default nl)")
    report.add_argument("--excel", action="store_true", help="CSV for a Dutch Excel: ';' between columns, local times")
    report.add_argument("-o", "--output", type=Path, help="the file to write (default: print text or CSV)")

    people = commands.add_parser("users", help="the registered users")
    people_commands = people.add_subparsers(dest="users_command", required=True)
    people_commands.add_parser("list", help="list users (id, role, scope, language, state; no names)")
    revoke_user = people_commands.add_parser(
        "revoke", help="end a user's access; their open requests go to their team's coordinator"
    )
    revoke_user.add_argument("user", type=int)

    codes = commands.add_parser("invites", help="the invites")
    codes_commands = codes.add_subparsers(dest="invites_command", required=True)
    codes_commands.add_parser("list", help="list invites by reference (never the code)")
    revoke_invite = codes_commands.add_parser("revoke", help="revoke an unused invite")
    revoke_invite.add_argument("ref", help="the reference `invites list` shows")

    erase = commands.add_parser("erase", help="erase every trace of personal data of a question or a user")
    target = erase.add_mutually_exclusive_group(required=True)
    target.add_argument("--question", help="a question code, e.g. Q-7K2M")
    target.add_argument("--user", type=int, help="a user id, as `users list` shows it")

    copy = commands.add_parser("backup", help="a consistent copy of the database while the bot runs")
    copy.add_argument("file", type=Path)

    commands.add_parser("rotate-key", help="re-encrypt all personal data under a new key, without downtime")
    commands.add_parser("audit", help="the latest entries of the audit log")

    whatsapp = commands.add_parser("whatsapp", help="the WhatsApp channel")
    whatsapp_commands = whatsapp.add_subparsers(dest="whatsapp_command", required=True)
    templates = whatsapp_commands.add_parser(
        "templates", help="write the message template of every shipped language as JSON, to submit to Meta"
    )
    templates.add_argument("--out", default="-", help="the file to write (default: standard output)")

    i18n = commands.add_parser("i18n", help="the translation catalogs")
    i18n_commands = i18n.add_subparsers(dest="i18n_command", required=True)
    i18n_commands.add_parser("check", help="check every catalog: complete, placeholders, plurals, template current")
    i18n_commands.add_parser("review", help="list the translations marked for a native speaker's review")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsProblem as exc:
        print(f"wijkbrug: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if strays := unknown(os.environ):
        logging.getLogger("wijkbrug").warning("ignored, not a setting: %s", ", ".join(strays))
    logging.getLogger("httpx").setLevel(logging.WARNING)
    command = args.command or ("run" if cli_run.channels(settings) else "demo")
    if _reads_data(command, args) and isinstance(settings.database, Path) and not settings.database.is_file():
        # A mistyped WIJKBRUG_DATABASE would otherwise be created empty and show "nothing".
        print(
            f"wijkbrug {command}: {settings.database}: no such database; check WIJKBRUG_DATABASE "
            "(only `run`, `migrate` and `directory import` create one)",
            file=sys.stderr,
        )
        return 2
    try:
        return _dispatch(settings, command, args)
    except (OperatorError, DatabaseError, DirectoryError, KeyProblem) as exc:
        print(f"wijkbrug {command}: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        if not storage_trouble(exc):
            raise
        print(
            f"wijkbrug {command}: {shown(settings.database)}: cannot write the database ({exc}); is another program "
            "holding it, or is the disk full? Nothing was changed.",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        return 130


def _dispatch(settings: Settings, command: str, args: argparse.Namespace) -> int:
    """Run one command; an operator's mistake is raised (`OperatorError` and its kin), not printed."""
    if command == "run":
        if getattr(args, "only_instance", False):
            settings = settings.model_copy(update={"only_instance": True})
        return cli_run.run(settings, getattr(args, "webhook", None))
    if command == "demo":
        from bot import cli_demo

        script, language, database, out = (
            getattr(args, name, None) for name in ("script", "language", "database", "out")
        )
        serve = bool(getattr(args, "serve", False))
        return asyncio.run(cli_demo.demo(settings, script, language, database, out, serve=serve))
    if command == "invite":
        from bot import cli_access

        return asyncio.run(
            cli_access.invite(
                settings, Role(args.role), args.org, args.contact, args.team, args.days, args.json, args.email,
                args.channel, args.language,
            )
        )
    if command == "migrate":
        from bot import cli_database

        return asyncio.run(cli_database.migrate(settings))
    if command == "directory":
        from bot import cli_directory

        if args.directory_command == "export":
            return asyncio.run(cli_directory.export(settings, args.output))
        return asyncio.run(cli_directory.import_file(settings, args.file, args.check))
    if command == "whatsapp":
        from bot import cli_whatsapp

        return cli_whatsapp.templates(settings, args.out)
    if command == "i18n":
        from bot import cli_i18n

        return cli_i18n.i18n(args.i18n_command)
    if command == "summary":
        from bot import cli_summary

        return asyncio.run(cli_summary.summary(settings, args))
    if command in ("users", "invites", "erase", "backup", "rotate-key", "audit"):
        return asyncio.run(_trust(settings, command, args))
    return 0


def _reads_data(command: str, args: argparse.Namespace) -> bool:
    """Commands that work on data already stored: they never create a database."""
    if command == "directory":
        return args.directory_command == "export"
    return command in ("invite", "summary", "users", "invites", "erase", "backup", "rotate-key", "audit")


async def _trust(settings: Settings, command: str, args: argparse.Namespace) -> int:
    """The operator's access and privacy commands, on the database opened by its key; each is
    recorded in the audit log."""
    from bot import cli_access, cli_database, cli_privacy

    async with opened(settings) as (conn, vault):
        now = utc_now()
        if command == "users" and args.users_command == "list":
            await cli_access.list_users(conn)
        elif command == "users":
            await cli_access.revoke_user(conn, settings, vault, args.user)
        elif command == "invites" and args.invites_command == "list":
            await cli_access.list_invites(conn, now)
        elif command == "invites":
            await cli_access.revoke_invite(conn, args.ref, now)
        elif command == "erase":
            await cli_privacy.erase(conn, settings, vault, args, now)
        elif command == "backup":
            await cli_database.backup(conn, settings, args.file, now)
        elif command == "rotate-key":
            await cli_database.rotate_key(conn, settings, now)
        else:
            await cli_privacy.audit(conn)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
