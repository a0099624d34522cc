"""A person's page and what they do on it.

`/` shows the feed (what the bot said to them, newest last), the buttons of the prompts that can
still be answered as forms, a text box (an answer, a reason for declining, a question), away and
back, and their open requests and cases (read as /cases reads them). A press or a typed answer is
an `Inbound` on channel `web` (bot/web/channel.py): the core handles it exactly as a Telegram
update — the gate checks a press on a case's buttons and audits a refusal — and the answer is in
the feed when the redirect shows the page again (POST, redirect, GET).

Every page is the logged-in person's own: another person's case or file by its address is
refused (404, the same as one that does not exist) and audited.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

from aiohttp import web

from bot import loading
from bot.context import Work
from bot.updates import MAX_CALLBACK_DATA, Inbound, PressedMessage, text_input
from bot.web import security
from bot.web.files import Gone, NotFetched, download_name, reference
from bot.web.site import form, language_of, logged_in, message, page, refuse, site
from db import cases as stored_cases
from db import web_feed
from db.users import Account
from flows import case_rules, cases
from flows.model import Choice, Role
from flows.names import clean_name

MAX_TEXT = 4096  # what one Telegram message holds: the same bound for a typed answer
FILE_TYPES = {"photo": "image/png", "document": "text/csv"}


async def person(request: web.Request) -> tuple[Account | None, web.Response | None]:
    """The logged-in person, or the page that asks them to log in (401)."""
    account = await logged_in(request)
    if account is None:
        return None, message(request, language_of(request), "log_in", 401)
    return account, None


def _cookie(request: web.Request) -> str:
    return request.cookies.get(security.SESSION_COOKIE, "")


async def home(request: web.Request) -> web.Response:
    account, refused = await person(request)
    if account is None:
        assert refused is not None
        return refused
    here = site(request)
    entries = await web_feed.recent(here.conn, account.id)
    return page(
        request, "home.html", account.language, csrf_cookie=_cookie(request),
        feed=_feed(entries), cases=await _cases(request, account), role=account.role.value,
        name=clean_name(account.display_name), notice=request.query.get("slow") == "1",
    )


def _feed(entries: list[web_feed.Entry]) -> list[dict[str, Any]]:
    """The entries as the template shows them. Buttons are offered on the newest prompt (a step's
    buttons expire with the next prompt) and on every prompt with a case's buttons (those stay
    good for days), as long as no choice was made on it."""
    newest = max((e.id for e in entries if e.body.get("buttons")), default=None)
    shown = []
    for entry in entries:
        body = entry.body
        rows = body.get("buttons") or []
        case_buttons = any(b["id"].startswith("c:") for row in rows for b in row)
        offered = entry.replaced is None and (entry.id == newest or case_buttons)
        shown.append({
            "id": entry.id,
            "notice": entry.kind == "notice",
            "text": entry.replaced if entry.replaced is not None else str(body.get("text", "")),
            "answered": entry.replaced is not None,
            "buttons": rows if offered else [],
            "file": (body.get("file") or {}).get("kind") or ("forwarded" if body.get("forwarded") else None),
            "person": clean_name(str((body.get("person") or {}).get("name", ""))),
            "at": entry.created_at,
        })
    return shown


async def _cases(request: web.Request, account: Account, only: str | None = None) -> list[dict[str, Any]]:
    """The person's open requests and cases, as /cases and /inbox list them, with the buttons
    their side of each case has now (flows/case_rules.py)."""
    here = site(request)
    core = here.channel.runner.core
    work = Work(core)
    listed = []
    if only is None:
        records = await stored_cases.of_user(here.conn, account.id, core.vault)
    else:
        found = await stored_cases.get(here.conn, only, core.vault)
        records = [found] if found is not None else []
    for record in records:
        case = await loading.view(core, work, record)
        side = case_rules.side_of(account.id, case)
        mine = side is not case_rules.Side.OTHER and (case.member_id == account.id) == (account.role is Role.MEMBER)
        if not mine or (only is None and case.status not in cases.OPEN):
            continue
        buttons = [
            {"id": b.data, "label": here.catalogs.render(b.label, account.language)}
            for row in case_rules.buttons_for(case, side) for b in row
        ]
        line = here.catalogs.render(cases.summary_line(case), account.language)
        listed.append({"id": case.id, "line": line, "buttons": buttons})
    return listed


async def case_page(request: web.Request) -> web.Response:
    account, refused = await person(request)
    if account is None:
        assert refused is not None
        return refused
    case_id = request.match_info["case_id"][:20]
    found = await _cases(request, account, only=case_id)
    if not found:
        await refuse(request, f"user:{account.id}", f"web:case:{case_id}")
        return message(request, account.language, "not_yours", 404)
    return page(request, "case.html", account.language, csrf_cookie=_cookie(request), case=found[0])


async def file(request: web.Request) -> web.Response:
    """A chart or an export the bot made for this person (a feed entry's file)."""
    account, refused = await person(request)
    if account is None:
        assert refused is not None
        return refused
    here = site(request)
    wanted = request.match_info["entry"]
    entry = None
    if wanted.isdigit():
        entry = next((e for e in await web_feed.recent(here.conn, account.id, 200) if e.id == int(wanted)), None)
    attached = (entry.body.get("file") if entry else None) or {}
    forwarded = (entry.body.get("forwarded") if entry else None) or {}
    ref = reference(forwarded)
    if attached.get("kind") not in FILE_TYPES and ref is None:
        await refuse(request, f"user:{account.id}", "web:file")
        return message(request, account.language, "not_yours", 404)
    if ref is not None:
        return await _forwarded(request, account, ref, str(forwarded.get("media", "")))
    headers = {}
    if attached["kind"] == "document":
        headers["Content-Disposition"] = "attachment; filename=wijkbrug.csv"
    return web.Response(
        body=base64.b64decode(attached["data"]), content_type=FILE_TYPES[attached["kind"]], headers=headers
    )


async def _forwarded(request: web.Request, account: Account, ref: str, media: str) -> web.Response:
    """A file a person sent, fetched now from the channel it came in on, handed over as a download."""
    fetch = site(request).fetch
    try:
        if fetch is None:
            raise NotFetched("no channel to fetch from here")
        data = await fetch(ref)
    except Gone:  # WhatsApp keeps a file about 30 days
        return message(request, account.language, "file_gone", 410)
    except NotFetched:
        return message(request, account.language, "no_file", 502)
    return web.Response(
        body=data, content_type="application/octet-stream",
        headers={"Content-Disposition": f"attachment; filename={download_name(media, data)}"},
    )


async def _posted(request: web.Request) -> tuple[Account | None, dict[str, str] | web.Response]:
    """The logged-in person and their form, or the refusal (audited): no session, or no CSRF token."""
    account = await logged_in(request)
    if account is None:
        await refuse(request, "web", "web:no-session")
        return None, message(request, language_of(request), "log_in", 401)
    data = await form(request, _cookie(request))
    if data is None:
        await refuse(request, f"user:{account.id}", "web:csrf")
        return None, message(request, account.language, "form_expired", 403)
    return account, data


def _inbound(account: Account, **what: Any) -> Inbound:
    return Inbound(chat_id=str(account.id), first_name=account.display_name, language_code=account.language, **what)


async def _submit(request: web.Request, inbound: Inbound) -> web.Response:
    answered = await site(request).channel.submit(inbound)
    raise web.HTTPSeeOther("/#newest" if answered else "/?slow=1#newest")  # the newest message in view


async def press(request: web.Request) -> web.Response:
    """A button of the feed or of a case: its id, and the feed entry it was on (if any)."""
    account, data = await _posted(request)
    if account is None:
        assert isinstance(data, web.Response)
        return data
    assert isinstance(data, dict)
    button = data.get("button", "")[:MAX_CALLBACK_DATA]
    entry_id = int(data["entry"]) if data.get("entry", "").isdigit() else None
    prompt = ""
    if entry_id is not None:
        entries = await web_feed.recent(site(request).conn, account.id, 200)
        entry = next((e for e in entries if e.id == entry_id), None)
        entry_id = entry.id if entry else None  # only a prompt of their own feed is replaced
        prompt = str(entry.body.get("text", "")) if entry else ""
    pressed = PressedMessage(callback_id=f"web-{secrets.token_hex(8)}", message_id=entry_id, text=prompt)
    return await _submit(request, _inbound(account, event=Choice(data=button), pressed=pressed))


async def say(request: web.Request) -> web.Response:
    """A typed answer: a reason, a question, an answer to a question, or a command."""
    account, data = await _posted(request)
    if account is None:
        assert isinstance(data, web.Response)
        return data
    assert isinstance(data, dict)
    text = data.get("text", "").strip()[:MAX_TEXT]
    if not text:
        raise web.HTTPSeeOther("/")
    return await _submit(request, _inbound(account, event=text_input(text)))


async def away(request: web.Request) -> web.Response:
    """Away until a day, or back: the member's /away and /back."""
    account, data = await _posted(request)
    if account is None:
        assert isinstance(data, web.Response)
        return data
    assert isinstance(data, dict)
    if data.get("back"):
        command = "/back"
    else:
        command = f"/away {data.get('day', '').strip()[:40]}".strip()
    return await _submit(request, _inbound(account, event=text_input(command)))
