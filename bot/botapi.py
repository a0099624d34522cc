"""Telegram's Bot API, called directly: a method and its parameters in, its result or an error out.

The bot makes a handful of Bot API calls (getMe, getUpdates, the webhook, the sends of the outbox,
the menus) and never needs Telegram's types as Python objects: the outbox stores the calls as JSON
already (bot/telegram_send.py) and the processor reads updates as JSON. python-telegram-bot was
used only for its request layer and its reading of Telegram's errors, and importing it cost
13 MB of the bot's memory (about a fifth) and a tenth of a second at every start (issue 19,
docs/performance.md). So the calls go over bot/keepalive.py's kept-alive connections, and
Telegram's answers are read here the way python-telegram-bot reads them (`telegram.request.
BaseRequest._request_wrapper`, 22.x), into exceptions of the same names; tests/test_botapi.py
holds that reading against Telegram's documented answers, and tests/test_fakebotapi.py holds
the fake Bot API the tests use against python-telegram-bot itself.

A call without a file is a JSON POST (the Bot API accepts JSON for every method); one with a file
(a chart, a CSV, a file forwarded from WhatsApp) goes as multipart through aiohttp, imported and
opened on the first such call.

Nothing a person wrote reaches an exception's text or a log: an error says Telegram's description
of the failure (which names the failure, never the message) or the kind of network fault.
"""

from __future__ import annotations

import json
import mimetypes
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import httptools

from bot.keepalive import Origin, Pool, origin_and_target, request_head

if TYPE_CHECKING:
    import aiohttp

USER_AGENT = "Wijkbrug (bot/botapi.py)"
OWN_TIMEOUT = -1.0  # a call's `read_timeout` when it keeps its client's (None means none at all)


class TelegramError(Exception):
    """A call Telegram refused, or could not answer; its text is Telegram's description without
    its "Bad Request: " or "Error: " prefix, as python-telegram-bot shows it."""

    def __init__(self, message: str) -> None:
        text = message.removeprefix("Error: ").removeprefix("[Error]: ").removeprefix("Bad Request: ")
        super().__init__(text if text == message else text.capitalize())


class NetworkError(TelegramError):
    """Telegram could not be reached, or answered with a server error: worth trying again."""


class TimedOut(NetworkError):
    """No (whole) answer within the time allowed."""


class Forbidden(TelegramError):
    """403: the bot may not do this; for a chat, the person blocked the bot."""


class BadRequest(TelegramError):
    """400: the call itself is wrong (a chat that does not exist, a message too long…)."""


class InvalidToken(TelegramError):
    """401 or 404: Telegram does not know the token (or, for 404, the method)."""


class Conflict(TelegramError):
    """409: another process polls with this token, or a webhook is set."""


class ChatMigrated(TelegramError):
    """The group became a supergroup with a new chat id."""

    def __init__(self, new_chat_id: int) -> None:
        super().__init__(f"Group migrated to supergroup. New chat id: {new_chat_id}")
        self.new_chat_id = new_chat_id


