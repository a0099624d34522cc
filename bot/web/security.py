"""The web page's guards: security headers on every answer, the session cookie, a CSRF token on
every form, and a rate limit on login links per client.

- The session cookie (`SESSION_COOKIE`) holds a random token whose hash is the stored session
  (db/web_sessions.py): `HttpOnly`, `SameSite=Lax`, `Secure` when the public address is https.
- A visitor not logged in (a refused link's page, an invitation) gets a random cookie of its own
  (`VISITOR_COOKIE`, the same flags), so that their forms are protected the same way.
- A form's CSRF token is an HMAC of that cookie's token: a page of another site cannot read the
  cookie (HttpOnly, and another origin), so it cannot make the token; nothing is stored for it.
- The client a rate limit counts is the connecting address, or, when the connection comes from
  this machine (the operator's HTTPS proxy), the address the proxy adds last to
  `X-Forwarded-For`. It is kept in memory only (bot/flood.py's bounded buckets), never logged
  or stored.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets

from aiohttp import web

from bot.flood import Flood

SESSION_COOKIE = "wijkbrug"
VISITOR_COOKIE = "wijkbrug_visitor"
CSRF_FIELD = "csrf"

HEADERS = {
    # No script at all, no inline style, nothing from elsewhere; forms post to this site only.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


@web.middleware
async def headers(request: web.Request, handler):  # noqa: ANN001, ANN201 - aiohttp's middleware form
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # a redirect or an error aiohttp raises gets them too
        exc.headers.update(HEADERS)
        raise
    response.headers.update(HEADERS)
    return response


def csrf_token(cookie: str) -> str:
    return hmac.new(cookie.encode("utf-8"), b"wijkbrug-form", hashlib.sha256).hexdigest()


def csrf_ok(cookie: str | None, given: object) -> bool:
    if not cookie or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(csrf_token(cookie), given)


def set_cookie(response: web.StreamResponse, name: str, value: str, secure: bool, max_age: int | None = None) -> None:
    response.set_cookie(
        name, value, httponly=True, secure=secure, samesite="Lax", path="/", max_age=max_age,
    )


def visitor(request: web.Request, response: web.StreamResponse, secure: bool) -> str:
    """The visitor's own cookie token (made now if they have none), for their forms' CSRF token."""
    token = request.cookies.get(VISITOR_COOKIE, "")
    if len(token) < 32:
        token = secrets.token_urlsafe(32)
        set_cookie(response, VISITOR_COOKIE, token, secure)
    return token


def client(request: web.Request) -> str:
    """Who a rate limit counts (never logged or stored)."""
    remote = request.remote or ""
    try:
        local = ipaddress.ip_address(remote).is_loopback
    except ValueError:
        local = False
    forwarded = request.headers.get("X-Forwarded-For", "")
    if local and forwarded:
        return forwarded.rsplit(",", 1)[-1].strip()
    return remote


class LinkLimit:
    """Login link uses per client: `burst` at once, then `per_minute` (bounded memory)."""

    def __init__(self, per_minute: float = 2, burst: float = 10) -> None:
        self.flood = Flood(per_minute=per_minute, burst=burst)

    def allow(self, request: web.Request) -> bool:
        return self.flood.allow(client(request), self.flood.clock())
