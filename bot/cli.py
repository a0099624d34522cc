"""The `wijkbrug` command: run the bot, the demo, and the operator's tasks.

`wijkbrug` alone runs the bot's main job: on Telegram when a token is set, else the console demo.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sqlite3
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet

from bot.i18n import Catalogs
from bot.settings import Settings, SettingsProblem, unknown
from bot.settings import load as load_settings
from db import directory as stored_directory
from db import invites
from db import settings as stored_settings
from db.connection import DatabaseError, connect, transaction
from db.schema import migrate
from db.vault import CHECK_KEY, KeyProblem, Vault, attach, open_vault
from flows.directory import Directory, DirectoryError
from flows.model import Role

log = logging.getLogger("wijkbrug")


def utc_now() -> datetime:
    return datetime.now(UTC)


class OperatorError(Exception):
    """A mistake on the command line or in a file: printed as one clear message, exit code 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wijkbrug", description="Wijkbrug: volunteers and wijkteams, connected.")
    commands = parser.add_subparsers(dest="command")

    run = commands.add_parser("run", help="run the bot on Telegram (long polling, or a webhook)")
    run.add_argument("--webhook", help="the public HTTPS URL Telegram posts updates to (default: long polling)")

    demo = commands.add_parser("demo", help="chat with the bot in this terminal, as a volunteer of an invented organisation")
    demo.add_argument("--script", type=Path, help="replay the lines of FILE instead of reading the keyboard")
    demo.add_argument("--language", help="the language your 'phone' is set to, e.g. ar, tr, en (default nl)")
    demo.add_argument("--database", type=Path, help="keep the demo's database in this file (default: thrown away)")

    invite = commands.add_parser("invite", help="make a single-use invite code and link")
    invite.add_argument("--role", choices=[r.value for r in Role], required=True)
    bound = invite.add_mutually_exclusive_group(required=True)
    bound.add_argument("--org", help="for a volunteer or coordinator: the organisation's id in the directory")
    bound.add_argument("--contact", help="for a wijkteam member: their contact id in the directory")
    bound.add_argument("--team", help="for a wijkteam's coordinator: the team's id in the directory")
    invite.add_argument("--days", type=int, default=None, help="days until it expires (default 14)")
    invite.add_argument("--json", action="store_true", help="print JSON: code, link, expires_at")

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
    command = args.command or ("run" if settings.telegram_token else "demo")
    if _reads_data(command, args) and not settings.database.is_file():
        # A mistyped WIJKBRUG_DATABASE would otherwise be created empty and show "nothing".
        print(
            f"wijkbrug {command}: {settings.database}: no such database; check WIJKBRUG_DATABASE "
            "(only `run`, `migrate` and `directory import` create one)",
            file=sys.stderr,
        )
        return 2
    try:
        if command == "run":
            return _run(settings, getattr(args, "webhook", None))
        if command == "demo":
            return asyncio.run(_demo(settings, getattr(args, "script", None), getattr(args, "language", None), getattr(args, "database", None)))
        if command == "invite":
            return asyncio.run(_invite(settings, Role(args.role), args.org, args.contact, args.team, args.days, args.json))
        if command == "migrate":
            return asyncio.run(_migrate(settings))
        if command == "directory" and args.directory_command == "export":
            return asyncio.run(_export_directory(settings, args.output))
        if command == "directory":
            return asyncio.run(_import_directory(settings, args.file, args.check))
        if command == "i18n":
            return _i18n(args.i18n_command)
        if command == "summary":
            return asyncio.run(_summary(settings, args))
        if command in ("users", "invites", "erase", "backup", "rotate-key", "audit"):
            return asyncio.run(_trust(settings, command, args))
    except (OperatorError, DatabaseError, DirectoryError, KeyProblem) as exc:
        print(f"wijkbrug {command}: {exc}", file=sys.stderr)
        return 2
    except sqlite3.OperationalError as exc:
        print(
            f"wijkbrug {command}: {settings.database}: cannot write the database ({exc}); is another program "
            "holding it, or is the disk full? Nothing was changed.",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


def _reads_data(command: str, args: argparse.Namespace) -> bool:
    """Commands that work on data already stored: they never create a database."""
    if command == "directory":
        return args.directory_command == "export"
    return command in ("invite", "summary", "users", "invites", "erase", "backup", "rotate-key", "audit")


def _run(settings: Settings, webhook: str | None = None) -> int:
    if settings.telegram_token is None:
        raise OperatorError(
            "no Telegram token: set WIJKBRUG_TELEGRAM_TOKEN to the token @BotFather gives you "
            "(in Telegram, send /newbot to @BotFather); or try `wijkbrug demo`."
        )
    from bot.telegram import TelegramBot  # PTB is loaded only when it is needed

    catalogs = settings.catalogs()

    async def go() -> None:
        conn = await connect(settings.database)  # creates and migrates a new database
        await conn.close()
        task = asyncio.create_task(TelegramBot(settings, catalogs, utc_now, webhook).run())
        # SIGTERM (systemd, docker stop) ends the bot as Ctrl-C does; nothing is lost either way.
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            log.info("stopped")

    from telegram.error import InvalidToken

    try:
        asyncio.run(go())
    except KeyboardInterrupt:
        log.info("stopped")
    except InvalidToken:
        raise OperatorError(
            "Telegram refused the token in WIJKBRUG_TELEGRAM_TOKEN; copy it again from @BotFather"
        ) from None
    return 0


async def _seed_sample(conn) -> None:
    from bot import directory_file  # not for `wijkbrug run`: it loads Babel's language names

    loaded = directory_file.load(directory_file.sample_path())
    async with transaction(conn):
        await stored_directory.replace(conn, loaded.directory, loaded.away_given)


async def _demo(settings: Settings, script: Path | None, language: str | None, database: Path | None) -> int:
    from bot.console import ConsoleChat

    out = sys.stdout
    if script is not None:
        try:
            lines = script.read_text("utf-8").splitlines()
        except OSError as exc:
            raise OperatorError(f"{script}: cannot read the script: {exc.strerror}") from None
    elif not sys.stdin.isatty():
        lines = sys.stdin.read().splitlines()
    else:
        lines = None
    with tempfile.TemporaryDirectory(prefix="wijkbrug-demo-") as scratch:
        conn = await connect(database or Path(scratch) / "demo.sqlite3")
        try:
            await _seed_sample(conn)
            async with transaction(conn):
                invite = await invites.create(conn, role=Role.VOLUNTEER, org_id="lantaarn", now=utc_now(), valid_for=timedelta(days=1))
            catalogs = settings.catalogs()
            # A kept demo database keeps its key beside it; a throw-away one needs none.
            vault = await open_vault(conn, None, database.with_suffix(".key")) if database else Vault.generate()
            chat = ConsoleChat(conn, catalogs, utc_now, out, first_name="Demo", language_code=language, vault=vault)
            out.write(
                "Wijkbrug demo — you are a volunteer of an invented organisation. Type a message, the\n"
                "number of a button, or a command (/new, /language, /help, /cancel). Ctrl-D ends the demo.\n\n"
            )
            out.write("  you | (opens the invite link)\n")
            await chat.type(f"/start {invite.code}")
            if lines is not None:
                for line in lines:
                    if not line.strip() or line.lstrip().startswith("#"):
                        continue
                    out.write(f"  you | {line}\n")
                    await chat.type(line)
                return 0
            while True:
                try:
                    line = await asyncio.to_thread(input, "  you | ")
                except (EOFError, KeyboardInterrupt):
                    out.write("\n")
                    return 0
                if line.strip():
                    await chat.type(line)
        finally:
            await conn.close()


async def _invite(
    settings: Settings,
    role: Role,
    org_id: str | None,
    contact_id: str | None,
    team_id: str | None,
    days: int | None,
    as_json: bool,
) -> int:
    if (role is Role.MEMBER) != (contact_id is not None) or (team_id is not None and role is not Role.COORDINATOR):
        raise OperatorError(
            "a member's invite needs --contact ID; a volunteer's needs --org ORG; a coordinator's --org ORG or --team TEAM"
        )
    conn = await connect(settings.database)
    try:
        stored = await stored_directory.load(conn)
        if org_id is not None and org_id not in {o.id for o in stored.organisations}:
            known = ", ".join(o.id for o in stored.organisations) or "none yet"
            raise OperatorError(
                f"unknown organisation {org_id!r} (known: {known}); load them with `wijkbrug directory import FILE`"
            )
        if contact_id is not None and stored.contact(contact_id) is None:
            raise OperatorError(f"unknown contact {contact_id!r}; see `wijkbrug directory export` for the ids")
        if team_id is not None and stored.team(team_id) is None:
            raise OperatorError(f"unknown team {team_id!r}; see `wijkbrug directory export` for the ids")
        valid = timedelta(days=days if days is not None else settings.invite_days)
        if valid <= timedelta(0):
            raise OperatorError("--days must be 1 or more")
        async with transaction(conn):
            invite = await invites.create(
                conn, role=role, org_id=org_id, contact_id=contact_id, team_id=team_id, now=utc_now(), valid_for=valid
            )
        from bot.telegram import stored_username

        username = settings.bot_username or await stored_username(conn)
    finally:
        await conn.close()
    link = f"https://t.me/{username or '<bot username>'}?start={invite.code}"
    expires = invite.expires_at.replace(microsecond=0).isoformat()
    if as_json:
        print(json.dumps({"code": invite.code, "link": link, "expires_at": expires}))
    else:
        print(f"Invite for a {role.value} of {org_id or contact_id or team_id}, single use, valid until {expires}:")
        print(f"  code: {invite.code}")
        print(f"  link: {link}")
    if username is None:
        print(
            "note: the bot's username is not known yet; run the bot once or set WIJKBRUG_BOT_USERNAME",
            file=sys.stderr,
        )
    return 0


async def _migrate(settings: Settings) -> int:
    conn = await connect(settings.database, upgrade=False)
    try:
        applied = await migrate(conn)
    finally:
        await conn.close()
    print(f"{settings.database}: schema up to date" + (f" (applied {', '.join(applied)})" if applied else ""))
    return 0


def _counts(directory: Directory) -> str:
    return ", ".join(f"{len(getattr(directory, kind))} {kind}" for kind in stored_directory.KINDS)


async def _import_directory(settings: Settings, file: Path, check: bool) -> int:
    from bot import directory_file

    loaded = directory_file.load(file)
    if check:
        print(f"{file}: valid ({_counts(loaded.directory)})")
        return 0
    conn = await connect(settings.database)
    try:
        async with transaction(conn):
            report = await stored_directory.replace(conn, loaded.directory, loaded.away_given)
    except stored_directory.InUse as exc:
        raise OperatorError(f"{file}: nothing imported: {exc}") from None
    finally:
        await conn.close()
    print(f"{file}: imported ({_counts(loaded.directory)})")
    for kind, change in report.items():
        for what in ("added", "changed", "removed"):
            ids = getattr(change, what)
            if ids:
                shown = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
                print(f"  {kind} {what} ({len(ids)}): {shown}")
    if not any(c.added or c.changed or c.removed for c in report.values()):
        print("  nothing changed")
    return 0


async def _export_directory(settings: Settings, output: Path | None) -> int:
    from bot import directory_file

    conn = await connect(settings.database)
    try:
        stored = await stored_directory.load(conn)
    finally:
        await conn.close()
    heading = f"# Wijkbrug directory, exported {utc_now():%Y-%m-%d %H:%M} UTC. Import it with `wijkbrug directory import`."
    text = directory_file.dump(stored, heading)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, "utf-8")
        print(f"{output}: written ({_counts(stored)})", file=sys.stderr)
    return 0


async def _summary(settings: Settings, args: argparse.Namespace) -> int:
    from bot.runner import Runner
    from flows import summary as summaries

    catalogs = settings.catalogs()
    language = _summary_language(catalogs, args.language)
    if args.format == "png" and args.output is None:
        raise OperatorError("a chart needs -o FILE.png")
    if args.excel and args.format != "csv":
        raise OperatorError("--excel is for --format csv")
    if args.output is not None and not args.output.parent.is_dir():
        raise OperatorError(f"-o {args.output}: the folder {args.output.parent} does not exist")
    week = summaries.read_week(args.week, utc_now().astimezone(catalogs.timezone).date())
    if not isinstance(week, summaries.Week):
        problem, label = week
        why = {"no_such_week": f"there is no week {label}", "ahead": f"week {label} has not begun yet"}.get(problem, "not a week")
        raise OperatorError(f"--week {args.week!r}: {why}; give a past or the current ISO week like 2026-W47, or 'last'")
    conn = await connect(settings.database)
    try:
        secret = settings.secret_key.get_secret_value() if settings.secret_key else None
        runner = Runner(conn, catalogs, utc_now, vault=await open_vault(conn, secret, settings.key_path()))
        directory = await runner.directory()
        if args.org and args.org not in {o.id for o in directory.organisations}:
            raise OperatorError(f"unknown organisation {args.org!r}")
        if args.team and directory.team(args.team) is None:
            raise OperatorError(f"unknown team {args.team!r}")
        scope = f"org:{args.org}" if args.org else f"team:{args.team}"
        report, rows = await runner.report_for_scope(scope, week, with_rows=args.format == "csv")
    finally:
        await conn.close()
    if args.format == "png":
        from bot.charts import draw

        data = draw(report, catalogs, language)
    elif args.format == "csv":
        from bot.export import to_csv

        data = to_csv(rows, excel=args.excel, timezone=catalogs.timezone)
    else:
        data = (catalogs.render_parts(tuple(summaries.report_parts(report, directory)), language) + "\n").encode("utf-8")
    if args.output is None:
        sys.stdout.write(data.decode("utf-8"))
        return 0
    try:
        args.output.write_bytes(data)
    except OSError as exc:
        raise OperatorError(f"-o {args.output}: cannot write it ({exc.strerror or exc})") from None
    print(f"{args.output}: written", file=sys.stderr)
    return 0


