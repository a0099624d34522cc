"""The demo's e-mail: what the e-mail channel's sender (bot/email_send.py) would hand to the
operator's SMTP server is printed in the terminal instead, as it would be mailed, labelled with
its reader:

    ✉ Nadia: Verzoek om een warme overdracht H-100001 van Demo-stichting De Lantaarn (invented)
        Open Wijkbrug om het te lezen en te beantwoorden:
        http://127.0.0.1:8901/login/…                 the single-use link, opening the demo's web page

This is the demo's channel for e-mail people (bot/email_smtp.MailServer), not a stand-in for
tests: everything before it (the feed, the notice, the quiet rule, the login link) is the real
path. While the demo serves no web page (`--script` without `--serve`), the link's token is not
shown: it would open nothing, and a script's transcript stays the same on every run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import urlsplit

NO_PAGE = "(a single-use link; the demo serves the web page at the keyboard, or with --serve)"


@dataclass
class ConsoleMail:
    write: Callable[..., None]  # the console's: respects its quiet time and the clock's heading
    public_url: str = "http://127.0.0.1"
    serving: bool = False  # whether the web page answers at public_url (else the token is not shown)
    names: dict[str, str] = field(default_factory=dict)  # e-mail address -> the demo person's name
    sender: str = "Wijkbrug demo <wijkbrug@demo.example>"

    @property
    def link_host(self) -> str:
        return urlsplit(self.public_url).hostname or "localhost"

    async def submit(self, message: EmailMessage) -> None:
        to = str(message["To"])
        name = self.names.get(to, f"({to})")
        part = message.get_body(("plain",))
        text = part.get_content() if isinstance(part, EmailMessage) else ""
        if not self.serving:
            text = re.sub(r"\S+/login/\S+", NO_PAGE, text)
        paragraphs = [" ".join(p.split()) for p in text.split("\n\n") if p.strip()]
        self.write(f"✉ {name}: {message['Subject']}", *(f"    {p}" for p in paragraphs[1:]))
