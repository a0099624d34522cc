"""HTTP/1.1 over kept-alive connections, for the Bot API's JSON calls: llhttp (through
httptools) reads the answers, an asyncio `Protocol` carries the bytes, and nothing else.

Theory of operation. A `Pool` holds the open connections to one origin (scheme, host, port),
at most `size` of them; a call takes an idle one (the most recently used: the least likely to
have been closed by the server) or opens one (TLS for https), writes the request in one `write`,
and waits for the parser to hand back the whole answer: a Content-Length body, a chunked one, or
one that ends with the connection. Afterwards the connection goes back to the pool if the server
lets it (llhttp's `should_keep_alive`: HTTP/1.1 without `Connection: close`), and is closed
otherwise, and whenever a call did not end cleanly (a time-out, a cancellation, a malformed or
cut-short answer): its framing can no longer be trusted. A connection the server closed while
it was idle is noticed (its EOF) and dropped before it is used; one that dies between our write
and the first byte of the answer, on a connection that was reused, is tried once more on a new
connection (a kept-alive connection the server closed as we wrote: the case every HTTP client
retries; at worst the call is sent twice, as after any retry of the outbox).

Why not aiohttp's client here: its session layer (request and response objects, header
multidicts, timers, tracing, cookie and redirect handling) was two thirds of a Bot API call's
CPU (issue 19's profile), for calls that are always one small JSON POST to one host. Why
httptools and not h11, and not a hand-written reader: h11 (httpx's, pure Python) was tried first
and cost 51 µs per exchange, as much as aiohttp's whole session layer, so the call was no cheaper;
llhttp (Node.js's parser, in C; httptools is uvicorn's binding to it) costs about 1 µs and gets
framing (chunked, Content-Length, read-until-close, `Connection: close`, HTTP/1.0 servers) right
where a hand-written reader would get the common case right. The request is ours to write: one
method, a target and a Host checked once per URL, and our own headers.

Errors: `TimeoutError` for a time-out (connecting, waiting for a free connection, or a silence
longer than the read time-out while the answer comes in), `OSError` for the network, and
`httptools.HttpParserError` for a malformed answer; bot/botapi.py maps them to Telegram's errors.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from urllib.parse import urlsplit

import httptools

# What one request needs besides its target: the origin and the Host header.
Origin = tuple[str, str, int]


def origin_and_target(url: str) -> tuple[Origin, str, str]:
    """(scheme, host, port), the request target and the Host header of an http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not an http(s) URL")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default = (parts.scheme, port) in (("http", 80), ("https", 443))
    host = parts.hostname if default else f"{parts.hostname}:{port}"
    if any(c <= " " or c == "\x7f" for c in target + host) or not (target + host).isascii():
        raise ValueError("a space, a control or a non-ASCII character in the URL")  # would break the request line
    return (parts.scheme, parts.hostname, port), target, host


def request_head(method: str, target: str, host: str, user_agent: str, json_length: int | None) -> bytes:
    """The request line and headers; with `json_length`, of a JSON body that long."""
    head = f"{method} {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {user_agent}\r\n"
    if json_length is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {json_length}\r\n"
    return (head + "\r\n").encode("ascii")


class Closed(OSError):
    """The connection ended before the whole answer came in."""


class Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: the transport, llhttp's parser, and the answer being read."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.ended = False  # EOF or connection lost: never used again
        self.used = False  # has carried a whole exchange (so may have been closed while idle)
        self.on_end: Callable[[Connection], object] | None = None  # told when the connection is lost
        self._answer: asyncio.Future[tuple[int, bytes]] | None = None
        self._body: list[bytes] = []
        self._got_bytes = False
        self._headers_in = False
        self._framed = False  # Content-Length or chunked: the answer does not end with the connection
        self._keep = False
        self._timeout: asyncio.Timeout | None = None
        self._read_timeout: float | None = None

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._got_bytes = True
        answer = self._answer
        if answer is None or answer.done():  # bytes nobody asked for: the framing can no longer be trusted
            self.close()
            return
        if self._timeout is not None and self._read_timeout is not None:
            self._timeout.reschedule(asyncio.get_running_loop().time() + self._read_timeout)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if not answer.done():
                answer.set_exception(exc)
            self.close()

    def eof_received(self) -> bool:
        self.ended = True
        return False  # close our side too; connection_lost settles the answer

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        if self.on_end is not None:
            self.on_end(self)
        answer = self._answer
        if answer is None or answer.done():
            return
        if self._headers_in and not self._framed and exc is None:
            # Neither Content-Length nor chunked: the body is what came before the close.
            answer.set_result((self.parser.get_status_code(), b"".join(self._body)))
            return
        answer.set_exception(exc or Closed("the server closed the connection mid-answer"))

    # llhttp's callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() in (b"content-length", b"transfer-encoding"):
            self._framed = True

    def on_headers_complete(self) -> None:
        self._headers_in = True

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200:  # 1xx (100 Continue): the real answer follows
            self._body, self._headers_in, self._framed = [], False, False
            return
        self._keep = self.parser.should_keep_alive()
        if self._answer is not None and not self._answer.done():
            self._answer.set_result((status, b"".join(self._body)))

    # one exchange

    async def exchange(self, head: bytes, body: bytes | None, read_timeout: float | None) -> tuple[int, bytes]:
        """Send one request (its head ready-made, `Content-Length` included for a body) and read
        its whole answer; the connection may be kept afterwards only if `reusable()`."""
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        self._answer = loop.create_future()
        self._body, self._got_bytes, self._headers_in, self._framed, self._keep = [], False, False, False, False
        self.transport.write(head + body if body else head)
        self._read_timeout = read_timeout
        try:
            async with asyncio.timeout(read_timeout) as timeout:
                self._timeout = timeout if read_timeout is not None else None
                return await self._answer
        finally:
            self._timeout = None
            self._answer = None
            self.used = True

    @property
    def answered_nothing(self) -> bool:
        return not self._got_bytes

    def reusable(self) -> bool:
        """The answer came in whole and the server did not say close: ready for the next request."""
        return self._keep and not self.ended

    def close(self) -> None:
        self.ended = True
        if self.transport is not None:
            self.transport.close()


class Pool:
    """At most `size` kept-alive connections to one origin."""

    def __init__(self, origin: Origin, size: int, tls: ssl.SSLContext | None = None) -> None:
        self.origin = origin
        self._slots = asyncio.Semaphore(size)
        self._idle: list[Connection] = []
        self._open_now: set[Connection] = set()  # idle or in use: closed at shutdown
        self._tls = tls if tls is not None or origin[0] != "https" else ssl.create_default_context()

    async def request(
        self, head: bytes, body: bytes | None, *,
        read_timeout: float | None, connect_timeout: float | None, pool_timeout: float | None,
    ) -> tuple[int, bytes]:
        """One exchange on one of the pool's connections: (status, body)."""
        if self._slots.locked():  # all in use: wait for one, at most `pool_timeout`
            async with asyncio.timeout(pool_timeout):
                await self._slots.acquire()
        else:
            await self._slots.acquire()
        try:
            for attempt in (1, 2):
                connection = self._take_idle() or await self._open(connect_timeout)
                reused = connection.used
                try:
                    status, answer = await connection.exchange(head, body, read_timeout)
                except (OSError, httptools.HttpParserError):
                    connection.close()
                    if attempt == 1 and reused and connection.answered_nothing:
                        continue  # closed by the server as we wrote: once more, on a new connection
                    raise
                except BaseException:  # a time-out or a cancellation mid-answer: its framing is lost
                    connection.close()
                    raise
                if connection.reusable():
                    self._idle.append(connection)
                else:
                    connection.close()
                return status, answer
            raise AssertionError("unreachable")
        finally:
            self._slots.release()

    def _take_idle(self) -> Connection | None:
        while self._idle:
            connection = self._idle.pop()
            if not connection.ended:
                return connection
        return None

    async def _open(self, connect_timeout: float | None) -> Connection:
        _, host, port = self.origin
        loop = asyncio.get_running_loop()
        tls = self._tls
        async with asyncio.timeout(connect_timeout):
            _, connection = await loop.create_connection(
                Connection, host, port, ssl=tls, server_hostname=host if tls else None
            )
        self._open_now.add(connection)
        connection.on_end = self._open_now.discard
        return connection

    def close(self) -> None:
        for connection in list(self._open_now):
            connection.close()
        self._open_now.clear()
        self._idle.clear()
