"""python-telegram-bot's networking on our own HTTP/1.1 client instead of httpx.

PTB lets an application bring its own HTTP backend (`telegram.request.BaseRequest`); everything
above it — the Bot, its methods, the mapping of Telegram's answers to `RetryAfter`, `Forbidden`,
`BadRequest` and the rest — stays PTB's own. Measured here (benchmarks/load.py, and one call
against a local server on one core): a Bot API call through PTB on httpx costs about 0.8 ms of CPU,
through PTB on aiohttp about 0.2 ms, and on kept-alive connections read by llhttp (bot/keepalive.py)
less again (benchmarks/http_bench.py). A button press costs several calls, so the HTTP client is
one of the largest single costs of an update.

The body is JSON, which the Bot API accepts for every call without a file (one call of the C
encoder, where form encoding quoted every character in Python: 3 % of an update's CPU); a call
with a file (a chart, an export) goes as multipart through aiohttp, opened on the first such call.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httptools
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.keepalive import Origin, Pool, origin_and_target, request_head

if TYPE_CHECKING:
    import aiohttp


class Call:
    """A Bot API call whose parameters are JSON already (an outbox row), for `BaseRequest.post`
    without building PTB's `RequestData` parameter by parameter; only what `do_request` reads."""

    contains_files = False

    def __init__(self, parameters: dict[str, Any]) -> None:
        self.parameters = parameters


class BotApiRequest(BaseRequest):
    """At most `pool_size` kept-alive connections per origin (bot/keepalive.py), opened as
    needed after PTB's `initialize`; an aiohttp session for uploads, opened on the first."""

    def __init__(
        self,
        pool_size: int = 16,
        read_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
    ) -> None:
        self._pool_size = pool_size
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._open = False
        self._pools: dict[Origin, Pool] = {}
        # Parsed once per URL: a bot calls a handful of URLs over and over.
        self._urls: dict[str, tuple[Pool, str, str]] = {}
        self._uploads: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        self._open = True

    async def shutdown(self) -> None:
        self._open = False
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
        self._urls.clear()
        if self._uploads is not None and not self._uploads.closed:
            await self._uploads.close()
        self._uploads = None

    def _route(self, url: str) -> tuple[Pool, str, str]:
        route = self._urls.get(url)
        if route is None:
            origin, target, host = origin_and_target(url)
            pool = self._pools.get(origin)
            if pool is None:
                pool = self._pools[origin] = Pool(origin, self._pool_size)
            route = self._urls[url] = (pool, target, host)
        return route

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if not self._open:
            raise RuntimeError("This BotApiRequest is not initialized!")
        read = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = self._connect_timeout if isinstance(connect_timeout, DefaultValue) else connect_timeout
        pool = self._pool_timeout if isinstance(pool_timeout, DefaultValue) else pool_timeout
        if request_data is not None and request_data.contains_files:
            return await self._upload(url, method, request_data, read, connect, pool)
        connections, target, host = self._route(url)
        body = None
        if request_data is not None:
            body = json.dumps(request_data.parameters, ensure_ascii=False).encode()
        head = request_head(method, target, host, self.USER_AGENT, None if body is None else len(body))
        # No write time-out of its own: a JSON call is one small write into the socket's buffer,
        # and the read time-out (the longest silence while the answer comes in) bounds the rest.
        try:
            return await connections.request(
                head, body, read_timeout=read, connect_timeout=connect, pool_timeout=pool
            )
        except TimeoutError as exc:
            raise TimedOut from exc
        except (OSError, httptools.HttpParserError) as exc:
            raise NetworkError(f"{type(exc).__name__}: {exc}") from exc

    async def _upload(
        self, url: str, method: str, request_data: RequestData, read: float | None, connect: float | None,
        pool: float | None,
    ) -> tuple[int, bytes]:
        """A call with a file, as multipart through aiohttp (imported only now)."""
        import aiohttp

        if self._uploads is None or self._uploads.closed:
            self._uploads = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                cookie_jar=aiohttp.DummyCookieJar(),  # the Bot API sets no cookies
                headers={"User-Agent": self.USER_AGENT},
            )
        # aiohttp's `connect` covers waiting for a free connection and connecting; `sock_read` is
        # the longest silence while the answer comes in. aiohttp has no write timeout: the only
        # uploads are a chart and a CSV of codes, small enough that the read timeout bounds them.
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=None if connect is None and pool is None else (connect or 0) + (pool or 0),
            sock_read=read,
        )
        form = aiohttp.FormData(quote_fields=False)
        for name, value in request_data.json_parameters.items():
            form.add_field(name, value)
        for name, (filename, content, mimetype) in (request_data.multipart_data or {}).items():
            form.add_field(name, content, filename=filename, content_type=mimetype)
        try:
            async with self._uploads.request(method, url, data=form, timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc
