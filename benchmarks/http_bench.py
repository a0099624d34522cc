"""CPU per Bot API call, three clients against the same local server in a process of its own (so
only the client's CPU is counted):

- `PTB, aiohttp session`: PTB's request layer (`BaseRequest.post`) on aiohttp's client session, how
  Wijkbrug called until issue 19 began;
- `PTB, kept-alive`: `BaseRequest.post` on Wijkbrug's kept-alive llhttp connections
  (benchmarks/ptb_keepalive.py, once bot/http.py: PTB at its fastest, what the bot ran on until it
  dropped PTB);
- `BotApi.call`: the bot's own call (bot/botapi.py, over the same connections), what runs now.

Each client posts a sendMessage of a typical size, the answer's reading included (PTB's, or
bot/botapi.py's `result_of`), `--calls` times, 8 at a time as the delivery worker does; the figures
are the client process's CPU microseconds per call, median of `--repeat` interleaved runs, with the
spread.

Run:  .venv/bin/python benchmarks/http_bench.py [--calls 5000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telegram.request import BaseRequest  # noqa: E402

from benchmarks.ptb_keepalive import BotApiRequest, Call  # noqa: E402
from bot.botapi import BotApi  # noqa: E402

SERVER = """
import sys
from aiohttp import web
ANSWER = b'{"ok":true,"result":{"message_id":1,"date":0,"chat":{"id":10001,"type":"private"},"text":"hello"}}'
async def answer(request):
    await request.read()
    return web.Response(body=ANSWER, content_type="application/json")
app = web.Application()
app.router.add_post("/{tail:.*}", answer)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""

TOKEN = "123:BENCH"  # invented: the local server accepts any
PAYLOAD = {
    "chat_id": "10001", "text": "Which theme does the question have? " * 3,
    "reply_markup": {"inline_keyboard": [[{"text": f"Theme {i}", "callback_data": f"t7|{i}"}] for i in range(6)]},
    "link_preview_options": {"is_disabled": True},
}


class AiohttpSession(BaseRequest):
    """The request layer as it was: one aiohttp session, a JSON body."""

    def __init__(self) -> None:
        self.session: Any = None

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        import aiohttp

        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=16), cookie_jar=aiohttp.DummyCookieJar()
        )

    async def shutdown(self) -> None:
        await self.session.close()

    async def do_request(self, url: str, method: str, request_data: Any = None, **_: Any) -> tuple[int, bytes]:
        import aiohttp

        body = json.dumps(request_data.parameters, ensure_ascii=False).encode()
        timeout = aiohttp.ClientTimeout(total=None, connect=6.0, sock_read=5.0)
        async with self.session.request(
            method, url, data=body, headers={"Content-Type": "application/json"}, timeout=timeout
        ) as response:
            return response.status, await response.read()


class Client:
    """One client under test: `call` makes the sendMessage, `close` lets go of its connections."""

    def __init__(self, call: Callable[[], Awaitable[Any]], close: Callable[[], Awaitable[None]]) -> None:
        self.call = call
        self.close = close


async def ptb(request: BaseRequest, url: str) -> Client:
    await request.initialize()
    return Client(lambda: request.post(url, Call(PAYLOAD)), request.shutdown)  # type: ignore[arg-type]


async def botapi(port: int) -> Client:
    api = BotApi(TOKEN, f"http://127.0.0.1:{port}/bot")
    return Client(lambda: api.call("sendMessage", PAYLOAD), api.close)


async def run(client: Client, calls: int) -> float:
    try:
        await client.call()  # connect first
        work = iter(range(calls))

        async def worker() -> None:
            for _ in work:
                await client.call()

        before = time.process_time()
        await asyncio.gather(*(worker() for _ in range(8)))
        return (time.process_time() - before) / calls * 1e6
    finally:
        await client.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    port = 20000 + os.getpid() % 20000
    server = await asyncio.create_subprocess_exec(sys.executable, "-c", SERVER, str(port))
    try:
        url = f"http://127.0.0.1:{port}/bot{TOKEN}/sendMessage"
        for _ in range(100):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        clients: dict[str, Callable[[], Awaitable[Client]]] = {
            "PTB, aiohttp session": lambda: ptb(AiohttpSession(), url),
            "PTB, kept-alive": lambda: ptb(BotApiRequest(), url),
            "BotApi.call": lambda: botapi(port),
        }
        results: dict[str, list[float]] = {name: [] for name in clients}
        for _ in range(args.repeat):  # interleaved
            for name, client in clients.items():
                results[name].append(await run(await client(), args.calls))
    finally:
        server.terminate()
        await server.wait()
    print(f"client CPU per sendMessage, {args.calls} calls 8 at a time, {args.repeat} interleaved runs:")
    for name, values in results.items():
        print(f"  {name:20} median {statistics.median(values):6.1f} µs  (min {min(values):.1f}, max {max(values):.1f})")


if __name__ == "__main__":
    asyncio.run(main())
