"""A fake Telegram Bot API server for end-to-end tests.

It speaks the Bot API over real HTTP (aiohttp), so the unmodified python-telegram-bot stack (the
reference, tests/test_fakebotapi.py) and the bot's own client (bot/botapi.py) can talk to it,
in-process or from a ``wijkbrug run`` subprocess. Tests play the human users with
``user_sends``/``user_presses``/``user_sends_photo``, inspect what the bot did with
``sent``/``messages``/``last_keyboard``/``wait_for`` and inject Telegram errors with ``fail_next``.

After ``setWebhook`` it delivers updates as Telegram does instead: it POSTs each to the webhook's URL with
the X-Telegram-Bot-Api-Secret-Token header, one at a time per chat (in order) and many chats at once, and
tries again a delivery that failed (connection refused or reset, a non-2xx answer). ``balance(urls)`` makes
it Telegram behind a load balancer: each delivery goes to one of several instances (in turn, or at random)
and one that failed to another; every attempt is recorded in ``deliveries``.

Nothing a test asserts on depends on wall-clock time: message dates come from the injectable ``clock``
(``time.time`` by default), and every finished getUpdates is recorded in ``polls`` with what ended it.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import html
import itertools
import json
import random
import re
import time
from collections.abc import Callable
from typing import Any, Self

import aiohttp
from aiohttp import web

Json = dict[str, Any]
Uploads = dict[str, bytes]

# PTB sends form fields: objects/arrays arrive JSON-encoded, numbers and booleans as strings.
JSON_KEYS = frozenset({"reply_markup", "allowed_updates", "commands", "entities", "caption_entities", "scope",
                       "link_preview_options", "reply_parameters", "media", "menu_button"})
INT_KEYS = frozenset({"chat_id", "offset", "timeout", "message_id", "limit", "reply_to_message_id", "cache_time",
                      "user_id", "message_thread_id"})
BOOL_KEYS = frozenset({"show_alert", "disable_notification", "protect_content", "drop_pending_updates",
                       "disable_web_page_preview", "allow_sending_without_reply"})
# Successful calls of these are not recorded in ``calls`` (they would drown the interesting ones).
QUIET = frozenset({"getUpdates", "getMe", "getMyCommands", "getFile"})
# The calls the random faults hit (what the bot sends to people).
FLAKY = frozenset({"sendMessage", "editMessageText", "answerCallbackQuery", "sendPhoto", "sendDocument"})
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message")
CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
WEBHOOK_ACTIVE = ("Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the "
                  "webhook first")
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
DEFAULT_ERRORS = {400: "Bad Request: chat not found", 403: "Forbidden: bot was blocked by the user",
                  500: "Internal Server Error", 502: "Bad Gateway"}


class ApiError(Exception):
    """A Bot API error answer: ``{"ok": false, "error_code": ..., "description": ...[, "parameters": ...]}``."""

    def __init__(self, status: int, description: str, parameters: Json | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.body: Json = {"ok": False, "error_code": status, "description": description}
        if parameters:
            self.body["parameters"] = parameters


def _coerce(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if key in JSON_KEYS:
        try:
            return json.loads(value)
        except ValueError:
            raise ApiError(400, f"Bad Request: can't parse {key} JSON object") from None
    if key in INT_KEYS and re.fullmatch(r"-?\d+", value):
        return int(value)
    return value.lower() in ("true", "1") if key in BOOL_KEYS else value


def _u16(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for entity offsets and text limits."""
    return len(text.encode("utf-16-le")) // 2


def _render(text: str, parse_mode: str | None) -> str:
    """The plain text Telegram stores: HTML tags become entities (which this fake drops)."""
    return html.unescape(re.sub(r"<[^>]*>", "", text)) if (parse_mode or "").upper() == "HTML" else text


