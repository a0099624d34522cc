"""A bare aiogram 3 echo bot: the second baseline the load benchmark compares Wijkbrug with.
Lives only in benchmarks/ and runs in its own virtual environment (benchmarks/load.py makes it:
aiogram pins pydantic below the version Wijkbrug uses). Usage: python echo_aiogram.py TOKEN BASE"""

import asyncio
import sys

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, Message

dispatcher = Dispatcher()


@dispatcher.message()
async def echo(message: Message) -> None:
    await message.answer(message.text or "?")


@dispatcher.callback_query()
async def pressed(query: CallbackQuery) -> None:
    await query.answer()


async def main() -> None:
    token, base = sys.argv[1], sys.argv[2]
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(base)))
    await dispatcher.start_polling(bot, polling_timeout=10, handle_signals=True)


if __name__ == "__main__":
    asyncio.run(main())
