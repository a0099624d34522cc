"""CPU per Bot API call: PTB's request layer on aiohttp's client session (how Wijkbrug called until
issue 19) and on bot/http.py's kept-alive llhttp connections, against the same local server in a
process of its own (so only the client's CPU is counted).

Each client posts a sendMessage of a typical size through `BaseRequest.post` (PTB's parsing of the
answer included), `--calls` times, 8 at a time as the delivery worker does; the figures are the
client process's CPU microseconds per call, median of `--repeat` interleaved runs, with the spread.

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
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telegram.request import BaseRequest  # noqa: E402

from bot.http import BotApiRequest, Call  # noqa: E402

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


async def run(client: BaseRequest, url: str, calls: int) -> float:
    await client.initialize()
    try:
        await client.post(url, Call(PAYLOAD))  # type: ignore[arg-type]  # connect first
        work = iter(range(calls))

        async def worker() -> None:
            for _ in work:
                await client.post(url, Call(PAYLOAD))  # type: ignore[arg-type]

        before = time.process_time()
        await asyncio.gather(*(worker() for _ in range(8)))
        return (time.process_time() - before) / calls * 1e6
    finally:
        await client.shutdown()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    port = 20000 + os.getpid() % 20000
    server = await asyncio.create_subprocess_exec(sys.executable, "-c", SERVER, str(port))
    try:
        url = f"http://127.0.0.1:{port}/bot123:BENCH/sendMessage"
        for _ in range(100):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        results: dict[str, list[float]] = {"aiohttp session": [], "kept-alive llhttp": []}
        for _ in range(args.repeat):  # interleaved
            results["aiohttp session"].append(await run(AiohttpSession(), url, args.calls))
            results["kept-alive llhttp"].append(await run(BotApiRequest(), url, args.calls))
    finally:
        server.terminate()
        await server.wait()
    print(f"client CPU per sendMessage, {args.calls} calls 8 at a time, {args.repeat} interleaved runs:")
    for name, values in results.items():
        print(f"  {name:16} median {statistics.median(values):6.1f} µs  (min {min(values):.1f}, max {max(values):.1f})")


if __name__ == "__main__":
    asyncio.run(main())
