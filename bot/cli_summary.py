"""`wijkbrug summary`: a week's summary of an organisation or a wijkteam, as text, CSV or a chart."""

from __future__ import annotations

import argparse
import sys

from bot import cli_services
from bot.cli_shared import OperatorError, opened, utc_now
from bot.i18n import Catalogs
from bot.settings import Settings


async def summary(settings: Settings, args: argparse.Namespace) -> int:
    from flows import summary as summaries

    catalogs = settings.catalogs()
    language = summary_language(catalogs, args.language)
    if args.format == "png" and args.output is None:
        raise OperatorError("a chart needs -o FILE.png")
    if args.excel and args.format != "csv":
        raise OperatorError("--excel is for --format csv")
    if args.output is not None and not args.output.parent.is_dir():
        raise OperatorError(f"-o {args.output}: the folder {args.output.parent} does not exist")
    week = summaries.read_week(args.week, utc_now().astimezone(catalogs.timezone).date())
    if not isinstance(week, summaries.Week):
        problem, label = week
        why = {"no_such_week": f"there is no week {label}", "ahead": f"week {label} has not begun yet"}
        raise OperatorError(
            f"--week {args.week!r}: {why.get(problem, 'not a week')}; "
            "give a past or the current ISO week like 2026-W47, or 'last'"
        )
    async with opened(settings) as (conn, vault):
        directory, report, rows = await cli_services.scope_report(
            conn, catalogs, vault, args.org, args.team, week, with_rows=args.format == "csv"
        )
    if args.format == "png":
        from bot.charts import draw

        data = draw(report, catalogs, language)
    elif args.format == "csv":
        from bot.export import to_csv

        data = to_csv(rows, excel=args.excel, timezone=catalogs.timezone)
    else:
        text = catalogs.render_parts(tuple(summaries.report_parts(report, directory)), language)
        data = (text + "\n").encode("utf-8")
    if args.output is None:
        sys.stdout.write(data.decode("utf-8"))
        return 0
    try:
        args.output.write_bytes(data)
    except OSError as exc:
        raise OperatorError(f"-o {args.output}: cannot write it ({exc.strerror or exc})") from None
    print(f"{args.output}: written", file=sys.stderr)
    return 0


def summary_language(catalogs: Catalogs, asked: str | None) -> str:
    """`--language`: a shipped language (`ar`, `en-GB`), never silently another one."""
    if asked is None:
        return catalogs.default
    code = asked.replace("-", "_")
    if code in catalogs.languages or code.split("_")[0].lower() in catalogs.languages:
        return catalogs.pick(asked)
    raise OperatorError(
        f"--language {asked!r}: not a language Wijkbrug ships; choose one of {', '.join(sorted(catalogs.languages))}"
    )
