"""python-telegram-bot on Wijkbrug's own HTTP client: the fastest PTB configuration, kept as a
baseline now that the bot no longer uses PTB (it calls the Bot API itself, bot/botapi.py).

Until issue 19 the bot ran on PTB's `Application` (without its Updater) and Bot, with this module
as its request layer (it was bot/http.py and bot/telegram.py's `build_application`). It lives on in
benchmarks/ only, for two baselines:

- benchmarks/echo_ptb.py `wijkbrug`: a PTB echo bot configured as Wijkbrug configured PTB (16
  kept-alive connections for the calls, 1 for the long poll, no Updater), in the load benchmark;
- benchmarks/http_bench.py: the client CPU of a Bot API call through PTB's `BaseRequest.post` on
  these connections, beside PTB on an aiohttp session and the bot's own `BotApi.call`.

PTB lets an application bring its own HTTP backend (`telegram.request.BaseRequest`); everything
above it — the Bot, its methods, the mapping of Telegram's answers to `RetryAfter`, `Forbidden`,
`BadRequest` and the rest — stays PTB's own. The connections are bot/keepalive.py's (kept alive,
answers read by llhttp). The body is JSON, which the Bot API accepts for every call without a file;
a call with a file goes as multipart through aiohttp, opened on the first such call.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httptools
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.ext import Application, ApplicationBuilder
from telegram.request import BaseRequest, RequestData

from bot.keepalive import Origin, Pool, origin_and_target, request_head
from bot.settings import Settings

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
        # the longest silence while the answer comes in. aiohttp has no write timeout.
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


def build_application(settings: Settings, requests: tuple[BotApiRequest, BotApiRequest] | None = None) -> Application:
    """PTB's application as the bot built it before issue 19: on kept-alive requests (16
    connections for the calls, 1 for the long poll) and without PTB's Updater; pass the requests
    in to keep a handle on their connections."""
    assert settings.telegram_token is not None
    calls, polls = requests or (BotApiRequest(pool_size=16), BotApiRequest(pool_size=1))
    return (
        ApplicationBuilder()
        .token(settings.telegram_token.get_secret_value())
        .base_url(settings.telegram_api_url)
        .base_file_url(settings.telegram_file_url)
        .updater(None)
        .request(calls)
        .get_updates_request(polls)
        .build()
    )
