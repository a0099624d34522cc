"""Getting in and out: a login link from an e-mail notice, an e-mail invitation, logging out.

`GET /login/{token}` only shows a page with one button (a mail scanner opening links in advance
uses up nothing); its POST uses the link once (db/login_links.py) and starts a session (db/web_sessions.py);
the person gets their `web` address (the account id), which their page's inputs come from. A link
that is refused says why on a page in the person's language when the link names them (else the
browser's); an expired one offers "send me a fresh link" (a form: CSRF-protected, rate-limited),
which goes to the person's own address, never to one the visitor types. Link uses are limited per
client (bot/web/security.py); every refusal is audited, by reason, without the token.
"""

from __future__ import annotations

from aiohttp import web

from bot.web import security
from bot.web.site import form, language_of, message, page, refuse, site
from db import login_links, privacy, users, web_sessions
from db.login_links import Opened, Refusal, Refused
from db.users import Account

REASONS = {Refusal.EXPIRED: "link_expired", Refusal.USED: "link_used", Refusal.UNKNOWN: "link_unknown"}


async def _language(request: web.Request, user_id: int | None) -> str:
    account = await users.get(site(request).conn, user_id) if user_id is not None else None
    return language_of(request, account)


async def _session_user(request: web.Request) -> int | None:
    here = site(request)
    return await web_sessions.user_of(here.conn, request.cookies.get(security.SESSION_COOKIE, ""), here.now())


async def _theirs(request: web.Request, token: str) -> bool:
    """Whether the link is the logged-in person's own (opened or pressed again: just their page)."""
    here = site(request)
    looked = await login_links.check(here.conn, token, here.now())
    return looked.user_id is not None and looked.user_id == await _session_user(request)


async def _too_many(request: web.Request) -> web.Response | None:
    if site(request).links.allow(request):
        return None
    await refuse(request, "web", "web:rate-limit")
    return message(request, language_of(request), "too_many", 429)


async def _session(request: web.Request, account: Account) -> web.Response:
    """Start a session for `account` (their `web` address given, if they had none) and go to their page."""
    here = site(request)
    async with here.channel.transaction() as conn:
        await users.add_address(conn, account.id, "web", str(account.id), here.now())
        token = await web_sessions.create(conn, account.id, here.now())
        await privacy.audit(conn, f"user:{account.id}", "web-login", "session", here.now())
    response = web.Response(status=303, headers={"Location": "/"})
    seconds = int(web_sessions.VALID_FOR.total_seconds())
    security.set_cookie(response, security.SESSION_COOKIE, token, here.secure, max_age=seconds)
    response.del_cookie(security.VISITOR_COOKIE, path="/")
    return response


async def open_link(request: web.Request) -> web.StreamResponse:
    """GET of a link: a page with one button that uses it (a POST). A mail scanner that opens the
    link in advance (Safe Links and the like) sees that page and uses up nothing."""
    if (limited := await _too_many(request)) is not None:
        return limited
    here = site(request)
    token = request.match_info["token"][:200]
    if await _theirs(request, token):
        return web.Response(status=303, headers={"Location": "/"})  # their own link again, logged in already
    looked = await login_links.check(here.conn, token, here.now())
    if not isinstance(looked, Opened):
        return await _refused(request, token, looked)
    response = web.Response()
    cookie = security.visitor(request, response, here.secure)
    language = await _language(request, looked.user_id)
    return page(request, "open.html", language, csrf_cookie=cookie, response=response, action=f"/login/{token}")


async def use_link(request: web.Request) -> web.StreamResponse:
    """POST of a link's page: the link is used (once) and a session starts. The form's CSRF token is
    tied to the visitor's cookie, so another site cannot log a browser in (docs/privacy.md)."""
    if (limited := await _too_many(request)) is not None:
        return limited
    here = site(request)
    token = request.match_info["token"][:200]
    if await _theirs(request, token):
        return web.Response(status=303, headers={"Location": "/"})  # pressed twice: logged in already
    if await form(request, request.cookies.get(security.VISITOR_COOKIE, "")) is None:
        await refuse(request, "web", "web:csrf")
        return message(request, language_of(request), "form_expired", 403)
    async with here.channel.transaction() as conn:
        used = await login_links.use(conn, token, here.now())
    if isinstance(used, Opened):
        account = await users.get(here.conn, used.user_id)
        if account is not None and not account.revoked_at:
            return await _session(request, account)
        await refuse(request, f"user:{used.user_id}", "web:revoked")
        return message(request, language_of(request), "link_unknown", 403)
    return await _refused(request, token, used)


