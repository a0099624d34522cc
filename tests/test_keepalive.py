"""The Bot API's HTTP client (bot/keepalive.py under bot/botapi.py) against real servers on 127.0.0.1:
the fake Bot API, a small aiohttp server that misbehaves on request (closes connections, sends
chunked bodies, stalls, answers 429 and 5xx), a raw socket server for what aiohttp will not send
(an HTTP/1.0 body that ends with the connection, garbage), and TLS with a certificate made here.
Each answer reaches the delivery worker as the same error as before (RetryAfter, Transient,
Permanent)."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot import delivery
from bot.botapi import BotApi
from bot.keepalive import Pool, origin_and_target, request_head
from bot.telegram_send import TelegramSender
from tests.conftest import FAKE_TOKEN as TOKEN
from tests.fakebotapi import FakeBotApi

CHAT = 1001
OK = {"ok": True, "result": {"message_id": 7, "date": 0, "chat": {"id": CHAT, "type": "private"}, "text": "hi"}}


def the_pools(request: BotApi) -> list[Pool]:
    return list(request._pools.values())


async def sender_for(request: BotApi) -> AsyncIterator[TelegramSender]:
    try:
        yield TelegramSender(request)
    finally:
        await request.close()


async def test_calls_to_the_fake_bot_api_share_one_kept_alive_connection(api: FakeBotApi) -> None:
    api.user_sends(CHAT, "hello")
    request = BotApi(TOKEN, api.api_url)
    async for sender in sender_for(request):
        for n in range(20):
            result = await sender.call("sendMessage", {"chat_id": str(CHAT), "text": f"nummer {n} – رقم"})
            assert result["text"] == f"nummer {n} – رقم"
        (pool,) = the_pools(request)
        assert len(pool._open_now) == 1
    assert [m["text"] for m in api.messages(CHAT)][-1] == "nummer 19 – رقم"


class Misbehaving:
    """An aiohttp server whose answer to each Bot API method the test sets: a handler taking the
    request and returning a response."""

    def __init__(self) -> None:
        self.answers: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]] = {}
        self.connections = 0
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        return await self.answers[request.match_info["method"]](request)

    def count(self, _: object) -> None:
        self.connections += 1


def telegram_error(status: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)


@pytest.fixture
async def server() -> AsyncIterator[Misbehaving]:
    fake = Misbehaving()
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", fake.handle)
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=0.3, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    fake.url = f"http://127.0.0.1:{port}/bot"
    try:
        yield fake
    finally:
        await runner.cleanup()


@pytest.fixture
async def sender(server: Misbehaving) -> AsyncIterator[TelegramSender]:
    async for sender in sender_for(BotApi(TOKEN, server.url, read_timeout=0.5)):
        yield sender


async def ok(_: web.Request) -> web.Response:
    return web.json_response(OK)


async def test_a_chunked_answer_is_read_whole(server: Misbehaving, sender: TelegramSender) -> None:
    body = json.dumps(OK).encode()

    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(body), 7):
            await response.write(body[start:start + 7])
            await asyncio.sleep(0)
        await response.write_eof()
        return response

    server.answers["sendMessage"] = chunked
    for _ in range(3):  # and the connection goes on after it
        assert (await sender.call("sendMessage", {"chat_id": CHAT, "text": "hi"}))["message_id"] == 7


async def test_a_server_that_says_close_gets_a_new_connection_each_call(
    server: Misbehaving, sender: TelegramSender
) -> None:
    async def closing(_: web.Request) -> web.Response:
        return web.json_response(OK, headers={"Connection": "close"})

    server.answers["sendMessage"] = closing
    for _ in range(3):
        assert (await sender.call("sendMessage", {"chat_id": CHAT, "text": "hi"}))["message_id"] == 7
    (pool,) = the_pools(sender.api)
    assert pool._idle == []


async def test_a_connection_the_server_closed_while_idle_is_not_used_again(
    server: Misbehaving, sender: TelegramSender
) -> None:
    server.answers["sendMessage"] = ok
    assert (await sender.call("sendMessage", {"chat_id": CHAT, "text": "hi"}))["message_id"] == 7
    (pool,) = the_pools(sender.api)
    (first,) = pool._idle
    while not first.ended:  # the server's keep-alive timeout (0.3 s) closes it
        await asyncio.sleep(0.05)
    assert (await sender.call("sendMessage", {"chat_id": CHAT, "text": "hi"}))["message_id"] == 7
    assert pool._idle and pool._idle[0] is not first


async def test_a_stalled_answer_is_a_time_out_and_the_next_call_goes_through(
    server: Misbehaving, sender: TelegramSender
) -> None:
    async def stall(_: web.Request) -> web.Response:
        await asyncio.Event().wait()  # until the server stops
        return web.json_response(OK)

    server.answers["sendMessage"] = stall
    with pytest.raises(delivery.Transient, match="TimedOut"):
        await sender.call("sendMessage", {"chat_id": CHAT, "text": "hi"})
    (pool,) = the_pools(sender.api)
    assert pool._idle == []  # that connection is closed: its answer may still come
    server.answers["sendMessage"] = ok
    assert (await sender.call("sendMessage", {"chat_id": CHAT, "text": "hi"}))["message_id"] == 7


@pytest.mark.parametrize(
    ("answer", "raised", "kind"),
    [
        (lambda: telegram_error(429, "Too Many Requests: retry after 7", 7), delivery.RetryAfter, None),
        (lambda: telegram_error(403, "Forbidden: bot was blocked by the user"), delivery.Permanent, "Forbidden"),
        (lambda: telegram_error(400, "Bad Request: chat not found"), delivery.Permanent, "BadRequest"),
        (lambda: telegram_error(500, "Internal Server Error"), delivery.Transient, "NetworkError"),
        (lambda: web.Response(status=502, text="<html>Bad Gateway</html>"), delivery.Transient, "NetworkError"),
        (lambda: web.Response(status=503), delivery.Transient, "NetworkError"),
    ],
)
async def test_telegrams_errors_reach_the_worker_as_before(
    server: Misbehaving, sender: TelegramSender, answer: Callable[[], web.Response], raised: type, kind: str | None
) -> None:
    async def failing(_: web.Request) -> web.Response:
        return answer()

    server.answers["sendMessage"] = failing
    with pytest.raises(raised) as caught:
        await sender.call("sendMessage", {"chat_id": CHAT, "text": "hi"})
    if kind is None:
        assert caught.value.seconds == 7  # type: ignore[attr-defined]
    else:
        assert caught.value.args == (kind,)
    server.answers["sendMessage"] = ok  # the connection is fine afterwards
    assert (await sender.call("sendMessage", {"chat_id": CHAT, "text": "hi"}))["message_id"] == 7


async def raw_server(answer: Callable[[asyncio.StreamWriter], Awaitable[None]]) -> tuple[asyncio.Server, str]:
    """A socket server that reads one request head and then does `answer`."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")), 0
        )
        await reader.readexactly(length)
        await answer(writer)

    listening = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    return listening, f"http://127.0.0.1:{port}/bot"