def _summary_language(catalogs: Catalogs, asked: str | None) -> str:
    """`--language`: a shipped language (`ar`, `en-GB`), never silently another one."""
    if asked is None:
        return catalogs.default
    code = asked.replace("-", "_")
    if code in catalogs.languages or code.split("_")[0].lower() in catalogs.languages:
        return catalogs.pick(asked)
    raise OperatorError(f"--language {asked!r}: not a language Wijkbrug ships; choose one of {', '.join(sorted(catalogs.languages))}")


async def _trust(settings: Settings, command: str, args: argparse.Namespace) -> int:
    """The operator's access and privacy commands; each is recorded in the audit log."""
    from bot import listing
    from bot.runner import Runner
    from db import privacy, users, wal
    from db.vault import load_keys, write_keys

    conn = await connect(settings.database)
    try:
        secret = settings.secret_key.get_secret_value() if settings.secret_key else None
        vault = attach(conn, await open_vault(conn, secret, settings.key_path()))
        now = utc_now()
        if command == "users" and args.users_command == "list":
            print(*listing.users(await users.all_(conn), await users.uncoordinated_orgs(conn)), sep="\n")
        elif command == "users":
            runner = Runner(conn, settings.catalogs(), utc_now, vault=vault)
            if not await runner.revoke(args.user):
                raise OperatorError(f"no active user {args.user}; see `wijkbrug users list`")
            print(f"user {args.user}: access ended; their open requests went to their team's coordinator")
        elif command == "invites" and args.invites_command == "list":
            print(*listing.invites(await invites.all_(conn, now)), sep="\n")
        elif command == "invites":
            async with transaction(conn):
                count = await invites.revoke(conn, args.ref, now)
                if count:
                    await privacy.audit(conn, "operator", "revoke", f"invite:{args.ref}", now)
            if not count:
                raise OperatorError(f"no open invite with reference {args.ref!r}; see `wijkbrug invites list`")
            print(f"invite {args.ref}: revoked")
        elif command == "erase":
            if args.question:
                async with transaction(conn):
                    erased = await privacy.erase_question(conn, args.question.upper(), now)
                what = f"question {args.question.upper()}"
            else:
                # A member's open requests are handed on first (flows.cases.member_left).
                runner = Runner(conn, Catalogs(default=settings.default_locale), utc_now, vault=vault)
                erased = await runner.erase(args.user)
                what = f"user {args.user}"
            if erased is None:
                raise OperatorError(f"no {what}")
            print(f"{what}: erased " + ("; ".join(erased.items) if erased.items else "nothing (no personal data was left)"))
            if not await wal.truncate(conn):
                raise OperatorError(
                    f"{settings.database}-wal: erased, but the write-ahead log could not be emptied (the database stayed "
                    "busy), so it may still hold the erased values until the bot stops or its next nightly retention run"
                )
        elif command == "backup":
            await privacy.backup(conn, args.file, now)
            print(f"{args.file}: a consistent copy of {settings.database}; keep the key file ({settings.key_path()}) apart from it")
        elif command == "rotate-key":
            if secret:
                raise OperatorError("the key comes from WIJKBRUG_SECRET_KEY: put a new key in front of it there, then run this again")
            keys = load_keys(None, settings.key_path(), create=False)
            # The key check is re-sealed last: if it is not under the newest key, an earlier
            # rotation stopped half-way (or the key was added by hand), and this one finishes it.
            resumed = not Vault(keys).is_newest(await stored_settings.get(conn, CHECK_KEY))
            if not resumed:
                keys = [Fernet.generate_key(), *keys]
                # The running bot reloads the key file when it meets data sealed under the new key.
                write_keys(settings.key_path(), keys)
            # In batches of their own, so that a running bot waits milliseconds, not seconds.
            done = await privacy.rotate(conn, Vault(keys), now)
            under = "the newest key (an earlier rotation was finished)" if resumed else "a new key"
            print(f"{done.values} value(s) re-encrypted under {under}, in {done.transactions} short transaction(s) "
                  f"of at most {privacy.ROTATE_BATCH}; {settings.key_path()} holds the new key first")
        else:
            print(*listing.audit(await privacy.audit_log(conn)), sep="\n")
    finally:
        await conn.close()
    return 0


def _i18n(what: str) -> int:
    from bot import i18n_check

    if what == "review":
        for line in i18n_check.review_list():
            print(line)
        return 0
    root = Path(__file__).resolve().parent.parent
    problems = i18n_check.check_all(root)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"all catalogs complete ({', '.join(Catalogs().languages)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