async def _refused(request: web.Request, token: str, refused: Refused) -> web.Response:
    """A link that opens nothing: audited by reason, and a page saying why (an expired one offers a
    fresh link to its person's own address)."""
    here = site(request)
    actor = f"user:{refused.user_id}" if refused.user_id is not None else "web"
    await refuse(request, actor, f"web:login-link:{refused.reason.value}")
    language = await _language(request, refused.user_id)
    response = web.Response()
    cookie = security.visitor(request, response, here.secure)
    fresh = refused.reason is Refusal.EXPIRED and here.fresh_link is not None
    return page(
        request, "message.html", language, 410 if refused.reason is Refusal.EXPIRED else 403, csrf_cookie=cookie,
        response=response, say=REASONS[refused.reason], fresh=f"/login/{token}/fresh" if fresh else "",
    )


async def fresh_link(request: web.Request) -> web.Response:
    """Send a fresh link to the person an expired link was for (their own address)."""
    if (limited := await _too_many(request)) is not None:
        return limited
    here = site(request)
    token = request.match_info["token"][:200]
    data = await form(request, request.cookies.get(security.VISITOR_COOKIE, ""))
    if data is None:
        await refuse(request, "web", "web:csrf")
        return message(request, language_of(request), "form_expired", 403)
    async with here.channel.transaction() as conn:
        used = await login_links.use(conn, token, here.now())  # an expired link stays as it is
        expired = not isinstance(used, Opened) and used.reason is Refusal.EXPIRED and used.user_id is not None
        if expired and here.fresh_link is not None:
            assert not isinstance(used, Opened) and used.user_id is not None
            await here.fresh_link(conn, used.user_id, here.now())
        elif not isinstance(used, Opened):
            await privacy.refused(conn, "web", "web:fresh-link", here.now())
    if isinstance(used, Opened):  # not expired after all: the link was good, and is used now
        account = await users.get(here.conn, used.user_id)
        if account is not None and not account.revoked_at:
            return await _session(request, account)
    language = await _language(request, None if isinstance(used, Opened) else used.user_id)
    return message(request, language, "fresh_sent" if expired else "link_unknown", 200 if expired else 403)


async def join_page(request: web.Request) -> web.Response:
    here = site(request)
    response = web.Response()
    cookie = security.visitor(request, response, here.secure)
    return page(
        request, "join.html", language_of(request), csrf_cookie=cookie, response=response,
        code=request.match_info["code"][:100],
    )


async def join(request: web.Request) -> web.StreamResponse:
    """Register the person an e-mail invitation was for, and log them in."""
    if (limited := await _too_many(request)) is not None:
        return limited
    here = site(request)
    data = await form(request, request.cookies.get(security.VISITOR_COOKIE, ""))
    if data is None:
        await refuse(request, "web", "web:csrf")
        return message(request, language_of(request), "form_expired", 403)
    user_id = None
    if here.register is not None:
        async with here.channel.transaction() as conn:
            user_id = await here.register(conn, request.match_info["code"][:100], here.now(), language_of(request))
            if user_id is None:
                await privacy.refused(conn, "web", "web:invite", here.now())
    account = await users.get(here.conn, user_id) if user_id is not None else None
    if account is None:
        return message(request, language_of(request), "join_refused", 403)
    return await _session(request, account)


async def logout(request: web.Request) -> web.Response:
    here = site(request)
    token = request.cookies.get(security.SESSION_COOKIE, "")
    data = await form(request, token)
    if data is None:
        await refuse(request, "web", "web:csrf")
        return message(request, language_of(request), "form_expired", 403)
    user_id = await web_sessions.user_of(here.conn, token, here.now())
    account = await users.get(here.conn, user_id) if user_id is not None else None
    async with here.channel.transaction() as conn:
        await web_sessions.end(conn, token)
    response = message(request, language_of(request, account), "logged_out", 200)
    response.del_cookie(security.SESSION_COOKIE, path="/")
    return response
