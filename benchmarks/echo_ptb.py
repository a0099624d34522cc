"""python-telegram-bot echo bots: baselines the load benchmark compares Wijkbrug with. Lives only
in benchmarks/.

`plain`: PTB as a user installs it (`pip install python-telegram-bot`, no extras: httpx) and as its
examples run it: `ApplicationBuilder` with its defaults, updates handled one at a time, `run_polling`.
benchmarks/baselines.py runs it in its own environment that holds PTB alone.

`wijkbrug`: PTB as Wijkbrug configured it until issue 19, its fastest configuration
(benchmarks/ptb_keepalive.py `build_application`: the Bot API calls and the long poll on Wijkbrug's
own kept-alive connections, 16 and 1, no Updater), polled the way Wijkbrug polls (fetch a batch,
then handle it) and handled with Wijkbrug's concurrency (8, the delivery worker's chats at once).
The bot itself no longer uses PTB (bot/botapi.py); this stays as the baseline of PTB at its best.
Runs in the project's environment; settings from WIJKBRUG_*.

Usage: python benchmarks/echo_ptb.py plain TOKEN BASE_URL | python benchmarks/echo_ptb.py wijkbrug
"""

import asyncio
import signal
import sys
from pathlib import Path

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters

CONCURRENCY = 8  # bot/delivery.py: DeliveryWorker.concurrency


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(update.effective_message.text or "?")


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.callback_query is not None
    await update.callback_query.answer()


def handlers(app: Application) -> Application:
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(pressed))
    return app


def plain(token: str, base_url: str) -> None:
    handlers(ApplicationBuilder().token(token).base_url(base_url).build()).run_polling()


async def as_wijkbrug() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.ptb_keepalive import build_application
    from bot.settings import Settings
    from bot.telegram import ALLOWED_UPDATES

    settings = Settings()
    app = handlers(build_application(settings))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    slots = asyncio.Semaphore(CONCURRENCY)
    running: set[asyncio.Task[None]] = set()

    async def handle(update: Update) -> None:
        async with slots:
            await app.process_update(update)

    async with app:
        offset = 0
        polling = None
        while not stop.is_set():
            polling = asyncio.ensure_future(app.bot.get_updates(
                offset=offset, timeout=settings.poll_timeout, allowed_updates=ALLOWED_UPDATES))
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({polling, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not polling.done():
                polling.cancel()
                break
            for update in polling.result():
                offset = update.update_id + 1
                task = asyncio.create_task(handle(update))
                running.add(task)
                task.add_done_callback(running.discard)
        await asyncio.gather(*running, return_exceptions=True)


if __name__ == "__main__":
    if sys.argv[1] == "plain":
        plain(sys.argv[2], sys.argv[3])
    else:
        asyncio.run(as_wijkbrug())
