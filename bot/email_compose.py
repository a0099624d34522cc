"""The e-mails Wijkbrug sends, in the reader's language: a notice (a new request, a reminder, …)
with a login link, a fresh link, and an invite. Each has a plain-text part and a simple HTML
part (every value escaped; `dir="rtl"` and `lang` for Arabic and Farsi), a stable Message-ID
(`<wijkbrug.{key}@{host of the public URL}>`, the key kept in the outbox row, so a resend after a
crash is recognisable) and `Auto-Submitted: auto-generated` (no auto-replies, no vacation loops).

What an e-mail carries, and nothing else: who asks (the organisation's name), what kind of
request, its code, and a link. No question text, no family's details, no person's name: mail
passes through servers neither the municipality nor the organisation control.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from bot.i18n import Catalogs, is_rtl
from flows.text import Text, ltr, plain, t

LINK_HOURS = 24  # db.login_links.VALID_FOR, as the e-mail says it ("one day")


@dataclass(frozen=True)
class Mail:
    """Who sends, to whom, and how Message-IDs end (the public URL's host)."""

    sender: str
    to: str
    host: str


def subject(kind: str, code: str, org: str) -> Text:
    """A notice's subject, by its kind (flows.model.Notice): any other kind is plain news."""
    code_ = ltr(code)
    org_ = plain(org or "Wijkbrug")
    if kind == "handover" and code:
        return t("Request for a warm handover {code} from {organisation}", code=code_, organisation=org_)
    if kind == "consult" and code:
        return t("Request for advice {code} from {organisation}", code=code_, organisation=org_)
    if kind == "reminder" and code:
        return t("Reminder: {organisation} is waiting for your answer to {code}", code=code_, organisation=org_)
    if kind == "message" and code:
        return t("New message about {code} from {organisation}", code=code_, organisation=org_)
    if kind == "escalation" and code:
        return t("Request {code} needs follow-up", code=code_)
    if kind == "alert":
        return t("Urgent: a volunteer of {organisation} reports that a child may be in danger", organisation=org_)
    if kind == "summary":
        return t("Your weekly Wijkbrug summary")
    if kind == "link":
        return t("Your new link to Wijkbrug")
    if code:
        return t("News about {code} in Wijkbrug", code=code_)
    return t("You have a new message in Wijkbrug")


def notice(
    catalogs: Catalogs, language: str, kind: str, code: str, org: str, link: str, mail: Mail, key: str, now: datetime
) -> EmailMessage:
    """A notice with its login link."""
    render = catalogs.render
    head = render(subject(kind, code, org), language)
    paragraphs = [
        head,
        render(t("Open Wijkbrug to read it and to answer:"), language),
        render(t("The link works once and for one day. If it has expired, the page offers to send you a new one."),
               language),
        render(t("For your privacy this e-mail holds no details about the family: you read them after logging in."),
               language),
        render(t("Wijkbrug sent this e-mail automatically; replies are not read."), language),
    ]
    button = render(t("Open Wijkbrug"), language)
    return _message(head, paragraphs, 2, link, button, language, mail, key, now)


def invite(catalogs: Catalogs, language: str, link: str, mail: Mail, key: str, now: datetime) -> EmailMessage:
    """An invite to join as an e-mail person (`wijkbrug invite --email`)."""
    render = catalogs.render
    head = render(t("Invitation to Wijkbrug"), language)
    paragraphs = [
        render(t("You are invited to Wijkbrug, where volunteers of migrant organisations and wijkteams work together "
                 "on families' questions. You receive requests by e-mail and answer them on a web page."), language),
        render(t("Open this link to join (it works once):"), language),
        render(t("Wijkbrug sent this e-mail automatically; replies are not read."), language),
    ]
    button = render(t("Join Wijkbrug"), language)
    return _message(head, paragraphs, 2, link, button, language, mail, key, now)


def message_id(key: str, host: str) -> str:
    return f"<wijkbrug.{key}@{host}>"


def _message(
    head: str, paragraphs: list[str], link_after: int, link: str, button: str, language: str, mail: Mail, key: str,
    now: datetime,
) -> EmailMessage:
    """The e-mail: `paragraphs` with the link after the first `link_after` of them."""
    message = EmailMessage()
    message["From"] = mail.sender
    message["To"] = mail.to
    message["Subject"] = head
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(key, mail.host)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    text = [*paragraphs[:link_after], link, *paragraphs[link_after:]]
    message.set_content("\n\n".join(text) + "\n", charset="utf-8")
    direction = "rtl" if is_rtl(language) else "ltr"
    body = [f"<p>{html.escape(p)}</p>" for p in paragraphs]
    href = html.escape(link, quote=True)
    body.insert(link_after, f'<p><a href="{href}">{html.escape(button)}</a></p>\n<p dir="ltr">{html.escape(link)}</p>')
    page = (
        f'<!DOCTYPE html>\n<html lang="{html.escape(language, quote=True)}" dir="{direction}">\n'
        f'<head><meta charset="utf-8"><title>{html.escape(head)}</title></head>\n'
        f'<body dir="{direction}">\n' + "\n".join(body) + "\n</body>\n</html>\n"
    )
    message.add_alternative(page, subtype="html", charset="utf-8")
    message["Content-Language"] = language  # after the parts are made: a Content- header would move into one
    return message
