"""python-telegram-bot's networking on aiohttp instead of httpx.

PTB lets an application bring its own HTTP backend (`telegram.request.BaseRequest`); everything
above it — the Bot, its methods, the mapping of Telegram's answers to `RetryAfter`, `Forbidden`,
`BadRequest` and the rest — stays PTB's own. Measured here (benchmarks/load.py, and one call
against a local server on one core): a Bot API call through PTB on httpx costs about 0.8 ms of CPU,
through PTB on aiohttp about 0.2 ms. A button press costs three calls, so the HTTP client was
the largest single cost of an update.

The body is JSON, which the Bot API accepts for every call without a file (one call of the C
encoder, where form encoding quoted every character in Python: 3 % of an update's CPU), and
multipart when a file goes along.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData
from yarl import URL

JSON_BODY = {"Content-Type": "application/json"}


class Call:
    """A Bot API call whose parameters are JSON already (an outbox row), for `BaseRequest.post`
    without building PTB's `RequestData` parameter by parameter; only what `do_request` reads."""

    contains_files = False

    def __init__(self, parameters: dict[str, Any]) -> None:
        self.parameters = parameters


class AiohttpRequest(BaseRequest):
    """One aiohttp session with a bounded connection pool, opened by PTB's `initialize`."""

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
        self._session: aiohttp.ClientSession | None = None
        self._urls: dict[str, URL] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                cookie_jar=aiohttp.DummyCookieJar(),  # the Bot API sets no cookies
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    def _url(self, url: str) -> URL:
        """Parsed once per method: a bot calls a handful of URLs over and over."""
        parsed = self._urls.get(url)
        if parsed is None:
            parsed = self._urls[url] = URL(url)
        return parsed

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
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data is not None and request_data.contains_files else None
        read = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = self._connect_timeout if isinstance(connect_timeout, DefaultValue) else connect_timeout
        pool = self._pool_timeout if isinstance(pool_timeout, DefaultValue) else pool_timeout
        # aiohttp's `connect` covers waiting for a free connection and connecting; `sock_read` is
        # the longest silence while the answer comes in. aiohttp has no write timeout: the only
        # uploads are a chart and a CSV of codes, small enough that the read timeout bounds them.
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=None if connect is None and pool is None else (connect or 0) + (pool or 0),
            sock_read=read,
        )
        data: Any = None
        headers = None
        if request_data is not None:
            if files:
                form = aiohttp.FormData(quote_fields=False)
                for name, value in request_data.json_parameters.items():
                    form.add_field(name, value)
                for name, (filename, content, mimetype) in files.items():
                    form.add_field(name, content, filename=filename, content_type=mimetype)
                data = form
            else:
                data = json.dumps(request_data.parameters, ensure_ascii=False).encode()
                headers = JSON_BODY
        try:
            async with self._session.request(
                method, self._url(url), data=data, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc
