"""Handing an e-mail to the operator's SMTP server (aiosmtplib), with its errors as the delivery
worker's: a 4xx answer or a connection that fails → Transient (the outbox tries again later); a
5xx refusal of the recipient → Permanent("RecipientRefused") (the address reaches nobody: it is
marked unreachable and the person's coordinators are told, as for a Telegram 403); any other 5xx
→ Permanent. A refused login is Transient: the operator's settings are wrong, not the message,
and it is logged so they can be fixed while the outbox waits.

With a user and password the connection must be encrypted before the login (STARTTLS, or TLS from
the start on port 465): credentials never cross in the clear. Without them, STARTTLS is used
whenever the server offers it.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import urlsplit

import aiosmtplib

from bot.delivery import Permanent, Transient
from bot.settings import Settings

log = logging.getLogger(__name__)

RECIPIENT_REFUSED = "RecipientRefused"


class MailServer(Protocol):
    """What the e-mail channel's sender needs of a mail server: the From address, the public
    address links start with (its host ends the Message-IDs), and handing a message over
    (raising Transient/Permanent). `Smtp` is the operator's server; the demo's console prints
    the mail instead (bot/console_mail.py)."""

    @property
    def sender(self) -> str: ...

    @property
    def public_url(self) -> str: ...

    @property
    def link_host(self) -> str: ...

    async def submit(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    sender: str  # the From address
    public_url: str  # links start with it; its host ends the Message-IDs
    user: str | None = None
    password: str | None = None
    tls_context: ssl.SSLContext | None = None  # the default: the system's trusted certificates
    timeout: float = 30.0

    @property
    def link_host(self) -> str:
        return urlsplit(self.public_url).hostname or "localhost"

    async def submit(self, message: EmailMessage) -> None:
        await submit(self, message)

    @classmethod
    def of(cls, settings: Settings) -> Smtp | None:
        """The SMTP server of the settings, or None when e-mail is not configured."""
        if settings.smtp_host is None or settings.smtp_from is None or settings.public_url is None:
            return None
        return cls(
            host=settings.smtp_host, port=settings.smtp_port, sender=settings.smtp_from,
            public_url=settings.public_url, user=settings.smtp_user,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        )


async def submit(smtp: Smtp, message: EmailMessage) -> None:
    """Send `message` (to its To: address) or raise Transient/Permanent."""
    implicit = smtp.port == 465
    login = smtp.user is not None and smtp.password is not None
    try:
        await aiosmtplib.send(
            message, hostname=smtp.host, port=smtp.port, username=smtp.user if login else None,
            password=smtp.password if login else None, use_tls=implicit,
            start_tls=None if implicit else (True if login else None), tls_context=smtp.tls_context,
            timeout=smtp.timeout,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [refused.code for refused in exc.recipients]
        raise _refused(min(codes) if codes else 550, recipient=True) from None
    except aiosmtplib.SMTPRecipientRefused as exc:
        raise _refused(exc.code, recipient=True) from None
    except aiosmtplib.SMTPAuthenticationError as exc:
        log.error("the SMTP server refused the login (%s): check WIJKBRUG_SMTP_USER and _PASSWORD", exc.code)
        raise Transient("SMTPAuthenticationError") from None
    except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError) as exc:
        raise Transient(type(exc).__name__) from None
    except aiosmtplib.SMTPResponseException as exc:
        raise _refused(exc.code, recipient=False) from None
    except aiosmtplib.SMTPException as exc:  # STARTTLS not offered, and the like: the operator's to fix
        log.error("e-mail not sent: %s", type(exc).__name__)
        raise Transient(type(exc).__name__) from None
    except OSError as exc:  # refused, unreachable, a TLS handshake that failed
        raise Transient(type(exc).__name__) from None


def _refused(code: int, recipient: bool) -> Transient | Permanent:
    if 400 <= code < 500:
        return Transient(f"SMTP {code}")
    return Permanent(RECIPIENT_REFUSED if recipient else f"SMTP {code}")