async def test_an_http_1_0_answer_that_ends_with_the_connection(tmp_path: Path) -> None:
    async def old_server(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + json.dumps(OK).encode())
        await writer.drain()
        writer.close()

    listening, url = await raw_server(old_server)
    async with listening:
        request = BotApi(TOKEN, url)
        async for sender in sender_for(request):
            for _ in range(2):
                assert (await sender.call("sendMessage", {"chat_id": CHAT, "text": "hi"}))["message_id"] == 7
            assert the_pools(request)[0]._idle == []


@pytest.mark.parametrize(
    "reply",
    [b"", b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"ok\": tr", b"SMTP ready\r\n\r\n"],
    ids=["closed without a word", "cut short", "not HTTP"],
)
async def test_a_broken_answer_is_transient(reply: bytes) -> None:
    async def broken(writer: asyncio.StreamWriter) -> None:
        writer.write(reply)
        await writer.drain()
        writer.close()

    listening, url = await raw_server(broken)
    async with listening:
        async for sender in sender_for(BotApi(TOKEN, url)):
            with pytest.raises(delivery.Transient, match="NetworkError"):
                await sender.call("sendMessage", {"chat_id": CHAT, "text": "hi"})


async def test_nothing_listening_is_transient() -> None:
    listening, url = await raw_server(lambda writer: asyncio.sleep(0))
    listening.close()
    await listening.wait_closed()
    async for sender in sender_for(BotApi(TOKEN, url)):
        with pytest.raises(delivery.Transient, match="NetworkError"):
            await sender.call("sendMessage", {"chat_id": CHAT, "text": "hi"})


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1, made here (no network, no files shipped)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert, secret = folder / "cert.pem", folder / "key.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    secret.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))
    return cert, secret


async def test_tls_is_checked_and_kept_alive(tmp_path: Path) -> None:
    cert, secret = self_signed(tmp_path)
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, secret)
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=served)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        origin, target, host = origin_and_target(f"https://127.0.0.1:{port}/bot{TOKEN}/sendMessage")
        head = request_head("POST", target, host, "test", 2)
        trusting = Pool(origin, 2, ssl.create_default_context(cafile=str(cert)))
        for _ in range(3):
            status, body = await trusting.request(
                head, b"{}", read_timeout=5, connect_timeout=5, pool_timeout=1
            )
            assert status == 200 and json.loads(body) == OK
        assert len(trusting._open_now) == 1
        trusting.close()
        with pytest.raises(ssl.SSLCertVerificationError):  # the system's CAs do not know it
            await Pool(origin, 2).request(head, b"{}", read_timeout=5, connect_timeout=5, pool_timeout=1)
    finally:
        await runner.cleanup()


def test_a_url_that_would_break_the_request_line_is_refused() -> None:
    for url in ("http://127.0.0.1/bot1:A B/getMe", "http://127.0.0.1/bot1:A\r\nX: y/getMe", "ftp://127.0.0.1/x"):
        with pytest.raises(ValueError):
            origin_and_target(url)
    assert origin_and_target("https://api.telegram.org/bot1:A/getMe") == (
        ("https", "api.telegram.org", 443), "/bot1:A/getMe", "api.telegram.org"
    )
