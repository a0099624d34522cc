"""A coordinator's weekly summary on the page: the text, the chart and the CSV of their own scope.

Nothing is counted here: the report is the one `/summary` gets (bot/loading.py
`report_for_scope`, suppressed once by flows/suppression.py), written out by
flows/summary.py `report_parts`, drawn by bot/charts.py and exported by bot/export.py, so the page,
its chart and its CSV hide exactly what the chat's summary hides. Anyone but a coordinator is
refused (audited); the CSV download is audited as `/export` is.
"""

from __future__ import annotations

from aiohttp import web

from bot import loading
from bot.export import to_csv
from bot.web import security
from bot.web.pages import person
from bot.web.site import message, page, refuse, site
from db import privacy
from db.users import Account
from flows import summary
from flows.model import Role


def _week(request: web.Request) -> tuple[summary.Week, str]:
    """This week, the one before (`?week=last`) or an ISO week (`?week=2026-W47`), read as
    `/summary` reads it; a week that does not exist or has not begun: this week."""
    today = site(request).now().astimezone(site(request).catalogs.timezone).date()
    asked = request.query.get("week", "")[:20]
    found = summary.read_week(asked, today) if asked else None
    if isinstance(found, summary.Week):
        return found, "last" if asked == "last" else found.label
    return summary.week_of(today), ""


async def _coordinator(request: web.Request) -> tuple[Account | None, web.Response | None]:
    account, refused = await person(request)
    if account is None:
        return None, refused
    if account.role is not Role.COORDINATOR:
        await refuse(request, f"user:{account.id}", "web:summary")
        return None, message(request, account.language, "not_yours", 404)
    return account, None


async def _report(request: web.Request, account: Account, with_rows: bool = False):  # noqa: ANN202
    week, which = _week(request)
    core = site(request).channel.runner.core
    report, rows = await loading.report_for_scope(core, loading.scope_of(account), week, with_rows)
    return report, rows, which


async def summary_page(request: web.Request) -> web.Response:
    account, refused = await _coordinator(request)
    if account is None:
        assert refused is not None
        return refused
    here = site(request)
    report, _, which = await _report(request, account)
    directory = await here.channel.runner.directory()
    text = here.catalogs.render_parts(tuple(summary.report_parts(report, directory)), account.language)
    paragraphs = [part.split("\n") for part in text.split("\n\n")]
    query = f"?week={which}" if which else ""
    return page(
        request, "summary.html", account.language, csrf_cookie=request.cookies.get(security.SESSION_COOKIE, ""),
        paragraphs=paragraphs, which=which, chart=f"/summary/chart.png{query}", csv=f"/summary.csv{query}",
    )


async def chart(request: web.Request) -> web.Response:
    account, refused = await _coordinator(request)
    if account is None:
        assert refused is not None
        return refused
    from bot.charts import drawn  # drawn in a short-lived child: matplotlib never stays in the bot

    report, _, _ = await _report(request, account)
    png = await drawn(report, site(request).catalogs, account.language)
    if png is None:  # the page's text has every figure; the image's alt text names the chart
        return web.Response(status=503, headers={"Retry-After": "60"})
    return web.Response(body=png, content_type="image/png")


async def csv(request: web.Request) -> web.Response:
    account, refused = await _coordinator(request)
    if account is None:
        assert refused is not None
        return refused
    here = site(request)
    report, rows, _ = await _report(request, account, with_rows=True)
    async with here.channel.transaction() as conn:
        what = f"{loading.scope_of(account)} {report.week.label}"
        await privacy.audit(conn, f"user:{account.id}", "export", what, here.now())
    return web.Response(
        body=to_csv(rows, timezone=here.catalogs.timezone), content_type="text/csv", charset="utf-8",
        headers={"Content-Disposition": f"attachment; filename=wijkbrug-{report.week.label}.csv"},
    )
