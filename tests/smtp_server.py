"""A real SMTP server on 127.0.0.1 for the e-mail tests (aiosmtpd, on a thread of its own): it keeps
what it receives, parsed, and answers RCPT TO for chosen addresses with a chosen refusal (a 4xx
"try later", a 5xx "no such mailbox")."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

try:
    from aiosmtpd.controller import Controller
except ImportError:  # pragma: no cover - the test extra installs it
    Controller = None  # type: ignore[assignment,misc]

LINK = re.compile(r"https?://[^\s<>\"]+/(?:login|join)/[A-Za-z0-9_\-]+")


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage

    def part(self, subtype: str) -> str:
        found = self.message.get_body(preferencelist=(subtype,))
        assert found is not None, f"no text/{subtype} part"
        return str(found.get_content())

    @property
    def text(self) -> str:
        return self.part("plain")

    @property
    def html(self) -> str:
        return self.part("html")

    def link(self) -> str:
        """The link in the plain-text part (the login or join link)."""
        found = LINK.findall(self.text)
        assert len(found) == 1, f"expected one link, found {len(found)}"
        return found[0]


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # recipient → the RCPT answer, e.g. "550 no such user"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        answer = self.refuse.get(address.lower())
        if answer is not None:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: Handler

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def refuse(self, address: str, answer: str) -> None:
        self.handler.refuse[address.lower()] = answer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    if Controller is None:
        pytest.fail("aiosmtpd is missing: install the test extra (pip install -e '.[test]')", pytrace=False)
    handler = Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, handler)
    finally:
        controller.stop()


LOGIN = ("wijkbrug", "invented-password")


def self_signed(folder: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A certificate for 127.0.0.1 made here: the server's TLS context, and a client's that trusts it."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(start).not_valid_after(start + dt.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "smtp.crt", folder / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


@dataclass
class TlsSmtpServer(SmtpServer):
    client_tls: ssl.SSLContext | None = None
    logins: list[str] = field(default_factory=list)


@pytest.fixture
def smtp_tls_server(tmp_path: Path) -> Iterator[TlsSmtpServer]:
    """An SMTP server that wants STARTTLS before anything and a login (LOGIN) before mail."""
    if Controller is None:
        pytest.fail("aiosmtpd is missing: install the test extra (pip install -e '.[test]')", pytrace=False)
    from aiosmtpd.smtp import AuthResult, LoginPassword

    server_tls, client_tls = self_signed(tmp_path)
    handler = Handler()
    logins: list[str] = []

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == LOGIN
        if ok:
            logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)  # aiosmtpd answers 235 or 535 itself

    port = free_port()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, tls_context=server_tls, require_starttls=True,
        authenticator=authenticate, auth_required=True, auth_require_tls=True,
    )
    controller.start()
    try:
        yield TlsSmtpServer("127.0.0.1", port, handler, client_tls, logins)
    finally:
        controller.stop()
