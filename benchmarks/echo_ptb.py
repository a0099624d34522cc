"""A bare python-telegram-bot echo bot: the baseline the load benchmark compares Wijkbrug with.
Lives only in benchmarks/. Usage: python benchmarks/echo_ptb.py TOKEN BASE_URL"""

import sys

from telegram import Update
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(update.effective_message.text or "?")


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.callback_query is not None
    await update.callback_query.answer()


def main() -> None:
    token, base_url = sys.argv[1], sys.argv[2]
    app = ApplicationBuilder().token(token).base_url(base_url).concurrent_updates(4).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(pressed))
    app.run_polling(poll_interval=0, timeout=10, drop_pending_updates=False)


if __name__ == "__main__":
    main()