class FakeBotApi:
    """One fake bot account plus the chats of the users that talk to it."""

    def __init__(self, token: str = "123:TEST", fault_rate: float = 0.0, seed: int = 7,
                 clock: Callable[[], float] = time.time) -> None:
        self.token = token
        self.clock = clock  # seconds since the epoch, for message ``date`` and ``edit_date``
        self._init_chaos(fault_rate, seed)
        self.bot_user: Json = {"id": int(token.split(":")[0]), "is_bot": True, "first_name": "Wijkbrug Test",
                               "username": "wijkbrug_test_bot", "can_join_groups": True,
                               "can_read_all_group_messages": False, "supports_inline_queries": False}
        self.port = 0
        self.calls: list[Json] = []
        self.handed_out: list[int] = []
        # One entry per getUpdates that got past the token check: {"timeout": seconds asked, "ended": why it
        # answered}: "update" (updates were there or one arrived), "timeout" (its timeout ran out), "conflict"
        # (a newer getUpdates terminated it with 409), "stop" (the server shut down) or "cancelled" (the
        # connection went away while it waited).
        self.polls: list[Json] = []
        self.polls_waiting = 0  # getUpdates calls currently waiting for an update
        self.settings: dict[tuple[str, str], Any] = {}  # (what, scope/language) -> commands or descriptions
        self._queue: list[Json] = []
        self._update_ids = itertools.count(1000)
        self._serial = itertools.count(1)
        self._msgs: dict[int, dict[int, Json]] = {}
        self._raw: dict[tuple[int, int], Any] = {}  # (chat, message) -> (text, parse_mode) as sent
        self._last_mid: dict[int, int] = {}
        self._names: dict[int, str] = {}
        self._queries: dict[str, int] = {}  # callback query id -> chat id
        self._answered: set[str] = set()
        self._faults: dict[str, list[ApiError]] = {}
        self._files: dict[str, tuple[bytes, Json]] = {}  # file_id -> (content, File object)
        self._media: dict[str, Any] = {}  # file_id -> photo size list or Document, for re-sending by id
        self._allowed: list[str] = []
        self._poll_gen = 0
        self._closing = False
        self._tick = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._init_webhook()
        lang: Callable[[Json], str] = lambda p: p.get("language_code") or ""
        simple: dict[str, Callable[[Json, Uploads], Any]] = {  # the rest are the _api_<name> methods below
            "getMe": lambda p, u: dict(self.bot_user),
            "sendMessage": lambda p, u: self._store(p, (p.get("text"), p.get("parse_mode")), text=self._text(p)),
            "sendPhoto": lambda p, u: self._store(p, photo=self._file_input(p, u, "photo", self._new_photo)),
            "sendDocument": lambda p, u: self._store(p, document=self._file_input(p, u, "document", self._new_doc)),
            "setMyCommands": lambda p, u: self._put(("commands", self._where(p)), list(p.get("commands") or [])),
            "getMyCommands": lambda p, u: copy.deepcopy(self.settings.get(("commands", self._where(p)), [])),
            "setMyDescription": lambda p, u: self._put(("description", lang(p)), p.get("description") or ""),
            "setMyShortDescription": lambda p, u: self._put(
                ("short_description", lang(p)), p.get("short_description") or ""
            ),
            "sendChatAction": lambda p, u: True,
            "close": lambda p, u: True,
            "logOut": lambda p, u: True,
        }
        simple.update((n[5:], getattr(self, n)) for n in dir(self) if n.startswith("_api_"))
        self._methods = {name.lower(): (name, handler) for name, handler in simple.items()}

    # --- server lifecycle ------------------------------------------------------------------------------------
    def _init_chaos(self, fault_rate: float, seed: int) -> None:
        """Random faults on sending calls: 429 with retry_after, 500, dropped connections."""
        self.fault_rate = fault_rate
        self._chaos = random.Random(seed)
        self.injected: collections.Counter = collections.Counter()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeBotApi:
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_route("GET", "/bot{token}/{method}", self._handle)
        app.router.add_route("POST", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._closing = False
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        self._closing = True  # releases waiting long polls
        self._bump()
        await self._stop_webhook()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    @property
    def pending_updates(self) -> int:
        """Updates not yet confirmed by the bot (via a higher getUpdates offset)."""
        return len(self._queue)

    # --- test side: the human users ------------------------------------------------------------------------
    def user_sends(self, chat_id: int, text: str, first_name: str = "Test", language_code: str = "nl") -> Json:
        msg = self._new_message(chat_id, self._user(chat_id, first_name, language_code), text=text)
        if text.startswith("/"):
            msg["entities"] = [{"offset": 0, "length": _u16(text.split()[0]), "type": "bot_command"}]
        return self._enqueue("message", msg)

    def user_sends_photo(self, chat_id: int, caption: str | None = None, data: bytes = b"\xff\xd8\xff\xe0fake-jpeg",
                         first_name: str = "Test", language_code: str = "nl") -> Json:
        msg = self._new_message(chat_id, self._user(chat_id, first_name, language_code), photo=self._new_photo(data))
        if caption is not None:
            msg["caption"] = caption
        return self._enqueue("message", msg)

    def add_file(self, file_id: str, data: bytes, path: str = "documents/file_added") -> None:
        """A file Telegram holds under `file_id` (one a test's story sent by that reference)."""
        self._files[file_id] = (data, {"file_id": file_id, "file_unique_id": file_id, "file_size": len(data),
                                       "file_path": path})

    def user_presses(self, chat_id: int, message_id: int, data: str, first_name: str = "Test",
                     language_code: str = "nl", check_button: bool = True) -> Json:
        """Press a button; by default the message's current keyboard must have one with this callback_data."""
        msg = self._msgs.get(chat_id, {}).get(message_id)
        if msg is None:
            raise ValueError(f"no bot message {message_id} in chat {chat_id}; have {list(self._msgs.get(chat_id, {}))}")
        rows = msg.get("reply_markup", {}).get("inline_keyboard", [])
        buttons = [button.get("callback_data") for row in rows for button in row]
        if check_button and data not in buttons:
            raise ValueError(f"message {message_id} in chat {chat_id} has no button {data!r}; buttons: {buttons}")
        query_id = str(4_000_000_000_000_000_000 + next(self._serial))
        self._queries[query_id] = chat_id
        return self._enqueue("callback_query", {
            "id": query_id, "from": self._user(chat_id, first_name, language_code), "message": copy.deepcopy(msg),
            "chat_instance": str(abs(chat_id) * 7919 + 17), "data": data})

    # --- test side: inspection and fault injection -----------------------------------------------------------
    def sent(self, chat_id: int | None = None) -> list[Json]:
        return [c for c in self.calls if chat_id is None or self._call_chat(c) == chat_id]

    def messages(self, chat_id: int) -> list[Json]:
        return [copy.deepcopy(m) for m in self._msgs.get(chat_id, {}).values()]

    def last_keyboard(self, chat_id: int) -> tuple[int, list[list[Json]]] | None:
        for msg in reversed(self.messages(chat_id)):
            if rows := msg.get("reply_markup", {}).get("inline_keyboard"):
                return msg["message_id"], rows
        return None

    async def wait_for(self, predicate: Callable[[FakeBotApi], Any], timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while not (result := predicate(self)):
            if (left := deadline - time.monotonic()) <= 0:
                lines = "\n".join(
                    f"  {c['method']}{' FAILED ' + str(c['failed']) if 'failed' in c else ''} "
                    f"{json.dumps(c['params'], ensure_ascii=False, default=str)[:300]}" for c in self.calls[-15:])
                raise TimeoutError(f"condition not met within {timeout}s ({self.pending_updates} update(s) not "
                                   f"confirmed by the bot); last calls:\n{lines or '  (none)'}")
            await self._wait(min(left, 0.05))
        return result

    def fail_next(self, method: str, status: int = 429, retry_after: int | None = None, times: int = 1,
                  description: str | None = None) -> None:
        """Make the next ``times`` calls of ``method`` fail like Telegram does (429 defaults to retry_after=1)."""
        retry_after = (1 if retry_after is None else retry_after) if status == 429 else None
        parameters = {"retry_after": retry_after} if status == 429 else None
        desc = description or DEFAULT_ERRORS.get(status) or f"Too Many Requests: retry after {retry_after}"
        self._faults.setdefault(method.lower(), []).extend(ApiError(status, desc, parameters) for _ in range(times))

    # --- HTTP plumbing --------------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if (found := self._methods.get(request.match_info["method"].lower())) is None:
                raise ApiError(404, "Not Found: method not found")
            name, handler = found
            params, uploads = await self._params(request)
            call: Json = {"method": name, "params": params, "at": time.monotonic()}
            try:
                if faults := self._faults.get(name.lower()):
                    raise faults.pop(0)
                if name in FLAKY and self.fault_rate and self._chaos.random() < self.fault_rate:
                    kind = self._chaos.choice(["429", "500", "reset"])
                    self.injected[kind] += 1
                    if kind == "reset":  # the connection drops before any answer
                        self.calls.append({**call, "failed": "reset"})
                        assert request.transport is not None
                        request.transport.close()
                        raise ConnectionResetError
                    raise (
                        ApiError(429, "Too Many Requests: retry after 1", {"retry_after": 1})
                        if kind == "429"
                        else ApiError(500, "Internal Server Error")
                    )
                result = handler(params, uploads)
                result = await result if asyncio.iscoroutine(result) else result
            except ApiError as err:
                self.calls.append({**call, "failed": err.status})
                raise
            if name not in QUIET:
                self.calls.append(call)
            return web.json_response({"ok": True, "result": result})
        except ApiError as err:
            return web.json_response(err.body, status=err.status)
        finally:
            self._bump()

    async def _params(self, request: web.Request) -> tuple[Json, Uploads]:
        raw: Json = dict(request.query)
        uploads: Uploads = {}
        if request.content_type == "application/json" and request.can_read_body:
            raw.update(await request.json())
        elif request.can_read_body:
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    uploads[key] = value.file.read()
                    raw[key] = {"upload": value.filename, "mime_type": value.content_type, "size": len(uploads[key])}
                else:
                    raw[key] = value
        return {key: _coerce(key, value) for key, value in raw.items()}, uploads

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body, status=401)
        for data, meta in self._files.values():
            if meta["file_path"] == request.match_info["path"]:
                return web.Response(body=data)
        return web.json_response(ApiError(404, "Not Found").body, status=404)

    def _bump(self) -> None:
        self._tick.set()
        self._tick = asyncio.Event()

    async def _wait(self, seconds: float) -> bool:
        """Wait until anything happens on the server or ``seconds`` pass; False when the time ran out."""
        try:
            await asyncio.wait_for(self._tick.wait(), max(seconds, 0))
        except TimeoutError:
            return False
        return True

    def _call_chat(self, call: Json) -> int | None:
        params = call["params"]
        return params["chat_id"] if "chat_id" in params else self._queries.get(str(params.get("callback_query_id")))

    # --- chats, messages and files ----------------------------------------------------------------------------
    def _enqueue(self, kind: str, obj: Json) -> Json:
        update = {"update_id": next(self._update_ids), kind: obj}
        self._queue.append(update)
        self._bump()
        return copy.deepcopy(update)

    def _user(self, chat_id: int, first_name: str, language_code: str) -> Json:
        self._names[chat_id] = first_name
        return {"id": chat_id, "is_bot": False, "first_name": first_name, "language_code": language_code}

    def _new_message(self, chat_id: int, sender: Json, **content: Any) -> Json:
        self._last_mid[chat_id] = message_id = self._last_mid.get(chat_id, 0) + 1  # shared by user and bot
        chat = {"id": chat_id, "first_name": self._names.get(chat_id, "Test"), "type": "private"}
        return {"message_id": message_id, "from": sender, "chat": chat, "date": int(self.clock()), **content}

    def _store(self, p: Json, source: Any = None, **content: Any) -> Json:
        if not isinstance(chat_id := p.get("chat_id"), int):
            raise ApiError(400, "Bad Request: chat not found")
        markup = self._markup(p)
        msg = self._new_message(chat_id, {k: self.bot_user[k] for k in ("id", "is_bot", "first_name", "username")},
                                **content)
        if "caption" in p:
            msg["caption"] = _render(str(p["caption"]), p.get("parse_mode"))
        if markup:
            msg["reply_markup"] = markup
        self._msgs.setdefault(chat_id, {})[msg["message_id"]] = msg
        self._raw[chat_id, msg["message_id"]] = source
        return copy.deepcopy(msg)

    def _find(self, p: Json) -> Json:
        if (msg := self._msgs.get(p.get("chat_id"), {}).get(p.get("message_id"))) is None:  # type: ignore[arg-type]
            raise ApiError(400, "Bad Request: message to edit not found")
        return msg

    @staticmethod
    def _text(p: Json) -> str:
        text = _render(str(p.get("text") or ""), p.get("parse_mode"))
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if _u16(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return text

    @staticmethod
    def _markup(p: Json) -> Json | None:
        """What a Message echoes: only a non-empty inline keyboard, after some of Telegram's checks."""
        markup = p.get("reply_markup")
        if not isinstance(markup, dict) or not markup.get("inline_keyboard"):
            return None
        for button in (b for row in markup["inline_keyboard"] for b in row):
            if not isinstance(button, dict) or not button.get("text") or len(button) == 1:
                raise ApiError(400, "Bad Request: can't parse inline keyboard button: Text buttons are unallowed "
                                    "in the inline keyboard")
            if "callback_data" in button and not 1 <= len(str(button["callback_data"]).encode()) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return copy.deepcopy(markup)

    def _new_file(self, data: bytes, prefix: str, path: str, **extra: Any) -> Json:
        n = next(self._serial)
        base = {"file_id": f"{prefix}{n:010d}", "file_unique_id": f"AQAD{n}", "file_size": len(data)}
        self._files[base["file_id"]] = (data, {**base, "file_path": path.format(n=n)})
        return {**base, **extra}

    def _new_photo(self, data: bytes, _info: Json | None = None) -> list[Json]:
        sizes = [self._new_file(data, "AgAC", "photos/file_{n}.jpg", width=side, height=side) for side in (90, 800)]
        self._media.update((size["file_id"], sizes) for size in sizes)
        return sizes

    def _new_doc(self, data: bytes, info: Json) -> Json:
        doc = {"file_name": info.get("upload") or "file", **self._new_file(data, "BQAC", "documents/file_{n}"),
               "mime_type": info.get("mime_type") or "application/octet-stream"}
        self._media[doc["file_id"]] = doc
        return doc

    def _file_input(self, p: Json, uploads: Uploads, key: str, make: Callable[[bytes, Json], Any]) -> Any:
        value = p.get(key)
        if key in uploads:
            return make(uploads[key], value)
        if isinstance(value, str) and value in self._media:
            return copy.deepcopy(self._media[value])
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return make(b"", {"upload": value.rsplit("/", 1)[-1]})
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    def _put(self, key: tuple[str, str], value: Any) -> bool:
        self.settings[key] = value
        return True

    @staticmethod
    def _where(p: Json) -> str:
        return json.dumps([p.get("scope") or {"type": "default"}, p.get("language_code") or ""], sort_keys=True)

    # --- Bot API methods: _api_<name as Telegram spells it>(params, uploads) -> result ---------------------------
    def _api_deleteWebhook(self, p: Json, u: Uploads) -> bool:
        if p.get("drop_pending_updates"):
            self._queue.clear()
        self._webhook = None
        return True

    async def _api_getUpdates(self, p: Json, u: Uploads) -> list[Json]:
        if self._webhook is not None:
            raise ApiError(409, WEBHOOK_ACTIVE)
        offset, timeout, limit = p.get("offset"), p.get("timeout") or 0, max(1, min(p.get("limit") or 100, 100))
        if "allowed_updates" in p:
            self._allowed = list(p["allowed_updates"] or [])
        if isinstance(offset, int):  # confirms (forgets) everything before offset; negative counts from the end
            self._queue = self._queue[offset:] if offset < 0 else [x for x in self._queue if x["update_id"] >= offset]
        self._poll_gen += 1
        generation = self._poll_gen
        self._bump()  # an older long poll that is still waiting gets 409, as on Telegram
        deadline = time.monotonic() + min(float(timeout), 60.0)
        poll: Json = {"timeout": timeout, "ended": None}
        self.polls_waiting += 1
        try:
            woken = True
            while poll["ended"] is None:
                if generation != self._poll_gen:
                    poll["ended"] = "conflict"
                    raise ApiError(409, CONFLICT)
                ready = [x for x in self._queue
                         if not self._allowed or any(k in self._allowed for k in x if k != "update_id")][:limit]
                if not woken:  # the whole timeout passed without anything happening
                    poll["ended"] = "timeout"
                elif ready or self._closing or time.monotonic() >= deadline:
                    poll["ended"] = "update" if ready else "stop" if self._closing else "timeout"
                else:
                    woken = await self._wait(deadline - time.monotonic())
        finally:
            self.polls_waiting -= 1
            self.polls.append({**poll, "ended": poll["ended"] or "cancelled"})
        self.handed_out.extend(x["update_id"] for x in ready)
        return copy.deepcopy(ready)

    def _api_editMessageText(self, p: Json, u: Uploads) -> Json:
        msg = self._find(p)
        if "text" not in msg:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        text, markup, key = self._text(p), self._markup(p), (msg["chat"]["id"], msg["message_id"])
        if self._raw.get(key) == (p.get("text"), p.get("parse_mode")) and markup == msg.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        self._raw[key] = (p.get("text"), p.get("parse_mode"))
        return self._edited(msg, markup, text=text)

    def _api_editMessageReplyMarkup(self, p: Json, u: Uploads) -> Json:
        msg, markup = self._find(p), self._markup(p)
        if markup == msg.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        return self._edited(msg, markup)

    def _edited(self, msg: Json, markup: Json | None, **changes: Any) -> Json:
        msg.pop("reply_markup", None)  # an edit without reply_markup removes the keyboard, as on Telegram
        msg.update(changes, edit_date=int(self.clock()), **({"reply_markup": markup} if markup else {}))
        return copy.deepcopy(msg)

    def _api_answerCallbackQuery(self, p: Json, u: Uploads) -> bool:
        if (query_id := str(p.get("callback_query_id"))) not in self._queries or query_id in self._answered:
            raise ApiError(400, QUERY_TOO_OLD)
        self._answered.add(query_id)
        return True

    def _api_getFile(self, p: Json, u: Uploads) -> Json:
        if (found := self._files.get(str(p.get("file_id")))) is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return dict(found[1])

    # --- webhook deliveries, as Telegram makes them (and a load balancer in front of several instances) -------
    def _init_webhook(self) -> None:
        self._webhook: str | None = None  # the URL of the last setWebhook, until deleteWebhook
        self._secret: str | None = None
        self._connections = 40  # Telegram's default max_connections
        self.targets: list[str] = []  # the instances behind the load balancer (balance()); none: the URL itself
        self._pick = "round-robin"
        self._turn = itertools.count()
        self._spread = random.Random(11)
        self.retry_pause = 0.2  # seconds before trying again once every instance failed (Telegram: longer)
        self.webhook_timeout = 30.0  # seconds an instance may take to answer a delivery
        # One entry per attempt: {"update_id", "url", "status"}: the HTTP status, or the error's name.
        self.deliveries: list[Json] = []
        self._delivering: set[int] = set()  # chats with a delivery under way (their next update waits)
        self._deliverer: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    def balance(self, urls: list[str], pick: str = "round-robin") -> None:
        """Telegram behind a load balancer: each delivery goes to one of `urls` ("round-robin" or
        "random"); one refused or failed there is tried on the others, then again after a pause."""
        assert pick in ("round-robin", "random") and urls
        self.targets, self._pick = list(urls), pick

    def _api_setWebhook(self, p: Json, u: Uploads) -> bool:
        url = str(p.get("url") or "")
        self._put(("webhook", ""), {"url": p.get("url"), "secret_token": p.get("secret_token")})
        if not url:  # an empty URL removes the webhook, as on Telegram
            self._webhook = None
            return True
        self._webhook, self._secret = url, p.get("secret_token")
        self._connections = max(1, min(int(p.get("max_connections") or 40), 100))
        if "allowed_updates" in p:
            self._allowed = list(p["allowed_updates"] or [])
        if self._deliverer is None:
            self._session = aiohttp.ClientSession()
            self._deliverer = asyncio.create_task(self._deliver_all())
        return True

    async def _stop_webhook(self) -> None:
        if self._deliverer is not None:
            self._deliverer.cancel()
            await asyncio.gather(self._deliverer, return_exceptions=True)
            self._deliverer = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    @staticmethod
    def _chat_of(update: Json) -> int:
        if "callback_query" in update:
            return int(update["callback_query"]["from"]["id"])
        return int(next(v for k, v in update.items() if k != "update_id")["chat"]["id"])

    async def _deliver_all(self) -> None:
        """Hand out what is queued, oldest first: many chats at once (up to max_connections), one
        update at a time per chat, so a chat's updates arrive in order."""
        under_way: set[asyncio.Task[None]] = set()
        try:
            while not self._closing:
                for update in list(self._queue) if self._webhook is not None else []:
                    chat = self._chat_of(update)
                    if len(under_way) >= self._connections:
                        break
                    if self._allowed and not any(k in self._allowed for k in update if k != "update_id"):
                        self._queue.remove(update)  # a kind the bot did not ask for: Telegram drops it
                        continue
                    if chat in self._delivering:
                        continue
                    self._delivering.add(chat)
                    task = asyncio.create_task(self._deliver(update, chat))
                    under_way.add(task)
                    task.add_done_callback(under_way.discard)
                await self._wait(0.5)
        finally:
            for task in under_way:
                task.cancel()
            await asyncio.gather(*under_way, return_exceptions=True)

    def _order(self) -> list[str]:
        """The instances to try for one delivery, the first being the balancer's choice."""
        targets = self.targets or [self._webhook or ""]
        if self._pick == "random":
            return self._spread.sample(targets, len(targets))
        first = next(self._turn) % len(targets)
        return targets[first:] + targets[:first]

    async def _deliver(self, update: Json, chat: int) -> None:
        assert self._session is not None
        try:
            while not self._closing and self._webhook is not None:
                for url in self._order():
                    headers = {"X-Telegram-Bot-Api-Secret-Token": self._secret} if self._secret else {}
                    try:
                        timeout = aiohttp.ClientTimeout(total=self.webhook_timeout)
                        async with self._session.post(url, json=update, headers=headers, timeout=timeout) as answer:
                            status: int | str = answer.status
                    except (aiohttp.ClientError, TimeoutError) as exc:
                        status = type(exc).__name__
                    query = (update.get("callback_query") or {}).get("id")
                    self.deliveries.append(
                        {"update_id": update["update_id"], "url": url, "status": status, "query": query,
                         "at": time.monotonic()}
                    )
                    if isinstance(status, int) and 200 <= status < 300:
                        if update in self._queue:
                            self._queue.remove(update)
                        self.handed_out.append(update["update_id"])
                        return
                await asyncio.sleep(self.retry_pause)  # every instance failed it: later, again
        finally:
            self._delivering.discard(chat)
            self._bump()