class RetryAfter(TelegramError):
    """429 (flood control): the call may be made again after `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"Flood control exceeded. Retry in {seconds:g} seconds")
        self.seconds = seconds


def result_of(status: int, payload: bytes) -> Any:
    """The `result` of a Bot API answer, or the error it says, read as python-telegram-bot does:
    the parameters first (a migrated chat, a wait), then the HTTP status."""
    try:
        answer = json.loads(payload)
    except ValueError:  # not JSON, or not UTF-8 (UnicodeDecodeError is a ValueError)
        answer = None
    if 200 <= status <= 299:
        if not isinstance(answer, dict) or "result" not in answer:
            raise TelegramError("Invalid server response")
        return answer["result"]
    try:
        message = f"{HTTPStatus(status).phrase} ({status})"
    except ValueError:
        message = f"Unknown HTTPError ({status})"
    if isinstance(answer, dict):
        message = answer.get("description") or message
        parameters = answer.get("parameters")
        if isinstance(parameters, dict) and parameters:
            if migrate_to := parameters.get("migrate_to_chat_id"):
                raise ChatMigrated(int(migrate_to))
            if retry_after := parameters.get("retry_after"):
                raise RetryAfter(float(retry_after))
            message += f". The server response contained unknown parameters: {parameters}"
    if status == HTTPStatus.FORBIDDEN:
        raise Forbidden(message)
    if status in (HTTPStatus.NOT_FOUND, HTTPStatus.UNAUTHORIZED):
        raise InvalidToken(message)
    if status == HTTPStatus.BAD_REQUEST:
        raise BadRequest(message)
    if status == HTTPStatus.CONFLICT:
        raise Conflict(message)
    raise NetworkError(message)


def form_value(value: object) -> str:
    """A parameter of a multipart call: a string as it is, anything else as JSON (the Bot API's rule)."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class BotApi:
    """Calls to one bot's Bot API: at most `pool_size` kept-alive connections (opened as needed),
    and an aiohttp session for files, opened on the first; `close()` ends both."""

    def __init__(
        self,
        token: str,
        base_url: str = "https://api.telegram.org/bot",
        *,
        pool_size: int = 16,
        read_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
    ) -> None:
        self._base = f"{base_url}{token}"
        self._pool_size = pool_size
        self.read_timeout = read_timeout
        self.connect_timeout = connect_timeout
        self.pool_timeout = pool_timeout
        self._pools: dict[Origin, Pool] = {}
        self._routes: dict[str, tuple[Pool, str, str]] = {}  # per method: a bot calls a handful, over and over
        self._uploads: aiohttp.ClientSession | None = None

    def _route(self, method: str) -> tuple[Pool, str, str]:
        route = self._routes.get(method)
        if route is None:
            origin, target, host = origin_and_target(f"{self._base}/{method}")
            pool = self._pools.get(origin)
            if pool is None:
                pool = self._pools[origin] = Pool(origin, self._pool_size)
            route = self._routes[method] = (pool, target, host)
        return route

    async def call(
        self, method: str, parameters: dict[str, Any] | None = None, *,
        files: dict[str, tuple[str, bytes]] | None = None, read_timeout: float | None = OWN_TIMEOUT,
    ) -> Any:
        """The method's result; `files` (parameter: (file name, content)) go as multipart.
        `read_timeout` is the longest silence while the answer comes in (by default, this client's)."""
        read = self.read_timeout if read_timeout == OWN_TIMEOUT else read_timeout
        if files:
            status, payload = await self._upload(method, parameters or {}, files, read)
            return result_of(status, payload)
        pool, target, host = self._route(method)
        body = None if parameters is None else json.dumps(parameters, ensure_ascii=False).encode()
        head = request_head("POST", target, host, USER_AGENT, None if body is None else len(body))
        # No write time-out of its own: a JSON call is one small write into the socket's buffer,
        # and the read time-out (the longest silence while the answer comes in) bounds the rest.
        try:
            status, payload = await pool.request(
                head, body, read_timeout=read, connect_timeout=self.connect_timeout, pool_timeout=self.pool_timeout
            )
        except TimeoutError as exc:
            raise TimedOut("Timed out") from exc
        except (OSError, httptools.HttpParserError) as exc:
            raise NetworkError(type(exc).__name__) from exc
        return result_of(status, payload)

    async def _upload(
        self, method: str, parameters: dict[str, Any], files: dict[str, tuple[str, bytes]], read: float | None
    ) -> tuple[int, bytes]:
        """A call with a file, as multipart through aiohttp (imported only now)."""
        import aiohttp

        if self._uploads is None or self._uploads.closed:
            self._uploads = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                cookie_jar=aiohttp.DummyCookieJar(),  # the Bot API sets no cookies
                headers={"User-Agent": USER_AGENT},
            )
        # aiohttp's `connect` covers waiting for a free connection and connecting; `sock_read` is
        # the longest silence while the answer comes in. aiohttp has no write timeout: the only
        # uploads are a chart, a CSV of codes and a forwarded file, which the read timeout bounds.
        connect = None if self.connect_timeout is None else self.connect_timeout + (self.pool_timeout or 0)
        timeout = aiohttp.ClientTimeout(total=None, connect=connect, sock_read=read)
        form = aiohttp.FormData(quote_fields=False)
        for name, value in parameters.items():
            form.add_field(name, form_value(value))
        for name, (filename, content) in files.items():
            kind = mimetypes.guess_type(filename)[0] or "application/octet-stream"
            form.add_field(name, content, filename=filename, content_type=kind)
        try:
            async with self._uploads.post(f"{self._base}/{method}", data=form, timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut("Timed out") from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}") from exc

    async def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
        self._routes.clear()
        if self._uploads is not None and not self._uploads.closed:
            await self._uploads.close()
        self._uploads = None
