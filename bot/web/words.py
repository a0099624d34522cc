"""Every word of the web page's own (the feed holds what the bot said, already rendered): marked for
the catalogs here, in Python, so `make extract` finds them; templates get them rendered in the
reader's language (`words`) and hold no text of their own."""

from __future__ import annotations

from bot.i18n import Catalogs, is_rtl
from flows.text import Text, t

WORDS: dict[str, Text] = {
    "log_out": t("Log out"),
    "messages": t("Messages"),
    "no_messages": t("No messages yet."),
    "open_cases": t("Your open requests"),
    "no_cases": t("No open requests."),
    "answer_label": t("Your answer, a reason or a question"),
    "send": t("Send"),
    "download": t("Download"),
    "away_label": t("Away until (day-month, such as 24-12)"),
    "away": t("I am away"),
    "back": t("I am back"),
    "summary": t("Weekly summary"),
    "this_week": t("This week"),
    "last_week": t("Last week"),
    "csv": t("Download the CSV file (codes only, no names)"),
    "to_page": t("Back to your page"),
    "case_actions": t("What you can do"),
    "link_expired": t("This link has expired. Links work for a short time only."),
    "link_used": t("This link has been used already. Each link works once."),
    "link_unknown": t("This link does not work. Please use the link from your latest e-mail."),
    "open_text": t("Press the button to open your Wijkbrug page. The link works once."),
    "open": t("Open Wijkbrug"),
    "fresh_link": t("Send me a fresh link"),
    "fresh_sent": t("A fresh link is on its way to your e-mail address."),
    "too_many": t("Too many tries. Please wait a few minutes and try again."),
    "logged_out": t("You are logged out. To come back, use the link from your latest e-mail."),
    "log_in": t("Please log in with the link from your latest e-mail."),
    "form_expired": t("This form has expired. Please go back, reload the page and try again."),
    "not_yours": t("This does not exist, or it is not yours to see."),
    "slow": t("Your answer is being handled. Reload the page in a moment to see the reply."),
    "join_title": t("You are invited to Wijkbrug"),
    "join_text": t("Join to receive requests by e-mail and answer them on this page."),
    "join": t("Join"),
    "join_refused": t("This invitation cannot be used. Please ask the person who invited you for a new one."),
    "no_file": t("The file cannot be fetched now. Please try again later."),
    "file_gone": t("This file is no longer available: WhatsApp keeps files for 30 days. "
                   "Please ask the volunteer to send it again."),
    "chart": t("Chart: questions by theme this week and the week before, and the handovers"),
}


def words(catalogs: Catalogs, language: str) -> dict[str, str]:
    """The page's words in `language`."""
    return {key: catalogs.render(text, language) for key, text in WORDS.items()}


def direction(language: str) -> str:
    return "rtl" if is_rtl(language) else "ltr"
